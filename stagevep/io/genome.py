"""Reference genome access: contig lengths and sequences (one-hot encoding: :mod:`stagevep.core.sequence`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyfaidx

from stagevep.errors import InputError

log = logging.getLogger(__name__)

def open_fasta(path: str | Path) -> pyfaidx.Fasta:
    """Open an (optionally bgzipped) FASTA with pyfaidx.

    A missing ``.fai`` index is built beside the FASTA (as ``samtools faidx``
    would); where that is impossible (read-only directory) the
    :class:`InputError` says how to build it.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"FASTA file not found: {path}")
    compressed = _check_compression(path)
    fai = Path(f"{path}.fai")
    if not fai.is_file():
        no_index = (
            f"the FASTA {path} has no index ({fai.name}) and it cannot be written there"
            f"{' (directory not writable)' if not os.access(path.parent, os.W_OK) else ''}: build it where you can "
            f"write with `samtools faidx {path.name}` (bgzipped FASTA: also keep its .gzi) and put it beside the "
            "FASTA, or copy the FASTA to a writable directory"
        )
        if not os.access(path.parent, os.W_OK):
            raise InputError(no_index)
        log.info("%s has no .fai index: building %s", path, fai)
        try:
            pyfaidx.Faidx(str(path), rebuild=False).close()
        except (pyfaidx.FastaIndexingError, ValueError) as err:
            raise InputError(f"cannot index FASTA {path}: {err}. Is it a valid (bgzipped) FASTA?") from err
        except ImportError as err:
            raise InputError(_BGZF_NEEDS_BIOPYTHON.format(path=path, err=err)) from err
        except OSError as err:
            raise InputError(f"{no_index} ({err})") from err
    if not compressed:
        check_fai(path, fai)
    try:
        return pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=True, rebuild=False)
    except (pyfaidx.FastaIndexingError, ValueError, OSError) as err:
        raise InputError(f"cannot read FASTA {path}: {err}. Is it a valid (bgzipped) FASTA?") from err
    except ImportError as err:
        raise InputError(_BGZF_NEEDS_BIOPYTHON.format(path=path, err=err)) from err


_BGZF_NEEDS_BIOPYTHON = ("cannot read the bgzipped FASTA {path} ({err}): decompress it (`bgzip -d -k {path}`) and "
                         "give the plain FASTA, or install Biopython")


