"""Variant tables in shards: the preflight of a scoring run, the split into shards and the merge back.

A scoring run reads the user's variants once (:func:`prepare_variants`): the checkpoint, the FASTA and
the variant file are checked against each other, and the table (one row per ALT allele, input order,
unique IDs, groups applied) is written as ``shards/shard_NNNNN.tsv`` of ``shard_size`` rows each. Each
shard is scored by its own task; :func:`merge_shards` puts the shards' tables back together in shard
order and checks that every input variant is there exactly once.

Scores do not depend on the shard size: :func:`~stagevep.variants.score.score_with_model` pads its last
batch to the full batch size, so every variant goes through the model in a batch of the same shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from stagevep.errors import InputError
from stagevep.io.files import atomic_path
from stagevep.io.genome import check_contigs_shared, fasta_lengths
from stagevep.io.variants import read_variants
from stagevep.model.checkpoint import checkpoint_contigs, read_checkpoint

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def check_scoring_inputs(checkpoint: str | Path, fasta: str | Path) -> dict[str, int]:
    """Check that ``checkpoint`` is a stagevep checkpoint made on the genome of ``fasta``.

    Every contig the two share must have the same length (else :class:`InputError` naming the contig);
    they must share at least one. Returns the FASTA's contig lengths. A checkpoint written before
    checkpoints recorded their genome is accepted with a warning.
    """
    ckpt = read_checkpoint(checkpoint)
    fasta_contigs = fasta_lengths(fasta)
    trained_on = checkpoint_contigs(ckpt)
    if trained_on is None:
        log.warning("%s does not record the genome it was trained on: the FASTA's contigs cannot be checked "
                    "against it", checkpoint)
        return fasta_contigs
    check_contigs_shared(fasta, fasta_contigs, f"checkpoint {checkpoint}", trained_on)
    return fasta_contigs


def prepare_variants(
    checkpoint: str | Path,
    fasta: str | Path,
    variants: str | Path,
    out_dir: str | Path,
    groups: str | Path | None = None,
    shard_size: int = 20000,
    track_ids: Sequence[str] = (),
) -> list[Path]:
    """Preflight and split: ``out_dir/shard_NNNNN.tsv`` (``shard_size`` variants each) and ``manifest.json``.

    Checks the checkpoint against the FASTA (:func:`check_scoring_inputs`) and the variants' contigs
    against the FASTA (a ``chr``-prefix mismatch, or no contig in common, is an error; variants on other
    contigs get status ``unknown_contig`` when scored). Shards hold
    :data:`~stagevep.io.variants.VARIANT_COLUMNS` in input order.
    ``track_ids`` (variants whose per-bin predictions are to be kept) must all be in the table.
    Returns the shard paths in order.
    """
    if shard_size < 1:
        raise InputError(f"--variant_shard_size must be at least 1, got {shard_size}")
    contigs = check_scoring_inputs(checkpoint, fasta)
    table = read_variants(variants, groups)
    check_contigs_shared(fasta, contigs, variants, list(dict.fromkeys(table["chrom"])))
    unknown = sorted(set(track_ids) - set(table["id"]))
    if unknown:
        raise InputError(f"variant ID(s) to plot (--plot_variants) not found in {variants}: {unknown[:5]}; IDs of "
                         "split multi-allelic records carry ':ALT' and missing IDs are 'chrom:pos:ref:alt'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, start in enumerate(range(0, len(table), shard_size)):
        path = out / f"shard_{k + 1:05d}.tsv"
        with atomic_path(path) as tmp:
            table.iloc[start:start + shard_size].to_csv(tmp, sep="\t", index=False)
        paths.append(path)
    manifest = {"variants": str(variants), "n_variants": len(table), "shard_size": shard_size,
                "shards": [p.name for p in paths]}
    with atomic_path(out / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    log.info("%d variant(s) from %s in %d shard(s) of up to %d", len(table), variants, len(paths), shard_size)
    return paths


def merge_shards(shard_scores: Sequence[str | Path], manifest: str | Path) -> pd.DataFrame:
    """The shards' score tables (parquet, one per shard) in shard order, checked against ``manifest``.

    Shards are ordered by their number (``scores_NNNNN.parquet`` or any name ending in the shard's
    number), not by the order given. :class:`InputError` unless the shards are exactly those of the
    manifest and hold ``n_variants`` rows with unique IDs.
    """
    info = json.loads(Path(manifest).read_text())
    numbered = sorted((shard_number(p), Path(p)) for p in shard_scores)
    expected = list(range(1, len(info["shards"]) + 1))
    if [n for n, _ in numbered] != expected:
        raise InputError(f"expected the scores of shards 1-{len(expected)} of {manifest}, got shard numbers "
                         f"{[n for n, _ in numbered][:10]}")
    merged = pd.concat([pd.read_parquet(p) for _, p in numbered], ignore_index=True)
    if len(merged) != info["n_variants"] or merged["id"].duplicated().any():
        raise InputError(f"the merged shards hold {len(merged)} rows ({merged['id'].duplicated().sum()} repeated "
                         f"IDs) but {info['variants']} has {info['n_variants']} variants")
    return merged


def shard_number(path: str | Path) -> int:
    """The shard number in a file name (``scores_00003.parquet`` -> 3)."""
    digits = "".join(ch for ch in Path(path).name.split(".")[0] if ch.isdigit())
    if not digits:
        raise InputError(f"cannot tell which shard {path} is: its name carries no shard number")
    return int(digits)


def shard_starts(manifest: str | Path) -> dict[int, int]:
    """Shard number -> index of its first variant in the whole table, from ``manifest.json``."""
    info = json.loads(Path(manifest).read_text())
    return {k + 1: k * int(info["shard_size"]) for k in range(len(info["shards"]))}
