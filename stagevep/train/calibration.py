"""BatchNorm statistics that match inference: re-estimated with dropout off.

enformer-pytorch's transformer applies dropout (rate 0.4 in the official
configuration) inside its residual branches, and the final pointwise block
normalises their sum with BatchNorm. During training that BatchNorm's running
variance is estimated from dropout-inflated activations; in eval mode dropout is
off, the activations vary less, and the stored statistics no longer fit them
(the "variance shift" between train and eval mode). :func:`recalibrate_batchnorm`
re-estimates the running statistics of the trained BatchNorm layers from
forward passes in inference conditions (dropout off), so validation, ``best.pt``
selection and every later prediction see the statistics they will be used with.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from stagevep.model.predict import autocast_dtype


def has_dropout(model: nn.Module) -> bool:
    """Whether any dropout layer of ``model`` drops anything (rate > 0)."""
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules())


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module, batches: Iterable[torch.Tensor], device: torch.device, precision: str = "auto"
) -> int:
    """Re-estimate the running mean and variance of ``model``'s trainable BatchNorm layers.

    ``batches`` are one-hot inputs ``(B, context_length, 4)``. Dropout is off while the
    BatchNorm layers whose parameters are trained normalise with
    batch statistics and accumulate an exact average of them (``momentum=None``); frozen
    BatchNorm layers keep the statistics they came with. Afterwards every layer is back in
    its previous mode and momentum. Returns the number of batches used (0: nothing to do).
    """
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
              and m.track_running_stats and any(p.requires_grad for p in m.parameters())]
    batches = iter(batches)
    first = next(batches, None)
    if not layers or first is None:
        return 0
    modes = {m: m.training for m in model.modules()}
    momenta = {m: m.momentum for m in layers}
    dtype = autocast_dtype(precision, device)
    model.train()  # frozen BatchNorm layers stay in eval mode (StageEnformer.train)
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
    n = 0
    try:
        for x in (first, *batches):
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                model(x.to(device, non_blocking=True))
            n += 1
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        for m, mode in modes.items():
            m.training = mode
    return n
