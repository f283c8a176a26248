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


VCF_FIXED_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_VCF_HEADER_FIX = (
    "it must start with '##fileformat=VCFv4.2' and have exactly one tab-separated "
    "'#CHROM<TAB>POS<TAB>ID<TAB>REF<TAB>ALT<TAB>QUAL<TAB>FILTER<TAB>INFO' line (then FORMAT and one column per "
    "sample, if any) before the first variant"
)


def _open_text(path: Path):
    """Open a plain or gzip/bgzip-compressed text file for reading (compression from its first bytes)."""
    with open(path, "rb") as raw:
        opener = gzip.open if raw.read(2) == b"\x1f\x8b" else open
    return opener(path, "rt")


def _check_vcf_header(path: Path) -> None:
    """Check the text of a VCF's header before cyvcf2 reads it.

    The header must have ``##`` meta lines, then exactly one ``#CHROM`` line that is
    tab-separated with the 8 fixed columns (:data:`VCF_FIXED_COLUMNS`), optionally
    ``FORMAT`` and non-empty, distinct sample names, and then the records. Anything
    else is an :class:`InputError` naming the file, the line and the fix.
    """
    chrom_line = 0
    try:
        with _open_text(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                text = line.rstrip("\r\n")
                if text.startswith("##") and not chrom_line:
                    continue
                if text.startswith("#CHROM") or (chrom_line and text.startswith("#")):
                    if chrom_line:
                        what = "a second '#CHROM' line" if text.startswith("#CHROM") else f"the line {text[:30]!r}"
                        raise InputError(
                            f"VCF {path} line {lineno}: {what} after the '#CHROM' header line "
                            f"on line {chrom_line}; {_VCF_HEADER_FIX}. Were two VCFs joined with `cat`? Join them "
                            "with `bcftools concat` instead, or delete the extra line"
                        )
                    _check_chrom_line(path, lineno, text)
                    chrom_line = lineno
                    continue
                break
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read VCF {path} (truncated or not a text/bgzip VCF?): {err}") from err
    if not chrom_line:
        raise InputError(
            f"VCF {path} has no header: {_VCF_HEADER_FIX}. Add the header lines, or give a TSV with the header "
            "'chrom<TAB>pos<TAB>ref<TAB>alt' instead"
        )


def _check_chrom_line(path: Path, lineno: int, text: str) -> None:
    """Fail unless ``text`` (line ``lineno``) is a tab-separated ``#CHROM`` line with valid sample names."""
    fields = text.split("\t")
    if tuple(fields[:8]) != VCF_FIXED_COLUMNS:
        if tuple(text.split()[:8]) == VCF_FIXED_COLUMNS:
            raise InputError(
                f"VCF {path} line {lineno}: the '#CHROM' header line is separated by spaces, not tabs; VCF "
                "columns are tab-separated. Replace the spaces with tabs (e.g. `sed -E 's/ +/\\t/g'` on that "
                "line and on the records) or export the file again as VCF"
            )
        raise InputError(
            f"VCF {path} line {lineno}: the '#CHROM' header line has columns {fields[:9]}, expected "
            f"{list(VCF_FIXED_COLUMNS)} (then FORMAT and the samples); {_VCF_HEADER_FIX}"
        )
    if len(fields) == 8:
        return
    if fields[8] != "FORMAT":
        raise InputError(
            f"VCF {path} line {lineno}: column 9 of the '#CHROM' line is {fields[8]!r}; sample columns must "
            "follow a 'FORMAT' column. Remove the extra columns or add FORMAT"
        )
    samples = fields[9:]
    for k, name in enumerate(samples, start=10):
        if not name.strip():
            raise InputError(
                f"VCF {path} line {lineno}: column {k} of the '#CHROM' line is an empty sample name "
                "(a trailing tab or two tabs in a row?); remove the extra tab so that every sample has a name"
            )
    repeated = sorted({name for name in samples if samples.count(name) > 1})
    if repeated:
        raise InputError(
            f"VCF {path} line {lineno}: sample name(s) {repeated[:3]} appear more than once in the '#CHROM' "
            "line; give every sample a distinct name (e.g. `bcftools reheader --samples`)"
        )


def _read_vcf(path: Path) -> pd.DataFrame:
    from cyvcf2 import VCF

    if not path.name.lower().endswith(".bcf"):
        _check_vcf_header(path)
    rows = []
    n_records, last = 0, "the header"
    try:
        # cyvcf2 raises a bare Exception for a header or record htslib cannot parse: caught only
        # around the cyvcf2 calls, and re-raised as an InputError naming the record
        reader = VCF(str(path))
    except OSError as err:
        raise InputError(f"cannot read VCF {path}: {err}. Is it a VCF, a bgzipped VCF or a BCF?") from err
    except Exception as err:  # cyvcf2 gives its header errors no narrower type
        raise InputError(_unreadable_compressed(path) or
                         f"cannot read the header of VCF {path} ({err}); {_VCF_HEADER_FIX}") from err
    records = iter(reader)
    while True:
        try:
            rec = next(records)
        except StopIteration:
            break
        except OSError as err:
            raise InputError(f"cannot read VCF {path} after record {n_records} ({last}): {err}") from err
        except Exception as err:  # nor its record errors
            raise InputError(_unreadable_compressed(path) or _record_error(path, n_records, last, str(err))) from err
        n_records += 1
        chrom = rec.CHROM
        if chrom.startswith("#") or any(c.isspace() for c in chrom):
            raise InputError(_record_error(path, n_records - 1, last, f"CHROM {chrom[:40]!r}"))
        last = f"{chrom}:{rec.POS}"
        # an ALT of '.' (no alternate allele) stays as a row with status unsupported_allele;
        # a record with several ALTs gives one row per ALT, its ID suffixed with ':ALT'
        alts = rec.ALT or ["."]
        for alt in alts:
            rid = f"{rec.ID}:{alt.upper()}" if rec.ID and len(alts) > 1 else (rec.ID or "")
            rows.append((rid, chrom, int(rec.POS), rec.REF, alt, ""))
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS)


