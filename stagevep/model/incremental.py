"""Convolution features of single-base changes of one window, recomputed layer by layer near the change.

A change at input base ``i`` alters, in each layer of Enformer's stem and convolution tower, only the few
positions whose receptive field in that layer holds ``i``: 15 positions after the stem's first
convolution, then a few more per 5-wide convolution, halved by each pooling. :class:`IncrementalConv` keeps
the reference window's input to every layer that mixes positions and recomputes, for a batch of
alternates, just those positions, from the reference's values around them (as fastISM and Yuzu do for
in-silico mutagenesis). The result equals ``model.conv_features`` of each alternate up to float rounding;
the cost per alternate is a few hundred positions of arithmetic instead of a whole window (or a
receptive-field slice of it, :class:`~stagevep.model.receptive.SNVPairs`).

The layers are those of enformer-pytorch's stem and tower: ``Conv1d`` (stride 1, integer padding),
attention pooling, pointwise layers (BatchNorm in eval mode, GELU), and ``Residual`` blocks whose inner
layers are pointwise or 1-wide convolutions. Any other layer raises ``TypeError``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from enformer_pytorch.modeling_enformer import AttentionPool, Residual
from torch import nn

from stagevep.model.enformer import StageEnformer
from stagevep.model.receptive import POINTWISE_LAYERS, receptive_field


def _leaves(module: nn.Module) -> list[nn.Module]:
    """The layers of ``module`` in order, ``nn.Sequential`` opened, ``Residual`` kept whole."""
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in _leaves(child)]
    return [module]


def _kind(leaf: nn.Module) -> str:
    if isinstance(leaf, nn.Conv1d):
        if leaf.stride != (1,) or isinstance(leaf.padding, str) or leaf.groups != 1:
            raise TypeError(f"incremental recomputation does not support {leaf}")
        return "conv"
    if isinstance(leaf, AttentionPool):
        return "pool"
    if isinstance(leaf, POINTWISE_LAYERS):
        if isinstance(leaf, nn.modules.batchnorm._BatchNorm) and leaf.training:
            raise TypeError("BatchNorm in training mode mixes positions; call model.eval() first")
        return "pointwise"
    if isinstance(leaf, Residual) and receptive_field(leaf.fn) == (1, 0, 0):
        return "residual"
    raise TypeError(f"incremental recomputation does not support the layer {type(leaf).__name__}")


class IncrementalConv:
    """Reference convolution features of one window, and those of single-base alternates of it.

    ``model`` a :class:`StageEnformer` in eval mode; ``x`` the reference one-hot ``(L, 4)`` as a tensor on
    the model's device. :attr:`features` is ``model.conv_features(x[None])`` ``(1, C, L / stride)``;
    :meth:`alternates` gives the features of the window with base ``bases[k]`` at ``indices[k]``.
    """

    @torch.no_grad()
    def __init__(self, model: StageEnformer, x: torch.Tensor) -> None:
        if model.training:
            raise RuntimeError("IncrementalConv needs the model in eval mode (BatchNorm with running statistics)")
        self.leaves = _leaves(nn.Sequential(model.trunk.stem, model.trunk.conv_tower))
        self.kinds = [_kind(leaf) for leaf in self.leaves]
        self.inputs: list[torch.Tensor | None] = []  # (C, N) reference input of each position-mixing layer
        h = x.T[None]
        for leaf, kind in zip(self.leaves, self.kinds, strict=True):
            self.inputs.append(h[0] if kind in ("conv", "pool") else None)
            h = leaf(h)
        self.features = h

    @torch.no_grad()
    def alternates(self, indices: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
        """Features ``(K, C, P)`` of the alternates: ``indices`` ``(K,)`` input positions, ``bases`` ``(K,)``
        0-3 (A, C, G, T). Each alternate is the reference with that one base set to the one-hot of ``bases[k]``."""
        k = len(indices)
        ref0 = self.inputs[0]
        # the changed stretch at the current resolution: start a (K,), values d (K, C, W)
        a = indices.to(ref0.device).long()
        d = F.one_hot(bases.to(ref0.device).long(), ref0.shape[0]).to(ref0.dtype)[:, :, None]
        for leaf, kind, ref in zip(self.leaves, self.kinds, self.inputs, strict=True):
            if kind == "pointwise":
                d = leaf(d)
            elif kind == "residual":
                d = leaf.fn(d) + d
            elif kind == "conv":
                a, d = _conv(leaf, ref, a, d)
            else:
                a, d = _pool(leaf, ref, a, d)
        out = self.features.expand(k, -1, -1).clone()
        _put(out, a, d)
        return out


def _gather(ref: torch.Tensor, start: torch.Tensor, width: int) -> torch.Tensor:
    """``ref`` ``(C, N)`` read at ``start[k] .. start[k] + width - 1`` -> ``(K, C, width)``, zeros beyond ``[0, N)``."""
    n = ref.shape[-1]
    pos = start[:, None] + torch.arange(width, device=ref.device)
    inside = (pos >= 0) & (pos < n)
    out = ref[:, pos.clamp(0, n - 1)].permute(1, 0, 2)
    return out * inside[:, None, :].to(out.dtype)


def _put(x: torch.Tensor, start: torch.Tensor, d: torch.Tensor) -> None:
    """Write ``d`` ``(K, C, W)`` into ``x`` ``(K, C, N)`` at ``start[k] .. start[k] + W - 1``, in place."""
    cols = start[:, None] + torch.arange(d.shape[-1], device=x.device)
    rows = torch.arange(len(start), device=x.device)[:, None]
    xt = x.transpose(1, 2)
    xt[rows, cols] = d.transpose(1, 2).to(x.dtype)


def _conv(leaf: nn.Conv1d, ref: torch.Tensor, a: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs of a stride-1 convolution that depend on the changed stretch ``[a, a + W)``."""
    (kernel,), (dil,), (pad,) = leaf.kernel_size, leaf.dilation, leaf.padding
    span = dil * (kernel - 1)
    n = ref.shape[-1]
    n_out = n + 2 * pad - span
    w_out = min(d.shape[-1] + span, n_out)
    j0 = (a + pad - span).clamp(0, n_out - w_out)  # output j reads inputs j - pad .. j - pad + span
    x = _gather(ref, j0 - pad, w_out + span)
    _put(x, a - (j0 - pad), d)
    return j0, F.conv1d(x, leaf.weight, leaf.bias, dilation=dil)


def _pool(leaf: AttentionPool, ref: torch.Tensor, a: torch.Tensor, d: torch.Tensor
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs of attention pooling (pool size p) that depend on the changed stretch ``[a, a + W)``."""
    p = leaf.pool_size
    n_out = ref.shape[-1] // p
    w_out = min((d.shape[-1] + p - 2) // p + 1, n_out)
    j0 = torch.div(a, p, rounding_mode="floor").clamp(0, n_out - w_out)
    x = _gather(ref, j0 * p, w_out * p)
    _put(x, a - j0 * p, d)
    return j0, leaf(x)
