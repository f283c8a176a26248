"""Target windows centred on union peaks, with a chromosome split."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd

from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.genome import fasta_lengths
from stagevep.io.peaks import read_peaks

log = logging.getLogger(__name__)

WINDOW_COLUMNS = ["chrom", "start", "end", "name", "split"]


def assign_split(chrom: str, val_chroms: Collection[str], test_chroms: Collection[str]) -> str:
    """``'val'``, ``'test'`` or ``'train'`` for a chromosome."""
    if chrom in val_chroms:
        return "val"
    if chrom in test_chroms:
        return "test"
    return "train"


def make_windows(
    peaks: pd.DataFrame,
    chrom_lengths: Mapping[str, int],
    target_length: int,
    val_chroms: Collection[str] = ("chr8",),
    test_chroms: Collection[str] = ("chr2", "chr10"),
    exclude_chroms: Collection[str] = ("chrY",),
) -> pd.DataFrame:
    """Centre each peak and extend it to ``target_length`` bp.

    The centre is ``(start + end) // 2`` and the window is
    ``[centre - target_length // 2, + target_length)``. Windows outside the
    chromosome, on excluded chromosomes or on contigs absent from
    ``chrom_lengths`` are dropped; duplicates are removed. Returns a DataFrame
    with :data:`WINDOW_COLUMNS`, ordered by the order of ``chrom_lengths``, then start.
    """
    overlap = set(val_chroms) & set(test_chroms)
    if overlap:
        raise InputError(f"chromosome(s) {sorted(overlap)} are in both the validation and the test split")
    df = peaks[["chrom", "start", "end"]].copy()
    centre = (df["start"] + df["end"]) // 2
    df["start"] = centre - target_length // 2
    df["end"] = df["start"] + target_length
    n_in = len(df)
    known = df["chrom"].isin(list(chrom_lengths))
    unknown = sorted(set(df.loc[~known, "chrom"]))
    if unknown:
        log.warning("dropping peaks on %d contig(s) absent from the FASTA: %s", len(unknown), unknown[:5])
    df = df[known & ~df["chrom"].isin(list(exclude_chroms))]
    lengths = df["chrom"].map(chrom_lengths)
    inside = (df["start"] >= 0) & (df["end"] <= lengths)
    n_outside = int((~inside).sum())
    df = df[inside].drop_duplicates(["chrom", "start", "end"])
    order = {c: i for i, c in enumerate(chrom_lengths)}
    df = df.assign(_o=df["chrom"].map(order)).sort_values(["_o", "start"], kind="stable").drop(columns="_o")
    df["name"] = df["chrom"] + ":" + df["start"].astype(str) + "-" + df["end"].astype(str)
    df["split"] = [assign_split(c, val_chroms, test_chroms) for c in df["chrom"]]
    df = df.reset_index(drop=True)[WINDOW_COLUMNS]
    counts = df["split"].value_counts().to_dict()
    log.info(
        "%d peaks -> %d windows (%d outside chromosome bounds dropped); per split: %s",
        n_in, len(df), n_outside, counts,
    )
    if df.empty:
        raise InputError("no window remains after filtering: check the peaks, the FASTA and --exclude-chroms")
    return df


def read_windows(path: str | Path) -> pd.DataFrame:
    """Read a windows BED (``chrom start end name split``, no header)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"windows file not found: {path}")
    df = pd.read_csv(path, sep="\t", header=None, names=WINDOW_COLUMNS, dtype={"chrom": str, "split": str})
    bad = ~df["split"].isin(["train", "val", "test"])
    if bad.any():
        row = int(bad.idxmax()) + 1
        raise InputError(f"{path} line {row}: split must be train, val or test, got {df['split'][row - 1]!r}")
    return df


def _chrom_list(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def write_windows_from_peaks(
    peaks: str | Path,
    fasta: str | Path,
    output: str | Path,
    n_bins: int = 896,
    bin_size: int = 128,
    context_length: int = 196_608,
    val_chroms: str = "chr8",
    test_chroms: str = "chr2,chr10",
    exclude_chroms: str = "chrY",
) -> pd.DataFrame:
    """File-level :func:`make_windows`: read the union BED and FASTA lengths, write ``windows.bed``.

    Chromosome lists are comma-separated strings, as on the command line.
    """
    geometry = Geometry(n_bins=n_bins, bin_size=bin_size, context_length=context_length)
    windows = make_windows(
        read_peaks(peaks), fasta_lengths(fasta), geometry.target_length,
        _chrom_list(val_chroms), _chrom_list(test_chroms), _chrom_list(exclude_chroms),
    )
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    windows.to_csv(output, sep="\t", header=False, index=False)
    return windows
