"""Variant tables: TSV (``chrom pos ref alt [id] [group]``) or VCF, with 1-based ``pos``."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pandas as pd

from stagevep.errors import InputError

log = logging.getLogger(__name__)

VARIANT_COLUMNS = ["id", "chrom", "pos", "ref", "alt", "group"]
TSV_REQUIRED = ("chrom", "pos", "ref", "alt")
VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")


def read_variants(path: str | Path, groups: str | Path | None = None) -> pd.DataFrame:
    """Read variants into a DataFrame with :data:`VARIANT_COLUMNS`, one row per alt allele.

    VCF records with several ALT alleles are split into one row per ALT. Alleles
    are upper-cased (soft-masked input). Missing IDs (empty or ``.``) become
    ``chrom:pos:ref:alt``; a multi-allelic record's ID gets ``:ALT``. IDs that
    still repeat are made unique (see :func:`unique_ids`). ``groups`` is an optional TSV ``id group`` whose groups
    replace those of the table.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"variant file not found: {path}")
    df = _read_vcf(path) if is_vcf_path(path) else _read_tsv(path)
    if df.empty:
        raise InputError(f"variant file {path} contains no variants")
    df["ref"] = df["ref"].str.upper()
    df["alt"] = df["alt"].str.upper()
    default_id = df["chrom"] + ":" + df["pos"].astype(str) + ":" + df["ref"] + ":" + df["alt"]
    given = df["id"].notna() & (df["id"] != "") & (df["id"] != ".")
    df["id"] = unique_ids(df["id"].where(given, default_id), path)
    if groups is not None:
        df["group"] = _apply_groups(df, Path(groups))
    df["group"] = df["group"].fillna("")
    return df[VARIANT_COLUMNS].reset_index(drop=True)


def is_vcf_path(path: str | Path) -> bool:
    """True for names that :func:`read_variants` reads as VCF/BCF (``.vcf``, ``.vcf.gz``, ``.vcf.bgz``, ``.bcf``)."""
    return Path(path).name.lower().endswith(VCF_SUFFIXES)


def unique_ids(ids: pd.Series, path: Path | str = "") -> pd.Series:
    """Make variant IDs unique without dropping a row.

    The first occurrence keeps its ID; later occurrences get ``#2``, ``#3``, ...
    with a warning naming them. (Split multi-allelic VCF records already carry
    ``:ALT``, see :func:`_read_vcf`.)
    """
    ids = ids.astype(str).copy()
    repeat = ids.groupby(ids).cumcount()
    if (repeat > 0).any():
        names = sorted(set(ids[repeat > 0]))
        log.warning("%s: %d variant ID(s) appear more than once (e.g. %s); later copies are renamed ID#2, ID#3, ...",
                    path, len(names), ", ".join(names[:3]))
        ids[repeat > 0] = ids[repeat > 0] + "#" + (repeat[repeat > 0] + 1).astype(str)
    return ids


def _read_tsv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"cannot parse variant table {path} as tab-separated text: {err}") from err
    missing = [c for c in TSV_REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"variant table {path} lacks column(s) {missing} (it has {list(df.columns)}); the header must be "
            "'chrom<TAB>pos<TAB>ref<TAB>alt' with optional 'id' and 'group' (or give a .vcf/.vcf.gz)"
        )
    bad = ~df["pos"].str.fullmatch(r"[0-9]+")
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise InputError(f"{path} row {row + 2}: pos must be a positive 1-based integer, got {df['pos'].iloc[row]!r}")
    df["pos"] = df["pos"].astype("int64")
    if (df["pos"] < 1).any():
        row = int((df["pos"] < 1).to_numpy().argmax())
        raise InputError(f"{path} row {row + 2}: pos is 1-based and must be >= 1")
    for col in ("id", "group"):
        if col not in df.columns:
            df[col] = ""
    return df


def _check_vcf_header(path: Path) -> None:
    """Fail unless the VCF has a ``#CHROM`` header line before its first record."""
    try:
        with open(path, "rb") as raw:
            opener = gzip.open if raw.read(2) == b"\x1f\x8b" else open
        with opener(path, "rt") as fh:
            for line in fh:
                if line.startswith("#CHROM"):
                    return
                if not line.startswith("##"):
                    break
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read VCF {path}: {err}") from err
    raise InputError(
        f"VCF {path} has no header: it must start with '##fileformat=VCFv4.2' and a "
        "'#CHROM<TAB>POS<TAB>ID<TAB>REF<TAB>ALT<TAB>QUAL<TAB>FILTER<TAB>INFO' line before the first variant. "
        "Add these two lines, or give a TSV with the header 'chrom<TAB>pos<TAB>ref<TAB>alt' instead"
    )


def _read_vcf(path: Path) -> pd.DataFrame:
    from cyvcf2 import VCF

    if not path.name.lower().endswith(".bcf"):
        _check_vcf_header(path)
    rows = []
    try:
        for rec in VCF(str(path)):
            # an ALT of '.' (no alternate allele) stays as a row with status unsupported_allele;
            # a record with several ALTs gives one row per ALT, its ID suffixed with ':ALT'
            alts = rec.ALT or ["."]
            for alt in alts:
                rid = f"{rec.ID}:{alt.upper()}" if rec.ID and len(alts) > 1 else (rec.ID or "")
                rows.append((rid, rec.CHROM, int(rec.POS), rec.REF, alt, ""))
    except OSError as err:
        raise InputError(f"cannot read VCF {path}: {err}") from err
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS)


def _apply_groups(df: pd.DataFrame, path: Path) -> pd.Series:
    if not path.exists():
        raise InputError(f"groups file not found: {path}")
    g = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if list(g.columns[:2]) != ["id", "group"]:
        raise InputError(f"groups file {path} must have the header 'id<TAB>group', got {list(g.columns)}")
    if g["id"].duplicated().any():
        raise InputError(f"groups file {path} lists id {g.loc[g['id'].duplicated(), 'id'].iloc[0]!r} twice")
    unknown = set(g["id"]) - set(df["id"])
    if unknown:
        raise InputError(
            f"groups file {path} names {len(unknown)} id(s) not in the variants, e.g. {sorted(unknown)[:3]}; "
            "IDs of split multi-allelic records carry ':ALT' and missing IDs are 'chrom:pos:ref:alt'"
        )
    return df["id"].map(dict(zip(g["id"], g["group"], strict=True))).fillna("")
