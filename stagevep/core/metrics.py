"""Correlation metrics between predicted and observed binned signal.

All functions take ``pred`` and ``obs`` of shape ``(N, n_bins, n_tracks)``
(windows, bins, stages) and are pure numpy/scipy; ``docs/output.md`` gives
each formula.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from stagevep.errors import InputError

#: Metrics in the order they are reported.
METRICS = (
    "mean_window_pearson",
    "pearson_all_bins",
    "spearman_all_bins",
    "pearson_window_totals",
    "stage_specificity",
    "r2_stage_deviation",
)

#: Predictions every metric is reported for besides the model's: references that read no sequence
#: (``mean_profile``: the mean training window for every window) or whose pairing with the windows is
#: broken (``shuffled``: the model's own predictions permuted across windows). A figure the model shares
#: with a reference is not evidence that it reads the sequence.
REFERENCES = ("mean_profile", "shuffled")


def per_window_pearson(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson correlation across bins, per window and track.

    ``pred`` and ``obs`` are ``(N, n_bins, n_tracks)``; returns ``(N, n_tracks)``.
    A window whose observed or predicted track is constant gives NaN.
    """
    p = pred.astype(np.float64) - pred.mean(axis=1, keepdims=True, dtype=np.float64)
    o = obs.astype(np.float64) - obs.mean(axis=1, keepdims=True, dtype=np.float64)
    num = (p * o).sum(axis=1)
    den = np.sqrt((p**2).sum(axis=1) * (o**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def column_pearson(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``(n, k)`` arrays: ``(k,)``; NaN for a constant column."""
    return per_window_pearson(pred[None], obs[None])[0]


def window_mean_pearson(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Per window, the Pearson across bins averaged over tracks: ``(N,)``.

    Tracks with an undefined (NaN) correlation are left out of a window's
    average; a window with no defined track is NaN.
    """
    r = per_window_pearson(pred, obs)
    defined = ~np.isnan(r)
    return np.where(defined.any(axis=1), np.nansum(r, axis=1) / np.maximum(defined.sum(axis=1), 1), np.nan)


def mean_window_pearson(pred: np.ndarray, obs: np.ndarray) -> float:
    """The mean over windows of :func:`window_mean_pearson` (NaN windows left out): a float."""
    per_window = window_mean_pearson(pred, obs)
    return float(np.nanmean(per_window)) if np.any(~np.isnan(per_window)) else float("nan")


def pearson_all_bins(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson over all bins of all windows concatenated, per track: ``(n_tracks,)``."""
    n_tracks = pred.shape[-1]
    return column_pearson(pred.reshape(-1, n_tracks), obs.reshape(-1, n_tracks))


def spearman_all_bins(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Spearman over all bins of all windows concatenated, per track: ``(n_tracks,)``.

    Pearson of the ranks, ties given their average rank.
    """
    n_tracks = pred.shape[-1]
    p = rankdata(pred.reshape(-1, n_tracks), axis=0)
    o = rankdata(obs.reshape(-1, n_tracks), axis=0)
    return column_pearson(p, o)


def window_totals(x: np.ndarray) -> np.ndarray:
    """Sum over the bins of each window and track: ``(N, n_bins, n_tracks)`` -> float64 ``(N, n_tracks)``."""
    return x.sum(axis=1, dtype=np.float64)


def pearson_window_totals(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson, across windows, of the window totals per track (enhancer-level activity): ``(n_tracks,)``."""
    return column_pearson(window_totals(pred), window_totals(obs))


def stage_deviation(x: np.ndarray) -> np.ndarray:
    """Window totals minus their mean over tracks: ``(N, n_bins, n_tracks)`` -> ``(N, n_tracks)``."""
    totals = window_totals(x)
    return totals - totals.mean(axis=1, keepdims=True)


def stage_specificity(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson, across windows, of each track's total minus the mean total over tracks: ``(n_tracks,)``.

    A model that only learns where enhancers are (the same profile for every
    stage) scores near 0; one that ranks the stages within each window right
    scores near 1. Undefined (NaN) with a single track.
    """
    return column_pearson(stage_deviation(pred), stage_deviation(obs))


def r2_stage_deviation(pred: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, float]:
    """R² of the stage deviations (:func:`stage_deviation`) across windows: per track and pooled.

    Per track ``1 - SS_res / SS_tot`` with ``SS_res = sum_w (dev_pred - dev_obs)^2`` and
    ``SS_tot = sum_w (dev_obs - mean_w dev_obs)^2``; pooled, both sums run over every track
    (sklearn's ``r2_score(..., multioutput="variance_weighted")``). Unlike the Pearson form
    (:func:`stage_specificity`) it is scale-sensitive: predicting the right stage order with a
    tenth of the amplitude scores near 0, and a constant prediction scores at most 0.
    Returns ``((n_tracks,), float)``; NaN where the observed deviations do not vary.
    """
    dp, do = stage_deviation(pred), stage_deviation(obs)
    ss_res = ((dp - do) ** 2).sum(axis=0)
    ss_tot = ((do - do.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_track = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.nan)
    pooled = float(1 - ss_res.sum() / ss_tot.sum()) if ss_tot.sum() > 0 else float("nan")
    return per_track, pooled


def mean_profile(train: np.ndarray, n: int) -> np.ndarray:
    """The no-sequence reference: the mean training window ``(n_bins, n_tracks)`` repeated ``(n, n_bins, n_tracks)``."""
    profile = np.asarray(train, dtype=np.float64).mean(axis=0)
    return np.broadcast_to(profile, (n, *profile.shape)).astype(np.float32)


def shuffled(pred: np.ndarray, seed: int = 0) -> np.ndarray:
    """The broken-pairing reference: ``pred`` ``(N, ...)`` with its windows permuted.

    Seeded; no window keeps its own prediction when N > 1.
    """
    n = len(pred)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    if n > 1:  # a derangement: no window keeps its own prediction
        while np.any(perm == np.arange(n)):
            perm = rng.permutation(n)
    return pred[perm]


def metric_table(pred: np.ndarray, obs: np.ndarray, tracks: list[str]) -> pd.DataFrame:
    """Every metric of :data:`METRICS` per track and for ``all`` tracks.

    Returns columns ``metric, track, value``. ``all`` is :func:`mean_window_pearson` for
    ``mean_window_pearson``, the pooled R² for ``r2_stage_deviation`` and the mean
    over tracks of the per-track values for the others.
    """
    if pred.shape != obs.shape or pred.shape[-1] != len(tracks):
        raise ValueError(f"predictions {pred.shape}, observations {obs.shape} and {len(tracks)} tracks disagree")
    per_window = per_window_pearson(pred, obs)
    per_track = {
        "mean_window_pearson": np.array([_mean_defined(per_window[:, t]) for t in range(len(tracks))]),
        "pearson_all_bins": pearson_all_bins(pred, obs),
        "spearman_all_bins": spearman_all_bins(pred, obs),
        "pearson_window_totals": pearson_window_totals(pred, obs),
        "stage_specificity": stage_specificity(pred, obs),
    }
    per_track["r2_stage_deviation"], pooled_r2 = r2_stage_deviation(pred, obs)
    overall = {"mean_window_pearson": mean_window_pearson(pred, obs), "r2_stage_deviation": pooled_r2}
    rows = []
    for name in METRICS:
        values = per_track[name]
        rows += [(name, track, float(v)) for track, v in zip(tracks, values, strict=True)]
        rows.append((name, "all", overall.get(name, _mean_defined(values))))
    return pd.DataFrame(rows, columns=["metric", "track", "value"])


def to_raw(pred: np.ndarray, transform: str) -> np.ndarray:
    """Predictions back in the space of the raw per-bin sums, float64 of the same shape.

    ``log1p`` targets: ``expm1(pred)`` (the per-window percentile clip of the
    targets is not undone: it cannot be); ``none``: unchanged.
    """
    if transform == "log1p":
        return np.expm1(pred.astype(np.float64))
    if transform in ("none", "identity"):
        return pred.astype(np.float64)
    raise InputError(f"unknown target transform {transform!r} in the targets file: expected log1p or none")


def _mean_defined(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")
