"""Correlation metrics between predicted and observed binned signal."""

from __future__ import annotations

import numpy as np


def per_window_pearson(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson correlation across bins, per window and track.

    ``pred`` and ``obs`` are ``(N, n_bins, n_tracks)``; returns ``(N, n_tracks)``.
    A window whose observed or predicted track is constant gives NaN.
    """
    p = pred.astype(np.float64) - pred.mean(axis=1, keepdims=True)
    o = obs.astype(np.float64) - obs.mean(axis=1, keepdims=True)
    num = (p * o).sum(axis=1)
    den = np.sqrt((p**2).sum(axis=1) * (o**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def seed_metric(pred: np.ndarray, obs: np.ndarray) -> float:
    """The seed's figure: per window, Pearson across bins per track averaged over tracks; then mean over windows.

    Tracks with an undefined (NaN) correlation are left out of a window's
    average, and windows with no defined track are left out of the mean.
    """
    r = per_window_pearson(pred, obs)
    defined = ~np.isnan(r)
    per_window = np.where(defined.any(axis=1), np.nansum(r, axis=1) / np.maximum(defined.sum(axis=1), 1), np.nan)
    return float(np.nanmean(per_window)) if np.any(~np.isnan(per_window)) else float("nan")


def pearson_all_bins(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Pearson over all bins of all windows concatenated, per track: ``(n_tracks,)``."""
    n_tracks = pred.shape[-1]
    p = pred.reshape(-1, n_tracks)
    o = obs.reshape(-1, n_tracks)
    return per_window_pearson(p[None], o[None])[0]
