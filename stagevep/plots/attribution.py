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
