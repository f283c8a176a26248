"""Checkpoint format (DESIGN.md section 2): everything inference needs travels with the weights."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from stagevep import __version__
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.model.enformer import StageEnformer, build_model

REQUIRED_KEYS = ("state_dict", "model_config", "tracks", "geometry", "target_transform")


def save_checkpoint(path: str | Path, model: StageEnformer, payload: dict[str, Any]) -> None:
    """Write ``model`` and ``payload`` (model_config, tracks, geometry, ...) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {"state_dict": model.state_dict(), "stagevep_version": __version__, **payload}
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}")
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[StageEnformer, dict[str, Any]]:
    """Rebuild the model from a checkpoint; returns ``(model in eval mode, checkpoint dict)``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, OSError, EOFError) as err:
        raise InputError(f"cannot read checkpoint {path}: {err}") from err
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise InputError(f"{path} is not a stagevep checkpoint: it lacks {missing}")
    model = build_model(ckpt["model_config"], n_tracks=len(ckpt["tracks"]))
    model.load_state_dict(ckpt["state_dict"])
    model.to(device).eval()
    return model, ckpt


def checkpoint_geometry(ckpt: dict[str, Any]) -> Geometry:
    """The :class:`Geometry` stored in a checkpoint."""
    return Geometry(**ckpt["geometry"])
