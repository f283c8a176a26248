"""bigWig reading and writing (pyBigWig)."""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pyBigWig

from stagevep.errors import InputError
from stagevep.io.files import atomic_path

log = logging.getLogger(__name__)

_MAGIC = {"bigWig": 0x888FFC26, "bigBed": 0x8789F2EB}
_HEADER = struct.Struct("<IHHQQQHHQQIQ")  # the 64-byte common header of bigWig/bigBed (UCSC bbiFile.h)
_ZOOM_HEADER = struct.Struct("<IIQQ")
_SUMMARY = struct.Struct("<Qdddd")  # bases covered, min, max, sum, sum of squares
_R_TREE_HEADER_SIZE = 48


def check_bbi_file(path: str | Path, kind: str = "bigWig") -> dict[str, float]:
    """Check the header of a bigWig/bigBed without trusting it, and return its total summary.

    Reads the 64-byte header and the zoom headers and checks the magic number and
    that every section they point to lies inside the file, so that a truncated
    download or a text/gzip file given as a bigWig is an :class:`InputError`
    with an actionable message (libBigWig either refuses it with "Unknown error"
    or, for some truncations, crashes). Returns the file's total summary
    ``{'covered', 'min', 'max', 'sum', 'sum_squares'}`` (empty when the file has none).
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(_HEADER.size)
        if len(head) < _HEADER.size:
            raise InputError(f"{path} is {size} bytes, too short to be a {kind}: the file is empty or truncated")
        fields = _HEADER.unpack(head)
        other = next(k for k in _MAGIC if k != kind)
        if fields[0] == _MAGIC[other]:
            raise InputError(
                f"{path} is a {other} file, not a {kind}: are the samplesheet's bigwig and peaks columns swapped?"
            )
        if fields[0] != _MAGIC[kind]:
            raise InputError(
                f"{path} is not a {kind} file (it starts with bytes {head[:4].hex()}{_looks_like(head)}); "
                f"convert bedGraph with bedGraphToBigWig, or check which file the samplesheet names"
            )
        zoom_levels, chrom_tree, data, index, summary_offset = fields[2], fields[3], fields[4], fields[5], fields[9]
        zooms = fh.read(_ZOOM_HEADER.size * zoom_levels)
        ends = [chrom_tree + 1, data + 1, index + _R_TREE_HEADER_SIZE]
        if len(zooms) == _ZOOM_HEADER.size * zoom_levels:
            for z in range(zoom_levels):
                _, _, zoom_data, zoom_index = _ZOOM_HEADER.unpack_from(zooms, z * _ZOOM_HEADER.size)
                ends += [zoom_data + 1, zoom_index + _R_TREE_HEADER_SIZE]
        else:
            ends.append(size + 1)
        if summary_offset:
            ends.append(summary_offset + _SUMMARY.size)
        if max(ends) > size:
            raise InputError(
                f"{path} is truncated: it is {size:,} bytes but its header points to byte {max(ends):,}. "
                "Copy or download it again (compare its size or md5 with the source)"
            )
        if not summary_offset:
            return {}
        fh.seek(summary_offset)
        covered, lo, hi, total, squares = _SUMMARY.unpack(fh.read(_SUMMARY.size))
    return {"covered": covered, "min": lo, "max": hi, "sum": total, "sum_squares": squares}


def _looks_like(head: bytes) -> str:
    if head[:2] == b"\x1f\x8b":
        return ", a gzip file"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head[:32]):
        return f", text: {head[:32].decode('ascii')!r}"
    return ""


def warn_if_nan(path: str | Path) -> bool:
    """Log a warning when the bigWig's total summary shows NaN values; they are read as 0.

    Returns whether the file holds NaN values.
    """
    summary = check_bbi_file(path)
    has_nan = any(math.isnan(summary.get(k, 0.0)) for k in ("min", "max", "sum"))
    if has_nan:
        log.warning("%s contains NaN values: they are counted as 0 (no signal), like uncovered bases", path)
    return has_nan


@contextmanager
def open_bbi(path: str | Path, kind: str = "bigWig") -> Iterator["pyBigWig.pyBigWig"]:
    """Open a bigWig or bigBed (``kind``) for reading.

    A missing file, or one that is not of the expected kind, is an :class:`InputError`.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{kind} file not found: {path}")
    check_bbi_file(path, kind)
    try:
        handle = pyBigWig.open(str(path))
    except RuntimeError as err:
        raise InputError(f"cannot open {path} as a {kind} ({err}): it is corrupt or truncated; "
                         "copy or download it again") from err
    right_kind = handle is not None and (handle.isBigWig() if kind == "bigWig" else handle.isBigBed())
    if not right_kind:
        if handle is not None:
            handle.close()
        raise InputError(f"{path} is not a {kind} file")
    try:
        yield handle
    finally:
        handle.close()


