"""Peak files: BED, narrowPeak, gappedPeak (optionally gzipped) and bigBed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from stagevep.errors import InputError
from stagevep.io.bigwig import open_bbi

PEAK_SUFFIXES = (".bed", ".narrowpeak", ".gappedpeak", ".broadpeak")
BIGBED_SUFFIXES = (".bb", ".bigbed")


def peak_format(path: str | Path) -> str:
    """``'bigbed'`` or ``'text'`` from the file name; anything else is an :class:`InputError`."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(BIGBED_SUFFIXES):
        return "bigbed"
    if name.endswith(PEAK_SUFFIXES):
        return "text"
    raise InputError(
        f"{path}: unknown peak file extension; expected one of "
        f"{', '.join(PEAK_SUFFIXES + BIGBED_SUFFIXES)} (text formats optionally .gz)"
    )


def read_peaks(path: str | Path, kind: str = "peak file") -> pd.DataFrame:
    """Read the first three columns of a peak (or other BED-like) file.

    Returns a DataFrame with columns ``chrom`` (str), ``start``, ``end`` (int64,
    0-based half-open), in file order. Comment, ``track`` and ``browser`` lines
    are skipped. An empty file, a malformed line, a negative start or
    ``start >= end`` is an :class:`InputError` naming the file (and line);
    ``kind`` names the file's role in those messages (``"blacklist"``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{kind} not found: {path}")
    if peak_format(path) == "bigbed":
        rows = _read_bigbed(path)
    else:
        rows = _read_text_peaks(path)
    if not rows:
        raise InputError(
            f"{kind} {path} contains no peaks (only blank, comment, 'track' or 'browser' lines): "
            "check that the file is complete and is the one you meant"
        )
    df = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    return df.astype({"chrom": str, "start": "int64", "end": "int64"})


def _read_text_peaks(path: Path) -> list[tuple[str, int, int]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    rows: list[tuple[str, int, int]] = []
    try:
        with opener(path, "rt") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 3:
                    raise InputError(f"{path} line {lineno}: expected at least 3 tab-separated columns")
                try:
                    start, end = int(fields[1]), int(fields[2])
                except ValueError as err:
                    raise InputError(f"{path} line {lineno}: start/end are not integers: {line.strip()!r}") from err
                if start < 0:
                    raise InputError(f"{path} line {lineno}: negative start {start}; BED starts are 0-based, >= 0")
                if end <= start:
                    raise InputError(
                        f"{path} line {lineno}: start {start} is not before end {end}; BED intervals are "
                        "0-based half-open with start < end (are the columns swapped?)"
                    )
                rows.append((fields[0], start, end))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read peak file {path}: {err}") from err
    return rows


def _read_bigbed(path: Path) -> list[tuple[str, int, int]]:
    rows: list[tuple[str, int, int]] = []
    with open_bbi(path, "bigBed") as bb:
        for chrom, length in bb.chroms().items():
            for start, end, _rest in bb.entries(chrom, 0, length) or []:
                rows.append((chrom, int(start), int(end)))
    return rows


def max_ends(intervals: pd.DataFrame) -> dict[str, int]:
    """Contig -> largest interval end of a ``chrom, start, end`` DataFrame, in order of first appearance."""
    return {str(c): int(e) for c, e in intervals.groupby("chrom", sort=False)["end"].max().items()}
