"""A genome encoded once to a memory-mapped uint8 array, for fast one-hot context windows.

Reading a 196,608-bp context through pyfaidx costs a file seek, a string copy
and an encode per item; the encoded genome is read straight from the page
cache and is safe to share between forked DataLoader workers (a pyfaidx handle
opened before the fork is not: the workers share its file offset).

Codes: A=0, C=1, G=2, T=3, anything else (N, IUPAC, ``-``) = 4; lower case
(soft-masked) bases are encoded like upper case ones. The cache is a directory
``<cache root>/<fasta name>-<key>/`` holding ``codes.npy`` (all contigs
concatenated in FASTA order) and ``index.json`` (contig offsets and lengths),
where ``key`` hashes the FASTA's resolved path, size and modification time, so
an edited FASTA is encoded again. The cache root is ``$STAGEVEP_CACHE_DIR`` or
the system temporary directory. A cache is built in a temporary directory and
renamed into place, so concurrent processes never read a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from stagevep.core.sequence import N_CODE, encode_bases, one_hot_codes
from stagevep.errors import InputError
from stagevep.io.genome import open_fasta

log = logging.getLogger(__name__)

CACHE_ENV = "STAGEVEP_CACHE_DIR"
_FORMAT = 1
_CHUNK = 1 << 24  # bases read from the FASTA at a time while encoding


def cache_root(root: str | Path | None = None) -> Path:
    """Directory holding encoded genomes: ``root``, else ``$STAGEVEP_CACHE_DIR``, else the temp dir."""
    if root is not None:
        return Path(root)
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path(tempfile.gettempdir()) / "stagevep-genome-cache"


def cache_dir(fasta: str | Path, root: str | Path | None = None) -> Path:
    """Cache directory of ``fasta``, keyed on its resolved path, size and modification time."""
    path = Path(fasta)
    if not path.exists():
        raise InputError(f"FASTA file not found: {path}")
    real = path.resolve()
    st = real.stat()
    key = hashlib.sha256(f"{real}\0{st.st_size}\0{st.st_mtime_ns}\0{_FORMAT}".encode()).hexdigest()[:16]
    return cache_root(root) / f"{real.name}-{key}"


def encode_genome(fasta: str | Path, root: str | Path | None = None) -> Path:
    """Encode ``fasta`` to ``codes.npy`` + ``index.json`` unless a valid cache exists; return its directory."""
    final = cache_dir(fasta, root)
    if (final / "index.json").exists():
        return final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    except OSError as err:
        raise InputError(f"cannot create the genome cache in {final.parent}: {err}. Set {CACHE_ENV} to a "
                         "writable directory with room for 1 byte per base of the FASTA.") from err
    fa = open_fasta(fasta)
    names = list(fa.keys())
    lengths = [len(fa[name]) for name in names]
    try:
        # plain writes, not a writable memmap: a full disk then raises ENOSPC instead of killing us with SIGBUS
        with open(tmp / "codes.npy", "wb") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": np.dtype(np.uint8).str, "fortran_order": False, "shape": (sum(lengths),)}
            )
            for name, length in zip(names, lengths, strict=True):
                for a in range(0, length, _CHUNK):
                    b = min(length, a + _CHUNK)
                    chunk = str(fa[name][a:b])
                    if len(chunk) != b - a or "\n" in chunk:
                        raise InputError(
                            f"{fasta}: contig {name} does not match its index {fasta}.fai (read {len(chunk)} "
                            f"bases where the index promises {b - a}): the FASTA changed after the index was "
                            "built. Delete the .fai file so that it is rebuilt."
                        )
                    fh.write(encode_bases(chunk).tobytes())
        index = {
            "format": _FORMAT,
            "fasta": str(Path(fasta).resolve()),
            "contigs": [[n, int(o), int(ln)] for n, o, ln in zip(names, np.cumsum([0, *lengths[:-1]]), lengths,
                                                                    strict=True)],
        }
        (tmp / "index.json").write_text(json.dumps(index) + "\n")
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "index.json").exists():  # not a concurrent writer that finished first
                raise
    except OSError as err:
        raise InputError(f"cannot write the genome cache {final}: {err}. Set {CACHE_ENV} to a writable "
                         f"directory with at least {sum(lengths) / 1e9:.1f} GB free.") from err
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    log.info("encoded %s (%d contigs, %d bp) to %s", fasta, len(names), sum(lengths), final)
    return final


class EncodedGenome:
    """Random access to N-padded context windows of an encoded genome.

    The array is memory-mapped lazily in each process, so instances pickle
    cheaply into DataLoader workers.
    """

    def __init__(self, fasta: str | Path, root: str | Path | None = None) -> None:
        self.fasta = str(fasta)
        self.path = encode_genome(fasta, root)
        index = json.loads((self.path / "index.json").read_text())
        self.contigs: dict[str, tuple[int, int]] = {n: (o, ln) for n, o, ln in index["contigs"]}
        self._codes: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_codes"] = None
        return state

    @property
    def lengths(self) -> dict[str, int]:
        """Contig name -> length, in FASTA order."""
        return {n: ln for n, (_, ln) in self.contigs.items()}

    def codes(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Codes of ``chrom[start:end]`` (0-based, half-open), ``N_CODE`` beyond the contig ends.

        Returns a new uint8 array ``(end - start,)``.
        """
        if chrom not in self.contigs:
            raise InputError(f"contig {chrom!r} is not in the FASTA {self.fasta}: use the FASTA the windows were made "
                             "from")
        if self._codes is None:
            self._codes = np.load(self.path / "codes.npy", mmap_mode="r")
        offset, length = self.contigs[chrom]
        start, end = int(start), int(end)
        out = np.full(end - start, N_CODE, dtype=np.uint8)
        a, b = max(0, start), min(end, length)
        if b > a:
            out[a - start : b - start] = self._codes[offset + a : offset + b]
        return out

    def one_hot(self, chrom: str, start: int, end: int) -> np.ndarray:
        """One-hot float32 ``(end - start, 4)``, columns A, C, G, T; N and padding are all-zero rows."""
        return one_hot_codes(self.codes(chrom, start, end))
