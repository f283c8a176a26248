"""Score the calibration background of a model once (``score_background.py``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from stagevep.geometry import resolve_central_bins
from stagevep.io.genome import open_fasta
from stagevep.model.checkpoint import checkpoint_geometry, checkpoint_windows, load_checkpoint
from stagevep.model.predict import resolve_device
from stagevep.variants.calibrate import (
    background_key,
    distance_edges,
    draw_background,
    file_md5,
    scoring_settings,
    write_background,
)
from stagevep.variants.score import score_with_model

log = logging.getLogger(__name__)


def score_background_file(
    checkpoint: str | Path,
    fasta: str | Path,
    out: str | Path,
    *,
    n: int = 10000,
    seed: int = 0,
    central_bins: int | None = None,
    batch_size: int = 8,
    pseudocount: float = 1e-3,
    device: str = "auto",
    precision: str = "auto",
    rc_ensemble: bool = False,
    share_reference: bool = False,
) -> pd.DataFrame:
    """Draw ``n`` background SNVs around the checkpoint's training windows, score them, write ``out``.

    ``out`` is a parquet table (the scores of
    :func:`~stagevep.variants.score.score_with_model` plus ``distance_to_peak`` and ``stratum``)
    with ``<out>.json`` beside it: the checkpoint's md5, the scoring settings, the strata's edges
    and a key (:func:`~stagevep.variants.calibrate.background_key`) that names this background.
    """
    dev = resolve_device(device)
    model, ckpt = load_checkpoint(checkpoint, dev)
    geometry = checkpoint_geometry(ckpt)
    central_bins = resolve_central_bins(central_bins, geometry)
    tracks = list(ckpt["tracks"])
    windows = checkpoint_windows(ckpt, checkpoint)
    fa = open_fasta(fasta)
    table = draw_background(fa, windows, n, geometry, seed)
    log.info("scoring %d background SNVs (seed %d) with %s", len(table), seed, checkpoint)
    scores = score_with_model(model, geometry, tracks, fa, table.drop(columns=["distance_to_peak", "stratum"]),
                              central_bins, batch_size, pseudocount, dev, precision, rc_ensemble,
                              transform=ckpt["target_transform"]["transform"], share_reference=share_reference)
    scores["distance_to_peak"] = table["distance_to_peak"].to_numpy()
    scores["stratum"] = table["stratum"].to_numpy()
    settings = scoring_settings(central_bins, pseudocount, rc_ensemble, precision, share_reference)
    md5 = file_md5(checkpoint)
    write_background(scores, out, {"checkpoint": str(checkpoint), "checkpoint_md5": md5, "tracks": tracks,
                                   "settings": settings, "seed": seed, "requested": n,
                                   "distance_edges": distance_edges(geometry).tolist(),
                                   "key": background_key(md5, {**settings, "n": n, "seed": seed})})
    return scores
