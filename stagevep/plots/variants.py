"""Figures of variant scores by group."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from stagevep.plots import save_figure
from stagevep.variants.stats import score_metrics


def _violin_with_points(ax: plt.Axes, data: list[np.ndarray], labels: list[str], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    nonempty = [i for i, d in enumerate(data) if len(d)]
    if nonempty:
        parts = ax.violinplot([data[i] for i in nonempty], positions=nonempty, showmedians=True, widths=0.8)
        for body in parts["bodies"]:
            body.set_alpha(0.35)
    for i, d in enumerate(data):
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(d)), d, s=10, alpha=0.7, color="k", zorder=3)
    ax.set_xticks(range(len(labels)), [f"{lab}\n(n={len(d)})" for lab, d in zip(labels, data, strict=True)])


def plot_scores_by_group(scores: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Violin + points of ``score`` by group, and of each stage's score; PNG and PDF. Returns PNG paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    usable = scores[(scores["status"] == "ok") & (scores["group"].fillna("") != "")]
    groups = sorted(set(usable["group"]))
    written = []

    fig, ax = plt.subplots(figsize=(4.5, 4))
    _violin_with_points(ax, [usable.loc[usable["group"] == g, "score"].to_numpy() for g in groups], groups)
    ax.set_ylabel("score (max over stages of mean |log2FC|)")
    ax.set_title("Variant effect score by group")
    written.append(save_figure(fig, out / "score_by_group")[0])

    stages = [m for m in score_metrics(usable) if m != "score"]
    fig, axes = plt.subplots(1, len(stages), figsize=(2.6 * len(stages), 3.8), sharey=True, squeeze=False)
    for ax, metric in zip(axes[0], stages, strict=True):
        _violin_with_points(ax, [usable.loc[usable["group"] == g, metric].to_numpy() for g in groups], groups)
        ax.set_title(metric.removesuffix("_abs_log2fc"))
    axes[0][0].set_ylabel("mean |log2FC| over central bins")
    fig.suptitle("Per-stage variant effect by group")
    written.append(save_figure(fig, out / "per_stage_by_group")[0])
    return written
