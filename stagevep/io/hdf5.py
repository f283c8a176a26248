"""The ``targets.h5`` / ``predictions.h5`` layout (DESIGN.md section 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.files import atomic_path

STR = h5py.string_dtype("utf-8")


@dataclass
class TargetSet:
    """Binned targets with their windows.

    ``targets`` is ``(n_windows, n_bins, n_tracks)`` float32; ``windows`` has
    columns ``chrom, start, end, split`` in the same order.
    """

    targets: np.ndarray
    windows: pd.DataFrame
    tracks: list[str]
    geometry: Geometry
    attrs: dict[str, Any] = field(default_factory=dict)

    def split_index(self, split: str) -> np.ndarray:
        """Row indices ``(n,)`` of the windows in ``split``."""
        return np.flatnonzero(self.windows["split"].to_numpy() == split)


def write_targets(
    path: str | Path,
    targets: np.ndarray,
    windows: pd.DataFrame,
    tracks: list[str],
    geometry: Geometry,
    attrs: dict[str, Any],
    dataset: str = "targets",
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Write ``targets`` ``(N, n_bins, n_tracks)`` and the window keys to HDF5.

    One window per chunk, uncompressed, so that random reads of single
    windows during training are fast. ``extra`` arrays of the same shape
    (for example ``raw_sums``) are stored alongside.
    """
    n, n_bins, n_tracks = targets.shape
    if n_bins != geometry.n_bins or n_tracks != len(tracks) or n != len(windows):
        raise ValueError(f"targets shape {targets.shape} disagrees with geometry/tracks/windows")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        chunks = (1, n_bins, n_tracks) if n else None
        h5.create_dataset(dataset, data=targets.astype(np.float32), chunks=chunks)
        for name, arr in (extra or {}).items():
            h5.create_dataset(name, data=arr.astype(np.float32), chunks=chunks)
        h5.create_dataset("chrom", data=windows["chrom"].astype(str).to_numpy(dtype=object), dtype=STR)
        h5.create_dataset("start", data=windows["start"].to_numpy(dtype=np.int64))
        h5.create_dataset("end", data=windows["end"].to_numpy(dtype=np.int64))
        h5.create_dataset("split", data=windows["split"].astype(str).to_numpy(dtype=object), dtype=STR)
        h5.attrs["tracks"] = np.array(tracks, dtype=object).astype(STR)
        for key, value in geometry.to_dict().items():
            h5.attrs[key] = value
        for key, value in attrs.items():
            h5.attrs[key] = value


def read_targets(path: str | Path, dataset: str = "targets") -> TargetSet:
    """Read a file written by :func:`write_targets` (all windows into memory)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"targets file not found: {path}")
    try:
        with h5py.File(path, "r") as h5:
            if dataset not in h5:
                raise InputError(f"{path} has no '{dataset}' dataset; is it a stagevep targets file?")
            targets = h5[dataset][...]
            windows = pd.DataFrame(
                {
                    "chrom": h5["chrom"].asstr()[...],
                    "start": h5["start"][...],
                    "end": h5["end"][...],
                    "split": h5["split"].asstr()[...],
                }
            )
            attrs = {k: _plain(v) for k, v in h5.attrs.items()}
    except OSError as err:
        raise InputError(f"cannot read {path} as HDF5: {err}") from err
    geometry = Geometry(
        n_bins=int(attrs["n_bins"]), bin_size=int(attrs["bin_size"]), context_length=int(attrs["context_length"])
    )
    return TargetSet(targets=targets, windows=windows, tracks=list(attrs["tracks"]), geometry=geometry, attrs=attrs)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [v.decode() if isinstance(v, bytes) else v for v in value.tolist()]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value
