"""Peak files: BED (BED3 to BED12), narrowPeak, broadPeak, gappedPeak (optionally gzipped) and bigBed."""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import pandas as pd

from stagevep.errors import InputError
from stagevep.io.bigwig import open_bbi

log = logging.getLogger(__name__)

#: text peak formats by name; ``.bed3`` ... ``.bed12`` (e.g. MACS3 bdgbroadcall's ``.bed12``) are BED too
PEAK_SUFFIXES = (".bed", ".narrowpeak", ".gappedpeak", ".broadpeak", ".txt")
BED_N_SUFFIX = re.compile(r"\.bed([3-9]|1[0-2])$")
#: names that say nothing about the columns: the format is read from the content
GENERIC_SUFFIXES = (".bed", ".txt")
BIGBED_SUFFIXES = (".bb", ".bigbed")
SUPPORTED = ("BED3-BED12 (.bed, .bed3 ... .bed12), narrowPeak, broadPeak, gappedPeak, tab-separated .txt "
             "(each optionally .gz), bigBed (.bb, .bigbed)")
_BIGBED_MAGIC = (0x8789F2EB).to_bytes(4, "little")


def peak_format(path: str | Path) -> str:
    """``'bigbed'`` or ``'text'``, from the file's first bytes where it exists, else from its name.

    A bigBed is recognised by its magic number whatever its name (a bigBed saved as ``.bed``); any
    other file must have a peak extension (:data:`PEAK_SUFFIXES`, ``.bed3`` ... ``.bed12``,
    optionally ``.gz``, or :data:`BIGBED_SUFFIXES`); anything else is an :class:`InputError`.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    by_name = ("bigbed" if name.endswith(BIGBED_SUFFIXES)
               else "text" if name.endswith(PEAK_SUFFIXES) or BED_N_SUFFIX.search(name) else None)
    if path.is_file():
        with open(path, "rb") as fh:
            if fh.read(4) == _BIGBED_MAGIC:
                return "bigbed"
    if by_name is None:
        raise InputError(f"{path}: unknown peak file extension; supported: {SUPPORTED}")
    return by_name


def peak_flavour(fields: list[str]) -> str:
    """Name of the BED-family format whose columns ``fields`` (one tab-split line) has.

    ``narrowPeak`` (10 columns: BED6 + signal, p, q, summit), ``broadPeak`` (9: BED6 + signal,
    p, q), ``gappedPeak`` (15: BED12 + signal, p, q), ``BED12`` (blocks), else ``BED<n>``.
    """
    def numbers(cols: list[str]) -> bool:
        try:
            [float(c) for c in cols]
        except ValueError:
            return False
        return True

    n = len(fields)
    if n == 10 and numbers(fields[6:10]):
        return "narrowPeak"
    if n == 9 and numbers(fields[6:9]):
        return "broadPeak"
    if n == 15 and numbers(fields[12:15]):
        return "gappedPeak"
    return f"BED{n}" if n <= 12 else f"{n}-column BED"


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
    with open(path, "rb") as raw:
        opener = gzip.open if raw.read(2) == b"\x1f\x8b" else open
    rows: list[tuple[str, int, int]] = []
    flavour = ""
    try:
        with opener(path, "rt") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) < 3:
                    raise InputError(f"{path} line {lineno}: expected at least 3 tab-separated columns "
                                     f"(chrom, start, end){_delimiter_hint(line)}")
                try:
                    start, end = int(fields[1]), int(fields[2])
                except ValueError as err:
                    if not rows:
                        raise InputError(
                            f"{path} line {lineno}: start/end are not integers: {line.strip()[:60]!r}. A header "
                            "line? BED files have none: delete it or start it with '#'"
                        ) from err
                    raise InputError(f"{path} line {lineno}: start/end are not integers: {line.strip()!r}") from err
                if start < 0:
                    raise InputError(f"{path} line {lineno}: negative start {start}; BED starts are 0-based, >= 0")
                if end <= start:
                    raise InputError(
                        f"{path} line {lineno}: start {start} is not before end {end}; BED intervals are "
                        "0-based half-open with start < end (are the columns swapped?)"
                    )
                if not flavour:
                    flavour = peak_flavour(fields)
                rows.append((fields[0], start, end))
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read peak file {path} (truncated, or not a text/gzip file?): {err}") from err
    if flavour:
        log.debug("%s: read as %s (from its columns)", path, flavour)
    return rows


def _delimiter_hint(line: str) -> str:
    """Why a line may have fewer than 3 tab-separated columns, for the error message."""
    if line.count(",") >= 2:
        return "; the line is comma-separated: peak files are tab-separated (convert with `tr ',' '\\t'`)"
    if len(line.split()) >= 3:
        return "; the line is separated by spaces: peak files are tab-separated (convert with `tr ' ' '\\t'`)"
    return ""


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
