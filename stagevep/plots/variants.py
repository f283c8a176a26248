"""Figures of variant scores: by group, ROC curves, and per-variant prediction panels."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import auc, roc_curve

from stagevep.plots import save_figure


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


def plot_scores_by_group(scores: pd.DataFrame, magnitudes: list[str], out_dir: str | Path) -> list[Path]:
    """Violin + points of ``score`` by group, and of each stage's score; PNG and PDF. Returns PNG paths.

    ``magnitudes``: the magnitude score columns, ``score`` first (those of kind ``magnitude`` from
    :func:`stagevep.core.stats.score_metrics`); one panel for each but ``score``.
    """
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

    stages = [m for m in magnitudes if m != "score"]
    fig, axes = plt.subplots(1, len(stages), figsize=(2.6 * len(stages), 3.8), sharey=True, squeeze=False)
    for ax, metric in zip(axes[0], stages, strict=True):
        _violin_with_points(ax, [usable.loc[usable["group"] == g, metric].to_numpy() for g in groups], groups)
        ax.set_title(metric.removesuffix("_abs_log2fc"))
    axes[0][0].set_ylabel("mean |log2FC| over central bins")
    fig.suptitle("Per-stage variant effect by group")
    written.append(save_figure(fig, out / "per_stage_by_group")[0])
    return written


def plot_roc_by_stage(
    scores: pd.DataFrame, magnitudes: list[str], positive_group: str, out_dir: str | Path,
    negative_groups: list[str] | None = None,
) -> Path:
    """ROC curves of each magnitude score (``magnitudes``: ``score`` and each stage's ``abs_log2fc``) and
    (losses first) the signed ``effect``: ``positive_group`` against ``negative_groups`` (default: all other
    groups)."""
    usable = scores[(scores["status"] == "ok") & (scores["group"].fillna("") != "")]
    if negative_groups:
        usable = usable[usable["group"].isin([positive_group, *negative_groups])]
    y = (usable["group"] == positive_group).to_numpy()
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    ax.plot([0, 1], [0, 1], color="0.7", lw=1, ls="--")
    if y.any() and not y.all():
        for metric in magnitudes:
            fpr, tpr, _ = roc_curve(y, usable[metric].to_numpy(dtype=float))
            label = "score (max over stages)" if metric == "score" else metric.removesuffix("_abs_log2fc")
            ax.plot(fpr, tpr, lw=2.2 if metric == "score" else 1.2, color="k" if metric == "score" else None,
                    label=f"{label}: AUC {auc(fpr, tpr):.3f}")
        if "effect" in usable.columns:
            fpr, tpr, _ = roc_curve(y, -usable["effect"].to_numpy(dtype=float))
            ax.plot(fpr, tpr, lw=2.2, color="tab:red", ls="--",
                    label=f"-effect (losses first): AUC {auc(fpr, tpr):.3f}")
        ax.legend(fontsize=7, loc="lower right")
    else:
        ax.text(0.5, 0.5, f"needs scored variants in {positive_group!r}\nand in another group", ha="center")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    against = "+".join(negative_groups) if negative_groups else "others"
    ax.set_title(f"{positive_group} (n={int(y.sum())}) vs {against} (n={int((~y).sum())})")
    return save_figure(fig, Path(out_dir) / "roc_by_stage")[0]


def plot_signed_effects(scores: pd.DataFrame, positive_group: str, out_dir: str | Path) -> Path | None:
    """Signed effects: ``effect`` by group (violin + points) and a heatmap of every positive variant's per-stage
    ``S_delta_signal`` (rows sorted by ``effect_stage``, then effect; colour centred on 0). None without them."""
    delta_cols = [c for c in scores.columns if c.endswith("_delta_signal")]
    if "effect" not in scores.columns or not delta_cols:
        return None
    usable = scores[(scores["status"] == "ok") & (scores["group"].fillna("") != "")]
    groups = sorted(set(usable["group"]))
    stages = [c.removesuffix("_delta_signal") for c in delta_cols]
    pos = usable[usable["group"] == positive_group]
    order = pos.assign(_s=pos["effect_stage"].map({s: i for i, s in enumerate(stages)})).sort_values(["_s", "effect"])
    fig, (ax, hm) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.2]})
    _violin_with_points(ax, [usable.loc[usable["group"] == g, "effect"].to_numpy() for g in groups], groups)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_ylabel("effect (signal x bp at the stage of largest change)")
    ax.set_title("Signed effect by group (< 0: loss)")
    values = order[delta_cols].to_numpy(dtype=float)
    lim = float(np.nanmax(np.abs(values))) if values.size and np.isfinite(values).any() else 1.0
    im = hm.imshow(values if values.size else np.zeros((1, len(stages))), aspect="auto", cmap="RdBu_r",
                   vmin=-lim, vmax=lim, interpolation="nearest")
    hm.set_xticks(range(len(stages)), stages)
    hm.set_yticks([])
    hm.set_ylabel(f"{positive_group} variants (n={len(order)}), by stage of largest effect")
    hm.set_title("Per-stage effect (S_delta_signal)")
    fig.colorbar(im, ax=hm, shrink=0.8)
    return save_figure(fig, Path(out_dir) / "signed_effects")[0]


def plot_variant_panel(
    variant: pd.Series,
    ref: np.ndarray,
    alt: np.ndarray,
    tracks: list[str],
    bin_centres: np.ndarray,
    central: slice,
    variant_bin: int,
    observed: np.ndarray | None,
    stem: Path,
) -> Path:
    """Seed-style panel for one variant; PNG and PDF at ``stem``.

    ``ref``/``alt`` are the predictions ``(n_bins, n_tracks)``; ``observed`` is the
    averaged signal summed per bin ``(n_bins, n_tracks)`` or None; ``bin_centres``
    ``(n_bins,)`` genomic positions of the bin centres. Rows: observed signal (when given), ref
    and alt per stage with the variant marked, and alt - ref for every stage.
    """
    n_tracks = len(tracks)
    x = bin_centres / 1e3
    half = (x[1] - x[0]) / 2 if len(x) > 1 else 0.05
    rows = n_tracks + 1 + (observed is not None)
    fig, axes = plt.subplots(rows, 1, figsize=(8, 1.35 * rows + 1), sharex=True, squeeze=False)
    axes = axes[:, 0]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    vx = (variant["pos"] - 1) / 1e3
    k = 0
    if observed is not None:
        for t, track in enumerate(tracks):
            axes[0].plot(x, observed[:, t], lw=0.9, color=colors[t % len(colors)], label=track)
        axes[0].set_ylabel("observed\n(sum/bin)", fontsize=8)
        axes[0].legend(fontsize=6, ncol=min(n_tracks, 5), loc="upper right")
        k = 1
    for t, track in enumerate(tracks):
        ax = axes[k + t]
        ax.fill_between(x, ref[:, t], color="0.75", lw=0, label="ref")
        ax.plot(x, alt[:, t], lw=0.9, color=colors[t % len(colors)], label="alt")
        ax.set_ylabel(f"{track}\npredicted", fontsize=8)
        ax.legend(fontsize=6, loc="upper right")
    diff = axes[-1]
    for t, track in enumerate(tracks):
        diff.plot(x, alt[:, t] - ref[:, t], lw=0.9, color=colors[t % len(colors)], label=track)
    diff.axhline(0, color="0.6", lw=0.6)
    diff.set_ylabel("alt - ref", fontsize=8)
    diff.legend(fontsize=6, ncol=min(n_tracks, 5), loc="upper right")
    for ax in axes:
        ax.axvspan(x[central.start] - half, x[central.stop - 1] + half, color="gold", alpha=0.12, lw=0)
        ax.axvline(vx, color="red", lw=0.8, ls="--")
    diff.set_xlabel(f"{variant['chrom']} position (kb); red: variant (bin {variant_bin}); shaded: scored bins")
    fig.suptitle(f"{variant['id']}  {variant['chrom']}:{variant['pos']} {variant['ref']}>{variant['alt']}  "
                 f"score {variant['score']:.3g}", fontsize=10)
    return save_figure(fig, stem)[0]
