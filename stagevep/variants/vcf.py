"""Scores written back as an annotated, bgzipped and tabix-indexed VCF (``variants/scores.vcf.gz``).

Each record keeps the input's coordinates, alleles, ID, QUAL, FILTER, INFO and samples; stagevep adds
INFO fields with one value per ALT allele (``Number=A``; ``.`` where an allele was not scored):

- ``SVEP_STATUS``: why an allele was or was not scored (``ok``, ``ref_mismatch``, ...);
- ``SVEP_SCORE``: the largest ``|log2FC|`` over the stages (``score``);
- ``SVEP_PVAL``: the empirical p-value of ``SVEP_SCORE`` in the model's background (with calibration);
- per stage S: ``SVEP_DELTA_S`` (signed change of signal, ``S_delta_signal``), ``SVEP_LFC_S``
  (``S_abs_log2fc``) and ``SVEP_PCT_S`` (its percentile in the background, ``S_pct_abs``).

Records come in the input's order when it is sorted (each contig in one block, positions
non-decreasing); otherwise they are sorted by contig (first appearance) and position, which tabix needs.
A VCF input keeps its multi-allelic records as they came; a TSV input gives one record per row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pysam

from stagevep import __version__
from stagevep.errors import InputError
from stagevep.io.files import atomic_path
from stagevep.io.variants import is_vcf_path

log = logging.getLogger(__name__)

PREFIX = "SVEP"


def info_fields(tracks: list[str], calibrated: bool) -> list[tuple[str, str, str, str]]:
    """``(INFO id, type, description, score column)`` of every field written, in header order."""
    fields = [(f"{PREFIX}_STATUS", "String", "stagevep status of the ALT allele (ok = scored)", "status"),
              (f"{PREFIX}_SCORE", "Float", "largest mean |log2 fold change| over the stages' central bins", "score")]
    if calibrated:
        fields.append((f"{PREFIX}_PVAL", "Float", "empirical p-value of SVEP_SCORE among the model's background "
                       "SNVs at a matched distance to a peak centre", "pvalue"))
    for t in tracks:
        fields.append((f"{PREFIX}_DELTA_{t}", "Float", f"{t}: signed change of predicted signal (alt - ref, "
                       "signal x bp over the central bins)", f"{t}_delta_signal"))
        fields.append((f"{PREFIX}_LFC_{t}", "Float", f"{t}: mean |log2 fold change| over the central bins",
                       f"{t}_abs_log2fc"))
        if calibrated:
            fields.append((f"{PREFIX}_PCT_{t}", "Float", f"{t}: percentile (0-100) of SVEP_LFC_{t} among the "
                           "background SNVs at a matched distance to a peak centre", f"{t}_pct_abs"))
    return fields


def write_scores_vcf(
    scores: pd.DataFrame,
    source: str | Path,
    out: str | Path,
    tracks: list[str],
    contigs: Mapping[str, int],
    model_info: Mapping[str, Any],
) -> Path:
    """Write ``out`` (``.vcf.gz``) and its ``.tbi``; ``scores`` has one row per input ALT, in input order.

    ``source`` is the variant file the scores came from (VCF/BCF or TSV), ``contigs`` the FASTA's
    contig lengths (for the header), ``model_info`` the ``##stagevep_model`` header entries (tracks,
    geometry, checkpoint md5, ...). Returns ``out``.
    """
    out = Path(out)
    if not out.name.endswith(".vcf.gz"):
        raise ValueError(f"the annotated VCF must be named *.vcf.gz, got {out}")
    fields = info_fields(tracks, calibrated="pvalue" in scores.columns)
    with atomic_path(out) as tmp:
        if is_vcf_path(source):
            _annotate_vcf(scores, Path(source), tmp, fields, contigs, model_info)
        else:
            _table_vcf(scores, tmp, fields, contigs, model_info)
        # tabix_index names the index after the file it indexes: index the final name's temporary twin
        pysam.tabix_index(str(tmp), preset="vcf", force=True, keep_original=True)
        Path(f"{tmp}.tbi").replace(f"{out}.tbi")
    return out


def _header(template: pysam.VariantHeader | None, fields: list[tuple[str, str, str, str]],
            contigs: Mapping[str, int], model_info: Mapping[str, Any]) -> pysam.VariantHeader:
    header = template.copy() if template is not None else pysam.VariantHeader()
    for name, length in contigs.items():
        if name not in header.contigs:
            header.contigs.add(name, length=int(length))
    for name, kind, description, _ in fields:
        if name in header.info:
            raise InputError(f"the input VCF already has an INFO field {name}: stagevep would overwrite it. Remove "
                             f"it first (bcftools annotate -x INFO/{name})")
        header.info.add(name, "A", kind, description)
    header.add_line(f"##stagevep_version={__version__}")
    entries = ",".join(f"{k}={str(v).replace(',', ';')}" for k, v in model_info.items())
    header.add_line(f"##stagevep_model=<{entries}>")
    return header


def _values(rows: pd.DataFrame, column: str, kind: str) -> tuple:
    if kind == "String":
        return tuple(str(v) for v in rows[column])
    return tuple(None if pd.isna(v) else float(v) for v in rows[column])


def _sorted_order(chroms: list[str], positions: list[int]) -> np.ndarray | None:
    """None when records are tabix-ready as they are; else the order that sorts them."""
    rank = {c: i for i, c in enumerate(dict.fromkeys(chroms))}
    key = np.array([rank[c] for c in chroms], dtype=np.int64)
    pos = np.asarray(positions, dtype=np.int64)
    blocks_ok = all(np.diff(key) >= 0)
    if blocks_ok and all((np.diff(pos) >= 0) | (np.diff(key) > 0)):
        return None
    return np.lexsort((pos, key))


def _annotate_vcf(scores: pd.DataFrame, source: Path, tmp: Path, fields: list, contigs: Mapping[str, int],
                  model_info: Mapping[str, Any]) -> None:
    plain = tmp.with_name(tmp.name + ".vcf")
    try:
        with pysam.VariantFile(str(source)) as vin:
            header = _header(vin.header, fields, contigs, model_info)
            with pysam.VariantFile(str(plain), "w", header=header) as vout:
                k = 0
                for rec in vin:
                    n_alt = len(rec.alts or ("."))
                    rows = scores.iloc[k:k + n_alt]
                    alts = [a.upper() for a in (rec.alts or (".",))]
                    if len(rows) != n_alt or list(rows["alt"]) != alts or int(rows["pos"].iloc[0]) != rec.pos:
                        raise InputError(f"{source}: record {rec.chrom}:{rec.pos} does not match scores row {k + 1}: "
                                         "the scores must come from this file, unfiltered and in order")
                    rec.translate(vout.header)
                    for name, kind, _, column in fields if rec.alts else ():  # no ALT: no values
                        rec.info[name] = _values(rows, column, kind)
                    vout.write(rec)
                    k += n_alt
        if k != len(scores):
            raise InputError(f"{source} has {k} ALT alleles but the scores have {len(scores)} rows")
        _compress_sorted(plain, tmp, source)
    finally:
        plain.unlink(missing_ok=True)


def _compress_sorted(plain: Path, out: Path, source: str | Path) -> None:
    """bgzip ``plain`` (a VCF text) into ``out``, sorting its records first when tabix could not index them."""
    lines = plain.read_text().splitlines(keepends=True)
    body = [ln for ln in lines if not ln.startswith("#")]
    fields = [ln.split("\t", 2) for ln in body]
    order = _sorted_order([f[0] for f in fields], [int(f[1]) for f in fields])
    if order is not None:
        log.warning("%s is not sorted by position: scores.vcf.gz is written sorted (tabix needs it)", source)
        header = [ln for ln in lines if ln.startswith("#")]
        plain.write_text("".join(header + [body[i] for i in order]))
    pysam.tabix_compress(str(plain), str(out), force=True)


def _table_vcf(scores: pd.DataFrame, tmp: Path, fields: list, contigs: Mapping[str, int],
               model_info: Mapping[str, Any]) -> None:
    header = _header(None, fields, contigs, model_info)
    for chrom in dict.fromkeys(scores["chrom"].astype(str)):
        if chrom not in header.contigs:
            header.contigs.add(chrom)
    plain = tmp.with_name(tmp.name + ".vcf")
    try:
        with pysam.VariantFile(str(plain), "w", header=header) as vout:
            for i in range(len(scores)):
                row = scores.iloc[i:i + 1]
                alt = str(row["alt"].iloc[0])
                ref = str(row["ref"].iloc[0]) or "N"
                rec = vout.new_record(contig=str(row["chrom"].iloc[0]), start=int(row["pos"].iloc[0]) - 1,
                                      alleles=(ref, alt) if alt not in ("", ".") else (ref,),
                                      id=str(row["id"].iloc[0]))
                for name, kind, _, column in fields if len(rec.alleles) > 1 else ():
                    rec.info[name] = _values(row, column, kind)
                vout.write(rec)
        _compress_sorted(plain, tmp, "the variant table")
    finally:
        plain.unlink(missing_ok=True)
