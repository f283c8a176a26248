"""Predicted signal as one bigWig per stage over the evaluated windows."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from stagevep.core.metrics import to_raw
from stagevep.errors import InputError
from stagevep.io.bigwig import BigWigWriter

log = logging.getLogger(__name__)


def per_base_signal(pred: np.ndarray, transform: str, bin_size: int) -> np.ndarray:
    """Predicted mean signal per base of each bin, in the units of the observed stage bigWigs.

    ``pred`` ``(N, n_bins, n_tracks)`` is in the target space; the per-bin
    sum is recovered with :func:`~stagevep.core.metrics.to_raw` and
    divided by ``bin_size``. Returns float64 of the same shape.
    """
    return to_raw(pred, transform) / bin_size


def overlap_mean_segments(
    starts: np.ndarray, values: np.ndarray, bin_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resolve overlapping windows of one chromosome into non-overlapping segments.

    ``starts`` ``(k,)`` are window starts, ``values`` ``(k, n_bins, n_tracks)``
    the per-base value of each bin. Every base covered by at least one window
    gets the mean of the values of the bins covering it. Returns
    ``(seg_starts, seg_ends, seg_values)`` of shapes ``(m,)``, ``(m,)``,
    ``(m, n_tracks)``, sorted by position; a segment never spans a bin boundary
    of any window, so each is at most ``bin_size`` long.
    """
    k, n_bins, n_tracks = values.shape
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, n_tracks))
    bin_starts = (starts.astype(np.int64)[:, None] + np.arange(n_bins, dtype=np.int64) * bin_size).ravel()
    flat = values.reshape(-1, n_tracks).astype(np.float64)
    # sweep line: +value at each bin start, -value at its end
    pos = np.concatenate([bin_starts, bin_starts + bin_size])
    delta = np.concatenate([flat, -flat])
    dcount = np.concatenate([np.ones(len(flat), np.int64), -np.ones(len(flat), np.int64)])
    order = np.argsort(pos, kind="stable")
    pos, delta, dcount = pos[order], delta[order], dcount[order]
    first = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    breaks = pos[first]
    count = np.cumsum(np.add.reduceat(dcount, first))
    # a cumulative sum restarted where coverage drops to 0 keeps rounding from drifting along the chromosome
    step = np.add.reduceat(delta, first, axis=0)
    total = np.empty_like(step)
    block_start = 0
    for end in np.flatnonzero(count == 0):
        total[block_start : end + 1] = np.cumsum(step[block_start : end + 1], axis=0)
        total[end] = 0.0
        block_start = end + 1
    covered = np.flatnonzero(count[:-1] > 0)
    seg_values = total[covered] / count[covered, None]
    return breaks[covered], breaks[covered + 1], seg_values


def write_prediction_bigwigs(
    values: np.ndarray,
    windows: pd.DataFrame,
    tracks: list[str],
    chrom_sizes: dict[str, int],
    bin_size: int,
    out_dir: str | Path,
) -> list[Path]:
    """Write ``<out_dir>/<track>.pred.bw`` for every track; returns their paths in track order.

    ``values`` ``(N, n_bins, n_tracks)`` are per-base values of each bin of the
    windows in ``windows`` (columns ``chrom, start, end``). The header lists
    ``chrom_sizes`` (the FASTA index) in its order; entries are sorted; where
    windows overlap a base gets the mean of their bins
    (:func:`overlap_mean_segments`); bases outside every window have no data.
    Each file is written under a temporary name and renamed when complete.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(windows["chrom"]) - set(chrom_sizes))
    if unknown:
        raise InputError(
            f"windows on contigs {unknown[:4]} are not in the FASTA index: evaluate with the FASTA the targets "
            "were made from"
        )
    lengths = windows["chrom"].map(chrom_sizes).to_numpy()
    outside = np.flatnonzero((windows["start"].to_numpy() < 0) | (windows["end"].to_numpy() > lengths))
    if len(outside):
        row = windows.iloc[outside[0]]
        raise InputError(
            f"window {row['chrom']}:{row['start']}-{row['end']} runs past the end of its contig in the FASTA "
            f"({chrom_sizes[row['chrom']]} bp): evaluate with the FASTA the targets were made from"
        )
    finals = [out / f"{track}.pred.bw" for track in tracks]
    chroms = list(chrom_sizes.items())
    with ExitStack() as stack:  # on exit every writer renames its file into place (or removes it on an error)
        writers = [stack.enter_context(BigWigWriter(final, chroms)) for final in finals]
        for chrom in chrom_sizes:
            rows = np.flatnonzero(windows["chrom"].to_numpy() == chrom)
            if not len(rows):
                continue
            seg_start, seg_end, seg_values = overlap_mean_segments(
                windows["start"].to_numpy()[rows], values[rows], bin_size
            )
            for t, writer in enumerate(writers):
                writer.add_runs(chrom, seg_start, seg_end, seg_values[:, t])
    log.info("wrote %d predicted bigWigs to %s", len(finals), out)
    return finals
