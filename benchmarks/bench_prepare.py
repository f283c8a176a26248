#!/usr/bin/env python3
"""Data-preparation benchmark: averaging, target extraction, peak memory and the targets.h5 layout.

Generates synthetic replicate bigWigs of realistic size (default 3 chromosomes
x 50 Mb at 25-bp resolution, 5 replicates, dense signal with peaks and a few
uncovered gaps) in a temporary directory, then measures, in the same run:

(a) averaging: ``stagevep.data.average.average_bigwigs`` (exact, base
    resolution, one process) against deepTools ``bigwigAverage -p 2`` (its
    default 50-bp bins), and the error deepTools' bins make in 128-bp sums;
(b) target extraction for full-size windows: ``stagevep.data.targets.extract_sums``
    against the original study's per-window ``pyBigWig.stats(chrom, s, e, nBins=896, type="sum")``
    loop on the same windows, and the original study's error against the exact sums;
(c) peak memory (``ru_maxrss`` of the child process that averages the five bigWigs);
(d) random single-window read speed of candidate ``targets.h5`` layouts.

Run from the repository root (figures in docs/benchmarks.md):

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python benchmarks/bench_prepare.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyBigWig

from stagevep.data.targets import extract_sums
from stagevep.io.bigwig import BigWigWriter

BIN_SIZE, N_BINS = 128, 896
WIDTH = BIN_SIZE * N_BINS


def make_replicates(out: Path, n_chroms: int, length: int, n_reps: int, res: int, seed: int) -> list[Path]:
    """Write ``n_reps`` replicate bigWigs of ``n_chroms`` chromosomes of ``length`` bp at ``res``-bp resolution.

    Signal per ``res``-bp bin: gamma background plus ~1 peak per 10 kb (Gaussian,
    1-5 kb wide), times a per-replicate gain, plus noise, rounded to 0.01;
    zero bins are not written and ~1% of the genome is left uncovered.
    """
    rng = np.random.default_rng(seed)
    chroms = [(f"chr{i + 1}", length) for i in range(n_chroms)]
    n_bins = length // res
    truth = {}
    for chrom, _ in chroms:
        sig = rng.gamma(0.4, 0.5, size=n_bins)
        centres = rng.integers(0, n_bins, size=length // 10_000)
        for width in (40, 120, 200):
            kernel = np.exp(-0.5 * (np.arange(-width, width + 1) / (width / 3)) ** 2)
            spikes = np.zeros(n_bins)
            sel = centres[rng.random(len(centres)) < 1 / 3]
            np.add.at(spikes, sel, rng.lognormal(1.5, 1.0, size=len(sel)))
            sig += np.convolve(spikes, kernel, mode="same")
        gaps = np.zeros(n_bins, dtype=bool)
        for g in rng.integers(0, n_bins - 400, size=length // 2_000_000):
            gaps[g : g + int(rng.integers(40, 400))] = True
        truth[chrom] = (sig, gaps)
    paths = []
    for r in range(n_reps):
        path = out / f"rep{r + 1}.bw"
        gain = rng.uniform(0.7, 1.3)
        with BigWigWriter(path, chroms) as writer:
            for chrom, _ in chroms:
                sig, gaps = truth[chrom]
                vals = np.round(sig * gain + np.abs(rng.normal(0, 0.1, size=n_bins)) * (rng.random(n_bins) < 0.5), 2)
                keep = (vals > 0) & ~gaps
                starts = np.flatnonzero(keep).astype(np.int64) * res
                writer.add_runs(chrom, starts, starts + res, vals[keep])
        paths.append(path)
    return paths


def run_child(cmd: list[str]) -> tuple[float, float, float]:
    """Run ``cmd``; return (wall s, CPU s, peak RSS GiB), CPU and RSS over the child and its waited-for descendants.

    CPU seconds (user + system) are reported next to wall time because the
    development machine is shared: wall time depends on the load, CPU time much less.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 2**20


def make_windows(chroms: dict[str, int], n: int, seed: int) -> pd.DataFrame:
    """``n`` full-size windows at random positions, in genome order (as windows.bed is)."""
    rng = np.random.default_rng(seed)
    names = list(chroms)
    chrom = rng.choice(names, size=n)
    start = np.array([rng.integers(0, chroms[c] - WIDTH) for c in chrom])
    df = pd.DataFrame({"chrom": chrom, "start": start, "end": start + WIDTH, "split": "train"})
    df["order"] = df["chrom"].map({c: i for i, c in enumerate(names)})
    return df.sort_values(["order", "start"]).drop(columns="order").reset_index(drop=True)


