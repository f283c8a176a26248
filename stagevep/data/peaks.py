"""Union of replicate peak sets with bedtools merge."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pybedtools

from stagevep.errors import InputError
from stagevep.io.files import write_table
from stagevep.io.peaks import read_peaks

log = logging.getLogger(__name__)


def union_peaks(inputs: Sequence[str | Path], merge_distance: int = 0) -> pd.DataFrame:
    """Sort and merge the peaks of all inputs.

    Intervals closer than or equal to ``merge_distance`` bp (bedtools ``-d``)
    are merged. Returns a DataFrame ``chrom, start, end`` sorted by chrom
    (lexicographically, as ``sort -k1,1``) and start.
    """
    if not inputs:
        raise InputError("union_peaks needs at least one peak file")
    if merge_distance < 0:
        raise InputError(f"--merge-distance must be >= 0, got {merge_distance}")
    frames = [read_peaks(p) for p in inputs]
    allpeaks = pd.concat(frames, ignore_index=True)
    bt = pybedtools.BedTool.from_dataframe(allpeaks).sort()
    merged = bt.merge(d=merge_distance).to_dataframe(
        names=["chrom", "start", "end"], dtype={"chrom": str, "start": "int64", "end": "int64"}
    )
    pybedtools.cleanup()
    log.info("%d peaks from %d file(s) merged into %d union peaks", len(allpeaks), len(inputs), len(merged))
    return merged


def write_bed(df: pd.DataFrame, path: str | Path) -> None:
    """Write a DataFrame as a headerless tab-separated BED file (atomically)."""
    write_table(df, path, header=False)
