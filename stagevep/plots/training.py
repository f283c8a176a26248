"""Training curves from ``train/metrics.csv``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from stagevep.plots import save_figure


def validation_metrics(metrics: pd.DataFrame) -> list[str]:
    """Validation columns other than the loss (``val_pearson`` and any ``val_*`` added later), in file order."""
    return [c for c in metrics.columns if c.startswith("val_") and c != "val_loss" and metrics[c].notna().any()]


def plot_training_curves(metrics: pd.DataFrame, path: str | Path) -> Path:
    """Loss (train and validation) and validation metrics against ``step``, written as one PNG.

    ``metrics`` is ``train/metrics.csv`` as a frame: one row per step with
    ``step``, ``train_loss``, and validation columns (``val_loss``,
    ``val_pearson``, ...) filled only on validation steps (NaN elsewhere).
    """
    val_cols = validation_metrics(metrics)
    n_panels = 1 + (1 if val_cols else 0)
    fig, axes = plt.subplots(1, n_panels, figsize=(5.5 * n_panels, 3.8), squeeze=False)
    ax = axes[0][0]
    for col, style in (("train_loss", {"lw": 1, "alpha": 0.8}), ("val_loss", {"marker": "o", "lw": 1.5})):
        if col in metrics.columns and metrics[col].notna().any():
            rows = metrics[metrics[col].notna()]
            ax.plot(rows["step"], rows[col], label=col, **style)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Loss")
    ax.legend()
    if val_cols:
        ax = axes[0][1]
        for col in val_cols:
            rows = metrics[metrics[col].notna()]
            ax.plot(rows["step"], rows[col], marker="o", lw=1.5, label=col)
        ax.set_xlabel("step")
        ax.set_title("Validation metrics")
        ax.legend()
    return save_figure(fig, path, 110, formats=("png",))[0]
