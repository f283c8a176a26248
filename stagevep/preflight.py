"""Cheap input checks that run before any heavy work."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from stagevep.io.bigwig import bigwig_chroms
from stagevep.io.genome import check_contigs_shared, fasta_lengths
from stagevep.io.peaks import peak_contigs

log = logging.getLogger(__name__)


def check_inputs(fasta: str | Path, bigwigs: Sequence[str | Path], peaks: Sequence[str | Path]) -> None:
    """Check that every bigWig and peak file names contigs of the FASTA, with the same lengths.

    Raises :class:`~stagevep.errors.InputError` naming the file and, for a
    length mismatch, the contig and both lengths.
    """
    contigs = fasta_lengths(fasta)
    for path in bigwigs:
        check_contigs_shared(fasta, contigs, path, bigwig_chroms(path))
    for path in peaks:
        check_contigs_shared(fasta, contigs, path, peak_contigs(path))
    log.info("preflight: %d bigWig(s) and %d peak file(s) agree with %s", len(bigwigs), len(peaks), fasta)
