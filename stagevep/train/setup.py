"""The steps before the first optimizer step: resolve the run, build the model and optimiser, resume.

Each step reads the :class:`~stagevep.train.config.TrainConfig` and returns a typed record
(:class:`RunPlan`, :class:`Trainer`, :class:`Progress`) that the loop in
:mod:`stagevep.train.loop` carries.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from stagevep import __version__
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.files import atomic_path
from stagevep.io.genome import fasta_lengths
from stagevep.io.hdf5 import read_targets
from stagevep.model.checkpoint import read_checkpoint, window_centres
from stagevep.model.enformer import StageEnformer, build_model, set_pair_attention_pool
from stagevep.model.finetune import (
    apply_finetune_policy,
    init_head_bias,
    optimizer_param_groups,
    set_gradient_checkpointing,
)
from stagevep.model.predict import autocast_dtype
from stagevep.model.sizes import model_config
from stagevep.train.config import TrainConfig
from stagevep.train.distributed import DistContext, plain_batchnorm
from stagevep.train.schedule import WarmupSchedule
from stagevep.train.state import check_resume_compatible, set_rng_state

log = logging.getLogger(__name__)


@dataclass
class RunPlan:
    """What ``cfg`` resolves to for the data and processes at hand; ``resolved`` is written to ``config.json``."""

    out: Path
    data: Any  # stagevep.io.hdf5 targets: windows, targets (N, n_bins, n_tracks), tracks, geometry, attrs
    geometry: Geometry
    train_idx: np.ndarray
    val_idx: np.ndarray
    max_bin_shift: int
    global_batch: int
    steps_per_epoch: int
    total_steps: int
    dtype: torch.dtype | None
    saved: dict[str, Any] | None
    resolved: dict[str, Any]


@dataclass
class Trainer:
    """The model, its optimiser state and the checkpoint payload shared by ``best.pt`` and ``last.pt``."""

    model: StageEnformer
    opt: torch.optim.Optimizer
    sched: WarmupSchedule
    scaler: torch.amp.GradScaler
    params: list[torch.Tensor]
    payload: dict[str, Any]


@dataclass
class Progress:
    """Where training stands: optimizer steps done, epoch, step within it, best validation loss so far."""

    step: int = 0
    epoch: int = 0
    pos: int = 0
    best_loss: float = math.inf
    bad: int = 0


def set_determinism(cfg: TrainConfig, device: torch.device) -> None:
    """Deterministic algorithms when ``cfg.deterministic``; cuDNN autotuning otherwise on CUDA."""
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not cfg.deterministic


def resolve_run(cfg: TrainConfig, ctx: DistContext) -> RunPlan:
    """Read the targets and resolve batch sizes, step counts, warmup and precision; :class:`InputError` if unusable."""
    out, device = Path(cfg.out_dir), ctx.device
    data = read_targets(cfg.targets)
    geometry = data.geometry
    train_idx, val_idx = data.split_index("train"), data.split_index("val")
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise InputError(
            f"{cfg.targets} has {len(train_idx)} train and {len(val_idx)} val windows; both splits are needed"
        )
    max_bin_shift = geometry.n_bins // 4 if cfg.max_bin_shift is None else cfg.max_bin_shift
    if not 0 <= max_bin_shift < geometry.n_bins:
        raise InputError(f"--max-bin-shift must be between 0 and {geometry.n_bins - 1} (the targets of {cfg.targets} "
                         f"have {geometry.n_bins} bins), got {max_bin_shift}")
    global_batch = cfg.batch_size * cfg.accumulate * ctx.world_size
    steps_per_epoch = len(train_idx) // global_batch
    if steps_per_epoch == 0:
        raise InputError(
            f"the global batch ({cfg.batch_size} x {cfg.accumulate} accumulation x {ctx.world_size} processes = "
            f"{global_batch}) is larger than the {len(train_idx)} training windows of {cfg.targets}: "
            "lower --batch-size or --accumulate"
        )
    total_steps = min(s for s in (cfg.max_steps, cfg.epochs and cfg.epochs * steps_per_epoch) if s)
    saved = read_last(out) if cfg.resume else None
    warmup = cfg.warmup_steps
    if warmup is None:  # 5% of the steps; a resumed run keeps its warmup when only --max-steps grows
        warmup = saved["train_config"]["warmup_steps"] if saved else max(1, round(0.05 * total_steps))
    dtype = autocast_dtype(cfg.precision, device)
    resolved = {
        **asdict(cfg), "world_size": ctx.world_size, "global_batch": global_batch, "steps_per_epoch": steps_per_epoch,
        "total_steps": total_steps, "warmup_steps": warmup, "max_bin_shift": max_bin_shift, "device": str(device),
        "precision": {torch.bfloat16: "bf16", torch.float16: "fp16", None: "fp32"}[dtype],
        "ddp_backend": ctx.backend or "none",
        "tracks": list(data.tracks), "geometry": geometry.to_dict(), "n_train": len(train_idx),
        "n_val": len(val_idx), "stagevep_version": __version__, "torch_version": torch.__version__,
    }
    return RunPlan(out, data, geometry, train_idx, val_idx, max_bin_shift, global_batch, steps_per_epoch,
                   total_steps, dtype, saved, resolved)


def build_trainer(cfg: TrainConfig, ctx: DistContext, plan: RunPlan) -> Trainer:
    """The model (seeded with ``cfg.seed``, identical on every rank), optimiser, schedule and scaler."""
    data, device = plan.data, ctx.device
    torch.manual_seed(cfg.seed)
    mcfg = model_config(cfg.model_size, plan.geometry)
    model = build_model(mcfg, len(data.tracks), cfg.pretrained)
    set_pair_attention_pool(model)
    init_head_bias(model, data.targets[plan.train_idx].mean(axis=(0, 1)))
    if ctx.distributed and ctx.backend != "nccl":
        plain_batchnorm(model)
    apply_finetune_policy(model, cfg.finetune, cfg.unfreeze_last_n)
    if not cfg.dropout:
        for module in model.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
    set_gradient_checkpointing(model, cfg.gradient_checkpointing)
    model.to(device)
    groups = optimizer_param_groups(model, cfg.lr, cfg.trunk_lr, cfg.weight_decay)
    params = [p for g in groups for p in g["params"]]
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = WarmupSchedule(opt, cfg.schedule, plan.resolved["warmup_steps"], plan.total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=plan.dtype == torch.float16)
    payload = {
        "model_config": mcfg,
        "tracks": list(data.tracks),
        "geometry": plan.geometry.to_dict(),
        "target_transform": {k: data.attrs.get(k) for k in ("transform", "clip_percentile", "clip_scope")},
        "train_config": plan.resolved,
        # what score-only runs need without the training data: the genome's contigs (preflight) and the
        # windows' centres (background variants for calibration)
        "genome": {"fasta": Path(cfg.fasta).name, "contigs": fasta_lengths(cfg.fasta)},
        "windows": window_centres(data.windows),
    }
    return Trainer(model, opt, sched, scaler, params, payload)


def start(cfg: TrainConfig, ctx: DistContext, plan: RunPlan, trainer: Trainer) -> Progress:
    """Restore ``plan.saved`` (``last.pt``) into ``trainer`` or seed a fresh run; write ``config.json`` (rank 0)."""
    ckpt = plan.saved
    if ckpt is None:
        progress = Progress()
        torch.manual_seed(cfg.seed + ctx.rank)
        np.random.seed(cfg.seed + ctx.rank)
    else:
        check_resume_compatible(ckpt["train_config"], plan.resolved, str(plan.out / "last.pt"))
        trainer.model.load_state_dict(ckpt["state_dict"])
        trainer.opt.load_state_dict(ckpt["optimizer"])
        trainer.sched.load_state_dict(ckpt["scheduler"])
        trainer.scaler.load_state_dict(ckpt["scaler"])
        progress = Progress(ckpt["step"], ckpt["epoch"], ckpt["position"], ckpt["best_val_loss"],
                            ckpt["bad_validations"])
        rngs = ckpt["rng"]
        if len(rngs) == ctx.world_size:
            set_rng_state(rngs[ctx.rank])
        else:
            log.warning("last.pt was written by %d processes, this run has %d: random streams (dropout) restart",
                        len(rngs), ctx.world_size)
            torch.manual_seed(cfg.seed + 1000 * progress.step + ctx.rank)
        log.info("resuming from %s at step %d (epoch %d, step %d of the epoch)", plan.out / "last.pt",
                 progress.step, progress.epoch, progress.pos)
    if ctx.is_main:
        plan.out.mkdir(parents=True, exist_ok=True)
        write_json(plan.out / "config.json", plan.resolved)
    return progress


def read_last(out: Path) -> dict[str, Any]:
    """The resumable checkpoint ``out/last.pt``; :class:`InputError` when absent, unreadable or not resumable."""
    path = out / "last.pt"
    ckpt = read_checkpoint(path) if path.exists() else None
    if ckpt is None or "optimizer" not in ckpt:
        raise InputError(
            f"--resume needs {path} written by an earlier run with the same --out-dir; "
            f"{'it does not exist' if ckpt is None else 'it holds no optimizer state'}"
        )
    return ckpt


def write_json(path: Path, obj: dict[str, Any]) -> None:
    """Write ``obj`` as indented JSON to ``path``, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