def open_bigwig(path: str | Path) -> AbstractContextManager["pyBigWig.pyBigWig"]:
    """Open a bigWig for reading (see :func:`open_bbi`)."""
    return open_bbi(path, "bigWig")


def bigwig_chroms(path: str | Path) -> dict[str, int]:
    """Chromosome name -> length from a bigWig header, in file order."""
    with open_bigwig(path) as bw:
        return dict(bw.chroms())


def read_values(bw: "pyBigWig.pyBigWig", chrom: str, start: int, end: int) -> np.ndarray:
    """Base-resolution values of ``chrom[start:end]``; no data -> 0.

    Returns float32 ``(end - start,)``. A chromosome absent from the file is all zeros.
    """
    if chrom not in bw.chroms():
        return np.zeros(end - start, dtype=np.float32)
    vals = bw.values(chrom, start, end, numpy=True).astype(np.float32, copy=False)
    vals[np.isnan(vals)] = 0.0  # uncovered and NaN-valued bases; nan_to_num's inf checks cost 2x more
    return vals


def runs(values: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encode a base-resolution array, dropping zero runs.

    ``values`` is ``(n,)``; returns ``(starts, ends, run_values)``, each ``(n_runs,)``,
    with coordinates shifted by ``offset``. Adjacent equal values form one run.
    """
    n = values.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    vals = values[starts]
    keep = vals != 0
    return starts[keep] + offset, ends[keep] + offset, vals[keep].astype(np.float32)


class BigWigWriter:
    """Write a bigWig from runs, one chromosome after another, atomically.

    Use as a context manager; the header (chromosome names and lengths, in
    output order) is written on entry, and entries must come in that order.
    The file is written through :func:`~stagevep.io.files.atomic_path`: renamed into place on
    success, removed on an exception, so no half-written bigWig is left.
    A run that continues the previous call's last run with the same value
    (a block boundary) is merged into it, so runs stay maximal.
    """

    def __init__(self, path: str | Path, chroms: list[tuple[str, int]]) -> None:
        self.path = Path(path)
        self.chroms = chroms
        self._stack = ExitStack()
        self._bw: pyBigWig.pyBigWig | None = None
        self._pending: tuple[str, int, int, float] | None = None

    def __enter__(self) -> "BigWigWriter":
        with ExitStack() as stack:  # a failed open or header removes the temporary file at once
            tmp = stack.enter_context(atomic_path(self.path))
            self._bw = pyBigWig.open(str(tmp), "w")
            self._bw.addHeader([(c, int(n)) for c, n in self.chroms], maxZooms=10)
            self._stack = stack.pop_all()
        return self

    def add_runs(self, chrom: str, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
        """Append runs ``[starts[i], ends[i]) = values[i]`` on ``chrom`` (sorted, non-overlapping).

        ``starts``, ``ends`` and ``values`` are ``(n_runs,)``.
        """
        if len(starts) == 0:
            return
        if self._bw is None:
            raise RuntimeError("BigWigWriter.add_runs called outside its context manager")
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        pending = self._pending
        if pending is not None and pending[0] == chrom and pending[2] == starts[0] and pending[3] == values[0]:
            starts = starts.copy()
            starts[0] = pending[1]
        elif pending is not None:
            self._write(*pending[:1], np.array([pending[1]]), np.array([pending[2]]), np.array([pending[3]]))
        self._write(chrom, starts[:-1], ends[:-1], values[:-1])
        self._pending = (chrom, int(starts[-1]), int(ends[-1]), float(values[-1]))

    def _write(self, chrom: str, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
        if len(starts) and self._bw is not None:
            self._bw.addEntries([chrom] * len(starts), starts, ends=ends, values=values)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if self._bw is None:
            return
        with self._stack:  # renames the finished file into place, or removes it on an exception
            if exc_type is None and self._pending is not None:
                chrom, start, end, value = self._pending
                self._write(chrom, np.array([start]), np.array([end]), np.array([value]))
            self._bw.close()
            self._bw = None
            if exc is not None:
                raise exc  # through atomic_path, which removes the temporary file; the with statement re-raises it
