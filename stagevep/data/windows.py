"""Target windows centred on union peaks, with a chromosome split."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.files import write_table
from stagevep.io.genome import check_contigs_shared, fasta_lengths
from stagevep.io.peaks import max_ends, read_peaks

log = logging.getLogger(__name__)

WINDOW_COLUMNS = ["chrom", "start", "end", "name", "split"]


def assign_split(chrom: str, val_chroms: Collection[str], test_chroms: Collection[str]) -> str:
    """``'val'``, ``'test'`` or ``'train'`` for a chromosome."""
    if chrom in val_chroms:
        return "val"
    if chrom in test_chroms:
        return "test"
    return "train"


PRIMARY_CHROMS = tuple(f"chr{i}" for i in range(1, 23)) + ("chrX",)
"""``--keep-chroms primary``: the autosomes and chrX (UCSC names; Ensembl ``1``..``22``, ``X`` match too)."""

DROP_REASONS = ("unknown_contig", "not_kept", "excluded", "outside_chromosome", "blacklisted", "duplicate")
"""Why a union peak gives no window, checked in this order (the first that applies is counted)."""


@dataclass
class WindowSelection:
    """Windows kept (:data:`WINDOW_COLUMNS`) and the per-chromosome ``summary``.

    ``summary`` has columns ``chrom, split, peaks, windows`` and one column per
    :data:`DROP_REASONS`: one row per contig with peaks (FASTA order, then
    contigs unknown to the FASTA), then ``chrom == "all"`` rows per split and in total.
    """

    windows: pd.DataFrame
    summary: pd.DataFrame


def resolve_keep_chroms(spec: str | Collection[str], chrom_lengths: Mapping[str, int]) -> list[str]:
    """Chromosomes allowed to give windows, in FASTA order.

    ``spec`` is ``"primary"`` (:data:`PRIMARY_CHROMS`, or ``1``..``22``, ``X``
    where the FASTA uses Ensembl names), ``"all"`` (every FASTA contig) or a
    list of names (a string is split at commas); a listed name absent from
    the FASTA is an :class:`InputError`.
    """
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key == "all":
            return list(chrom_lengths)
        if key == "primary":
            wanted = set(PRIMARY_CHROMS) | {c.removeprefix("chr") for c in PRIMARY_CHROMS}
            return [c for c in chrom_lengths if c in wanted]
        spec = _chrom_list(spec)
    unknown = [c for c in spec if c not in chrom_lengths]
    if unknown:
        raise InputError(
            f"--keep-chroms names contig(s) absent from the FASTA: {unknown[:5]}; the FASTA has "
            f"{list(chrom_lengths)[:5]}... Use the FASTA's names, 'primary' or 'all'."
        )
    wanted = set(spec)
    return [c for c in chrom_lengths if c in wanted]


def overlaps_intervals(
    chrom: np.ndarray, start: np.ndarray, end: np.ndarray, intervals: pd.DataFrame
) -> np.ndarray:
    """Which half-open ``[start, end)`` on ``chrom`` overlap any interval of ``intervals``.

    ``chrom``, ``start``, ``end`` are ``(n,)``; ``intervals`` has columns
    ``chrom, start, end``. Returns bool ``(n,)`` (touching ends do not overlap,
    as in ``bedtools intersect``).
    """
    hit = np.zeros(len(chrom), dtype=bool)
    for name, group in intervals.groupby("chrom", sort=False):
        rows = np.flatnonzero(chrom == name)
        if not len(rows):
            continue
        order = np.argsort(group["start"].to_numpy(), kind="stable")
        starts = group["start"].to_numpy()[order]
        # running maximum of the ends: the furthest any interval starting at or before i reaches
        reach = np.maximum.accumulate(group["end"].to_numpy()[order])
        last = np.searchsorted(starts, end[rows], side="left") - 1  # last interval starting before `end`
        hit[rows] = (last >= 0) & (reach[np.maximum(last, 0)] > start[rows])
    return hit


def select_windows(
    peaks: pd.DataFrame,
    chrom_lengths: Mapping[str, int],
    target_length: int,
    val_chroms: Collection[str] = ("chr8",),
    test_chroms: Collection[str] = ("chr2", "chr10"),
    exclude_chroms: Collection[str] = ("chrY",),
    keep_chroms: str | Collection[str] = "primary",
    blacklist: pd.DataFrame | None = None,
) -> WindowSelection:
    """Centre each peak, extend it to ``target_length`` bp and filter.

    The centre is ``(start + end) // 2`` and the window is
    ``[centre - target_length // 2, + target_length)``. A peak gives no window
    when (in this order) its contig is absent from ``chrom_lengths``, is not
    in ``keep_chroms`` (see :func:`resolve_keep_chroms`), is in
    ``exclude_chroms``, the window leaves the chromosome, the window overlaps
    ``blacklist`` (``chrom, start, end``), or an earlier peak gave the same
    window. Windows are ordered by the order of ``chrom_lengths``, then start.
    """
    overlap = set(val_chroms) & set(test_chroms)
    if overlap:
        raise InputError(f"chromosome(s) {sorted(overlap)} are in both the validation and the test split")
    keep = set(resolve_keep_chroms(keep_chroms, chrom_lengths))
    df = peaks[["chrom", "start", "end"]].reset_index(drop=True)
    centre = (df["start"].to_numpy(np.int64) + df["end"].to_numpy(np.int64)) // 2
    chrom = df["chrom"].astype(str).to_numpy()
    start = centre - target_length // 2
    end = start + target_length
    lengths = df["chrom"].map(chrom_lengths).fillna(-1).to_numpy(np.int64)
    reason = np.full(len(df), "", dtype=object)

    def drop(mask: np.ndarray, why: str) -> None:
        reason[(reason == "") & mask] = why

    drop(lengths < 0, "unknown_contig")
    drop(~np.isin(chrom, list(keep)), "not_kept")
    drop(np.isin(chrom, list(exclude_chroms)), "excluded")
    drop((start < 0) | (end > lengths), "outside_chromosome")
    if blacklist is not None and len(blacklist):
        drop(overlaps_intervals(chrom, start, end, blacklist), "blacklisted")
    candidates = pd.DataFrame({"chrom": chrom, "start": start, "end": end})
    drop(candidates.duplicated().to_numpy(), "duplicate")

    order = {c: i for i, c in enumerate(chrom_lengths)}
    kept = candidates[reason == ""]
    kept = kept.assign(_o=kept["chrom"].map(order)).sort_values(["_o", "start"], kind="stable").drop(columns="_o")
    kept["name"] = kept["chrom"] + ":" + kept["start"].astype(str) + "-" + kept["end"].astype(str)
    kept["split"] = [assign_split(c, val_chroms, test_chroms) for c in kept["chrom"]]
    windows = kept.reset_index(drop=True)[WINDOW_COLUMNS]

    reasons = pd.Series(reason, name="reason").replace("", "windows")
    summary = _summary(chrom, reasons, chrom_lengths, keep, exclude_chroms, val_chroms, test_chroms)
    _log_summary(summary)
    empty = [s for s in ("train", "val", "test") if not (windows["split"] == s).any()]
    if empty and not windows.empty:
        log.warning("no window in the %s split(s): check --val-chroms, --test-chroms and --keep-chroms", empty)
    if windows.empty:
        raise InputError(
            "no window remains after filtering: check the peaks, the FASTA, --keep-chroms, --exclude-chroms "
            "and --blacklist (see the windows summary above)"
        )
    return WindowSelection(windows=windows, summary=summary)


def make_windows(
    peaks: pd.DataFrame, chrom_lengths: Mapping[str, int], target_length: int, **options: Any
) -> pd.DataFrame:
    """The windows of :func:`select_windows` (columns :data:`WINDOW_COLUMNS`), without the summary.

    ``options`` are :func:`select_windows`'s keyword arguments (``val_chroms``, ``test_chroms``,
    ``exclude_chroms``, ``keep_chroms``, ``blacklist``).
    """
    return select_windows(peaks, chrom_lengths, target_length, **options).windows


def _summary(
    chrom: np.ndarray,
    reasons: pd.Series,
    chrom_lengths: Mapping[str, int],
    keep: Collection[str],
    exclude_chroms: Collection[str],
    val_chroms: Collection[str],
    test_chroms: Collection[str],
) -> pd.DataFrame:
    counts = pd.crosstab(pd.Series(chrom, name="chrom"), reasons)
    columns = ["windows", *DROP_REASONS]
    counts = counts.reindex(columns=columns, fill_value=0)
    known = [c for c in chrom_lengths if c in counts.index]
    counts = counts.loc[known + sorted(set(counts.index) - set(known))]
    table = counts.reset_index()
    table.insert(1, "split", [
        assign_split(c, val_chroms, test_chroms) if c in keep and c not in exclude_chroms else "none"
        for c in table["chrom"]
    ])
    table.insert(2, "peaks", counts.sum(axis=1).to_numpy())
    totals = [
        {"chrom": "all", "split": split, **table.loc[table["split"] == split, ["peaks", *columns]].sum().to_dict()}
        for split in ("train", "val", "test", "none") if (table["split"] == split).any()
    ]
    totals.append({"chrom": "all", "split": "all", **table[["peaks", *columns]].sum().to_dict()})
    out = pd.concat([table, pd.DataFrame(totals)], ignore_index=True)
    return out.astype({c: "int64" for c in ["peaks", *columns]})


def _log_summary(summary: pd.DataFrame) -> None:
    total = summary.iloc[-1]
    per_split = {r.split: int(r.windows) for r in summary[summary["chrom"] == "all"].itertuples() if r.split != "all"}
    dropped = {r: int(total[r]) for r in DROP_REASONS if total[r]}
    log.info("%d union peaks -> %d windows; per split %s; dropped %s", total["peaks"], total["windows"],
             per_split, dropped or "none")
    unknown = summary.loc[summary["unknown_contig"] > 0, "chrom"].tolist()
    unknown = [c for c in unknown if c != "all"]
    if unknown:
        log.warning("peaks on %d contig(s) absent from the FASTA were dropped: %s", len(unknown), unknown[:5])


def read_windows(path: str | Path) -> pd.DataFrame:
    """Read a windows BED (``chrom start end name split``, no header)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"windows file not found: {path}")
    try:
        df = pd.read_csv(path, sep="\t", header=None, names=WINDOW_COLUMNS, dtype={"chrom": str, "split": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"cannot parse windows file {path} (chrom start end name split, tab-separated, as "
                         f"make_windows.py writes it): {err}") from err
    bad = ~df["split"].isin(["train", "val", "test"])
    if bad.any():
        row = int(bad.idxmax()) + 1
        raise InputError(f"{path} line {row}: split must be train, val or test, got {df['split'][row - 1]!r}")
    return df


def _chrom_list(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def read_blacklist(path: str | Path, chrom_lengths: Mapping[str, int], fasta: str | Path) -> pd.DataFrame:
    """Read a blacklist BED (``chrom, start, end``); contigs unknown to the FASTA are an :class:`InputError`."""
    blacklist = read_peaks(path, kind="blacklist")
    check_contigs_shared(fasta, chrom_lengths, path, max_ends(blacklist),
                         require_known=True, lengths_are_bounds=True)
    return blacklist


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
    keep_chroms: str = "primary",
    blacklist: str | Path | None = None,
    summary: str | Path | None = None,
) -> pd.DataFrame:
    """File-level :func:`select_windows`: read the union BED and FASTA lengths, write ``windows.bed``.

    Chromosome lists are comma-separated strings, as on the command line;
    ``summary`` is where the per-chromosome TSV of :class:`WindowSelection` goes.
    """
    geometry = Geometry(n_bins=n_bins, bin_size=bin_size, context_length=context_length)
    lengths = fasta_lengths(fasta)
    selection = select_windows(
        read_peaks(peaks), lengths, geometry.target_length,
        _chrom_list(val_chroms), _chrom_list(test_chroms), _chrom_list(exclude_chroms), keep_chroms,
        read_blacklist(blacklist, lengths, fasta) if blacklist else None,
    )
    write_table(selection.windows, output, header=False)
    if summary is not None:
        write_table(selection.summary, summary)
    return selection.windows
