"""Batched inference."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from stagevep.data.dataset import reverse_complement_onehot
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
) -> np.ndarray:
    """Run ``model`` over one-hot batches ``(B, context_length, 4)``.

    With ``rc_average`` each batch is also run reverse-complemented; those
    predictions are flipped back along the bin axis and averaged with the
    forward ones (test-time reverse-complement ensembling).

    Returns float32 ``(N, n_bins, n_tracks)`` on the CPU.
    """
    model.eval()
    dtype = autocast_dtype(precision, device)
    out = []
    for x in progress(batches, total=total, desc=desc, unit="batch"):
        x = x.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            y = model(x).float()
            if rc_average:
                y = 0.5 * (y + model(reverse_complement_onehot(x)).float().flip(-2))
        out.append(y.cpu().numpy())
    return np.concatenate(out, axis=0)
