"""The ``tracks.h5`` layout (``--save-tracks``): per-bin ref/alt predictions of kept variants.

Datasets: ``ref``, ``alt`` float32 ``(M, n_bins, n_tracks)``; ``id``, ``chrom`` (strings), ``pos``
(1-based int64), ``row`` (row in scores.tsv), all length M in table order. Attributes: ``tracks``,
``n_bins``, ``bin_size``, ``context_length``, ``central_bins``, ``central_start``, ``variant_bin``
(the target bin holding the variant), ``stagevep_version``, plus the writer's extra attributes.
:func:`write_tracks` writes it and :func:`read_tracks` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from stagevep import __version__
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.files import atomic_path
from stagevep.variants.summary import central_slice


@dataclass(frozen=True)
class SavedTracks:
    """The contents of a ``tracks.h5``: ``M`` variants' predictions and the geometry they were made in."""

    #: ``(M,)`` variant IDs, chromosomes, 1-based positions and rows in scores.tsv
    ids: list[str]
    chroms: list[str]
    pos: np.ndarray
    rows: np.ndarray
    #: float32 ``(M, n_bins, n_tracks)`` reference and alternate predictions
    ref: np.ndarray
    alt: np.ndarray
    tracks: list[str]
    geometry: Geometry
    #: the central bins the scores summarise
    central: slice
    #: the target bin holding the variant
    variant_bin: int
    #: every attribute of the file, as stored
    attrs: dict[str, Any]


def variant_bin(geometry: Geometry) -> int:
    """The target bin that holds a variant centred in the context (index ``context_length // 2``)."""
    return (geometry.context_length // 2 - geometry.flank) // geometry.bin_size


def write_tracks(
    path: str | Path, scores: pd.DataFrame, kept: dict[int, tuple[np.ndarray, np.ndarray]], tracks: list[str],
    geometry: Geometry, central_bins: int, attrs: dict[str, Any] | None = None,
) -> None:
    """Write the ``(ref, alt)`` ``(n_bins, n_tracks)`` of each row of ``scores`` in ``kept`` (atomically).

    Rows go in table order; ``attrs`` are added to the file's attributes (see the module docstring).
    """
    rows = np.array(sorted(kept), dtype=np.int64)
    shape = (len(rows), geometry.n_bins, len(tracks))
    strings = h5py.string_dtype("utf-8")
    with atomic_path(Path(path)) as tmp, h5py.File(tmp, "w") as h5:
        for name, k in (("ref", 0), ("alt", 1)):
            h5.create_dataset(name, data=np.stack([kept[r][k] for r in rows]) if len(rows) else np.zeros(shape),
                              dtype="float32")
        h5.create_dataset("row", data=rows)
        h5.create_dataset("id", data=scores["id"].to_numpy()[rows].astype(str).tolist(), dtype=strings)
        h5.create_dataset("chrom", data=scores["chrom"].to_numpy()[rows].astype(str).tolist(), dtype=strings)
        h5.create_dataset("pos", data=scores["pos"].to_numpy()[rows].astype(np.int64))
        h5.attrs.update({"tracks": list(tracks), **geometry.to_dict(), "central_bins": central_bins,
                         "central_start": central_slice(geometry.n_bins, central_bins).start,
                         "variant_bin": variant_bin(geometry), "stagevep_version": __version__, **(attrs or {})})


def read_tracks(path: str | Path) -> SavedTracks:
    """Read a ``tracks.h5`` written by :func:`write_tracks`."""
    if not Path(path).exists():
        raise InputError(f"tracks file not found: {path} (write it with score_variants.py --save-tracks)")
    with h5py.File(path, "r") as h5:
        a = dict(h5.attrs)
        central_start, central_bins = int(a["central_start"]), int(a["central_bins"])
        return SavedTracks(
            ids=h5["id"].asstr()[:].tolist(), chroms=h5["chrom"].asstr()[:].tolist(), pos=h5["pos"][:],
            rows=h5["row"][:], ref=h5["ref"][:], alt=h5["alt"][:], tracks=[str(t) for t in a["tracks"]],
            geometry=Geometry(int(a["n_bins"]), int(a["bin_size"]), int(a["context_length"])),
            central=slice(central_start, central_start + central_bins), variant_bin=int(a["variant_bin"]), attrs=a,
        )
