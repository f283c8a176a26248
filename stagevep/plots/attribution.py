"""Attribution logos of one variant (ISM and gradient x input per stage)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from stagevep.plots import save_figure

BASES = "ACGT"


def plot_attribution(path_stem: Path, result: dict[str, np.ndarray], tracks: Sequence[str], start: int,
                     pos: int, title: str) -> Path:
    """Logos per stage (rows): ISM contribution of the reference bases, gradient x input on the reference and
    on the alternate (columns); the variant's position is marked. Writes ``.png`` and ``.pdf``; returns the PNG."""
    import logomaker

    panels = (("ISM: reference bases", "ism_contribution"), ("gradient x input: ref", "grad_ref"),
              ("gradient x input: alt", "grad_alt"))
    n_pos = result["ism"].shape[0]
    fig, axes = plt.subplots(len(tracks), 3, figsize=(max(9.0, 0.16 * n_pos * 3), 1.5 * len(tracks) + 0.8),
                             squeeze=False)
    x = np.arange(start, start + n_pos)
    for t, track in enumerate(tracks):
        for j, (label, key) in enumerate(panels):
            ax = axes[t, j]
            frame = pd.DataFrame(result[key][:, :, t], columns=list(BASES), index=x)
            logomaker.Logo(frame, ax=ax, color_scheme="classic")
            ax.axvspan(pos - 0.5, pos + 0.5, color="red", alpha=0.15, lw=0)
            ax.axhline(0, color="grey", lw=0.5)
            ax.tick_params(labelsize=6)
            if t == 0:
                ax.set_title(label, fontsize=8)
            if j == 0:
                ax.set_ylabel(track, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return next(p for p in save_figure(fig, path_stem) if p.suffix == ".png")


def plot_stage_contributions(path_stem: Path, table: pd.DataFrame, tracks: Sequence[str],
                             ppms: dict[str, np.ndarray]) -> Path:
    """Discovered motifs (rows, most stage-specific first): logo of each PPM (information content) and a heat
    map of its contribution per stage, each row scaled to its largest magnitude. Returns the PNG."""
    import logomaker

    n = max(1, len(table))
    fig, axes = plt.subplots(n, 2, figsize=(9, 0.9 * n + 1.0), squeeze=False,
                             gridspec_kw={"width_ratios": [2.2, 1]})
    if table.empty:
        axes[0, 0].text(0.5, 0.5, "no motif found", ha="center", va="center")
        axes[0, 0].axis("off")
        axes[0, 1].axis("off")
    for i, row in enumerate(table.itertuples(index=False)):
        ppm = ppms[row.pattern].T  # (length, 4)
        ic = ppm * (2 + np.sum(np.where(ppm > 0, ppm * np.log2(np.clip(ppm, 1e-9, 1)), 0), axis=1, keepdims=True))
        logomaker.Logo(pd.DataFrame(ic, columns=list(BASES)), ax=axes[i, 0], color_scheme="classic")
        axes[i, 0].set_ylabel(row.pattern, fontsize=7, rotation=0, ha="right")
        axes[i, 0].set_xticks([])
        contrib = np.array([getattr(row, f"contribution_{t}") for t in tracks], dtype=float)
        scale = np.abs(contrib).max() or 1.0
        axes[i, 1].imshow(contrib[None] / scale, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        axes[i, 1].set_yticks([])
        axes[i, 1].set_xticks(range(len(tracks)))
        axes[i, 1].set_xticklabels(tracks if i == n - 1 else [], fontsize=7)
        match = f" ~ {row.best_match}" if hasattr(row, "best_match") else ""
        axes[i, 1].set_title(f"specificity {row.stage_specificity:.2f}{match}", fontsize=7)
    fig.suptitle("motifs found in the model's attributions, most stage-specific first", fontsize=9)
    fig.tight_layout()
    return next(p for p in save_figure(fig, path_stem) if p.suffix == ".png")
