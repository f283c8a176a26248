"""Exact base-resolution averaging of replicate bigWigs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from stagevep.errors import InputError
from stagevep.io.bigwig import BigWigWriter, bigwig_chroms, open_bigwig, read_values, runs
from stagevep.progress import progress

log = logging.getLogger(__name__)

BLOCK_SIZE = 1 << 24  # 16.7 Mb per block bounds memory to a few hundred MB


def merged_chroms(paths: Sequence[str | Path]) -> list[tuple[str, int]]:
    """Union of the chromosomes of several bigWigs, in order of first appearance.

    A chromosome whose length differs between files is an :class:`InputError`.
    """
    seen: dict[str, tuple[int, Path]] = {}
    for path in paths:
        for chrom, length in bigwig_chroms(path).items():
            if chrom in seen and seen[chrom][0] != length:
                raise InputError(
                    f"chromosome {chrom} is {seen[chrom][0]} bp in {seen[chrom][1]} but {length} bp in "
                    f"{path}: the replicates come from different genome builds."
                )
            seen.setdefault(chrom, (length, Path(path)))
    return [(c, n) for c, (n, _) in seen.items()]


def average_bigwigs(inputs: Sequence[str | Path], output: str | Path) -> None:
    """Write the base-resolution mean of replicate bigWigs to ``output``.

    Missing data (no entry, or a chromosome absent from a replicate) counts as
    0, so every replicate contributes to the denominator everywhere. Runs of
    equal values are written as one entry; zero runs are not written.
    """
    if not inputs:
        raise InputError("average_bigwigs needs at least one input bigWig")
    chroms = merged_chroms(inputs)
    n = len(inputs)
    with ExitStack() as stack, BigWigWriter(output, chroms) as writer:
        handles = [stack.enter_context(open_bigwig(p)) for p in inputs]
        total = sum(length for _, length in chroms)
        with progress(total=total, unit="bp", unit_scale=True, desc="averaging") as bar:
            for chrom, length in chroms:
                for block_start in range(0, length, BLOCK_SIZE):
                    block_end = min(length, block_start + BLOCK_SIZE)
                    acc = np.zeros(block_end - block_start, dtype=np.float64)
                    for bw in handles:
                        acc += read_values(bw, chrom, block_start, block_end)
                    mean = (acc / n).astype(np.float32)
                    writer.add_runs(chrom, *runs(mean, offset=block_start))
                    bar.update(block_end - block_start)
    log.info("averaged %d replicate(s) over %d chromosome(s) into %s", n, len(chroms), output)
