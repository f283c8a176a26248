"""File-level variant scoring (``score_variants.py``): a variant file and a checkpoint in, scores out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stagevep.errors import InputError
from stagevep.geometry import resolve_central_bins
from stagevep.io.genome import open_fasta
from stagevep.io.variant_status import MAX_INDEL_LENGTH
from stagevep.io.variants import read_variants
from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
from stagevep.model.predict import resolve_device
from stagevep.variants.keeper import TrackKeeper
from stagevep.variants.score import score_with_model
from stagevep.variants.score_table import write_scores
from stagevep.variants.tracks import write_tracks


def score_variant_file(
    checkpoint: str | Path,
    fasta: str | Path,
    variants: str | Path,
    out: str | Path,
    *,
    groups: str | Path | None = None,
    central_bins: int | None = None,
    batch_size: int = 8,
    pseudocount: float = 1e-3,
    device: str = "auto",
    precision: str = "auto",
    rc_ensemble: bool = False,
    strict_ref: bool = False,
    save_tracks: str | Path | None = None,
    track_ids: list[str] | None = None,
    track_top_n: int = 0,
    shard: bool = False,
    max_indel_length: int = MAX_INDEL_LENGTH,
    indel_alignment: str = "shift",
    share_reference: bool = False,
) -> pd.DataFrame:
    """Read the variant table, score it, write ``scores.tsv`` and ``scores.parquet``; returns the scores.

    The model, its tracks and geometry come from ``checkpoint``; ``central_bins`` None takes
    :func:`~stagevep.geometry.default_central_bins` of that geometry. With
    ``save_tracks`` the per-bin ref/alt predictions go to that HDF5 file (see
    :mod:`stagevep.variants.tracks`): for every scored variant, or, when ``track_ids`` or
    ``track_top_n`` is given, only for those IDs and the ``track_top_n`` highest scores.
    With ``shard`` the table is one shard of a larger one (:mod:`stagevep.variants.shards`):
    ``track_ids`` it does not hold are left to the other shards. The other settings are those of
    :func:`~stagevep.variants.score.score_with_model`.
    """
    table = read_variants(variants, groups)
    unknown = sorted(set(track_ids or []) - set(table["id"]))
    if unknown and not shard:
        raise InputError(f"variant ID(s) to plot not found in {variants}: {unknown[:5]}")
    dev = resolve_device(device)
    model, ckpt = load_checkpoint(checkpoint, dev)
    geometry = checkpoint_geometry(ckpt)
    central_bins = resolve_central_bins(central_bins, geometry)
    tracks = list(ckpt["tracks"])
    keeper = None
    if save_tracks:
        keeper = TrackKeeper(keep_all=not track_ids and not track_top_n, ids=set(track_ids or []), top_n=track_top_n)
    scores = score_with_model(model, geometry, tracks, open_fasta(fasta), table, central_bins=central_bins,
                              batch_size=batch_size, pseudocount=pseudocount, device=dev, precision=precision,
                              rc_ensemble=rc_ensemble, strict_ref=strict_ref, keeper=keeper,
                              transform=ckpt["target_transform"]["transform"], max_indel_length=max_indel_length,
                              indel_alignment=indel_alignment, share_reference=share_reference)
    write_scores(scores, out)
    if keeper is not None:
        write_tracks(save_tracks, scores, keeper.rows(), tracks, geometry, central_bins,
                     {"rc_ensemble": rc_ensemble, "target_transform": str(ckpt["target_transform"]),
                      "checkpoint": str(checkpoint)})
    return scores
