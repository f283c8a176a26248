"""DNA sequence as arrays: base codes, one-hot encoding and its reverse complement.

Codes: A=0, C=1, G=2, T=3, anything else (N, IUPAC, ``-``) = :data:`N_CODE`; lower case
(soft-masked) bases are encoded like upper case ones. One-hot columns are A, C, G, T;
code :data:`N_CODE` is an all-zero row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

N_CODE = 4

# Lookup table from ASCII code to base code (A, C, G, T); everything else -> N_CODE.
_BASE_INDEX = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _BASE_INDEX[ord(_b)] = _i
    _BASE_INDEX[ord(_b.lower())] = _i
_ONE_HOT_TABLE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])


def encode_bases(seq: str | bytes) -> np.ndarray:
    """Base codes of a DNA sequence: uint8 ``(len(seq),)``, A=0, C=1, G=2, T=3, anything else 4 (any case)."""
    raw = seq.encode("ascii") if isinstance(seq, str) else seq
    return _BASE_INDEX[np.frombuffer(raw, dtype=np.uint8)]


def one_hot_codes(codes: np.ndarray) -> np.ndarray:
    """One-hot float32 ``(len(codes), 4)`` of base codes from :func:`encode_bases`; code 4 is an all-zero row."""
    return np.take(_ONE_HOT_TABLE, codes, axis=0)  # ~10x faster than fancy indexing _ONE_HOT_TABLE[codes]


def one_hot(seq: str | bytes) -> np.ndarray:
    """One-hot encode a DNA sequence.

    Returns float32 ``(len(seq), 4)`` with columns A, C, G, T; N and any other
    character is an all-zero row.
    """
    return one_hot_codes(encode_bases(seq))


def reverse_complement_onehot(x: torch.Tensor) -> torch.Tensor:
    """Reverse complement of one-hot ``(..., length, 4)`` with columns A, C, G, T."""
    return x.flip(-2).flip(-1)
