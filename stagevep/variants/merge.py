"""The end of a sharded scoring run (``merge_scores.py``): one table, calibrated, as TSV/parquet/VCF."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from stagevep.geometry import resolve_central_bins
from stagevep.io.files import atomic_path
from stagevep.model.checkpoint import checkpoint_contigs, checkpoint_geometry, checkpoint_windows, read_checkpoint
from stagevep.variants.calibrate import calibrate, file_md5, read_background, scoring_settings
from stagevep.variants.score_table import write_scores
from stagevep.variants.shards import merge_shards, shard_number, shard_starts
from stagevep.variants.tracks import write_tracks
from stagevep.variants.vcf import write_scores_vcf

log = logging.getLogger(__name__)


def merge_tracks(
    shard_tracks: Sequence[str | Path], starts: dict[int, int], scores: pd.DataFrame, ids: set[str], top_n: int,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Row of the merged table -> ``(ref, alt)`` ``(n_bins, n_tracks)`` to keep, from the shards' tracks.h5.

    ``starts`` maps shard number -> its first row in the merged table. Keeps every saved variant when
    neither ``ids`` nor ``top_n`` is given; else the variants named in ``ids`` and the ``top_n`` highest
    ``score`` among the others (each shard saved its own top ``top_n``, so these are the global ones).
    """
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for path in shard_tracks:
        number = shard_number(path)
        with h5py.File(path, "r") as h5:
            rows = h5["row"][:] + starts[number]
            ref, alt = h5["ref"][:], h5["alt"][:]
        for k, row in enumerate(rows):
            kept[int(row)] = (ref[k], alt[k])
    if not ids and not top_n:
        return kept
    named = {r: v for r, v in kept.items() if scores.at[r, "id"] in ids}
    others = sorted((r for r in kept if r not in named), key=lambda r: -np.nan_to_num(scores.at[r, "score"], nan=-1))
    return {**named, **{r: kept[r] for r in others[:top_n]}}


#: rows of top_variants.tsv
TOP_N = 20


def top_variants(scores: pd.DataFrame, tracks: list[str], n: int = TOP_N) -> pd.DataFrame:
    """The ``n`` scored variants of largest ``score``: identity, stage of largest effect, signed effect per
    stage (``<stage>_delta_signal``) and, when calibrated, ``score_pct``, ``pvalue``, ``qvalue``."""
    columns = ["id", "chrom", "pos", "ref", "alt", "group", "effect_stage", "effect",
               *[f"{t}_delta_signal" for t in tracks], "score", "score_pct", "pvalue", "qvalue"]
    ok = scores[scores["status"] == "ok"]
    top = ok.sort_values("score", ascending=False, kind="stable").head(n)
    return top[[c for c in columns if c in top.columns]].reset_index(drop=True)


def merge_scores_files(
    shard_scores: Sequence[str | Path],
    manifest: str | Path,
    checkpoint: str | Path,
    variants: str | Path,
    out_dir: str | Path,
    *,
    central_bins: int | None = None,
    pseudocount: float = 1e-3,
    rc_ensemble: bool = False,
    precision: str = "auto",
    share_reference: bool = False,
    background: str | Path | None = None,
    shard_tracks: Sequence[str | Path] = (),
    track_ids: Sequence[str] = (),
    track_top_n: int = 0,
) -> pd.DataFrame:
    """Merge the shards' scores, calibrate them against ``background``, write the outputs to ``out_dir``.

    Writes ``scores.tsv``, ``scores.parquet``, ``top_variants.tsv`` (:func:`top_variants`),
    ``scores.vcf.gz`` (+ ``.tbi``) and, when
    ``shard_tracks`` are given, ``tracks.h5``. The scoring settings must be those the shards and the
    background were scored with (checked against the background). Returns the merged table.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scores = merge_shards(shard_scores, manifest)
    ckpt = read_checkpoint(checkpoint)
    tracks, geometry = list(ckpt["tracks"]), checkpoint_geometry(ckpt)
    central_bins = resolve_central_bins(central_bins, geometry)
    settings = scoring_settings(central_bins, pseudocount, rc_ensemble, precision, share_reference)
    if background is not None:
        bg = read_background(background, tracks, settings)
        scores = calibrate(scores, bg, checkpoint_windows(ckpt, checkpoint), tracks, geometry)
        log.info("calibrated against %d background SNVs (%s)", len(bg), background)
    write_scores(scores, out / "scores.tsv")
    with atomic_path(out / "top_variants.tsv") as tmp:
        top_variants(scores, tracks).to_csv(tmp, sep="\t", index=False, float_format="%.4g", na_rep="NA")
    md5 = file_md5(checkpoint)
    info = {"tracks": "|".join(tracks), **geometry.to_dict(), **settings, "checkpoint": Path(checkpoint).name,
            "checkpoint_md5": md5}
    write_scores_vcf(scores, variants, out / "scores.vcf.gz", tracks, checkpoint_contigs(ckpt) or {}, info)
    if shard_tracks:
        kept = merge_tracks(shard_tracks, shard_starts(manifest), scores, set(track_ids), track_top_n)
        write_tracks(out / "tracks.h5", scores, kept, tracks, geometry, central_bins,
                     {"rc_ensemble": rc_ensemble, "target_transform": str(ckpt["target_transform"]),
                      "checkpoint": Path(checkpoint).name})
    log.info("%d variant(s) from %d shard(s) in %s", len(scores), len(shard_scores), out)
    return scores
