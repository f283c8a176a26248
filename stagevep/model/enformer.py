"""Enformer (enformer-pytorch) with a new head of one softplus track per stage."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from enformer_pytorch import Enformer
from torch import nn
from torch.utils.checkpoint import checkpoint

from stagevep.errors import InputError
from stagevep.geometry import Geometry

log = logging.getLogger(__name__)

# Enformer hyper-parameters per size; target_length and output_heads are set per run.
MODEL_SIZES: dict[str, dict[str, Any]] = {
    "full": dict(dim=1536, depth=11, heads=8, attn_dim_key=64, num_downsamples=7, dim_divisible_by=128),
    "tiny": dict(dim=96, depth=2, heads=4, attn_dim_key=16, num_downsamples=7, dim_divisible_by=8),
}
FINETUNE_MODES = ("all", "head", "last-n", "layernorm")


_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


class StageEnformer(nn.Module):
    """Enformer trunk followed by a linear + softplus head with one output per stage.

    Input: one-hot ``(batch, context_length, 4)`` float. Output: ``(batch, n_bins, n_tracks)``.

    BatchNorm layers whose parameters are all frozen stay in eval mode whatever
    ``train()`` is called with, so their running statistics never drift (see
    :meth:`train`). With ``gradient_checkpointing`` the stem, every block of the
    convolution tower, every transformer block and the final pointwise block are
    recomputed in the backward pass instead of keeping their activations.
    """

    def __init__(self, trunk: Enformer, n_tracks: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = nn.Sequential(nn.Linear(trunk.dim * 2, n_tracks), nn.Softplus())
        self.gradient_checkpointing = False

    def train(self, mode: bool = True) -> StageEnformer:
        """Set train/eval mode; BatchNorm of frozen parts stays in eval mode (no running-stat updates)."""
        super().train(mode)
        if mode:
            freeze_batchnorm_of_frozen(self)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gradient_checkpointing and torch.is_grad_enabled():
            emb = self._checkpointed_trunk(x)
        else:
            emb = self.trunk(x, return_only_embeddings=True)
        return self.head(emb)

    def _checkpointed_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk of Enformer (``(batch, length, 4)`` -> ``(batch, n_bins, 2 * dim)``), segment by segment."""
        t = self.trunk
        x = x.transpose(1, 2)  # (batch, 4, length): the convolutions run channels-first
        for segment in (t.stem, *t.conv_tower):
            x = _checkpoint(segment, x)
        x = x.transpose(1, 2)  # (batch, positions, dim)
        for block in t.transformer:
            x = _checkpoint(block, x)
        x = t.crop_final(x)
        return _checkpoint(t.final_pointwise, x)


def _checkpoint(segment: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run ``segment`` keeping only its input; recompute it in backward.

    The recomputation leaves BatchNorm running statistics untouched, so they are
    updated once per step exactly as without checkpointing.
    """
    return checkpoint(segment, x, use_reentrant=False,
                      context_fn=lambda: (_no_op(), _batchnorm_stats_frozen(segment)))


@contextmanager
def _no_op() -> Iterator[None]:
    yield


@contextmanager
def _batchnorm_stats_frozen(module: nn.Module) -> Iterator[None]:
    """Within the block, BatchNorm layers in train mode normalise with batch statistics but keep running stats."""
    saved = []
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats:
            saved.append((m, m.momentum, m.num_batches_tracked.clone()))
            m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, count in saved:
            m.momentum = momentum
            m.num_batches_tracked.copy_(count)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel / DataParallel / ``torch.compile`` wrappers."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def set_gradient_checkpointing(model: nn.Module, enabled: bool) -> None:
    """Turn activation checkpointing on or off for every :class:`StageEnformer` in ``model``.

    Covers the convolution stem and tower as well as the transformer
    (enformer-pytorch's own ``use_checkpointing`` covers only the transformer,
    while most activation memory is in the convolutions). Outputs and gradients
    are unchanged; the forward pass is recomputed during backward.
    """
    found = False
    for m in unwrap(model).modules():
        if isinstance(m, StageEnformer):
            m.gradient_checkpointing = bool(enabled)
            m.trunk.use_checkpointing = False
            found = True
    if not found:
        raise TypeError(f"set_gradient_checkpointing expects a StageEnformer, got {type(model).__name__}")


def optimizer_param_groups(
    model: nn.Module, lr: float, trunk_lr: float | None = None, weight_decay: float = 0.0
) -> list[dict[str, Any]]:
    """AdamW parameter groups for the trainable parameters of ``model``.

    Head parameters get ``lr``, trunk parameters ``trunk_lr`` (default ``lr``).
    Normalisation layers (LayerNorm, BatchNorm) and biases get no weight decay,
    the rest ``weight_decay``. Empty groups are left out; each group carries a
    ``name`` (``head``/``trunk`` + ``decay``/``no_decay``) for logging.
    """
    inner = unwrap(model)
    head = getattr(inner, "head", None)
    head_ids = {id(p) for p in head.parameters()} if isinstance(head, nn.Module) else set()
    no_decay_ids = {id(p) for m in inner.modules() if isinstance(m, _NORMS) for p in m.parameters(recurse=False)}
    no_decay_ids |= {id(p) for n, p in inner.named_parameters() if n.endswith("bias")}
    groups: dict[str, dict[str, Any]] = {}
    for _, p in inner.named_parameters():
        if not p.requires_grad:
            continue
        part = "head" if id(p) in head_ids else "trunk"
        decay = "no_decay" if id(p) in no_decay_ids else "decay"
        name = f"{part}_{decay}"
        if name not in groups:
            groups[name] = {
                "name": name,
                "params": [],
                "lr": lr if part == "head" or trunk_lr is None else trunk_lr,
                "weight_decay": 0.0 if decay == "no_decay" else weight_decay,
            }
        groups[name]["params"].append(p)
    order = ("head_decay", "head_no_decay", "trunk_decay", "trunk_no_decay")
    return [groups[n] for n in order if n in groups]


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
    """Set ``requires_grad`` by policy; the head is always trained.

    - ``all``: every parameter;
    - ``head``: the stage head only;
    - ``last-n``: head + the last ``unfreeze_last_n`` transformer blocks + the
      trunk's final pointwise block (which sits between them and the head);
    - ``layernorm``: head + the affine parameters of every LayerNorm of the trunk.

    BatchNorm layers left frozen are put in eval mode now and on every later
    ``model.train()`` (see :meth:`StageEnformer.train`).
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
    if mode == "layernorm":
        for module in model.trunk.modules():
            if isinstance(module, nn.LayerNorm):
                for p in module.parameters():
                    p.requires_grad = True
    for p in model.head.parameters():
        p.requires_grad = True
    model.train(model.training)


def freeze_batchnorm_of_frozen(model: nn.Module) -> None:
    """Put BatchNorm layers whose parameters are all frozen into eval mode (no running-stat drift).

    :meth:`StageEnformer.train` calls this, so callers need not.
    """
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if not any(p.requires_grad for p in module.parameters()):
                module.eval()
