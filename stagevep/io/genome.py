"""Reference genome access: contig lengths, sequences, one-hot encoding."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pyfaidx

from stagevep.errors import InputError

# Lookup table from ASCII code to one-hot row index (A, C, G, T); everything else -> 4 (all zeros).
_BASE_INDEX = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _BASE_INDEX[ord(_b)] = _i
    _BASE_INDEX[ord(_b.lower())] = _i
_ONE_HOT_TABLE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])


def open_fasta(path: str | Path) -> pyfaidx.Fasta:
    """Open an (optionally bgzipped) FASTA with pyfaidx, building the .fai if needed."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"FASTA file not found: {path}")
    try:
        return pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=True, rebuild=False)
    except (pyfaidx.FastaIndexingError, ValueError, OSError) as err:
        raise InputError(f"cannot read FASTA {path}: {err}. Is it a valid (bgzipped) FASTA?") from err


def fasta_lengths(path: str | Path) -> dict[str, int]:
    """Contig name -> length, in FASTA order."""
    fa = open_fasta(path)
    return {name: len(fa[name]) for name in fa.keys()}


def fetch_padded(fa: pyfaidx.Fasta, chrom: str, start: int, end: int) -> str:
    """Sequence of ``chrom[start:end]`` (0-based, half-open), N-padded beyond the ends.

    Returns a string of length ``end - start``.
    """
    start, end = int(start), int(end)  # pyfaidx mishandles numpy integers
    length = len(fa[chrom])
    left = max(0, -start)
    right = max(0, end - length)
    core = fa[chrom][max(0, start) : min(end, length)] if min(end, length) > max(0, start) else ""
    return "N" * left + str(core) + "N" * right


def encode_bases(seq: str | bytes) -> np.ndarray:
    """Base codes of a DNA sequence: uint8 ``(len(seq),)``, A=0, C=1, G=2, T=3, anything else 4 (any case)."""
    raw = seq.encode("ascii") if isinstance(seq, str) else seq
    return _BASE_INDEX[np.frombuffer(raw, dtype=np.uint8)]


def one_hot_codes(codes: np.ndarray) -> np.ndarray:
    """One-hot float32 ``(len(codes), 4)`` of base codes from :func:`encode_bases`; code 4 is an all-zero row."""
    return _ONE_HOT_TABLE[codes]


def one_hot(seq: str | bytes) -> np.ndarray:
    """One-hot encode a DNA sequence.

    Returns float32 ``(len(seq), 4)`` with columns A, C, G, T; N and any other
    character is an all-zero row.
    """
    return one_hot_codes(encode_bases(seq))


def check_contigs_shared(
    fasta_path: str | Path,
    fasta_contigs: Mapping[str, int],
    other_path: str | Path,
    other_contigs: Mapping[str, int] | Iterable[str],
) -> None:
    """Fail when a data file shares no contig name with the FASTA, or a shared contig's length differs.

    ``other_contigs`` is a name -> length mapping (bigWig header) or just names
    (peak files); lengths are compared only when given.
    """
    names = list(other_contigs)
    shared = [c for c in names if c in fasta_contigs]
    if not shared:
        hint = ""
        if any(("chr" + c) in fasta_contigs for c in names) or any(
            c.startswith("chr") and c[3:] in fasta_contigs for c in names
        ):
            hint = (
                " The names differ only by a 'chr' prefix (UCSC 'chr1' vs Ensembl '1'): "
                "rename the contigs of one file so both use the same style."
            )
        raise InputError(
            f"{other_path} shares no contig name with the FASTA {fasta_path}: "
            f"it has {_examples(names)}, the FASTA has {_examples(list(fasta_contigs))}.{hint}"
        )
    if isinstance(other_contigs, Mapping):
        for c in shared:
            if int(other_contigs[c]) != int(fasta_contigs[c]):
                raise InputError(
                    f"contig {c} is {other_contigs[c]} bp in {other_path} but {fasta_contigs[c]} bp "
                    f"in the FASTA {fasta_path}: the files come from different genome builds."
                )


def _examples(names: list[str], n: int = 4) -> str:
    shown = ", ".join(names[:n])
    return f"{shown}{', ...' if len(names) > n else ''} ({len(names)} contigs)"
