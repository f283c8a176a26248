"""bigWig reading and writing (pyBigWig)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np
import pyBigWig

from stagevep.errors import InputError


@contextmanager
def open_bbi(path: str | Path, kind: str = "bigWig") -> Iterator["pyBigWig.pyBigWig"]:
    """Open a bigWig or bigBed (``kind``) for reading.

    A missing file, or one that is not of the expected kind, is an :class:`InputError`.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{kind} file not found: {path}")
    try:
        handle = pyBigWig.open(str(path))
    except RuntimeError as err:
        raise InputError(f"cannot open {path} as a {kind}: {err}") from err
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
    return np.nan_to_num(vals, nan=0.0, copy=False)


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
    """Write a bigWig from runs, one chromosome after another.

    Use as a context manager; the header (chromosome names and lengths, in
    output order) is written on entry, and entries must come in that order.
    """

    def __init__(self, path: str | Path, chroms: list[tuple[str, int]]) -> None:
        self.path = Path(path)
        self.chroms = chroms
        self._bw: pyBigWig.pyBigWig | None = None

    def __enter__(self) -> "BigWigWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._bw = pyBigWig.open(str(self.path), "w")
        self._bw.addHeader([(c, int(n)) for c, n in self.chroms], maxZooms=10)
        return self

    def add_runs(self, chrom: str, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
        """Append runs ``[starts[i], ends[i]) = values[i]`` on ``chrom`` (sorted, non-overlapping)."""
        if len(starts) == 0:
            return
        if self._bw is None:
            raise RuntimeError("BigWigWriter.add_runs called outside its context manager")
        self._bw.addEntries(
            [chrom] * len(starts),
            [int(s) for s in starts],
            ends=[int(e) for e in ends],
            values=[float(v) for v in values],
        )

    def __exit__(self, *exc: object) -> None:
        if self._bw is not None:
            self._bw.close()
