"""Exact base-resolution averaging of replicate bigWigs, streamed block by block."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from stagevep.errors import InputError
from stagevep.io.bigwig import BigWigWriter, bigwig_chroms, open_bigwig, read_values, runs, warn_if_nan
from stagevep.io.genome import fasta_lengths
from stagevep.progress import progress

log = logging.getLogger(__name__)

BLOCK_SIZE = 1 << 24  # 16.7 Mb per block: about 200 MB of buffers whatever the chromosome length


def merged_chroms(paths: Sequence[str | Path]) -> list[tuple[str, int]]:
    """Union of the chromosomes of several bigWigs, in order of first appearance.

    A chromosome whose length differs between files is an :class:`InputError`
    naming the chromosome, both lengths and both files.
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


def output_chroms(
    replicate_chroms: list[tuple[str, int]], reference: Mapping[str, int], reference_name: str
) -> list[tuple[str, int]]:
    """The averaged file's chromosomes: those of the replicates that the reference has, in reference order.

    ``reference`` is the FASTA's contig -> length (in FASTA order). A replicate
    chromosome missing from the FASTA is left out with a warning (no window can
    use it); a length disagreement is an :class:`InputError`; no shared
    chromosome at all is an :class:`InputError` with a hint about ``chr`` prefixes.
    """
    lengths = dict(replicate_chroms)
    for chrom, length in lengths.items():
        if chrom in reference and reference[chrom] != length:
            raise InputError(
                f"chromosome {chrom} is {length} bp in the bigWigs but {reference[chrom]} bp in {reference_name}: "
                "the signal and the genome come from different builds"
            )
    unknown = [c for c in lengths if c not in reference]
    kept = [(c, n) for c, n in reference.items() if c in lengths]
    if not kept:
        raise InputError(
            f"the bigWigs share no chromosome name with {reference_name} (bigWig: {', '.join(list(lengths)[:3])}; "
            f"FASTA: {', '.join(list(reference)[:3])}); rename the contigs of one of them, e.g. add or strip 'chr'"
        )
    if unknown:
        log.warning("%d bigWig chromosome(s) are not in %s and are left out of the average: %s",
                    len(unknown), reference_name, ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else ""))
    return kept


def average_bigwigs(
    inputs: Sequence[str | Path], output: str | Path, fasta: str | Path | None = None, block_size: int = BLOCK_SIZE
) -> None:
    """Write the base-resolution mean of replicate bigWigs to ``output``.

    Rules (documented in docs/usage.md):

    * the mean at each base is ``sum(values) / n_replicates``; missing data
      (no entry, a NaN value, or a chromosome absent from a replicate) counts
      as 0, so every replicate contributes to the denominator everywhere;
    * a chromosome absent from some replicates is averaged over all of them
      (it counts as 0 coverage there) and a warning names it and the files;
    * replicates that disagree on a chromosome length are an :class:`InputError`;
    * with ``fasta``, chromosomes come in the FASTA's order and only those in
      the FASTA are written; without it, in order of first appearance.

    Memory is bounded by one block (``block_size`` bases, float64 + float32),
    not by the chromosome or genome. Runs of equal values are written as one
    entry (also across block boundaries); zero runs are not written. The output
    is written to a temporary file and renamed, so nothing half-written remains.
    """
    if not inputs:
        raise InputError("average_bigwigs needs at least one input bigWig")
    chroms = merged_chroms(inputs)
    if fasta is not None:
        chroms = output_chroms(chroms, fasta_lengths(fasta), str(fasta))
    for path in inputs:
        warn_if_nan(path)
    _warn_partial_chroms(inputs, [c for c, _ in chroms])
    n = len(inputs)
    with ExitStack() as stack:
        handles = [stack.enter_context(open_bigwig(p)) for p in inputs]
        writer = stack.enter_context(BigWigWriter(output, chroms))
        total = sum(length for _, length in chroms)
        with progress(total=total, unit="bp", unit_scale=True, desc="averaging") as bar:
            for chrom, length in chroms:
                for block_start in range(0, length, block_size):
                    block_end = min(length, block_start + block_size)
                    acc = np.zeros(block_end - block_start, dtype=np.float64)
                    for bw in handles:
                        acc += read_values(bw, chrom, block_start, block_end)
                    acc /= n
                    writer.add_runs(chrom, *runs(acc.astype(np.float32), offset=block_start))
                    bar.update(block_end - block_start)
    log.info("averaged %d replicate(s) over %d chromosome(s) into %s", n, len(chroms), output)


def _warn_partial_chroms(inputs: Sequence[str | Path], chroms: list[str]) -> None:
    per_file = {Path(p): set(bigwig_chroms(p)) for p in inputs}
    for chrom in chroms:
        lacking = [p.name for p, names in per_file.items() if chrom not in names]
        if lacking:
            log.warning("chromosome %s is missing from %s: counted as 0 there (mean over all %d replicates)",
                        chrom, ", ".join(lacking), len(inputs))
