"""Enformer (enformer-pytorch) with a new head of one softplus track per stage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from enformer_pytorch import Enformer
from enformer_pytorch.modeling_enformer import AttentionPool
from torch import nn
from torch.utils.checkpoint import checkpoint

from stagevep.model.receptive import CPU_TILE, receptive_field, tiled
from stagevep.model.weights import load_pretrained_trunk


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
            return self.head(self._checkpointed_trunk(x))
        return self.predict_from_features(self.conv_features(x))

    def conv_features(self, x: torch.Tensor) -> torch.Tensor:
        """Stem and convolution tower: one-hot ``(B, L, 4)`` -> ``(B, C, L / stride)``, channels first.

        ``stride`` is 128 for Enformer (:meth:`receptive_field`). In inference on the CPU
        (eval mode, no autograd) the stem and the first tower block, which work at 1- and
        2-base resolution and are limited by memory bandwidth there, run tile by tile along
        the sequence (:func:`tiled`): same result, about half the time (docs/benchmarks.md).
        """
        t = self.trunk
        x = x.transpose(1, 2)
        if x.device.type != "cpu" or torch.is_grad_enabled() or self.training:
            return t.conv_tower(t.stem(x))
        return t.conv_tower[1:](tiled(nn.Sequential(t.stem, t.conv_tower[0]), x, CPU_TILE))

    def predict_from_features(self, h: torch.Tensor) -> torch.Tensor:
        """Transformer, crop, pointwise block and stage head: ``(B, C, P)`` -> ``(B, n_bins, n_tracks)``."""
        t = self.trunk
        return self.head(t.final_pointwise(t.crop_final(t.transformer(h.transpose(1, 2)))))

    def receptive_field(self) -> tuple[int, int, int]:
        """``(stride, left, right)`` of :meth:`conv_features`.

        Feature position ``j`` depends on input bases ``stride * j - left`` to
        ``stride * j + right`` (inclusive) and on no others, derived from the
        layers themselves (convolutions, pooling, pointwise layers) in eval mode.
        """
        return receptive_field(nn.Sequential(self.trunk.stem, self.trunk.conv_tower))

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


class PairAttentionPool(AttentionPool):
    """Enformer's attention pooling of position pairs, computed with one sigmoid instead of a softmax.

    For pool size 2, ``softmax(l0, l1) = (s, 1 - s)`` with ``s = sigmoid(l0 - l1)``, and the
    logits are a bias-free linear map ``W`` of the inputs, so ``l0 - l1 = W (x0 - x1)`` and
    the output is ``x1 + (x0 - x1) * sigmoid(W (x0 - x1))``. Same parameters, and the same
    outputs up to float rounding, as enformer-pytorch's :class:`AttentionPool`, with half its
    logit computation and no softmax over a length-2 axis (on the CPU that softmax was 41%
    of the tiny model's forward time; see docs/benchmarks.md). Input ``(B, C, N)``, output
    ``(B, C, N / 2)``; odd ``N`` and other pool sizes use enformer-pytorch's computation.

    Used for inference (:func:`~stagevep.model.checkpoint.load_checkpoint`). Training keeps
    enformer-pytorch's pooling: gradients agree too, but the rounding differs (results per
    random seed: docs/benchmarks.md).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_size != 2 or x.shape[-1] % 2:
            return super().forward(x)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        diff = x0 - x1
        logits = F.conv1d(diff, self.to_attn_logits.weight[..., 0])  # (C, C, 1, 1) -> (C, C, 1)
        return torch.addcmul(x1, diff, torch.sigmoid(logits))


def set_pair_attention_pool(module: nn.Module, enabled: bool = True) -> None:
    """Swap every attention pooling layer of ``module`` in place: :class:`PairAttentionPool` when
    ``enabled``, enformer-pytorch's :class:`AttentionPool` when not (the original study's model, for benchmarks).

    Parameters are moved, not copied, so state dicts and optimiser state are unaffected.
    """
    cls = PairAttentionPool if enabled else AttentionPool
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if isinstance(child, AttentionPool) and type(child) is not cls:
                new = cls(child.to_attn_logits.in_channels, child.pool_size)
                new.to_attn_logits = child.to_attn_logits
                new.train(child.training)
                setattr(parent, name, new)


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


def build_model(
    model_config_: dict[str, Any], n_tracks: int, pretrained: str | Path | None = None
) -> StageEnformer:
    """Build the model; ``pretrained`` loads trunk weights from a local path (never the network).

    ``pretrained`` is a directory in Hugging Face layout (``config.json`` and
    ``model.safetensors`` / ``pytorch_model.bin``, as in
    ``EleutherAI/enformer-official-rough`` or written by
    ``Enformer.save_pretrained``) or a file holding an Enformer state dict
    (``.pt``/``.bin`` from ``torch.save``, ``.safetensors``, or a stagevep
    checkpoint, whose trunk is taken). Output heads in the weights are
    discarded; the stage head is initialised randomly.
    """
    hparams = dict(model_config_)
    if pretrained is None:
        trunk = Enformer.from_hparams(**hparams, output_heads={})
    else:
        trunk = load_pretrained_trunk(Path(pretrained), hparams)
    return StageEnformer(trunk, n_tracks)


def freeze_batchnorm_of_frozen(model: nn.Module) -> None:
    """Put BatchNorm layers whose parameters are all frozen into eval mode (no running-stat drift).

    :meth:`StageEnformer.train` calls this, so callers need not.
    """
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if not any(p.requires_grad for p in module.parameters()):
                module.eval()