def _unreadable_compressed(path: Path) -> str | None:
    """Why a gzip-compressed VCF cannot be decompressed to its end (truncated or damaged), or None."""
    try:
        with open(path, "rb") as raw:
            if raw.read(2) != b"\x1f\x8b":
                return None
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (OSError, EOFError) as err:
        return (f"cannot read VCF {path} (truncated or not a text/bgzip VCF?): {err}. Copy or download it again "
                "(compare its size or md5 with the source)")
    return None


def _record_error(path: Path, n_read: int, last: str, detail: str) -> str:
    """Message for the VCF record after the ``n_read`` good ones (the last of them at ``last``)."""
    where = f"record {n_read + 1} (after {last})"
    line = _record_line(path, n_read) if not path.name.lower().endswith(".bcf") else None
    if line is not None:
        lineno, text = line
        where = f"line {lineno} (record {n_read + 1}, after {last})"
        if text.startswith("#CHROM"):
            return (f"VCF {path} {where}: a second '#CHROM' header line in the middle of the records; were two "
                    "VCFs joined with `cat`? Join them with `bcftools concat` instead, or delete the line")
        if "\t" not in text and len(text.split()) >= 8:
            return (f"VCF {path} {where}: the record is separated by spaces, not tabs; VCF columns are "
                    "tab-separated. Replace the spaces with tabs or export the file again as VCF")
        n_fields = len(text.split("\t"))
        if n_fields < 8:
            return (f"VCF {path} {where}: {n_fields} tab-separated column(s), a VCF record needs at least 8 "
                    f"(CHROM POS ID REF ALT QUAL FILTER INFO): {text[:60]!r}. Is the file truncated?")
        detail = f"{detail}: {text[:60]!r}"
    return (f"VCF {path} {where} cannot be parsed ({detail}); check that line against the VCF specification "
            "(e.g. `bcftools view` shows the same error) and fix or remove it")


def _record_line(path: Path, index: int) -> tuple[int, str] | None:
    """``(line number, text)`` of the ``index``-th (0-based) line after the ``#CHROM`` line, or None."""
    try:
        with _open_text(path) as fh:
            seen_header, k = False, 0
            for lineno, line in enumerate(fh, start=1):
                if not seen_header:
                    seen_header = line.startswith("#CHROM")
                    continue
                if k == index:
                    return lineno, line.rstrip("\r\n")
                k += 1
    except (OSError, EOFError, UnicodeDecodeError):
        return None
    return None


def _apply_groups(df: pd.DataFrame, path: Path) -> pd.Series:
    if not path.exists():
        raise InputError(f"groups file not found: {path}")
    try:
        g = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"cannot parse groups file {path} as tab-separated 'id<TAB>group' text: {err}") from err
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
