"""Finetune a :class:`~stagevep.model.enformer.StageEnformer` on ``targets.h5``.

One optimizer step consumes one *global batch* of
``batch_size * accumulate * world_size`` windows: each of the ``world_size``
processes (``torchrun``) runs ``accumulate`` micro-batches of ``batch_size``
windows and the gradients are averaged. The data order is a seeded
permutation per epoch (:mod:`stagevep.train.sampler`), so a run resumed from
``last.pt`` continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from stagevep import __version__
from stagevep.data.dataset import WindowDataset
from stagevep.errors import InputError
from stagevep.evaluate.metrics import seed_metric
from stagevep.io.genome import fasta_lengths
from stagevep.io.hdf5 import read_targets
from stagevep.model.checkpoint import read_checkpoint, save_checkpoint, window_centres
from stagevep.model.enformer import (
    apply_finetune_policy,
    build_model,
    init_head_bias,
    model_config,
    optimizer_param_groups,
    set_gradient_checkpointing,
    set_pair_attention_pool,
)
from stagevep.model.predict import autocast_dtype, predict_batches
from stagevep.progress import progress
from stagevep.train.distributed import (
    DDP_BACKENDS,
    DistContext,
    all_reduce_mean,
    close_distributed,
    gather_all,
    init_distributed,
    plain_batchnorm,
)
from stagevep.train.logger import MetricsLogger
from stagevep.train.sampler import StepBatchSampler
from stagevep.train.schedule import SCHEDULES, WarmupSchedule
from stagevep.train.state import check_resume_compatible, rng_state, set_rng_state

log = logging.getLogger(__name__)

LOSSES = ("poisson", "mse")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
# bin/train.py exits with this status on a CUDA out-of-memory error; the Nextflow process retries on it
# with half the batch size and twice the accumulation (EX_TEMPFAIL from sysexits.h).
EXIT_OUT_OF_MEMORY = 75
SINGLE_PROCESS = DistContext()


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
    ddp_backend: str = "auto"
    num_workers: int = 0
    seed: int = 0


def loss_fn(name: str, pred: torch.Tensor, target: torch.Tensor, stage_weight: float = 0.0) -> torch.Tensor:
    """Mean loss over the known bins of ``(batch, n_bins, n_tracks)``: Poisson NLL (rate ``pred``) or MSE.

    With ``stage_weight`` > 0 it adds ``stage_weight`` times the mean squared error of the stage
    deviations of each bin (prediction and target minus their mean over tracks), the part of the
    signal that tells the stages apart. Bins whose targets are NaN (moved out of the known window by a
    whole-bin shift) are left out.
    """
    if name not in LOSSES:
        raise InputError(f"--loss must be one of {LOSSES}, got {name!r}")
    known = ~torch.isnan(target).any(dim=-1)  # (batch, n_bins)
    if not bool(known.all()):
        pred, target = pred[known], target[known]  # (n_known, n_tracks)
    if name == "poisson":
        loss = F.poisson_nll_loss(pred, target, log_input=False, full=False, eps=1e-8)
    else:
        loss = F.mse_loss(pred, target)
    if stage_weight:
        dev_pred = pred - pred.mean(dim=-1, keepdim=True)
        dev_target = target - target.mean(dim=-1, keepdim=True)
        loss = loss + stage_weight * F.mse_loss(dev_pred, dev_target)
    return loss


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


def validate_config(cfg: TrainConfig) -> None:
    """Raise :class:`InputError` for option values training cannot use."""
    if cfg.loss not in LOSSES:
        raise InputError(f"--loss must be one of {LOSSES}, got {cfg.loss!r}")
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


def train(cfg: TrainConfig) -> Path:
    """Train and write ``best.pt``, ``last.pt``, ``metrics.csv``, ``tensorboard/`` and ``config.json``.

    Validation (loss and the seed's per-window Pearson on the ``val`` split)
    runs every ``val_every`` steps and at the end; ``best.pt`` holds the
    lowest validation loss and ``last.pt`` (rewritten at every validation)
    everything needed to resume. A non-finite training loss raises
    :class:`FloatingPointError` naming the step and writes no checkpoint.
    Under ``torchrun`` every process calls this; only rank 0 writes files.
    Returns the path of ``best.pt``.
    """
    cfg = apply_memory_retry(cfg)
    validate_config(cfg)
    ctx = init_distributed(cfg.device, cfg.ddp_backend)
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    try:
        return _train(cfg, ctx)
    finally:
        torch.use_deterministic_algorithms(deterministic_before)
        close_distributed(ctx)


def _train(cfg: TrainConfig, ctx: DistContext) -> Path:
    out = Path(cfg.out_dir)
    device = ctx.device
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not cfg.deterministic

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
    saved = _read_last(out) if cfg.resume else None
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

    # identical initial weights on every rank; then a different dropout stream per rank
    torch.manual_seed(cfg.seed)
    mcfg = model_config(cfg.model_size, geometry)
    model = build_model(mcfg, len(data.tracks), cfg.pretrained)
    set_pair_attention_pool(model)
    init_head_bias(model, data.targets[train_idx].mean(axis=(0, 1)))
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
    sched = WarmupSchedule(opt, cfg.schedule, warmup, total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    payload = {
        "model_config": mcfg,
        "tracks": list(data.tracks),
        "geometry": geometry.to_dict(),
        "target_transform": {k: data.attrs.get(k) for k in ("transform", "clip_percentile", "clip_scope")},
        "train_config": resolved,
        # what score-only runs need without the training data: the genome's contigs (preflight) and the
        # windows' centres (background variants for calibration)
        "genome": {"fasta": Path(cfg.fasta).name, "contigs": fasta_lengths(cfg.fasta)},
        "windows": window_centres(data.windows),
    }

    step, epoch, pos, best_loss, bad = 0, 0, 0, math.inf, 0
    if saved is not None:
        ckpt = saved
        check_resume_compatible(ckpt["train_config"], resolved, str(out / "last.pt"))
        model.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        step, epoch, pos = ckpt["step"], ckpt["epoch"], ckpt["position"]
        best_loss, bad = ckpt["best_val_loss"], ckpt["bad_validations"]
        rngs = ckpt["rng"]
        if len(rngs) == ctx.world_size:
            set_rng_state(rngs[ctx.rank])
        else:
            log.warning("last.pt was written by %d processes, this run has %d: random streams (dropout) restart",
                        len(rngs), ctx.world_size)
            torch.manual_seed(cfg.seed + 1000 * step + ctx.rank)
        log.info("resuming from %s at step %d (epoch %d, step %d of the epoch)", out / "last.pt", step, epoch, pos)
    else:
        torch.manual_seed(cfg.seed + ctx.rank)
        np.random.seed(cfg.seed + ctx.rank)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "config.json", resolved)
    log.info(
        "model %s: %d parameters, %d trainable; %d process(es) on %s, precision %s; global batch %d "
        "(%d x %d accumulation x %d), %d steps (%d per epoch)",
        cfg.model_size, sum(p.numel() for p in model.parameters()), sum(p.numel() for p in params),
        ctx.world_size, device, resolved["precision"], global_batch, cfg.batch_size, cfg.accumulate, ctx.world_size,
        total_steps, steps_per_epoch,
    )
    ddp_model: nn.Module = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                                   else None) if ctx.distributed else model

    train_ds = WindowDataset(cfg.fasta, data.windows.iloc[train_idx], data.targets[train_idx], geometry,
                             rc_augment=cfg.rc_augment, max_shift=cfg.max_shift, seed=cfg.seed,
                             max_bin_shift=max_bin_shift)
    # each process predicts a contiguous share of the validation windows
    val_share = np.array_split(val_idx, ctx.world_size)[ctx.rank]
    val_ds = WindowDataset(cfg.fasta, data.windows.iloc[val_share], data.targets[val_share], geometry)
    val_obs = data.targets[val_idx]
    metrics = MetricsLogger(out, resume_step=step if cfg.resume else None, enabled=ctx.is_main)
    bar = progress(total=total_steps, initial=step, desc="train", unit="step", disable=not ctx.is_main)
    stop = step >= total_steps
    t_last = time.perf_counter()
    try:
        while not stop:
            train_ds.set_epoch(epoch)
            sampler = StepBatchSampler(len(train_ds), cfg.seed, epoch, pos, steps_per_epoch, cfg.batch_size,
                                       cfg.accumulate, ctx.rank, ctx.world_size)
            # own generator: creating the loader must not draw from the global stream (dropout) that last.pt saves
            loader = DataLoader(train_ds, batch_sampler=sampler, num_workers=cfg.num_workers,
                                pin_memory=device.type == "cuda", generator=torch.Generator().manual_seed(epoch))
            batches = iter(loader)
            epoch_done = False
            while not (epoch_done or stop):
                micro = [next(batches) for _ in range(cfg.accumulate)]
                lr = cfg.lr * sched.factor()
                loss, grad_norm = train_step(ddp_model, micro, opt, scaler, sched, cfg.loss, dtype, device,
                                             cfg.clip_grad, params, ctx, step + 1, stage_weight=cfg.stage_weight)
                step, pos = step + 1, pos + 1
                now = time.perf_counter()
                row: dict[str, Any] = {"step": step, "epoch": epoch + 1, "lr": lr,
                                       "train_loss": loss, "grad_norm": grad_norm,
                                       "samples_per_s": global_batch / (now - t_last)}
                epoch_done = pos == steps_per_epoch
                if epoch_done:  # last.pt then resumes at the start of the next epoch
                    epoch, pos = epoch + 1, 0
                stop = step >= total_steps
                if step % cfg.val_every == 0 or stop:
                    row["val_loss"], row["val_pearson"] = _validate(model, val_ds, val_obs, cfg, ctx)
                    sched.observe(row["val_loss"])
                    improved = row["val_loss"] < best_loss
                    best_loss, bad = (row["val_loss"], 0) if improved else (best_loss, bad + 1)
                    log.info("step %d: train loss %.4f, val loss %.4f, val pearson %.4f%s", step, loss,
                             row["val_loss"], row["val_pearson"], " (best)" if improved else "")
                    if cfg.patience and bad >= cfg.patience and not stop:
                        log.info("early stopping at step %d: no lower validation loss in %d validations",
                                 step, bad)
                        stop = True
                    rngs = gather_all(rng_state(), ctx)
                    if ctx.is_main:
                        if improved:
                            save_checkpoint(out / "best.pt", model, {
                                **payload, "step": step, "val_loss": row["val_loss"],
                                "val_pearson": row["val_pearson"]})
                        save_checkpoint(out / "last.pt", model, {
                            **payload, "step": step, "epoch": epoch, "position": pos, "optimizer": opt.state_dict(),
                            "scheduler": sched.state_dict(), "scaler": scaler.state_dict(), "rng": rngs,
                            "best_val_loss": best_loss, "bad_validations": bad, "val_loss": row["val_loss"]})
                metrics.log(row)
                bar.set_postfix(loss=f"{loss:.3f}", samples_per_s=f"{row['samples_per_s']:.1f}")
                bar.update(1)
                t_last = time.perf_counter()
    finally:
        bar.close()
        metrics.close()
    log.info("training done after %d steps; best val loss %.4f; checkpoints in %s", step, best_loss, out)
    return out / "best.pt"


def train_step(
    model: nn.Module,
    micro_batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    opt: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    sched: WarmupSchedule | None,
    loss_name: str,
    dtype: torch.dtype | None,
    device: torch.device,
    clip_grad: float,
    params: Sequence[torch.Tensor],
    ctx: DistContext = SINGLE_PROCESS,
    step: int = 0,
    stage_weight: float = 0.0,
) -> tuple[float, float]:
    """One optimizer step over ``micro_batches`` of ``(x (B, context_length, 4), y (B, n_bins, n_tracks))``.

    Gradients of the micro-batches are accumulated (under DDP synchronised
    on the last one only), unscaled (fp16), clipped to ``clip_grad`` and
    applied. The loss is the mean over the known bins of the whole global
    batch: each micro-batch's mean is weighted by its share of the known
    bins (bins shifted out of the window are NaN and left out), so
    accumulation and DDP give the gradient of the one large batch. Returns
    ``(mean loss over the global batch, gradient norm before clipping)``. A
    non-finite loss on any rank raises :class:`FloatingPointError` before
    the optimizer step.
    """
    model.train()  # StageEnformer keeps the BatchNorm of frozen parts in eval mode
    opt.zero_grad(set_to_none=True)
    total = torch.zeros((), device=device)
    n = len(micro_batches)
    known = [float((~torch.isnan(y).any(dim=-1)).sum()) for _, y in micro_batches]  # known bins per micro-batch
    known_global = float(all_reduce_mean(torch.tensor(sum(known), device=device), ctx)) * ctx.world_size
    for i, (x, y) in enumerate(micro_batches):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        sync = i == n - 1 or not isinstance(model, DistributedDataParallel)
        with (contextlib.nullcontext() if sync else model.no_sync()):
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                pred = model(x)
            loss = loss_fn(loss_name, pred.float(), y.float(), stage_weight)
            # DDP averages gradients over ranks, hence the world size
            scaler.scale(loss * (known[i] * ctx.world_size / known_global)).backward()
        total += loss.detach() * known[i]
    mean_loss = float(all_reduce_mean(total, ctx)) * ctx.world_size / known_global
    if not math.isfinite(mean_loss):
        raise FloatingPointError(
            f"non-finite training loss ({mean_loss}) at step {step}; no checkpoint written. "
            "Lower --lr, or use --precision bf16 or fp32 instead of fp16."
        )
    scaler.unscale_(opt)
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, clip_grad))
    scaler.step(opt)
    scaler.update()
    if sched is not None:
        sched.step()
    return mean_loss, grad_norm


def _validate(
    model: nn.Module, ds: WindowDataset, obs: np.ndarray, cfg: TrainConfig, ctx: DistContext
) -> tuple[float, float]:
    """Validation loss and seed metric over all validation windows ``obs`` ``(N, n_bins, n_tracks)``.

    Each process predicts its share ``ds`` (contiguous, in rank order); the
    predictions are gathered so every process gets the same figures.
    """
    n_bins, n_tracks = obs.shape[1:]
    if len(ds):
        pred = predict_batches(model, ds.onehot_batches(cfg.batch_size), ctx.device, cfg.precision,
                               total=math.ceil(len(ds) / cfg.batch_size), desc="validate")
    else:
        pred = np.zeros((0, n_bins, n_tracks), dtype=np.float32)
    pred = np.concatenate(gather_all(pred, ctx))
    obs = np.asarray(obs, dtype=np.float32)
    loss = float(loss_fn(cfg.loss, torch.from_numpy(pred), torch.from_numpy(obs), cfg.stage_weight))
    return loss, seed_metric(pred, obs)


def _read_last(out: Path) -> dict[str, Any]:
    """The resumable checkpoint ``out/last.pt``; :class:`InputError` when absent, unreadable or not resumable."""
    path = out / "last.pt"
    ckpt = read_checkpoint(path) if path.exists() else None
    if ckpt is None or "optimizer" not in ckpt:
        raise InputError(
            f"--resume needs {path} written by an earlier run with the same --out-dir; "
            f"{'it does not exist' if ckpt is None else 'it holds no optimizer state'}"
        )
    return ckpt


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)
