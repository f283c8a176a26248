"""Figures of the data-preparation QC (``prepare/qc/``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from stagevep.plots import save_figure


def plot_concordance(
    concordance: pd.DataFrame, replicates: Mapping[str, Mapping[str, object]], stem: str | Path
) -> list[Path]:
    """One heatmap per stage of the replicate Pearson (``pearson`` column of the concordance table)."""
    stages = list(replicates)
    fig, axes = plt.subplots(1, len(stages), figsize=(2.8 * len(stages) + 1, 3.4), squeeze=False,
                             layout="constrained")
    image = None
    for ax, stage in zip(axes[0], stages, strict=True):
        names = list(replicates[stage])
        mat = np.eye(len(names))
        for r in concordance[concordance["stage"] == stage].itertuples():
            i, j = names.index(r.replicate_a), names.index(r.replicate_b)
            mat[i, j] = mat[j, i] = r.pearson
        image = ax.imshow(mat, vmin=-1 if np.nanmin(mat) < 0 else 0, vmax=1, cmap="viridis")
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, "NA" if np.isnan(mat[i, j]) else f"{mat[i, j]:.2f}", ha="center", va="center",
                        color="w" if mat[i, j] < 0.6 else "k", fontsize=8)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set_title(stage if len(names) > 1 else f"{stage}\n(1 replicate)")
    if image is not None:
        fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="Pearson (binned signal over union peaks)")
    fig.suptitle("Replicate concordance")
    return save_figure(fig, stem)


def plot_signal_distribution(
    hists: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]], summary: pd.DataFrame, stem: str | Path
) -> list[Path]:
    """Histograms of per-bin sums before (``raw_sums``, log x) and after (``targets``) the transform."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, space in zip(axes, ("raw_sums", "targets"), strict=True):
        for stage, (counts, edges) in hists[space].items():
            zero = summary.loc[(summary["stage"] == stage) & (summary["space"] == space), "fraction_zero"].iloc[0]
            ax.stairs(counts, edges, label=f"{stage} ({zero:.0%} zero)")
        ax.set_yscale("log")
        ax.set_ylabel("bins")
        ax.legend(fontsize=7)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("per-bin signal sum (before transform; zeros not shown)")
    axes[1].set_xlabel("target (after transform)")
    axes[0].set_title("Before transform")
    axes[1].set_title("After transform")
    return save_figure(fig, stem)


def plot_windows_per_split(per_split: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Bars of windows per chromosome, coloured by split, with the split totals in the legend."""
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(per_split) + 1.5), 3.5))
    colours = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}
    for split, group in per_split.groupby("split", sort=False):
        ax.bar(group.index, group["windows"], color=colours.get(split, "tab:gray"),
               label=f"{split} ({int(group['windows'].sum())})")
    ax.set_xticks(per_split.index, per_split["chrom"], rotation=60, ha="right")
    ax.set_ylabel("windows")
    ax.set_title("Windows per chromosome and split")
    ax.legend()
    return save_figure(fig, stem)
