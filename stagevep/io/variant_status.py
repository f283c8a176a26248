"""Whether each variant of a table can be scored against a genome, and why not (the ``status`` column)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyfaidx

from stagevep.errors import InputError

log = logging.getLogger(__name__)

ACGT = frozenset("ACGT")
#: every status a variant can get, in the order they are checked
STATUSES = ("ok", "unknown_contig", "out_of_bounds", "unsupported_allele", "indel_too_long", "ref_mismatch")
#: the longest indel scored by default (``--max-indel-length``): bases added or removed
MAX_INDEL_LENGTH = 50


def allele_status(ref: str, alt: str, max_indel_length: int = MAX_INDEL_LENGTH) -> str:
    """``ok`` when REF and ALT are different A/C/G/T alleles that can be scored; else the reason.

    SNVs, multi-base substitutions and indels are scored; ``indel_too_long`` when an indel adds or
    removes more than ``max_indel_length`` bases; ``unsupported_allele`` for anything else (``*``,
    ``.``, symbolic ``<DEL>``, breakends, IUPAC codes, ``N``, REF == ALT).
    """
    if not ref or not alt or not (set(ref) | set(alt)) <= ACGT or ref == alt:
        return "unsupported_allele"
    return "indel_too_long" if abs(len(ref) - len(alt)) > max_indel_length else "ok"


def variant_status(fa: pyfaidx.Fasta, chrom: str, pos: int, ref: str, alt: str,
                   max_indel_length: int = MAX_INDEL_LENGTH) -> str:
    """Status of one variant (see :data:`STATUSES`); ``pos`` is 1-based, alleles upper-case.

    REF is compared with the FASTA over its whole length, case-insensitively (soft-masked genomes).
    """
    if chrom not in fa:
        return "unknown_contig"
    if not 1 <= pos <= len(fa[chrom]) or pos - 1 + len(ref) > len(fa[chrom]):
        return "out_of_bounds"
    status = allele_status(ref, alt, max_indel_length)
    if status != "ok":
        return status
    return "ok" if str(fa[chrom][pos - 1:pos - 1 + len(ref)]).upper() == ref else "ref_mismatch"


def variant_statuses(fa: pyfaidx.Fasta, variants: pd.DataFrame, max_indel_length: int = MAX_INDEL_LENGTH) -> np.ndarray:
    """:func:`variant_status` of every row of a variant table; returns ``(N,)`` strings."""
    return np.array([variant_status(fa, str(r.chrom), int(r.pos), str(r.ref), str(r.alt), max_indel_length)
                     for r in variants.itertuples(index=False)], dtype=object)


def report_statuses(fa: pyfaidx.Fasta, table: pd.DataFrame, strict_ref: bool) -> None:
    """Log why variants of ``table`` (with its ``status`` column) are not scored.

    With ``strict_ref`` a REF mismatch is an :class:`~stagevep.errors.InputError`, with a hint when most
    mismatches look like 0-based positions.
    """
    for reason, n in table.loc[table["status"] != "ok", "status"].value_counts().items():
        examples = ", ".join(table.loc[table["status"] == reason, "id"].astype(str).head(3))
        log.warning("%d variant(s) not scored: %s (e.g. %s)", n, reason, examples)
    bad = table[table["status"] == "ref_mismatch"]
    if bad.empty:
        return
    shown = "; ".join(f"{r.id} {r.chrom}:{r.pos} REF {r.ref}, FASTA {str(fa[r.chrom][int(r.pos) - 1]).upper()}"
                      for r in bad.head(3).itertuples(index=False))
    # a table written with 0-based positions matches the genome one base to the right
    shifted = sum(int(r.pos) < len(fa[r.chrom]) and str(fa[r.chrom][int(r.pos)]).upper() == r.ref
                  for r in bad.itertuples(index=False))
    hint = (" Most mismatches match the base one to the right: are the positions 0-based? pos must be 1-based "
            "(VCF convention)." if len(bad) >= 3 and shifted > len(bad) / 2 else
            " Check that the variants and the FASTA use the same genome build and 1-based positions.")
    if strict_ref:
        raise InputError(f"{len(bad)} variant(s) have a REF allele that disagrees with the FASTA ({shown}).{hint} "
                         "Without --strict-ref they are reported with status ref_mismatch and not scored.")
    log.warning("REF disagrees with the FASTA for %d variant(s): %s.%s", len(bad), shown, hint)
