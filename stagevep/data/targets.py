"""Exact binned targets from stage bigWigs."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from stagevep import __version__
from stagevep.cli import parse_assignments
from stagevep.data.windows import read_windows
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.bigwig import open_bigwig, read_values
from stagevep.io.hdf5 import write_targets
from stagevep.progress import progress

log = logging.getLogger(__name__)


def bin_sums(values: np.ndarray, bin_size: int) -> np.ndarray:
    """Sum base-resolution ``(n_bins * bin_size,)`` values into ``(n_bins,)`` float64 bins."""
    return values.astype(np.float64).reshape(-1, bin_size).sum(axis=1)


def transform_targets(sums: np.ndarray, clip_percentile: float | None) -> np.ndarray:
    """The seed's transform: ``log1p`` then clip each (window, track) at a percentile of its bins.

    ``sums`` is ``(N, n_bins, n_tracks)`` and non-negative; the percentile is
    taken over the bin axis, so every window and track gets its own cap.
    ``None`` or 100 disables clipping. Returns float32 of the same shape.
    """
    if np.any(sums < 0):
        raise InputError("negative bin sums: the signal bigWigs must be non-negative for log1p")
    out = np.log1p(sums)
    if clip_percentile is not None and clip_percentile < 100:
        if not 0 < clip_percentile <= 100:
            raise InputError(f"--clip-percentile must be in (0, 100], got {clip_percentile}")
        cap = np.percentile(out, clip_percentile, axis=1, keepdims=True)
        out = np.minimum(out, cap)
    return out.astype(np.float32)


def extract_sums(windows: pd.DataFrame, bigwigs: Mapping[str, str | Path], bin_size: int) -> np.ndarray:
    """Exact per-bin sums for every window and stage.

    Returns float64 ``(N, n_bins, n_tracks)``, tracks in the order of ``bigwigs``;
    missing data contributes 0.
    """
    lengths = (windows["end"] - windows["start"]).unique()
    if len(lengths) != 1 or lengths[0] % bin_size:
        raise InputError(f"windows must all have one length that is a multiple of {bin_size}; got {lengths[:5]}")
    n_bins = int(lengths[0]) // bin_size
    out = np.zeros((len(windows), n_bins, len(bigwigs)), dtype=np.float64)
    with ExitStack() as stack:
        handles = [stack.enter_context(open_bigwig(p)) for p in bigwigs.values()]
        rows = windows[["chrom", "start", "end"]].itertuples(index=False)
        for i, (chrom, start, end) in enumerate(progress(rows, total=len(windows), desc="targets", unit="win")):
            for t, bw in enumerate(handles):
                out[i, :, t] = bin_sums(read_values(bw, chrom, int(start), int(end)), bin_size)
    return out


def make_targets(
    windows: pd.DataFrame,
    bigwigs: Mapping[str, str | Path],
    output: str | Path,
    geometry: Geometry,
    clip_percentile: float | None = 99.9,
    fasta: str | Path | None = None,
) -> None:
    """Extract, transform and write ``targets.h5`` (with ``raw_sums``) for ``windows``."""
    if not bigwigs:
        raise InputError("make_targets needs at least one STAGE=bigWig")
    if windows.empty:
        raise InputError("no windows to extract targets for")
    width = int((windows["end"] - windows["start"]).iloc[0])
    if width != geometry.target_length:
        raise InputError(
            f"windows are {width} bp but n_bins x bin_size = {geometry.target_length} bp: "
            "use the same geometry for make_windows and make_targets"
        )
    sums = extract_sums(windows, bigwigs, geometry.bin_size)
    targets = transform_targets(sums, clip_percentile)
    attrs = {
        "transform": "log1p",
        "clip_percentile": float(clip_percentile) if clip_percentile is not None else 100.0,
        "clip_scope": "window",
        "stagevep_version": __version__,
    }
    if fasta is not None:
        attrs["fasta"] = _fasta_identity(fasta)
    write_targets(output, targets, windows, list(bigwigs), geometry, attrs, extra={"raw_sums": sums})
    log.info("wrote targets %s for %d windows x %d tracks to %s", targets.shape, len(windows), len(bigwigs), output)


def _fasta_identity(fasta: str | Path) -> str:
    fai = Path(str(fasta) + ".fai")
    digest = hashlib.md5(fai.read_bytes()).hexdigest() if fai.exists() else "no-fai"
    return f"{Path(fasta).name} fai_md5={digest}"


def parse_stage_bigwigs(specs: list[str]) -> dict[str, str]:
    """``['CS13=a.bw', ...]`` -> ``{'CS13': 'a.bw', ...}`` in the given (track) order."""
    return parse_assignments(specs, "--bigwig", "STAGE=FILE")


def make_targets_from_files(
    windows_bed: str | Path,
    bigwig_specs: list[str],
    output: str | Path,
    bin_size: int = 128,
    context_length: int = 196_608,
    clip_percentile: float | None = 99.9,
    fasta: str | Path | None = None,
) -> None:
    """File-level :func:`make_targets`; the bin count follows from the window length and ``bin_size``."""
    windows = read_windows(windows_bed)
    width = int((windows["end"] - windows["start"]).iloc[0]) if len(windows) else 0
    if width % bin_size:
        raise InputError(f"windows in {windows_bed} are {width} bp, not a multiple of --bin-size {bin_size}")
    geometry = Geometry(n_bins=width // bin_size, bin_size=bin_size, context_length=context_length)
    make_targets(windows, parse_stage_bigwigs(bigwig_specs), output, geometry, clip_percentile, fasta)
