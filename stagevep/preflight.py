"""Cheap input checks that run before any heavy work (the PREFLIGHT task).

Every bigWig, peak file and the optional blacklist is compared with the FASTA:

- contig names that differ from the FASTA's only by the ``chr`` prefix
  (UCSC ``chr1`` vs Ensembl ``1``, ``chrM`` vs ``MT``) fail with examples and the
  commands that fix them: contigs are never renamed silently;
- a file sharing no contig with the FASTA fails;
- a bigWig or bigBed whose header gives a shared contig another length, or a
  peak file with an interval ending beyond the FASTA's contig, fails naming the
  contig, both lengths and both files (a different genome build);
- contigs of a bigWig or peak file that the FASTA lacks are allowed (their data
  is unused) and listed in the log; every blacklist contig must be in the FASTA.

A FASTA without a ``.fai`` index gets one (see :func:`stagevep.io.genome.open_fasta`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from stagevep.data.windows import read_blacklist
from stagevep.io.bigwig import bigwig_chroms, open_bbi
from stagevep.io.genome import check_contigs_shared, fasta_lengths
from stagevep.io.peaks import max_ends, peak_format, read_peaks

log = logging.getLogger(__name__)


def check_inputs(
    fasta: str | Path,
    bigwigs: Sequence[str | Path],
    peaks: Sequence[str | Path],
    blacklist: str | Path | None = None,
) -> None:
    """Check every bigWig, peak file and the blacklist against the FASTA (rules in the module docstring).

    Raises :class:`~stagevep.errors.InputError` at the first problem.
    """
    contigs = fasta_lengths(fasta)
    for path in bigwigs:
        _warn_unused(path, check_contigs_shared(fasta, contigs, path, bigwig_chroms(path)))
    for path in peaks:
        _warn_unused(path, _check_peak_file(fasta, contigs, path))
    if blacklist:
        read_blacklist(blacklist, contigs, fasta)
    log.info(
        "preflight: %d bigWig(s), %d peak file(s)%s agree with %s (%d contigs)",
        len(bigwigs), len(peaks), " and the blacklist" if blacklist else "", fasta, len(contigs),
    )


def _check_peak_file(fasta: str | Path, contigs: dict[str, int], path: str | Path) -> list[str]:
    if peak_format(path) == "bigbed":
        with open_bbi(path, "bigBed") as bb:
            header = dict(bb.chroms())
        check_contigs_shared(fasta, contigs, path, header)
    return check_contigs_shared(fasta, contigs, path, max_ends(read_peaks(path)), lengths_are_bounds=True)


def _warn_unused(path: str | Path, missing: list[str]) -> None:
    if missing:
        log.warning("%s: %d contig(s) absent from the FASTA are ignored: %s", path, len(missing), missing[:5])
