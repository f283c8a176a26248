"""Enformer (enformer-pytorch) with a new head of one softplus track per stage."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from enformer_pytorch import Enformer
from torch import nn

from stagevep.errors import InputError
from stagevep.geometry import Geometry

log = logging.getLogger(__name__)

# Enformer hyper-parameters per size; target_length and output_heads are set per run.
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "full": dict(dim=1536, depth=11, heads=8, attn_dim_key=64, num_downsamples=7, dim_divisible_by=128),
    "tiny": dict(dim=96, depth=2, heads=4, attn_dim_key=16, num_downsamples=7, dim_divisible_by=8),
}
FINETUNE_MODES = ("all", "head", "last-n")


class StageEnformer(nn.Module):
    """Enformer trunk followed by a linear + softplus head with one output per stage.

    Input: one-hot ``(batch, context_length, 4)`` float. Output: ``(batch, n_bins, n_tracks)``.
    """

    def __init__(self, trunk: Enformer, n_tracks: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = nn.Sequential(nn.Linear(trunk.dim * 2, n_tracks), nn.Softplus())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emb = self.trunk(x, return_only_embeddings=True)
        return self.head(emb)


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


def build_model(
    model_config_: dict[str, Any], n_tracks: int, pretrained: str | Path | None = None
) -> StageEnformer:
    """Build the model; ``pretrained`` loads trunk weights from a local path.

    ``pretrained`` is a directory in Hugging Face layout (``config.json`` and
    ``model.safetensors`` / ``pytorch_model.bin``, as saved by
    ``Enformer.save_pretrained``) or a file holding an Enformer state dict.
    The original output heads of the weights are discarded.
    """
    hparams = {k: v for k, v in model_config_.items()}
    if pretrained is None:
        trunk = Enformer.from_hparams(**hparams, output_heads={})
    else:
        trunk = load_pretrained_trunk(Path(pretrained), hparams)
    return StageEnformer(trunk, n_tracks)


def load_pretrained_trunk(path: Path, hparams: dict[str, Any]) -> Enformer:
    """Load official Enformer weights from a local directory or state-dict file (no network)."""
    if not path.exists():
        raise InputError(
            f"pretrained weights not found: {path}. Download EleutherAI/enformer-official-rough on a machine "
            "with internet access and pass the local directory, or use --pretrained none."
        )
    if path.is_dir():
        try:
            trunk = Enformer.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as err:
            raise InputError(f"cannot load Enformer weights from directory {path}: {err}") from err
        for key in ("dim", "depth", "heads", "num_downsamples"):
            if getattr(trunk.config, key) != hparams[key]:
                raise InputError(
                    f"the weights in {path} have {key}={getattr(trunk.config, key)} but the chosen model size has "
                    f"{key}={hparams[key]}: use --model-size full with the official weights"
                )
        trunk.set_target_length(hparams["target_length"])
        trunk.target_length = hparams["target_length"]
        trunk.add_heads()
        return trunk
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    trunk = Enformer.from_hparams(**hparams, output_heads={})
    state = {k: v for k, v in state.items() if not k.startswith("_heads.")}
    missing, unexpected = trunk.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputError(
            f"{path} does not match the Enformer '{hparams.get('dim')}-dim' configuration: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]})"
        )
    return trunk


def apply_finetune_policy(model: StageEnformer, mode: str, unfreeze_last_n: int = 2) -> None:
    """Set ``requires_grad`` by policy: ``all``, ``head`` only, or head + ``last-n`` transformer blocks.

    The final pointwise block of the trunk is trained with the last blocks.
    """
    if mode not in FINETUNE_MODES:
        raise InputError(f"--finetune must be one of {FINETUNE_MODES}, got {mode!r}")
    for p in model.trunk.parameters():
        p.requires_grad = mode == "all"
    if mode == "last-n":
        blocks = list(model.trunk.transformer)
        if not 0 <= unfreeze_last_n <= len(blocks):
            raise InputError(f"--unfreeze-last-n must be between 0 and {len(blocks)}, got {unfreeze_last_n}")
        trainable = blocks[len(blocks) - unfreeze_last_n :] + [model.trunk.final_pointwise]
        for module in trainable:
            for p in module.parameters():
                p.requires_grad = True
    for p in model.head.parameters():
        p.requires_grad = True


def freeze_batchnorm_of_frozen(model: nn.Module) -> None:
    """Put BatchNorm layers whose parameters are all frozen into eval mode (no running-stat drift)."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if not any(p.requires_grad for p in module.parameters()):
                module.eval()
