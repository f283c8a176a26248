"""Reference and alternate model inputs of a variant: its centred context and one-hot batches of pairs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyfaidx
import torch

from stagevep.core.sequence import one_hot
from stagevep.geometry import Geometry
from stagevep.io.genome import fetch_padded


def variant_sequences(fa: pyfaidx.Fasta, chrom: str, pos: int, alt: str, context_length: int) -> tuple[str, str]:
    """Reference and alternate context sequences with the variant at index ``context_length // 2``.

    ``pos`` is 1-based; the context starts at 0-based ``pos - 1 - context_length // 2``
    and is N-padded beyond the chromosome ends.
    """
    centre = context_length // 2
    start = variant_context_start(pos, context_length)
    ref_seq = fetch_padded(fa, chrom, start, start + context_length)
    return ref_seq, ref_seq[:centre] + alt + ref_seq[centre + 1:]


def variant_context_start(pos: int, context_length: int) -> int:
    """0-based genome start of the context that puts 1-based ``pos`` at index ``context_length // 2``."""
    return int(pos) - 1 - context_length // 2


def pair_batches(
    fa: pyfaidx.Fasta, variants: pd.DataFrame, rows: np.ndarray, context_length: int, batch_size: int
) -> Iterator[torch.Tensor]:
    """One-hot ``(2 * batch_size, context_length, 4)`` batches: ref of ``rows[i]`` at ``2i``, its alt at ``2i + 1``.

    The last batch is padded to the full size with copies of its last pair (their predictions are to be
    dropped: ``2 * len(rows)`` rows of output are real). Every variant thus goes through the model in a
    batch of the same shape, and its scores do not depend on which variants share its batch: on the CPU
    they are bitwise the same whether a table is scored whole or in shards.
    """
    centre = context_length // 2
    for i in range(0, len(rows), batch_size):
        chunk = rows[i:i + batch_size]
        x = np.empty((2 * batch_size, context_length, 4), dtype=np.float32)
        for k, j in enumerate(chunk):
            start = variant_context_start(variants.at[j, "pos"], context_length)
            x[2 * k] = one_hot(fetch_padded(fa, variants.at[j, "chrom"], start, start + context_length))
            x[2 * k + 1] = x[2 * k]
            x[2 * k + 1, centre] = one_hot(variants.at[j, "alt"])[0]
        x[2 * len(chunk):] = np.tile(x[2 * len(chunk) - 2:2 * len(chunk)], (batch_size - len(chunk), 1, 1))
        yield torch.from_numpy(x)


def target_start(pos: int, geometry: Geometry) -> int:
    """0-based genome start of the target window (bin 0) of the context centred on 1-based ``pos``."""
    return variant_context_start(pos, geometry.context_length) + geometry.flank
