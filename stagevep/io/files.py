"""Writing output files so that a failed task never leaves a half-written one behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    The parent directory is created. On an exception the temporary file is
    removed and ``path`` is left untouched (absent if it did not exist).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_table(df: pd.DataFrame, path: str | Path, header: bool = True) -> Path:
    """Write ``df`` as tab-separated text (``NA`` for missing values) atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", header=header, index=False, na_rep="NA")
    return Path(path)
