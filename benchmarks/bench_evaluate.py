#!/usr/bin/env python3
"""Evaluation speed: RC averaging from one set of passes, and predicted-bigWig export.

1. ``--rc-average`` reports plain and RC-averaged metrics. Baseline: two calls,
   ``predict_batches`` plain then with ``rc_average=True`` (three forward passes
   per window). Ours: one call with ``with_forward=True`` (two passes).
2. Predicted bigWigs. Baseline: base-resolution sum/count arrays over each
   chromosome, then run-length encoding (the obvious way; memory grows with the
   chromosome). Ours: the sweep line over bin boundaries
   (:func:`stagevep.evaluate.tracks.overlap_mean_segments`), memory proportional
   to the predictions. Both write the same bigWigs; the script checks that.

Run: ``.venv/bin/python benchmarks/bench_evaluate.py`` (figures in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import torch

from stagevep.evaluate.tracks import write_prediction_bigwigs
from stagevep.geometry import Geometry
from stagevep.io.bigwig import BigWigWriter, runs
from stagevep.model.enformer import build_model
from stagevep.model.predict import predict_batches
from stagevep.model.sizes import model_config


def timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_rc(n_windows: int, repeats: int) -> None:
    geom = Geometry(n_bins=64, bin_size=128, context_length=16_384)
    torch.manual_seed(0)
    model = build_model(model_config("tiny", geom), n_tracks=5)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (n_windows, geom.context_length)), 4).float()
    batches = list(x.split(4))
    dev = torch.device("cpu")

    def baseline():
        predict_batches(model, batches, dev, "fp32")
        predict_batches(model, batches, dev, "fp32", rc_average=True)

    def ours():
        predict_batches(model, batches, dev, "fp32", rc_average=True, with_forward=True)

    t_base, t_ours = timed(baseline, repeats), timed(ours, repeats)
    print(f"RC averaging, tiny model, {n_windows} windows of {geom.context_length} bp, CPU fp32, best of {repeats}")
    print(f"  baseline (plain call + rc_average call): {t_base:.2f} s")
    print(f"  one call with with_forward=True:         {t_ours:.2f} s   speed-up x{t_base / t_ours:.2f}")


def naive_bigwigs(values, windows, tracks, chrom_sizes, bin_size, out_dir):
    """Baseline: base-resolution accumulation over each whole chromosome."""
    paths = [Path(out_dir) / f"{t}.pred.bw" for t in tracks]
    with ExitStack() as stack:
        writers = [stack.enter_context(BigWigWriter(p, list(chrom_sizes.items()))) for p in paths]
        _naive_fill(writers, values, windows, chrom_sizes, bin_size)
    return paths


def _naive_fill(writers, values, windows, chrom_sizes, bin_size):
    for chrom, length in chrom_sizes.items():
        rows = np.flatnonzero(windows["chrom"].to_numpy() == chrom)
        if not len(rows):
            continue
        total = np.zeros((length, values.shape[2]), np.float64)
        count = np.zeros(length, np.int32)
        for i in rows:
            s, e = int(windows["start"].iat[i]), int(windows["end"].iat[i])
            total[s:e] += np.repeat(values[i], bin_size, axis=0)
            count[s:e] += 1
        covered = count > 0
        mean = np.zeros_like(total)
        mean[covered] = total[covered] / count[covered, None]
        for t, w in enumerate(writers):
            w.add_runs(chrom, *runs(mean[:, t].astype(np.float32)))


def bench_bigwig(n_windows: int, chrom_mb: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    geom = Geometry()  # 896 bins of 128 bp
    chrom_sizes = {"chrA": chrom_mb * 1_000_000, "chrB": chrom_mb * 1_000_000 // 2}
    chroms = rng.choice(list(chrom_sizes), size=n_windows, p=[2 / 3, 1 / 3])
    starts = np.array([rng.integers(0, chrom_sizes[c] - geom.target_length) for c in chroms])
    windows = pd.DataFrame({"chrom": chroms, "start": starts, "end": starts + geom.target_length})
    windows = windows.sort_values(["chrom", "start"]).reset_index(drop=True)
    tracks = [f"S{i}" for i in range(5)]
    values = rng.gamma(2.0, size=(n_windows, geom.n_bins, len(tracks))).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        t_base = timed(lambda: naive_bigwigs(values, windows, tracks, chrom_sizes, geom.bin_size,
                                             Path(tmp) / "base"), repeats)
        t_ours = timed(lambda: write_prediction_bigwigs(values, windows, tracks, chrom_sizes, geom.bin_size,
                                                        Path(tmp) / "ours"), repeats)
        a = pyBigWig.open(str(Path(tmp) / "base" / "S0.pred.bw"))
        b = pyBigWig.open(str(Path(tmp) / "ours" / "S0.pred.bw"))
        c, s = windows["chrom"].iat[0], int(windows["start"].iat[0])
        np.testing.assert_allclose(a.values(c, s, s + 300_000, numpy=True), b.values(c, s, s + 300_000, numpy=True),
                                   rtol=1e-5)
        a.close()
        b.close()
    covered = n_windows * geom.target_length / sum(chrom_sizes.values())
    print(f"Predicted bigWigs, {n_windows} windows x 896 bins x 5 stages on {sum(chrom_sizes.values()) / 1e6:.0f} Mb "
          f"(windows cover {covered:.1f}x the genome, overlapping), best of {repeats}")
    print(f"  baseline (base-resolution arrays per chromosome): {t_base:.2f} s")
    print(f"  sweep line over bin boundaries:                  {t_ours:.2f} s   speed-up x{t_base / t_ours:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--windows", type=int, default=32, help="windows for the RC benchmark")
    p.add_argument("--bigwig-windows", type=int, default=400)
    p.add_argument("--chrom-mb", type=int, default=20)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(2)
    bench_rc(args.windows, args.repeats)
    bench_bigwig(args.bigwig_windows, args.chrom_mb, args.repeats)


if __name__ == "__main__":
    main()
