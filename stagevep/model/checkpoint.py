"""Checkpoint format (DESIGN.md section 2): everything inference needs travels with the weights."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from stagevep import __version__
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.files import atomic_path
from stagevep.model.enformer import StageEnformer, build_model, set_pair_attention_pool

REQUIRED_KEYS = ("state_dict", "model_config", "tracks", "geometry", "target_transform")
#: saved since score-only runs and calibration exist; older checkpoints lack them (see :func:`checkpoint_contigs`)
GENOME_KEYS = ("genome", "windows")


def save_checkpoint(path: str | Path, model: nn.Module, payload: dict[str, Any]) -> None:
    """Write ``model``'s weights and ``payload`` (model_config, tracks, geometry, ...) atomically.

    The checkpoint is written to a temporary file beside ``path``
    (:func:`~stagevep.io.files.atomic_path`), flushed to disk, then renamed over
    ``path``: a run killed at any moment leaves either the previous complete file
    or the new complete file, never a truncated one. A failed write removes its
    temporary file.
    """
    ckpt = {"state_dict": model.state_dict(), "stagevep_version": __version__, **payload}
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(ckpt, fh)
        fh.flush()
        os.fsync(fh.fileno())


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict (tensors on the CPU); :class:`InputError` when absent or unreadable."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as err:
        raise InputError(f"cannot read checkpoint {path} (truncated or not a torch file?): {err}") from err
    if not isinstance(ckpt, dict):
        raise InputError(f"{path} is not a stagevep checkpoint: it holds a {type(ckpt).__name__}, not the dict "
                         "that train.py writes (best.pt or last.pt from the train/ folder)")
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise InputError(f"{path} is not a stagevep checkpoint: it lacks {missing} (use best.pt from the train/ "
                         "folder of a stagevep run)")
    try:
        Geometry(**ckpt["geometry"])
    except (InputError, TypeError) as err:
        raise InputError(f"{path}: its geometry {ckpt['geometry']!r} is invalid ({err}); the file is damaged or "
                         "was not written by train.py: use best.pt from the train/ folder of a stagevep run") from err
    return ckpt


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[StageEnformer, dict[str, Any]]:
    """Rebuild the model from a checkpoint; returns ``(model in eval mode, checkpoint dict)``.

    The model pools with :class:`~stagevep.model.enformer.PairAttentionPool` (same weights,
    same outputs up to float rounding, about twice as fast on the CPU).
    """
    ckpt = read_checkpoint(path)
    model = build_model(ckpt["model_config"], n_tracks=len(ckpt["tracks"]))
    model.load_state_dict(ckpt["state_dict"])
    set_pair_attention_pool(model)
    model.to(device).eval()
    return model, ckpt


def checkpoint_geometry(ckpt: dict[str, Any]) -> Geometry:
    """The :class:`Geometry` stored in a checkpoint."""
    return Geometry(**ckpt["geometry"])


def window_centres(windows: pd.DataFrame) -> dict[str, list]:
    """``{"chrom", "centre", "split"}`` lists of a window table (``chrom``, ``start``, ``end``, ``split``).

    ``centre`` is the 0-based midpoint ``(start + end) // 2`` of each target window, i.e. the peak centre
    the window was built around. Stored in the checkpoint for calibration backgrounds.
    """
    return {"chrom": windows["chrom"].astype(str).tolist(),
            "centre": ((windows["start"] + windows["end"]) // 2).astype(int).tolist(),
            "split": windows["split"].astype(str).tolist()}


def checkpoint_contigs(ckpt: dict[str, Any]) -> dict[str, int] | None:
    """Contig name -> length of the genome the model was trained on; None for checkpoints that predate it."""
    genome = ckpt.get("genome")
    return {str(k): int(v) for k, v in genome["contigs"].items()} if genome else None


def checkpoint_windows(ckpt: dict[str, Any], path: str | Path = "checkpoint") -> pd.DataFrame:
    """The training windows' peak centres (``chrom``, ``centre``, ``split``) stored in a checkpoint.

    :class:`InputError` for a checkpoint that predates them (retrain, or score without calibration).
    """
    if "windows" not in ckpt:
        raise InputError(f"{path} records no training windows (written by an older stagevep): calibration "
                         "needs them. Retrain with this version, or score with --background_variants 0.")
    return pd.DataFrame(ckpt["windows"])
