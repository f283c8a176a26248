"""Torch dataset of one-hot context windows and binned targets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from stagevep.core.sequence import reverse_complement_onehot
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.encoded_genome import EncodedGenome


def context_start(window_start: int, window_end: int, context_length: int) -> int:
    """0-based start of the model input centred on the target window."""
    return (window_start + window_end) // 2 - context_length // 2


def shift_bins(y: np.ndarray, bins: int) -> np.ndarray:
    """Targets ``(n_bins, n_tracks)`` of the window moved ``bins`` bins downstream; unknown bins are NaN.

    Bin ``j`` of the result is bin ``j + bins`` of ``y`` (NaN where that falls outside ``y``).
    """
    out = np.full_like(y, np.nan)
    n = y.shape[0]
    if bins >= 0:
        out[: n - bins] = y[bins:]
    else:
        out[-bins:] = y[: n + bins]
    return out


class WindowDataset(Dataset):
    """Items are ``(x, y)``: one-hot ``(context_length, 4)`` float32 and targets ``(n_bins, n_tracks)``.

    Sequences come from the genome encoded once to a memory-mapped array
    (:class:`~stagevep.io.encoded_genome.EncodedGenome`, cache under
    ``cache_root``); context bases beyond the chromosome ends are N (all-zero
    rows). Augmentation
    (training only; both off by default, as for validation and test):

    - ``max_shift``: the context is shifted by a uniform random offset in
      ``[-max_shift, max_shift]`` bp; the targets are unchanged;
    - ``max_bin_shift``: the context and the target window move together by a
      uniform random number of whole bins in ``[-max_bin_shift, max_bin_shift]``;
      the targets move with them and the bins that leave the known window are
      NaN (left out of the loss, :func:`stagevep.train.loop.loss_fn`). Windows
      are centred on peaks, so without it the position of the peak in the window
      is the same for every window and a model can fit it without reading the
      sequence;
    - ``rc_augment``: with probability 0.5 the (shifted) context is
      reverse-complemented and the targets reversed along the bin axis.

    The augmentation of item ``i`` is drawn from
    ``np.random.default_rng((seed, epoch, i))``: it depends only on the original study,
    the epoch (:meth:`set_epoch`) and the index, so it is the same in every
    DataLoader worker, DDP rank and after a resume.
    """

    def __init__(
        self,
        fasta: str | Path,
        windows: pd.DataFrame,
        targets: np.ndarray | None,
        geometry: Geometry,
        rc_augment: bool = False,
        max_shift: int = 0,
        seed: int = 0,
        max_bin_shift: int = 0,
        cache_root: str | Path | None = None,
    ) -> None:
        if max_shift < 0:
            raise InputError(f"--max-shift must be >= 0, got {max_shift}")
        if not 0 <= max_bin_shift < geometry.n_bins:
            raise InputError(f"--max-bin-shift must be between 0 and n_bins - 1 ({geometry.n_bins - 1}), "
                             f"got {max_bin_shift}")
        self.fasta_path = str(fasta)
        self.windows = windows.reset_index(drop=True)
        self.targets = targets
        self.geometry = geometry
        self.rc_augment = rc_augment
        self.max_shift = int(max_shift)
        self.max_bin_shift = int(max_bin_shift)
        self.seed = int(seed)
        self.epoch = 0
        self.genome = EncodedGenome(fasta, cache_root)

    def __len__(self) -> int:
        return len(self.windows)

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of ``epoch`` (call before iterating each epoch)."""
        self.epoch = int(epoch)

    def augmentation(self, i: int) -> tuple[int, bool, int]:
        """``(shift in bp, reverse-complement?, shift in bins)`` of item ``i`` in the current epoch.

        ``(0, False, 0)`` when augmentation is off.
        """
        if not self.rc_augment and self.max_shift == 0 and self.max_bin_shift == 0:
            return 0, False, 0
        rng = np.random.default_rng((self.seed, self.epoch, int(i)))
        shift = int(rng.integers(-self.max_shift, self.max_shift + 1)) if self.max_shift else 0
        rc = bool(rng.random() < 0.5) if self.rc_augment else False
        bins = int(rng.integers(-self.max_bin_shift, self.max_bin_shift + 1)) if self.max_bin_shift else 0
        return shift, rc, bins

    def onehot(self, i: int, shift: int = 0) -> np.ndarray:
        """One-hot float32 ``(context_length, 4)`` of window ``i``'s context shifted by ``shift`` bp, N-padded."""
        row = self.windows.iloc[i]
        start = context_start(int(row["start"]), int(row["end"]), self.geometry.context_length) + shift
        return self.genome.one_hot(str(row["chrom"]), start, start + self.geometry.context_length)

    def onehot_batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """One-hot inputs in dataset order, ``(batch_size, context_length, 4)`` per batch (last may be smaller)."""
        for i in range(0, len(self), batch_size):
            yield torch.stack([self[j][0] for j in range(i, min(i + batch_size, len(self)))])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        shift, rc, bins = self.augmentation(i)
        x = torch.from_numpy(self.onehot(i, shift + bins * self.geometry.bin_size))
        if self.targets is None:
            y = torch.zeros(0)
        elif bins:
            y = torch.from_numpy(shift_bins(np.asarray(self.targets[i], dtype=np.float32), bins))
        else:
            y = torch.from_numpy(np.ascontiguousarray(self.targets[i]))
        if rc:
            x = reverse_complement_onehot(x)
            y = y.flip(0) if y.numel() else y
        return x, y
