"""Finetuning policy and training utilities: which parameters train, their optimiser groups, head start."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from stagevep.errors import InputError
from stagevep.model.enformer import StageEnformer, unwrap

FINETUNE_MODES = ("all", "head", "last-n", "layernorm")

_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


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


def init_head_bias(model: StageEnformer, track_means: Any) -> None:
    """Start the stage head at the mean target of each track: bias = softplus^-1(mean), ``(n_tracks,)``.

    A freshly initialised head predicts about softplus(0) = 0.69 everywhere; starting at the
    training mean removes the first phase of training in which the trunk only learns an offset.
    """
    means = torch.as_tensor(track_means, dtype=torch.float32).clamp_min(1e-4)
    linear = model.head[0]
    with torch.no_grad():
        linear.bias.copy_(means + torch.log(-torch.expm1(-means)))  # log(expm1(m)), stable for large m


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
