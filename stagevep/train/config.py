"""The configuration of a training run: options, their checks, and out-of-memory retries."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from stagevep.errors import InputError
from stagevep.train.distributed import DDP_BACKENDS
from stagevep.train.schedule import SCHEDULES

LOSSES = ("poisson", "mse")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
# bin/train.py exits with this status on a CUDA out-of-memory error; the Nextflow process retries on it
# with half the batch size and twice the accumulation (EX_TEMPFAIL from sysexits.h).
EXIT_OUT_OF_MEMORY = 75


@dataclass
class TrainConfig:
    """Everything a training run depends on; written, resolved, to ``config.json``.

    ``batch_size`` is the micro-batch of one process; the global batch is
    ``batch_size * accumulate * world_size``. Training stops at ``max_steps``
    optimizer steps or after ``epochs`` passes over the training windows,
    whichever comes first (either may be None, not both), or earlier by
    early stopping after ``patience`` validations without a lower validation
    loss. ``memory_retry`` (set by the Nextflow process from ``task.attempt``
    after an out-of-memory exit) halves ``batch_size`` and doubles
    ``accumulate`` that many times, keeping the global batch; once the
    micro-batch is 1 it turns on gradient checkpointing instead.
    """

    targets: str
    fasta: str
    out_dir: str
    pretrained: str | None = None
    model_size: str = "full"
    finetune: str = "all"
    unfreeze_last_n: int = 2
    dropout: bool = True
    loss: str = "mse"
    lr: float = 1e-4
    trunk_lr: float | None = None
    weight_decay: float = 0.01
    schedule: str = "cosine"
    warmup_steps: int | None = None
    batch_size: int = 4
    accumulate: int = 1
    max_steps: int | None = 1000
    epochs: int | None = None
    val_every: int = 200
    patience: int | None = None
    clip_grad: float = 0.5
    stage_weight: float = 8.0
    rc_augment: bool = True
    max_shift: int = 3
    max_bin_shift: int | None = None
    precision: str = "auto"
    gradient_checkpointing: bool = False
    deterministic: bool = False
    resume: bool = False
    memory_retry: int = 0
    device: str = "auto"
    ddp_backend: str = "nccl"  # as the pipeline: CPU processes are asked for (gloo), never fallen back to
    num_workers: int = 0
    seed: int = 0


def apply_memory_retry(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` after ``cfg.memory_retry`` out-of-memory retries (same global batch, less memory per step).

    Each retry halves ``batch_size`` and doubles ``accumulate`` while the
    micro-batch can be halved exactly; after that it turns on gradient
    checkpointing.
    """
    batch, accumulate, checkpointing = cfg.batch_size, cfg.accumulate, cfg.gradient_checkpointing
    for _ in range(cfg.memory_retry):
        if batch % 2 == 0:
            batch, accumulate = batch // 2, accumulate * 2
        elif not checkpointing:
            checkpointing = True
        else:
            raise InputError(
                f"out of memory again with batch size {batch} and gradient checkpointing: use --precision bf16, a "
                "GPU with more memory, or a shorter --context_length"
            )
    return dataclasses.replace(cfg, batch_size=batch, accumulate=accumulate, gradient_checkpointing=checkpointing,
                               memory_retry=0)


def check_loss_name(name: str) -> None:
    """Raise :class:`InputError` unless ``name`` is one of :data:`LOSSES`."""
    if name not in LOSSES:
        raise InputError(f"--loss must be one of {LOSSES}, got {name!r}")


def validate_config(cfg: TrainConfig) -> None:
    """Raise :class:`InputError` for option values training cannot use."""
    check_loss_name(cfg.loss)
    if cfg.schedule not in SCHEDULES:
        raise InputError(f"--schedule must be one of {SCHEDULES}, got {cfg.schedule!r}")
    if cfg.ddp_backend not in DDP_BACKENDS:
        raise InputError(f"--ddp-backend must be one of {DDP_BACKENDS}, got {cfg.ddp_backend!r}")
    if cfg.precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {PRECISIONS}, got {cfg.precision!r}")
    if cfg.max_steps is None and cfg.epochs is None:
        raise InputError("give --max-steps or --epochs (or both: training stops at whichever comes first)")
    for name in ("batch_size", "accumulate", "val_every", "max_steps", "epochs", "patience"):
        value = getattr(cfg, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    for name in ("warmup_steps", "max_shift", "max_bin_shift", "num_workers", "memory_retry"):
        if (getattr(cfg, name) or 0) < 0:
            raise InputError(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(cfg, name)}")
    if cfg.stage_weight < 0:
        raise InputError(f"--stage-weight must be 0 or more, got {cfg.stage_weight}")
    if cfg.lr <= 0 or (cfg.trunk_lr is not None and cfg.trunk_lr < 0):
        raise InputError("--lr must be positive and --trunk-lr 0 or more")