def _check_compression(path: Path) -> bool:
    """True for a BGZF-compressed FASTA; an :class:`InputError` for plain gzip, which cannot be indexed."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:2] != b"\x1f\x8b":
        return False
    # BGZF: a gzip member with the FEXTRA flag and a 'BC' subfield (SAM specification, section 4.1)
    if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
        return True
    raise InputError(
        f"the FASTA {path} is gzip-compressed but not with bgzip, so it cannot be indexed: recompress it with "
        f"`gunzip -c {path.name} | bgzip > bgzipped.fa.gz` (or give it uncompressed)"
    )


def check_fai(path: Path, fai: Path) -> None:
    """Check that the ``.fai`` index of an uncompressed FASTA is well formed and fits the FASTA.

    Every line needs 5 integer columns (name, length, offset, bases per line, bytes per line); each
    contig's sequence must end inside the file and start right after its ``>name`` line. A stale index
    (the FASTA was replaced) is an :class:`InputError` that says to rebuild it.
    """
    rebuild = f"delete {fai.name} (stagevep then rebuilds it) or rebuild it with `samtools faidx {path.name}`"
    size = path.stat().st_size
    with open(fai) as idx, open(path, "rb") as fa:
        for lineno, line in enumerate(idx, start=1):
            fields = line.rstrip("\n").split("\t")
            try:
                name = fields[0]
                length, offset, bases, width = (int(f) for f in fields[1:5])
            except ValueError as err:
                raise InputError(f"FASTA index {fai} line {lineno} is malformed (expected name, length, offset, "
                                 f"bases per line, bytes per line: 5 tab-separated columns): {rebuild}") from err
            if len(fields) < 5 or bases <= 0 or width < bases:
                raise InputError(f"FASTA index {fai} line {lineno} is malformed: {rebuild}")
            end = offset + (length // bases) * width + length % bases
            fa.seek(max(0, offset - len(name) - 2 - 1024))
            before = fa.read(offset - fa.tell()).rsplit(b"\n", 2)
            header_ok = len(before) >= 2 and before[-1] == b"" and before[-2].split()[:1] == [b">" + name.encode()]
            if end > size or not header_ok:
                raise InputError(
                    f"FASTA index {fai} does not fit {path}: contig {name!r} ({length:,} bp at byte {offset:,}) "
                    f"{'ends beyond the file' if end > size else 'does not start after its >' + name + ' line'}. "
                    f"The FASTA was changed after the index was built: {rebuild}"
                )


def fasta_lengths(path: str | Path) -> dict[str, int]:
    """Contig name -> length, in FASTA order."""
    fa = open_fasta(path)
    return {name: len(fa[name]) for name in fa.keys()}


def fetch_padded(fa: pyfaidx.Fasta, chrom: str, start: int, end: int) -> str:
    """Sequence of ``chrom[start:end]`` (0-based, half-open), N-padded beyond the ends.

    Returns a string of length ``end - start``.
    """
    start, end = int(start), int(end)  # pyfaidx mishandles numpy integers
    length = len(fa[chrom])
    left = max(0, -start)
    right = max(0, end - length)
    core = fa[chrom][max(0, start) : min(end, length)] if min(end, length) > max(0, start) else ""
    return "N" * left + str(core) + "N" * right


def toggle_chr_prefix(name: str) -> str:
    """The other naming style of a contig: UCSC ``chr1``/``chrM`` <-> Ensembl ``1``/``MT``."""
    if name == "chrM":
        return "MT"
    if name == "MT":
        return "chrM"
    return name[3:] if name.startswith("chr") else "chr" + name


def check_contigs_shared(
    fasta_path: str | Path,
    fasta_contigs: Mapping[str, int],
    other_path: str | Path,
    other_contigs: Mapping[str, int] | Iterable[str],
    require_known: bool = False,
    lengths_are_bounds: bool = False,
) -> list[str]:
    """Check a data file's contig names (and lengths) against the FASTA's.

    ``other_contigs`` is a name -> length mapping (bigWig/bigBed header) or
    just names. Rules, each an :class:`InputError` naming both files:

    - a contig absent from the FASTA whose other naming style
      (:func:`toggle_chr_prefix`) is present: a ``chr``-prefix mismatch,
      reported with examples and how to fix it (contigs are never renamed
      silently);
    - no contig name shared with the FASTA;
    - with ``require_known``, any contig absent from the FASTA;
    - a shared contig whose length differs from the FASTA's (a different
      genome build); with ``lengths_are_bounds`` the values are the largest
      interval ends in the file and only exceeding the FASTA length fails.

    Returns the file's contigs that are absent from the FASTA (data on them is unused).
    """
    names = list(other_contigs)
    missing = [c for c in names if c not in fasta_contigs]
    renamed = [c for c in missing if toggle_chr_prefix(c) in fasta_contigs]
    if renamed:
        ours, theirs = renamed[0], toggle_chr_prefix(renamed[0])
        add = not ours.startswith("chr")
        sed = r"sed -E 's/^([0-9]+|X|Y|MT)\b/chr\1/; s/^chrMT\b/chrM/'" if add else r"sed -E 's/^chrM\b/MT/; s/^chr//'"
        raise InputError(
            f"contig names of {other_path} and the FASTA {fasta_path} differ by the 'chr' prefix: "
            f"{len(renamed)} contig(s) such as {', '.join(repr(c) for c in renamed[:3])} are "
            f"{', '.join(repr(toggle_chr_prefix(c)) for c in renamed[:3])} in the FASTA. stagevep does not rename "
            f"contigs (that is only safe for the same genome build). Rename the file's contigs, e.g. "
            f"{ours!r} -> {theirs!r}: for a BED/narrowPeak, `{sed} in.bed > out.bed`; for a bigWig, "
            f"`bigWigToBedGraph in.bw in.bedGraph`, the same sed, then `cut -f1,2 genome.fa.fai > chrom.sizes` "
            f"and `bedGraphToBigWig out.bedGraph chrom.sizes out.bw`. Or use a FASTA with the file's naming style."
        )
    if len(missing) == len(names):
        raise InputError(
            f"{other_path} shares no contig name with the FASTA {fasta_path}: "
            f"it has {_examples(names)}, the FASTA has {_examples(list(fasta_contigs))}. "
            "Are they from the same genome and naming scheme?"
        )
    if require_known and missing:
        raise InputError(
            f"{other_path} names {len(missing)} contig(s) absent from the FASTA {fasta_path}: "
            f"{_examples(missing)}. Remove those lines (e.g. `grep -v -w -e {missing[0]} ...`) or use the "
            "FASTA the file was made for."
        )
    if isinstance(other_contigs, Mapping):
        for c in names:
            if c in missing:
                continue
            theirs_len, fasta_len = int(other_contigs[c]), int(fasta_contigs[c])
            if lengths_are_bounds and theirs_len > fasta_len:
                raise InputError(
                    f"{other_path} has intervals on {c} up to {theirs_len} bp, but {c} is {fasta_len} bp in the "
                    f"FASTA {fasta_path}: the files come from different genome builds."
                )
            if not lengths_are_bounds and theirs_len != fasta_len:
                raise InputError(
                    f"contig {c} is {theirs_len} bp in {other_path} but {fasta_len} bp "
                    f"in the FASTA {fasta_path}: the files come from different genome builds."
                )
    return missing


def _examples(names: list[str], n: int = 4) -> str:
    shown = ", ".join(names[:n])
    return f"{shown}{', ...' if len(names) > n else ''} ({len(names)} contigs)"
