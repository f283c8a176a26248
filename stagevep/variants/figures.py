"""File-level per-variant figures: seed-style panels from saved ref/alt tracks and averaged bigWigs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from stagevep.errors import InputError
from stagevep.io.bigwig import open_bigwig, read_values
from stagevep.plots.variants import plot_variant_panel
from stagevep.variants.compare import read_scores
from stagevep.variants.sequences import target_start
from stagevep.variants.tracks import read_tracks

log = logging.getLogger(__name__)


def stage_bigwigs(paths: list[str | Path], tracks: list[str]) -> dict[str, Path]:
    """Map each model track to its bigWig: ``STAGE=FILE`` items, or files named ``<stage>.mean.bw``
    (or ``<stage>.bw``)."""
    found = {}
    for item in map(str, paths):
        stage, sep, name = item.partition("=")
        p = Path(name if sep else item)
        if not sep:
            stage = re.sub(r"(\.mean)?\.(bw|bigwig)$", "", p.name, flags=re.IGNORECASE)
        if stage not in tracks:
            raise InputError(f"bigWig {p} does not name a model track (give STAGE=FILE or name it "
                             f"<stage>.mean.bw; the model's stages are {tracks})")
        if stage in found:
            raise InputError(f"two bigWigs for stage {stage}: {found[stage]} and {p}")
        found[stage] = p
    return found


def binned_signal(bigwigs: dict[str, Path], tracks: list[str], chrom: str, start: int, n_bins: int,
                  bin_size: int) -> np.ndarray:
    """Per-bin sums of each track's bigWig over ``n_bins`` bins from 0-based ``start``.

    Returns float64 ``(n_bins, n_tracks)``; bases outside the chromosome, tracks
    without a bigWig and no-data bases count as 0.
    """
    out = np.zeros((n_bins, len(tracks)))
    end = start + n_bins * bin_size
    for t, track in enumerate(tracks):
        if track not in bigwigs:
            continue
        with open_bigwig(bigwigs[track]) as bw:
            length = bw.chroms().get(chrom, 0)
            lo, hi = max(0, start), min(end, length)
            values = np.zeros(end - start)
            if hi > lo:
                values[lo - start:hi - start] = read_values(bw, chrom, lo, hi)
        out[:, t] = values.reshape(n_bins, bin_size).sum(axis=1)
    return out


def plot_variant_files(
    scores_tsv: str | Path,
    tracks_h5: str | Path,
    out_dir: str | Path,
    ids: list[str] | None = None,
    top_n: int = 0,
    bigwigs: list[str | Path] | None = None,
) -> list[Path]:
    """Draw ``variant_<id>.png``/``.pdf`` panels in ``out_dir``; returns the PNG paths.

    Variants: ``ids`` plus the ``top_n`` highest scores among those whose tracks
    ``tracks_h5`` holds (written by ``score_variants.py --save-tracks``).
    ``bigwigs`` (``<stage>.mean.bw``) add the observed signal row.
    """
    scores = read_scores(scores_tsv).set_index("id", drop=False)
    saved = read_tracks(tracks_h5)
    tracks, geometry = saved.tracks, saved.geometry
    index = {v: i for i, v in enumerate(saved.ids)}
    unscored = [i for i in ids or [] if i not in index and i in scores.index and scores.at[i, "status"] != "ok"]
    if unscored:
        log.warning("no panel for %s: not scored (status %s)", ", ".join(unscored),
                    ", ".join(scores.loc[unscored, "status"]))
        ids = [i for i in ids or [] if i not in unscored]
    missing = [i for i in ids or [] if i not in index]
    if missing:
        raise InputError(f"{tracks_h5} holds no predictions for {missing[:5]}: score them with "
                         "--save-tracks and --track-ids (pipeline: --plot_variants)")
    ranked = scores.loc[saved.ids].sort_values("score", ascending=False, na_position="last")["id"].tolist()
    chosen = list(dict.fromkeys([*(ids or []), *ranked[:top_n]]))
    bw_map = stage_bigwigs(list(bigwigs or []), tracks)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for vid in chosen:
        v = scores.loc[vid]
        start = target_start(v["pos"], geometry)
        observed = (binned_signal(bw_map, tracks, str(v["chrom"]), start, geometry.n_bins, geometry.bin_size)
                    if bw_map else None)
        stem = out / ("variant_" + re.sub(r"[^A-Za-z0-9_.-]", "_", vid))
        centres = start + geometry.bin_size * (np.arange(geometry.n_bins) + 0.5)
        written.append(plot_variant_panel(v, saved.ref[index[vid]], saved.alt[index[vid]], tracks, centres,
                                          saved.central, saved.variant_bin, observed, stem))
    log.info("drew %d variant panel(s) in %s", len(written), out)
    return written
