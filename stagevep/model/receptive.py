"""Receptive field of Enformer's convolution layers, tiled computation, and :class:`SNVPairs`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from enformer_pytorch.modeling_enformer import GELU, AttentionPool, Residual
from torch import nn

if TYPE_CHECKING:
    from stagevep.model.enformer import StageEnformer


#: layers that act on each position separately (no receptive field of their own)
POINTWISE_LAYERS = (nn.modules.batchnorm._BatchNorm, GELU, nn.GELU, nn.Identity, nn.Dropout)


def _input_interval(module: nn.Module, lo: int, hi: int) -> tuple[int, int]:
    """Input positions that outputs ``lo..hi`` (inclusive, channels-first layout) of ``module`` depend on.

    Knows the layers of Enformer's stem and convolution tower; raises ``TypeError`` on any
    other layer rather than guess its receptive field.
    """
    if isinstance(module, nn.Sequential):
        for child in reversed(module):
            lo, hi = _input_interval(child, lo, hi)
        return lo, hi
    if isinstance(module, Residual):
        inner = _input_interval(module.fn, lo, hi)
        return min(lo, inner[0]), max(hi, inner[1])
    if isinstance(module, nn.Conv1d):
        (k,), (d,), (s,), pad = module.kernel_size, module.dilation, module.stride, module.padding
        if s != 1 or isinstance(pad, str):
            raise TypeError(f"receptive field of {module} (stride {s}, padding {pad!r}) is not supported")
        return lo - pad[0], hi - pad[0] + d * (k - 1)
    if isinstance(module, AttentionPool):
        p = module.pool_size
        return p * lo, p * hi + p - 1
    if isinstance(module, POINTWISE_LAYERS):
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training:
            raise TypeError("BatchNorm in training mode mixes positions; call model.eval() first")
        return lo, hi
    raise TypeError(f"unknown layer {type(module).__name__} in the convolution tower: receptive field unknown")


#: bases per tile when :meth:`StageEnformer.conv_features` tiles its first layers on the CPU; the same for
#: every batch size, so a variant's prediction does not depend on the batch it is in (halos: 12 + 16 bases)
CPU_TILE = 4096


def receptive_field(module: nn.Module) -> tuple[int, int, int]:
    """``(stride, left, right)``: output ``j`` of ``module`` depends on inputs ``stride * j - left`` to
    ``stride * j + right`` (channels-first layout, inclusive); see :func:`_input_interval`."""
    lo0, hi0 = _input_interval(module, 0, 0)
    lo1, _ = _input_interval(module, 1, 1)
    return lo1 - lo0, -lo0, hi0


def input_slice(j0: int, j1: int, field: tuple[int, int, int], length: int) -> tuple[int, int]:
    """The input ``[start, stop)`` from which outputs ``j0..j1`` (inclusive) are computed exactly.

    ``field`` is :func:`receptive_field`; the slice is aligned to the stride and clipped to
    ``[0, length)`` (at the ends the layers' own zero padding applies in both computations).
    """
    stride, left, right = field
    start = max(0, (stride * j0 - left) // stride * stride)
    stop = min(length, -(-(stride * j1 + right + 1) // stride) * stride)
    return start, stop


def tiled(module: nn.Module, x: torch.Tensor, tile: int) -> torch.Tensor:
    """``module(x)`` for channels-first ``(B, C, L)``, computed on tiles of about ``tile`` positions.

    Each tile gets the extra input its outputs depend on (:func:`receptive_field`), so the
    result equals ``module(x)``; only the working set shrinks. ``L`` must be a multiple of
    the module's stride, else the module runs on the whole input.
    """
    field = receptive_field(module)
    stride, length = field[0], x.shape[-1]
    per_tile = max(1, tile // stride)
    if length % stride or length <= per_tile * stride:
        return module(x)
    out = []
    for j0 in range(0, length // stride, per_tile):
        j1 = min(length // stride, j0 + per_tile) - 1
        start, stop = input_slice(j0, j1, field, length)
        out.append(module(x[..., start:stop])[..., j0 - start // stride:j1 + 1 - start // stride])
    return torch.cat(out, dim=-1)


class SNVPairs(nn.Module):
    """Ref/alt pairs through a :class:`StageEnformer`, reusing the ref computation for the alt.

    Input one-hot ``(2B, L, 4)``: row ``2i`` a reference window, row ``2i + 1`` the same
    window with one base changed, at the same index in every pair (a forward or a
    reverse-complemented batch of centred SNVs). Output ``(2B, n_bins, n_tracks)``, as
    ``model(x)`` up to float rounding.

    The convolution layers see only a short neighbourhood (:meth:`StageEnformer.receptive_field`),
    so the alt's convolution features equal the ref's except at the few positions whose
    receptive field holds the changed base; only those are recomputed, from a slice of the
    alt window just wide enough for them to be exact. The transformer, which mixes all
    positions, runs on the ref and the spliced alt features together. For a 196,608-bp
    window the alt's convolution cost falls from one window to about 1.5 kb.
    """

    def __init__(self, model: StageEnformer) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.model.training:
            raise RuntimeError("SNVPairs needs the model in eval mode (BatchNorm with running statistics)")
        if x.shape[0] % 2:
            raise ValueError(f"expected ref/alt pairs (an even number of rows), got {x.shape[0]} rows")
        ref, alt = x[0::2], x[1::2]
        cols = torch.nonzero((ref != alt).any(dim=-1).any(dim=0)).flatten().tolist()
        if len(cols) != 1:
            raise ValueError(f"ref and alt rows must differ at exactly one position, the same in every pair; "
                             f"they differ at {cols[:5]}")
        h_ref = self.model.conv_features(ref)
        j0, j1, start, stop = self.recomputed(x.shape[1], cols[0])
        stride = x.shape[1] // h_ref.shape[-1]
        h_slice = self.model.conv_features(alt[:, start:stop])
        h_alt = h_ref.clone()
        h_alt[..., j0:j1 + 1] = h_slice[..., j0 - start // stride:j1 + 1 - start // stride]
        y = self.model.predict_from_features(torch.cat([h_ref, h_alt]))
        n = ref.shape[0]
        return torch.stack([y[:n], y[n:]], dim=1).flatten(0, 1)

    def recomputed(self, length: int, index: int) -> tuple[int, int, int, int]:
        """For a change at input ``index`` of a window of ``length`` bases: ``(j0, j1, start, stop)``.

        Features ``j0..j1`` (inclusive) are those that depend on the base; the alt slice
        ``[start, stop)`` (aligned to the stride, clipped to the window) is the shortest from
        which all of them are computed exactly.
        """
        field = self.model.receptive_field()
        stride, left, right = field
        if length % stride:
            raise ValueError(f"window length {length} is not a multiple of the feature stride {stride}")
        j0 = max(0, -((right - index) // stride))  # ceil((index - right) / stride)
        j1 = min(length // stride - 1, (index + left) // stride)
        return (j0, j1, *input_slice(j0, j1, field, length))
