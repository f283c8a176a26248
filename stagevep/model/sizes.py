"""Enformer hyper-parameters per model size, and the configuration of one run."""

from __future__ import annotations

from typing import Any

from stagevep.errors import InputError
from stagevep.geometry import Geometry

# Enformer hyper-parameters per size; target_length and output_heads are set per run.
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "full": dict(dim=1536, depth=11, heads=8, attn_dim_key=64, num_downsamples=7, dim_divisible_by=128),
    "tiny": dict(dim=96, depth=2, heads=4, attn_dim_key=16, num_downsamples=7, dim_divisible_by=8),
}


def model_config(model_size: str, geometry: Geometry) -> dict[str, Any]:
    """Enformer hyper-parameters for ``model_size`` cropped to ``geometry.n_bins``."""
    if model_size not in MODEL_SIZES:
        raise InputError(f"--model-size must be one of {sorted(MODEL_SIZES)}, got {model_size!r}")
    cfg = dict(MODEL_SIZES[model_size])
    resolution = 2 ** cfg["num_downsamples"]
    if geometry.bin_size != resolution:
        raise InputError(f"Enformer predicts {resolution}-bp bins; bin_size {geometry.bin_size} is not supported")
    cfg["target_length"] = geometry.n_bins
    return cfg



def size_name(hparams: dict[str, Any]) -> str:
    """Name of the model size whose hyper-parameters ``hparams`` has (``full``/``tiny``), or a description."""
    for name, cfg in MODEL_SIZES.items():
        if all(hparams.get(k) == v for k, v in cfg.items()):
            return f"--model-size {name}"
    return "an Enformer with " + ", ".join(f"{k}={hparams.get(k)}" for k in ("dim", "depth", "heads"))
