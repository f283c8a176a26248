"""File-level group comparison: ``group_stats.tsv`` and figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stagevep.core.stats import group_stats, resolve_negative_groups, score_metrics
from stagevep.errors import InputError
from stagevep.io.files import atomic_path
from stagevep.plots.variants import plot_roc_by_stage, plot_scores_by_group, plot_signed_effects


def read_scores(path: str | Path) -> pd.DataFrame:
    """Read ``scores.tsv`` as written by :func:`stagevep.variants.score_table.write_scores` (``NA`` = missing)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"scores file not found: {path}")
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NA"],
                       dtype={"group": str, "id": str, "chrom": str})


def compare_groups_files(
    scores_tsv: str | Path, out_dir: str | Path, positive_group: str = "functional", n_boot: int = 1000, seed: int = 0,
    negative_group: str | None = None,
) -> pd.DataFrame:
    """Read ``scores.tsv``, write ``group_stats.tsv`` and ``plots/`` (by group, ROC) into ``out_dir``.

    ``negative_group``: see :func:`~stagevep.core.stats.group_stats` (default: every other group).
    """
    scores = read_scores(scores_tsv)
    stats = group_stats(scores, positive_group, n_boot, seed, negative_group)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "group_stats.tsv") as tmp:
        stats.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")
    magnitudes = [metric for metric, kind in score_metrics(scores) if kind == "magnitude"]
    plot_scores_by_group(scores, magnitudes, out / "plots")
    groups = sorted(set(scores["group"].fillna("")) - {""})
    plot_roc_by_stage(scores, magnitudes, positive_group, out / "plots",
                      resolve_negative_groups(groups, positive_group, negative_group))
    plot_signed_effects(scores, positive_group, out / "plots")
    return stats
