"""Evaluation figures: predicted vs observed, per-window Pearson distributions, track panels.

Every figure is saved as PNG (``DPI`` dots per inch, so its pixel size is
``figsize * DPI``) and PDF.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from stagevep.plots import save_figure

DPI = 100
SCATTER_SIZE = (8.0, 3.8)
HEXBIN_MIN_POINTS = 1000  # fewer points are drawn one by one


def histogram_size(n_tracks: int) -> tuple[float, float]:
    """Figure size in inches of :func:`plot_window_pearson` for ``n_tracks`` panels."""
    return (2.6 * n_tracks, 3.0)


def panel_size(n_tracks: int) -> tuple[float, float]:
    """Figure size in inches of a track panel for ``n_tracks`` stages."""
    return (10.0, 0.5 + 1.4 * n_tracks)


def plot_scatter(
    pred: np.ndarray,
    obs: np.ndarray,
    totals: tuple[np.ndarray, np.ndarray],
    pearson: tuple[np.ndarray, np.ndarray],
    tracks: list[str],
    out_dir: str | Path,
) -> list[Path]:
    """Per stage, density scatter (hexbin) of predicted vs observed bins and window totals.

    Panels with fewer than ``HEXBIN_MIN_POINTS`` points are plain scatters.

    ``pred``, ``obs`` ``(N, n_bins, n_tracks)``; ``totals`` their window totals (predicted, observed), each
    ``(N, n_tracks)``; ``pearson`` the Pearson of the bins and of the window totals (each ``(n_tracks,)``)
    printed in the panel titles. Writes ``scatter_<stage>.{png,pdf}``; returns the PNG paths in track order.
    """
    out = Path(out_dir)
    totals_pred, totals_obs = totals
    written = []
    for t, track in enumerate(tracks):
        fig, axes = plt.subplots(1, 2, figsize=SCATTER_SIZE)
        pairs = (
            ("bins", obs[:, :, t].ravel(), pred[:, :, t].ravel()),
            ("window totals", totals_obs[:, t], totals_pred[:, t]),
        )
        for ax, (what, x, y), r in zip(axes, pairs, (pearson[0][t], pearson[1][t]), strict=True):
            if len(x) >= HEXBIN_MIN_POINTS:
                hb = ax.hexbin(x, y, gridsize=50, bins="log", mincnt=1, cmap="viridis")
                fig.colorbar(hb, ax=ax, label="count (log)")
            else:  # few points: each one visible
                ax.scatter(x, y, s=10, alpha=0.6, color="tab:blue", linewidths=0)
            lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
            ax.plot([lo, hi], [lo, hi], ls="--", lw=0.8, color="grey")
            ax.set_title(f"{track}: {what} (n={len(x):,}, r={r:.3f})", fontsize=9)
            ax.set_xlabel("observed")
            ax.set_ylabel("predicted")
        written.append(save_figure(fig, out / f"scatter_{track}", DPI)[0])
    return written


def plot_window_pearson(per_window: np.ndarray, tracks: list[str], out_dir: str | Path) -> Path:
    """Histogram, per stage, of the per-window Pearson across bins ``(N, n_tracks)``; ``window_pearson.{png,pdf}``."""
    fig, axes = plt.subplots(1, len(tracks), figsize=histogram_size(len(tracks)), sharey=True, squeeze=False)
    bins = np.linspace(-1, 1, 41)
    for t, (ax, track) in enumerate(zip(axes[0], tracks, strict=True)):
        r = per_window[:, t][~np.isnan(per_window[:, t])]
        ax.hist(r, bins=bins, color="steelblue")
        if len(r):
            ax.axvline(float(r.mean()), color="k", ls="--", lw=1)
        ax.set_title(f"{track} (mean {r.mean() if len(r) else float('nan'):.3f}, n={len(r)})", fontsize=9)
        ax.set_xlabel("Pearson across bins")
    axes[0][0].set_ylabel("windows")
    return save_figure(fig, Path(out_dir) / "window_pearson", DPI)[0]


def pick_windows(score: np.ndarray) -> dict[str, int]:
    """Indices of the best, median and worst windows by ``score`` ``(N,)``, NaN left out."""
    defined = np.flatnonzero(~np.isnan(score))
    if not len(defined):
        return {}
    order = defined[np.argsort(score[defined], kind="stable")]
    return {"best": int(order[-1]), "median": int(order[len(order) // 2]), "worst": int(order[0])}


def plot_track_panels(
    pred: np.ndarray,
    obs: np.ndarray,
    windows: pd.DataFrame,
    tracks: list[str],
    score: np.ndarray,
    bin_size: int,
    out_dir: str | Path,
) -> list[Path]:
    """Observed (filled) and predicted (line) tracks of every stage for the best, median and worst windows.

    ``score`` ``(N,)`` ranks the windows (the per-window Pearson averaged over
    stages). Writes ``tracks_{best,median,worst}.{png,pdf}``; returns the PNG paths.
    """
    written = []
    for label, i in pick_windows(score).items():
        row = windows.iloc[i]
        x = int(row["start"]) + (np.arange(pred.shape[1]) + 0.5) * bin_size
        fig, axes = plt.subplots(len(tracks), 1, figsize=panel_size(len(tracks)), sharex=True, squeeze=False)
        for t, (ax, track) in enumerate(zip(axes[:, 0], tracks, strict=True)):
            ax.fill_between(x, obs[i, :, t], step="mid", color="0.6", label="observed")
            ax.step(x, pred[i, :, t], where="mid", color="tab:red", lw=1, label="predicted")
            ax.set_ylabel(track, rotation=0, ha="right", va="center")
            ax.margins(x=0)
        axes[0, 0].legend(loc="upper right", fontsize=8, ncol=2, frameon=False)
        axes[-1, 0].set_xlabel(f"{row['chrom']} position (bp)")
        fig.suptitle(f"{label} window {row['chrom']}:{int(row['start']):,}-{int(row['end']):,} "
                     f"(mean per-window Pearson {score[i]:.3f})", fontsize=10)
        written.append(save_figure(fig, Path(out_dir) / f"tracks_{label}", DPI)[0])
    return written


def plot_evaluation(
    pred: np.ndarray,
    obs: np.ndarray,
    windows: pd.DataFrame,
    tracks: list[str],
    per_window: np.ndarray,
    score: np.ndarray,
    bin_size: int,
    out_dir: str | Path,
    *,
    totals: tuple[np.ndarray, np.ndarray],
    pearson: tuple[np.ndarray, np.ndarray],
) -> list[Path]:
    """All evaluation figures into ``out_dir``; returns the PNG paths.

    ``per_window`` ``(N, n_tracks)`` and ``score`` ``(N,)``: see :func:`plot_window_pearson` and
    :func:`plot_track_panels`; ``totals`` and ``pearson``: see :func:`plot_scatter`.
    """
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return (
        plot_scatter(pred, obs, totals, pearson, tracks, out_dir)
        + [plot_window_pearson(per_window, tracks, out_dir)]
        + plot_track_panels(pred, obs, windows, tracks, score, bin_size, out_dir)
    )
