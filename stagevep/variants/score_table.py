"""The scores table on disk: ``scores.tsv`` and the same table as ``scores.parquet`` beside it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stagevep.io.files import atomic_path


def write_scores(scores: pd.DataFrame, tsv: str | Path) -> None:
    """Write ``scores.tsv`` and, beside it, the same table as ``scores.parquet`` (each atomically)."""
    tsv = Path(tsv)
    with atomic_path(tsv) as tmp:
        scores.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")
    with atomic_path(tsv.with_suffix(".parquet")) as tmp:
        scores.to_parquet(tmp, index=False)
