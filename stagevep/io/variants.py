"""Variant tables: TSV (``chrom pos ref alt [id] [group]``) or VCF, with 1-based ``pos``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stagevep.errors import InputError

VARIANT_COLUMNS = ["id", "chrom", "pos", "ref", "alt", "group"]


def read_variants(path: str | Path, groups: str | Path | None = None) -> pd.DataFrame:
    """Read variants into a DataFrame with :data:`VARIANT_COLUMNS`, one row per alt allele.

    VCF records with several ALT alleles are split. Missing IDs become
    ``chrom:pos:ref:alt``; IDs that repeat (split multi-allelic records, or
    repeated in the input) get ``:alt`` appended. ``groups`` is an optional TSV
    ``id group`` whose groups replace those of the table.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"variant file not found: {path}")
    name = path.name.lower()
    df = _read_vcf(path) if name.endswith((".vcf", ".vcf.gz", ".bcf")) else _read_tsv(path)
    if df.empty:
        raise InputError(f"variant file {path} contains no variants")
    df["ref"] = df["ref"].str.upper()
    df["alt"] = df["alt"].str.upper()
    default_id = df["chrom"] + ":" + df["pos"].astype(str) + ":" + df["ref"] + ":" + df["alt"]
    df["id"] = df["id"].where(df["id"].notna() & (df["id"] != "") & (df["id"] != "."), default_id)
    dup = df["id"].duplicated(keep=False)
    df.loc[dup, "id"] = df.loc[dup, "id"] + ":" + df.loc[dup, "alt"]
    if df["id"].duplicated().any():
        first = df.loc[df["id"].duplicated(), "id"].iloc[0]
        raise InputError(f"{path}: variant {first} appears more than once; remove the duplicate rows")
    if groups is not None:
        df["group"] = _apply_groups(df, Path(groups))
    df["group"] = df["group"].fillna("")
    return df[VARIANT_COLUMNS].reset_index(drop=True)


def _read_tsv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(f"cannot parse variant table {path} as tab-separated text: {err}") from err
    missing = [c for c in ("chrom", "pos", "ref", "alt") if c not in df.columns]
    if missing:
        raise InputError(
            f"variant table {path} lacks column(s) {missing}; the header must be "
            "'chrom<TAB>pos<TAB>ref<TAB>alt' with optional 'id' and 'group' (or give a .vcf/.vcf.gz)"
        )
    bad = ~df["pos"].str.fullmatch(r"[0-9]+")
    if bad.any():
        row = int(bad.idxmax())
        raise InputError(f"{path} row {row + 2}: pos must be a positive 1-based integer, got {df['pos'][row]!r}")
    df["pos"] = df["pos"].astype("int64")
    if (df["pos"] < 1).any():
        raise InputError(f"{path}: pos is 1-based and must be >= 1")
    for col in ("id", "group"):
        if col not in df.columns:
            df[col] = ""
    return df


def _read_vcf(path: Path) -> pd.DataFrame:
    from cyvcf2 import VCF

    rows = []
    try:
        for rec in VCF(str(path)):
            for alt in rec.ALT or ["."]:
                rows.append((rec.ID or "", rec.CHROM, int(rec.POS), rec.REF, alt, ""))
    except OSError as err:
        raise InputError(f"cannot read VCF {path}: {err}") from err
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS)


def _apply_groups(df: pd.DataFrame, path: Path) -> pd.Series:
    if not path.exists():
        raise InputError(f"groups file not found: {path}")
    g = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if list(g.columns[:2]) != ["id", "group"]:
        raise InputError(f"groups file {path} must have the header 'id<TAB>group'")
    unknown = set(g["id"]) - set(df["id"])
    if unknown:
        raise InputError(
            f"groups file {path} names {len(unknown)} id(s) not in the variants, e.g. {sorted(unknown)[:3]}"
        )
    return df["id"].map(dict(zip(g["id"], g["group"], strict=True))).fillna("")
