"""File-level group comparison: ``group_stats.tsv`` and figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stagevep.errors import InputError
from stagevep.plots.variants import plot_scores_by_group
from stagevep.variants.stats import group_stats


def compare_groups_files(
    scores_tsv: str | Path, out_dir: str | Path, positive_group: str = "functional", n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Read ``scores.tsv``, write ``group_stats.tsv`` and ``plots/`` into ``out_dir``."""
    path = Path(scores_tsv)
    if not path.exists():
        raise InputError(f"scores file not found: {path}")
    scores = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NA"], dtype={"group": str, "id": str})
    stats = group_stats(scores, positive_group, n_boot, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats.to_csv(out / "group_stats.tsv", sep="\t", index=False, float_format="%.6g", na_rep="NA")
    plot_scores_by_group(scores, out / "plots")
    return stats