def seed_stats_sums(path: Path, windows: pd.DataFrame) -> np.ndarray:
    """The study's extraction: one ``stats(nBins=896, type="sum")`` call per window; ``(N, 896)``, None -> 0."""
    bw = pyBigWig.open(str(path))
    out = np.zeros((len(windows), N_BINS))
    for i, (c, s, e) in enumerate(windows[["chrom", "start", "end"]].itertuples(index=False)):
        out[i] = np.array([0.0 if v is None else v for v in bw.stats(c, int(s), int(e), nBins=N_BINS, type="sum")])
    bw.close()
    return out


def relative_error(approx: np.ndarray, exact: np.ndarray) -> tuple[float, float, float]:
    """Mean |approx - exact| / exact over bins with signal, the 99.9th percentile, and the worst ratio."""
    mask = exact > 1.0
    rel = np.abs(approx[mask] - exact[mask]) / exact[mask]
    ratio = np.maximum(approx[mask] / exact[mask], exact[mask] / np.maximum(approx[mask], 1e-9))
    return float(rel.mean()), float(np.percentile(rel, 99.9)), float(ratio.max())


def bench_layouts(data: np.ndarray, reads: int, tmp: Path) -> list[tuple[str, float, float]]:
    """Random single-window reads (as training does) per HDF5 layout: (layout, windows/s, file MB).

    ``data`` is ``(n, n_bins, n_tracks)`` float32 targets (compressibility matters, so real extracted ones).
    """
    rng = np.random.default_rng(0)
    n, _, n_tracks = data.shape
    big = min(64, n)
    layouts = {
        "contiguous": {},
        "chunk 1 window, none": {"chunks": (1, N_BINS, n_tracks)},
        "chunk 1 window, gzip-4": {"chunks": (1, N_BINS, n_tracks), "compression": "gzip", "compression_opts": 4},
        "chunk 1 window, lzf": {"chunks": (1, N_BINS, n_tracks), "compression": "lzf"},
        f"chunk {big} windows, none": {"chunks": (big, N_BINS, n_tracks)},
        f"chunk {big} windows, gzip-4": {"chunks": (big, N_BINS, n_tracks), "compression": "gzip",
                                         "compression_opts": 4},
    }
    order = rng.integers(0, n, size=reads)
    results = []
    for name, kwargs in layouts.items():
        path = tmp / f"layout_{len(results)}.h5"
        with h5py.File(path, "w") as h5:
            h5.create_dataset("targets", data=data, **kwargs)
        with h5py.File(path, "r") as h5:  # fresh handle: no chunk cache carried over
            ds = h5["targets"]
            t0 = time.perf_counter()
            for i in order:
                ds[int(i)]
            rate = reads / (time.perf_counter() - t0)
        results.append((name, rate, path.stat().st_size / 1e6))
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chroms", type=int, default=3)
    p.add_argument("--chrom-length", type=int, default=50_000_000)
    p.add_argument("--replicates", type=int, default=5)
    p.add_argument("--resolution", type=int, default=25, help="bp per bigWig entry of the synthetic replicates")
    p.add_argument("--windows", type=int, default=2000, help="full-size windows for target extraction")
    p.add_argument("--seed-windows", type=int, default=300,
                   help="windows timed with the original study's stats() loop (the first ones of --windows)")
    p.add_argument("--skip-deeptools", action="store_true")
    p.add_argument("--workdir", help="keep the generated files here instead of a temporary directory")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmpname:
        tmp = Path(tmpname)
        t0 = time.perf_counter()
        reps = make_replicates(tmp, args.chroms, args.chrom_length, args.replicates, args.resolution, 1)
        total_mb = sum(r.stat().st_size for r in reps) / 1e6
        print(f"inputs: {args.replicates} replicates x {args.chroms} chromosomes x {args.chrom_length / 1e6:g} Mb "
              f"at {args.resolution} bp, {total_mb:.0f} MB of bigWig, generated in {time.perf_counter() - t0:.1f} s")

        # (a) + (c): ours in a child process (wall time and peak RSS), then deepTools
        ours = tmp / "mean.bw"
        code = ("import sys; from stagevep.data.average import average_bigwigs; "
                "average_bigwigs(sys.argv[2:], sys.argv[1])")
        t_ours, cpu_ours, rss = run_child([sys.executable, "-c", code, str(ours), *map(str, reps)])
        print(f"(a) averaging, stagevep (1 process, exact): {t_ours:.1f} s wall, {cpu_ours:.1f} s CPU")
        print(f"(c) peak RSS of the averaging process: {rss:.2f} GiB")
        bw = pyBigWig.open(str(ours))
        chroms = dict(bw.chroms())
        bw.close()
        windows = make_windows(chroms, args.windows, 2)
        if not args.skip_deeptools:
            dt = tmp / "deeptools.bw"
            t_dt, cpu_dt, _ = run_child(["bigwigAverage", "-b", *map(str, reps), "-o", str(dt), "-p", "2"])
            print(f"(a) averaging, deepTools bigwigAverage -p 2 (50-bp bins): {t_dt:.1f} s wall, {cpu_dt:.1f} s CPU; "
                  f"ratio deepTools / stagevep = {t_dt / t_ours:.2f}x wall, {cpu_dt / cpu_ours:.2f}x CPU")
            exact = extract_sums(windows, {"ours": ours}, BIN_SIZE)[..., 0]
            approx = extract_sums(windows, {"dt": dt}, BIN_SIZE)[..., 0]
            mean_rel, p999, worst = relative_error(approx, exact)
            print(f"    deepTools 128-bp sums vs exact ({args.windows} windows, bins with sum > 1): "
                  f"mean relative error {mean_rel:.2%}, 99.9th percentile {p999:.1%}, worst ratio {worst:.2f}x")

        # (b) target extraction on the averaged bigWig, same windows for both
        t0, c0 = time.perf_counter(), time.process_time()
        exact = extract_sums(windows, {"ours": ours}, BIN_SIZE)[..., 0]
        t_ext, c_ext = time.perf_counter() - t0, time.process_time() - c0
        rate, cpu_rate = len(windows) / t_ext, len(windows) / c_ext
        print(f"(b) targets, stagevep extract_sums: {len(windows)} windows x 1 track in {t_ext:.2f} s wall, "
              f"{c_ext:.2f} s CPU ({rate:,.0f} windows/s wall, {cpu_rate:,.0f} per CPU s)")
        sub = windows.iloc[: args.seed_windows]
        t0, c0 = time.perf_counter(), time.process_time()
        seed = seed_stats_sums(ours, sub)
        t_seed, c_seed = time.perf_counter() - t0, time.process_time() - c0
        seed_rate, seed_cpu_rate = len(sub) / t_seed, len(sub) / c_seed
        print(f"(b) targets, study stats(nBins=896, type='sum') loop: {len(sub)} windows in {t_seed:.1f} s wall, "
              f"{c_seed:.1f} s CPU ({seed_rate:,.1f} windows/s wall, {seed_cpu_rate:,.1f} per CPU s); "
              f"ratio stagevep / study = {rate / seed_rate:,.0f}x wall, {cpu_rate / seed_cpu_rate:,.0f}x CPU")
        mean_rel, p999, worst = relative_error(seed, exact[: len(sub)])
        print(f"    study sums vs exact: mean relative error {mean_rel:.2%}, 99.9th percentile {p999:.1%}, "
              f"worst ratio {worst:.2f}x")
        t0, c0 = time.perf_counter(), time.process_time()
        sums5 = extract_sums(windows, {f"S{r}": r_path for r, r_path in enumerate(reps)}, BIN_SIZE)
        t5, c5 = time.perf_counter() - t0, time.process_time() - c0
        print(f"(b) targets, stagevep extract_sums: {len(windows)} windows x {len(reps)} tracks in {t5:.2f} s wall, "
              f"{c5:.2f} s CPU ({len(windows) * len(reps) / t5:,.0f} window-tracks/s wall)")

        # (d) targets.h5 layouts
        print(f"(d) targets.h5 layout, random single-window reads of the log1p targets just extracted "
              f"({len(windows):,} windows x {N_BINS} bins x {len(reps)} tracks):")
        for name, wrate, size in bench_layouts(np.log1p(sums5).astype(np.float32), 2000, tmp):
            print(f"    {name:26s} {wrate:9,.0f} windows/s  {size:6.1f} MB")


if __name__ == "__main__":
    main()
