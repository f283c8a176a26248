"""Random-number-generator state and resume compatibility for ``last.pt``."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from stagevep.errors import InputError

# Options that change what the model sees or how it is optimised: a resumed run must keep them.
RESUME_MUST_MATCH = (
    "model_size", "finetune", "unfreeze_last_n", "dropout", "loss", "lr", "trunk_lr", "weight_decay",
    "global_batch", "schedule", "warmup_steps", "clip_grad", "rc_augment", "max_shift", "max_bin_shift", "stage_weight",
    "seed", "tracks", "geometry",
    "n_train",
)


def rng_state() -> dict[str, Any]:
    """The state of Python's, NumPy's, torch's CPU and (if present) all CUDA generators."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generators saved by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def check_resume_compatible(saved: dict[str, Any], current: dict[str, Any], path: str) -> None:
    """Raise :class:`InputError` naming every option in which ``current`` differs from the run saved in ``path``.

    ``saved`` and ``current`` are resolved training configurations (see
    ``config.json``); options such as ``max_steps``, ``val_every``,
    ``patience`` or ``num_workers`` may change between runs.
    """
    diffs = [
        f"{key}: saved {saved.get(key)!r}, now {current.get(key)!r}"
        for key in RESUME_MUST_MATCH
        if _plain(saved.get(key)) != _plain(current.get(key))
    ]
    if diffs:
        raise InputError(
            f"cannot --resume from {path}: it was trained with other options ({'; '.join(diffs)}). "
            "Rerun with the saved options (see config.json) or start a new --out-dir without --resume."
        )


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
