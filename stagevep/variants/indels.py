"""Indels and multi-base substitutions: left-normalisation, alternate windows, realigned predictions.

A variant is ``(pos, REF, ALT)`` with the 1-based ``pos`` of REF's first base (VCF), left-normalised
(:func:`left_normalize`). Its reference window is the one an SNV at ``pos`` gets: ``context_length``
bases with the first REF base at index ``c = context_length // 2``. With ``d = len(REF) - len(ALT)``:

- the **left-anchored** alternate window is the reference window with REF replaced by ALT and the model's
  length kept by taking ``d`` more (a deletion) or fewer (an insertion) bases at the right end: left of the
  variant it holds the reference's bases at the reference's indices;
- the **right-anchored** alternate window starts ``d`` bases earlier, so that right of the variant (from
  index ``c + len(REF)`` on) it holds the reference's bases at the reference's indices.

``--indel_alignment`` (:func:`realign`) decides what the alternate prediction is, in reference bins:

- ``shift`` (default): bins that start at or after the end of the REF allele come from the right-anchored
  prediction, every other bin from the left-anchored one. Right of the variant each bin then compares the
  same genomic sequence at the same place in both alleles; left of it too; the bins overlapping REF
  compare the reference with the sequence the alternate allele puts there. For a model that reads only
  nearby sequence this is exact: an indel the model cannot see gives zero change, and a deletion of a
  motif copy loses that copy's signal. Three forward passes per variant (ref and two alts).
- ``shift_mask``: as ``shift``, but the bins that overlap the REF allele ``[pos, pos + len(REF))`` (the
  anchor base and the deleted bases, or the insertion point) are masked and left out of every summary, in
  ref and alt alike: only the bins whose sequence the indel leaves intact are compared.
- ``none``: the left-anchored prediction as it comes out of the model, compared bin by bin with no mask:
  right of the variant each bin then compares sequence shifted by ``d`` bases. Two passes.

Length-preserving multi-base substitutions (``d = 0``) use the left-anchored window under either rule and
mask nothing, like SNVs.
"""

from __future__ import annotations

import numpy as np
import pyfaidx

from stagevep.io.genome import fetch_padded

ALIGNMENTS = ("shift", "shift_mask", "none")


def left_normalize(fa: pyfaidx.Fasta, chrom: str, pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Left-aligned, parsimonious ``(pos, ref, alt)`` of a variant (the rule of ``bcftools norm``).

    Repeats: while both alleles end in the same base, drop it; when an allele becomes empty, prepend the
    genome base left of ``pos`` to both. Then drops shared leading bases while both alleles are longer
    than one base. ``pos`` is 1-based; alleles upper-case A/C/G/T; ``ref`` matches the genome.
    """
    while True:
        changed = False
        if ref and alt and ref[-1] == alt[-1]:
            ref, alt = ref[:-1], alt[:-1]
            changed = True
        if (not ref or not alt) and pos > 1:
            base = str(fa[chrom][pos - 2]).upper()
            ref, alt, pos = base + ref, base + alt, pos - 1
            changed = True
        if not changed:
            break
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def indel_windows(
    fa: pyfaidx.Fasta, chrom: str, pos: int, ref: str, alt: str, context_length: int,
) -> tuple[str, str, str]:
    """``(reference, left-anchored alternate, right-anchored alternate)`` windows, each ``context_length``
    bases (module docstring); ``pos`` is 1-based, bases beyond the chromosome ends are N."""
    c = context_length // 2
    p0 = int(pos) - 1
    start = p0 - c
    d = len(ref) - len(alt)
    ref_seq = fetch_padded(fa, chrom, start, start + context_length)
    tail = fetch_padded(fa, chrom, p0 + len(ref), start + context_length + d)
    left = ref_seq[:c] + alt + tail
    right = fetch_padded(fa, chrom, start - d, p0) + alt + ref_seq[c + len(ref):]
    return ref_seq, left, right


def masked_bins(n_bins: int, flank: int, bin_size: int, centre: int, n_ref: int) -> np.ndarray:
    """``(n_bins,)`` bool: the bins overlapping input bases ``[centre, centre + n_ref)`` (the REF allele)."""
    starts = flank + bin_size * np.arange(n_bins)
    return (starts + bin_size > centre) & (starts < centre + n_ref)


def realign(left: np.ndarray, right: np.ndarray | None, n_ref: int, n_alt: int, flank: int, bin_size: int,
            centre: int, alignment: str = "shift") -> np.ndarray:
    """The alternate prediction in reference bins, ``(n_bins, n_tracks)`` float64, masked bins NaN.

    ``left`` and ``right`` are the predictions ``(n_bins, n_tracks)`` of the left- and right-anchored
    alternate windows (``right`` is only read by the shift rules, for length-changing variants); bin ``b``
    covers input bases ``[flank + b * bin_size, flank + (b + 1) * bin_size)``; REF starts at ``centre``.
    """
    if alignment not in ALIGNMENTS:
        raise ValueError(f"--indel_alignment must be one of {', '.join(ALIGNMENTS)}, got {alignment!r}")
    out = left.astype(np.float64).copy()
    if alignment == "none" or n_ref == n_alt:
        return out
    if right is None:
        raise ValueError("the shift rule needs the right-anchored prediction of a length-changing variant")
    starts = flank + bin_size * np.arange(left.shape[0])
    past = starts >= centre + n_ref
    out[past] = right[past]
    if alignment == "shift_mask":
        out[masked_bins(left.shape[0], flank, bin_size, centre, n_ref)] = np.nan
    return out
