"""Batched inference."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from stagevep.core.sequence import reverse_complement_onehot
from stagevep.progress import progress


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for ``--precision`` (``auto``: bf16 on CUDA, fp32 on CPU); None means fp32."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" else "fp32"
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[precision]


@torch.no_grad()
def predict_batches(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    device: torch.device,
    precision: str = "auto",
    total: int | None = None,
    desc: str = "predict",
    rc_average: bool = False,
    with_forward: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over one-hot batches ``(B, context_length, 4)``.

    With ``rc_average`` each batch is also run reverse-complemented; those
    predictions are flipped back along the bin axis and averaged with the
    forward ones (test-time reverse-complement ensembling).

    Returns float32 ``(N, n_bins, n_tracks)`` on the CPU. With ``rc_average``
    and ``with_forward``, returns ``(averaged, forward)``, both
    ``(N, n_bins, n_tracks)``, from the same forward passes (no third pass).
    """
    if with_forward and not rc_average:
        raise ValueError("with_forward only makes sense with rc_average")
    model.eval()
    dtype = autocast_dtype(precision, device)
    out, forward = [], []
    for x in progress(batches, total=total, desc=desc, unit="batch"):
        x = x.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            y = model(x).float()
            if with_forward:
                forward.append(y.cpu().numpy())
            if rc_average:
                y = 0.5 * (y + model(reverse_complement_onehot(x)).float().flip(-2))
        out.append(y.cpu().numpy())
    if with_forward:
        return np.concatenate(out, axis=0), np.concatenate(forward, axis=0)
    return np.concatenate(out, axis=0)
