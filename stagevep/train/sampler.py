"""Deterministic data order: one seeded permutation per epoch, cut into global batches and sharded by rank.

The order depends only on ``(seed, epoch)``, never on the number of data
loader workers, so a resumed run sees exactly the items the uninterrupted run
would have seen, and ``world_size`` processes with micro-batch ``b`` and
``accumulate`` steps see the same global batches as one process with
micro-batch ``b * world_size * accumulate``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


def epoch_order(n_items: int, seed: int, epoch: int) -> np.ndarray:
    """Permutation of ``range(n_items)`` for ``epoch``, from a generator seeded by ``(seed, epoch)``."""
    return np.random.default_rng([seed, epoch]).permutation(n_items)


def step_indices(
    order: np.ndarray, step_in_epoch: int, micro_batch: int, accumulate: int, rank: int = 0, world_size: int = 1
) -> list[np.ndarray]:
    """Dataset indices that ``rank`` trains on in one optimizer step: ``accumulate`` arrays of ``micro_batch``.

    Global batch ``k`` is ``order[k * G : (k + 1) * G]`` with
    ``G = micro_batch * accumulate * world_size``; micro-batch ``a`` of rank
    ``r`` is its slice number ``a * world_size + r``.
    """
    global_batch = micro_batch * accumulate * world_size
    base = step_in_epoch * global_batch
    return [
        order[base + (a * world_size + rank) * micro_batch : base + (a * world_size + rank + 1) * micro_batch]
        for a in range(accumulate)
    ]


class StepBatchSampler(Sampler[list[int]]):
    """Micro-batches of one epoch for one rank, starting at optimizer step ``start_step`` of the epoch.

    Yields ``(steps_per_epoch - start_step) * accumulate`` lists of
    ``micro_batch`` dataset indices; the incomplete last global batch of an
    epoch is dropped.
    """

    def __init__(
        self,
        n_items: int,
        seed: int,
        epoch: int,
        start_step: int,
        steps_per_epoch: int,
        micro_batch: int,
        accumulate: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.order = epoch_order(n_items, seed, epoch)
        self.start_step, self.steps_per_epoch = start_step, steps_per_epoch
        self.micro_batch, self.accumulate, self.rank, self.world_size = micro_batch, accumulate, rank, world_size

    def __len__(self) -> int:
        return (self.steps_per_epoch - self.start_step) * self.accumulate

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.steps_per_epoch):
            for idx in step_indices(self.order, step, self.micro_batch, self.accumulate, self.rank, self.world_size):
                yield idx.tolist()
