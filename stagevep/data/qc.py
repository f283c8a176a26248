"""Data-preparation QC (``prepare/qc/``): replicate concordance, signal distributions, windows per split.

File names are stable (the report reads them):

- ``replicate_concordance.tsv``: ``stage, replicate_a, replicate_b, n_bins, pearson, pearson_log1p``,
  one row per pair of replicates within a stage; Pearson over ``bin_size``-bp bin sums of each
  replicate bigWig (missing data = 0) in the genome-aligned bins that overlap the union peaks.
- ``replicate_concordance.{png,pdf}``: one heatmap per stage (Pearson of the bin sums).
- ``signal_distribution.tsv``: ``stage, space, n_values, mean, max, fraction_zero`` for the
  per-bin sums before (``raw_sums``) and after (``targets``) the transform of ``targets.h5``.
- ``signal_distribution.{png,pdf}``: histograms of both, one line per stage.
- ``windows_per_split.tsv``: ``split, chrom, windows``; ``windows_per_split.{png,pdf}``: bar plot.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from stagevep.core.metrics import column_pearson
from stagevep.data.windows import read_windows
from stagevep.errors import InputError
from stagevep.io.bigwig import bigwig_chroms, open_bigwig, read_values
from stagevep.io.files import write_table
from stagevep.io.peaks import read_peaks
from stagevep.plots.qc import plot_concordance, plot_signal_distribution, plot_windows_per_split
from stagevep.progress import progress

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
HIST_BINS = 60


def peak_bins(peaks: pd.DataFrame, bin_size: int, chrom_lengths: Mapping[str, int]) -> pd.DataFrame:
    """Genome-aligned bins (``k * bin_size``) overlapping any peak, each once, sorted by chrom then start.

    ``peaks`` has columns ``chrom, start, end``; contigs absent from
    ``chrom_lengths`` are skipped and the last bin of a contig ends at its
    length. Returns a DataFrame ``chrom, start, end``.
    """
    frames = []
    for chrom, group in peaks.groupby("chrom", sort=True):
        if chrom not in chrom_lengths:
            continue
        first = group["start"].to_numpy(np.int64) // bin_size
        last = (group["end"].to_numpy(np.int64) - 1) // bin_size
        idx = np.unique(np.concatenate([np.arange(a, b + 1) for a, b in zip(first, last, strict=True)]))
        starts = idx * bin_size
        frames.append(pd.DataFrame({
            "chrom": chrom, "start": starts, "end": np.minimum(starts + bin_size, chrom_lengths[chrom]),
        }))
    if not frames:
        raise InputError("no union peak lies on a contig of the bigWigs: nothing to compare replicates on")
    return pd.concat(frames, ignore_index=True)


def bin_signal(bigwigs: Sequence[str | Path], bins: pd.DataFrame, bin_size: int) -> np.ndarray:
    """Sum of each bigWig's values (missing data = 0) over each bin of :func:`peak_bins`.

    Returns float64 ``(n_bins, n_bigwigs)``. Adjacent bins are read as one block.
    """
    out = np.zeros((len(bins), len(bigwigs)), dtype=np.float64)
    chrom = bins["chrom"].to_numpy()
    start = bins["start"].to_numpy(np.int64)
    end = bins["end"].to_numpy(np.int64)
    # a block starts wherever the contig changes or a bin does not follow its predecessor
    new_block = np.ones(len(bins), dtype=bool)
    new_block[1:] = (chrom[1:] != chrom[:-1]) | (start[1:] != end[:-1])
    bounds = np.append(np.flatnonzero(new_block), len(bins))
    with ExitStack() as stack:
        handles = [stack.enter_context(open_bigwig(p)) for p in bigwigs]
        for a, b in progress(zip(bounds[:-1], bounds[1:], strict=True), total=len(bounds) - 1, desc="qc bins",
                             unit="block"):
            lo, hi = int(start[a]), int(end[b - 1])
            padded = (b - a) * bin_size
            for j, bw in enumerate(handles):
                vals = np.zeros(padded, dtype=np.float64)
                vals[: hi - lo] = read_values(bw, str(chrom[a]), lo, hi)
                out[a:b, j] = vals.reshape(-1, bin_size).sum(axis=1)
    return out



def replicate_concordance(
    replicates: Mapping[str, Mapping[str, str | Path]], peaks: pd.DataFrame, bin_size: int = 128
) -> pd.DataFrame:
    """Pearson between every pair of replicates of each stage over the bins of the union peaks.

    ``replicates`` maps stage -> replicate -> bigWig (stage order kept).
    Returns ``stage, replicate_a, replicate_b, n_bins, pearson, pearson_log1p``;
    a stage with one replicate has no row.
    """
    rows = []
    for stage, reps in replicates.items():
        names = list(reps)
        if len(names) < 2:
            log.info("stage %s has one replicate: no concordance to compute", stage)
            continue
        bins = peak_bins(peaks, bin_size, bigwig_chroms(reps[names[0]]))
        sums = bin_signal([reps[n] for n in names], bins, bin_size)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                rows.append({
                    "stage": stage, "replicate_a": names[i], "replicate_b": names[j], "n_bins": len(bins),
                    "pearson": float(column_pearson(sums[:, [i]], sums[:, [j]])[0]),
                    "pearson_log1p": float(column_pearson(np.log1p(sums[:, [i]]), np.log1p(sums[:, [j]]))[0]),
                })
    table = pd.DataFrame(rows, columns=["stage", "replicate_a", "replicate_b", "n_bins", "pearson", "pearson_log1p"])
    for r in table.itertuples():
        log.info("replicate concordance %s %s vs %s: Pearson %.3f (log1p %.3f) over %d bins",
                 r.stage, r.replicate_a, r.replicate_b, r.pearson, r.pearson_log1p, r.n_bins)
    return table


def signal_distribution(
    targets_h5: str | Path, chunk: int = 256
) -> tuple[pd.DataFrame, dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]]:
    """Per-stage distribution of ``raw_sums`` and ``targets`` in ``targets.h5``, read ``chunk`` windows at a time.

    Returns the summary table (``stage, space, n_values, mean, max,
    fraction_zero``) and ``{space: {stage: (counts (HIST_BINS,), edges (HIST_BINS + 1,))}}``;
    ``raw_sums`` histograms use log-spaced edges over the positive values (zeros are
    counted in ``fraction_zero``), ``targets`` histograms linear edges from 0 to the maximum.
    """
    path = Path(targets_h5)
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"cannot read {path} as HDF5: {err}") from err
    with h5:
        missing = [d for d in ("raw_sums", "targets") if d not in h5]
        if missing:
            raise InputError(f"{path} has no {missing} dataset(s): is it a stagevep targets file?")
        tracks = [t.decode() if isinstance(t, bytes) else str(t) for t in h5.attrs["tracks"]]
        spaces = {"raw_sums": h5["raw_sums"], "targets": h5["targets"]}
        n = spaces["targets"].shape[0]
        blocks = [(a, min(a + chunk, n)) for a in range(0, n, chunk)]
        stats = {s: {"n": np.zeros(len(tracks)), "sum": np.zeros(len(tracks)), "zero": np.zeros(len(tracks)),
                     "max": np.zeros(len(tracks)), "minpos": np.full(len(tracks), np.inf)} for s in spaces}
        for a, b in blocks:  # pass 1: counts, sums, extremes
            for space, ds in spaces.items():
                x = ds[a:b].reshape(-1, len(tracks)).astype(np.float64)
                st = stats[space]
                st["n"] += x.shape[0]
                st["sum"] += x.sum(axis=0)
                st["zero"] += (x == 0).sum(axis=0)
                st["max"] = np.maximum(st["max"], x.max(axis=0, initial=0.0))
                st["minpos"] = np.minimum(st["minpos"], np.where(x > 0, x, np.inf).min(axis=0, initial=np.inf))
        edges = {}
        for t, stage in enumerate(tracks):
            raw = stats["raw_sums"]
            lo, hi = raw["minpos"][t], raw["max"][t]
            edges[("raw_sums", stage)] = (np.geomspace(lo, hi * (1 + 1e-9), HIST_BINS + 1) if np.isfinite(lo)
                                          else np.linspace(0, 1, HIST_BINS + 1))
            edges[("targets", stage)] = np.linspace(0, max(stats["targets"]["max"][t], 1e-6) * (1 + 1e-9),
                                                    HIST_BINS + 1)
        counts = {key: np.zeros(HIST_BINS, dtype=np.int64) for key in edges}
        for a, b in blocks:  # pass 2: histograms
            for space, ds in spaces.items():
                x = ds[a:b].reshape(-1, len(tracks))
                for t, stage in enumerate(tracks):
                    col = x[:, t]
                    if space == "raw_sums":
                        col = col[col > 0]
                    counts[(space, stage)] += np.histogram(col, bins=edges[(space, stage)])[0]
    rows = []
    for space in spaces:
        st = stats[space]
        for t, stage in enumerate(tracks):
            denom = max(st["n"][t], 1)
            rows.append({"stage": stage, "space": space, "n_values": int(st["n"][t]), "mean": st["sum"][t] / denom,
                         "max": st["max"][t], "fraction_zero": st["zero"][t] / denom})
    hists = {space: {stage: (counts[(space, stage)], edges[(space, stage)]) for stage in tracks} for space in spaces}
    return pd.DataFrame(rows), hists


def windows_per_split(windows: pd.DataFrame) -> pd.DataFrame:
    """Windows per ``split`` and ``chrom`` (splits train, val, test; chromosomes in file order)."""
    order = list(dict.fromkeys(windows["chrom"]))
    counts = windows.groupby(["split", "chrom"], sort=False).size().rename("windows").reset_index()
    counts["_s"] = counts["split"].map({s: i for i, s in enumerate(SPLITS)})
    counts["_c"] = counts["chrom"].map({c: i for i, c in enumerate(order)})
    return counts.sort_values(["_s", "_c"]).drop(columns=["_s", "_c"]).reset_index(drop=True)


def parse_replicates(specs: Sequence[Sequence[str]]) -> dict[str, dict[str, str]]:
    """``[(stage, replicate, bigwig), ...]`` -> ``{stage: {replicate: bigwig}}`` in order of first appearance."""
    out: dict[str, dict[str, str]] = {}
    for stage, replicate, path in specs:
        reps = out.setdefault(stage, {})
        if replicate in reps:
            raise InputError(f"replicate {replicate} of stage {stage} is given twice")
        reps[replicate] = path
    return out


def write_prepare_qc(
    replicate_specs: Sequence[Sequence[str]],
    peaks: str | Path,
    targets_h5: str | Path,
    windows_bed: str | Path,
    out_dir: str | Path,
    bin_size: int = 128,
) -> list[Path]:
    """Write every QC table and figure listed in the module docstring to ``out_dir``; returns the paths."""
    out = Path(out_dir)
    replicates = parse_replicates(replicate_specs)
    concordance = replicate_concordance(replicates, read_peaks(peaks), bin_size)
    summary, hists = signal_distribution(targets_h5)
    per_split = windows_per_split(read_windows(windows_bed))
    written = [
        write_table(concordance, out / "replicate_concordance.tsv"),
        write_table(summary, out / "signal_distribution.tsv"),
        write_table(per_split, out / "windows_per_split.tsv"),
    ]
    written += plot_concordance(concordance, replicates, out / "replicate_concordance")
    written += plot_signal_distribution(hists, summary, out / "signal_distribution")
    written += plot_windows_per_split(per_split, out / "windows_per_split")
    log.info("wrote %d QC files to %s", len(written), out)
    return written
