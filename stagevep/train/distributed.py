"""Data-parallel plumbing for ``torchrun``: process group set-up, rank-0-only writing, reductions.

``torchrun --nproc_per_node N bin/train.py ...`` (the pipeline: ``--gpus N``)
sets ``RANK``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` and ``WORLD_SIZE``; without
them training runs as a single process. The backend is NCCL on CUDA and gloo
on the CPU (so multi-process training is testable without a GPU); ``backend``
names one explicitly, and NCCL without a visible GPU is an error, never a
silent switch to the CPU.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from stagevep.errors import InputError
from stagevep.model.predict import resolve_device

log = logging.getLogger(__name__)

#: values of ``--ddp-backend`` (pipeline: ``--ddp_backend``); ``auto``: NCCL on CUDA devices, gloo on the CPU
DDP_BACKENDS = ("auto", "nccl", "gloo")


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the job: ``rank`` of ``world_size``, using ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None  # 'nccl' or 'gloo' when distributed

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "auto", backend: str = "auto") -> DistContext:
    """Join the ``torchrun`` process group when ``WORLD_SIZE`` > 1; pick this process's device.

    With CUDA each process takes ``cuda:LOCAL_RANK``; ``device='cpu'`` trains
    on the CPU. ``backend`` is one of :data:`DDP_BACKENDS`: ``auto`` takes NCCL
    on CUDA and gloo on the CPU; ``nccl`` needs a CUDA device for every
    process on the node (:class:`InputError` otherwise, before any process
    group is formed, so no rank waits for the others).
    """
    if backend not in DDP_BACKENDS:
        raise InputError(f"--ddp-backend must be one of {DDP_BACKENDS}, got {backend!r}")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext(device=resolve_device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
    dev = resolve_device(device)
    if backend == "nccl" and dev.type != "cuda":
        raise InputError(
            f"--ddp-backend nccl (pipeline: --ddp_backend nccl, the default) needs CUDA GPUs, but this process "
            f"trains on {dev} ({'no GPU is visible' if not torch.cuda.is_available() else '--device ' + device}): "
            f"run on a GPU node (pipeline: -profile gpu), or use --ddp_backend gloo to train with {world_size} "
            "CPU processes"
        )
    if dev.type == "cuda":
        visible = torch.cuda.device_count()
        if local_world > visible:
            raise InputError(
                f"{local_world} training processes on this node (pipeline: --gpus {local_world}; torchrun "
                f"--nproc_per_node {local_world}) but only {visible} GPU(s) are visible "
                f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}): lower --gpus to "
                f"{max(visible, 1)}, or request {local_world} GPUs (-profile gpu sets accelerator to --gpus; "
                f"on SLURM --gres=gpu:{local_world})"
            )
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    chosen = backend if backend != "auto" else ("nccl" if dev.type == "cuda" else "gloo")
    if not dist.is_initialized():
        # generous timeout: the other ranks wait while rank 0 writes multi-GB checkpoints to network storage
        dist.init_process_group(chosen, timeout=timedelta(hours=1))
    log.info("training process %d of %d (local rank %d) on %s, %s backend", rank, world_size, local_rank, dev, chosen)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=dev, backend=chosen)


def close_distributed(ctx: DistContext) -> None:
    """Leave the process group (no-op for a single process)."""
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(value: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Mean of ``value`` over all ranks (the value itself for a single process)."""
    if not ctx.distributed:
        return value
    value = value.clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / ctx.world_size


def gather_all(obj: Any, ctx: DistContext) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank."""
    if not ctx.distributed:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def plain_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``SyncBatchNorm`` in ``module`` by an equivalent ``BatchNorm1d`` (in place; returns ``module``).

    enformer-pytorch builds ``SyncBatchNorm`` whenever a process group exists.
    That is right for NCCL (statistics over the micro-batches of all GPUs),
    but DDP refuses it on the CPU and gloo does not serve it, so with gloo
    each process keeps its own statistics instead.
    """
    for name, child in module.named_children():
        if isinstance(child, nn.SyncBatchNorm):
            bn = nn.BatchNorm1d(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            bn.load_state_dict(child.state_dict())
            bn.train(child.training)
            setattr(module, name, bn)
        else:
            plain_batchnorm(child)
    return module
