"""Torch dataset of one-hot context windows and binned targets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from stagevep.geometry import Geometry
from stagevep.io.genome import fetch_padded, one_hot, open_fasta


def context_start(window_start: int, window_end: int, context_length: int) -> int:
    """0-based start of the model input centred on the target window."""
    return (window_start + window_end) // 2 - context_length // 2


def reverse_complement_onehot(x: torch.Tensor) -> torch.Tensor:
    """Reverse complement of one-hot ``(..., length, 4)`` with columns A, C, G, T."""
    return x.flip(-2).flip(-1)


class WindowDataset(Dataset):
    """Items are ``(x, y)``: one-hot ``(context_length, 4)`` and targets ``(n_bins, n_tracks)``.

    Context bases beyond the chromosome ends are N (all-zero rows). With
    ``rc_augment`` each item is reverse-complemented with probability 0.5,
    its targets reversed along the bin axis.
    """

    def __init__(
        self,
        fasta: str | Path,
        windows: pd.DataFrame,
        targets: np.ndarray | None,
        geometry: Geometry,
        rc_augment: bool = False,
        seed: int = 0,
    ) -> None:
        self.fasta_path = str(fasta)
        self.windows = windows.reset_index(drop=True)
        self.targets = targets
        self.geometry = geometry
        self.rc_augment = rc_augment
        self.rng = np.random.default_rng(seed)
        self._fa = None

    def __len__(self) -> int:
        return len(self.windows)

    def sequence(self, i: int) -> str:
        """Context sequence of window ``i`` (N-padded), length ``context_length``."""
        if self._fa is None:
            self._fa = open_fasta(self.fasta_path)
        row = self.windows.iloc[i]
        start = context_start(int(row["start"]), int(row["end"]), self.geometry.context_length)
        return fetch_padded(self._fa, str(row["chrom"]), start, start + self.geometry.context_length)

    def onehot_batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """One-hot inputs in dataset order, ``(batch_size, context_length, 4)`` per batch (last may be smaller)."""
        for i in range(0, len(self), batch_size):
            yield torch.stack([self[j][0] for j in range(i, min(i + batch_size, len(self)))])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(one_hot(self.sequence(i)))
        y = torch.from_numpy(np.ascontiguousarray(self.targets[i])) if self.targets is not None else torch.zeros(0)
        if self.rc_augment and self.rng.random() < 0.5:
            x = reverse_complement_onehot(x)
            y = y.flip(0) if y.numel() else y
        return x, y
