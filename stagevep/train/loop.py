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
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from stagevep.core.metrics import mean_window_pearson
from stagevep.data.dataset import WindowDataset
from stagevep.model.checkpoint import save_checkpoint
from stagevep.model.predict import predict_batches
from stagevep.progress import progress
from stagevep.train.config import TrainConfig, apply_memory_retry, check_loss_name, validate_config
from stagevep.train.distributed import DistContext, all_reduce_mean, close_distributed, gather_all, init_distributed
from stagevep.train.logger import MetricsLogger
from stagevep.train.sampler import StepBatchSampler
from stagevep.train.schedule import WarmupSchedule
from stagevep.train.setup import Progress, RunPlan, Trainer, build_trainer, resolve_run, set_determinism, start
from stagevep.train.state import rng_state

log = logging.getLogger(__name__)

SINGLE_PROCESS = DistContext()


def loss_fn(name: str, pred: torch.Tensor, target: torch.Tensor, stage_weight: float = 0.0) -> torch.Tensor:
    """Mean loss over the known bins of ``(batch, n_bins, n_tracks)``: Poisson NLL (rate ``pred``) or MSE.

    With ``stage_weight`` > 0 it adds ``stage_weight`` times the mean squared error of the stage
    deviations of each bin (prediction and target minus their mean over tracks), the part of the
    signal that tells the stages apart. Bins whose targets are NaN (moved out of the known window by a
    whole-bin shift) are left out.
    """
    check_loss_name(name)
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


def train(cfg: TrainConfig) -> Path:
    """Train and write ``best.pt``, ``last.pt``, ``metrics.csv``, ``tensorboard/`` and ``config.json``.

    Validation (loss and the original study's per-window Pearson on the ``val`` split)
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
    """The run: resolve it, build the model, resume or seed, then optimizer steps until it stops."""
    set_determinism(cfg, ctx.device)
    plan = resolve_run(cfg, ctx)
    trainer = build_trainer(cfg, ctx, plan)
    state = start(cfg, ctx, plan, trainer)
    log.info(
        "model %s: %d parameters, %d trainable; %d process(es) on %s, precision %s; global batch %d "
        "(%d x %d accumulation x %d), %d steps (%d per epoch)",
        cfg.model_size, sum(p.numel() for p in trainer.model.parameters()), sum(p.numel() for p in trainer.params),
        ctx.world_size, ctx.device, plan.resolved["precision"], plan.global_batch, cfg.batch_size, cfg.accumulate,
        ctx.world_size, plan.total_steps, plan.steps_per_epoch,
    )
    _run_epochs(cfg, ctx, plan, trainer, state)
    log.info("training done after %d steps; best val loss %.4f; checkpoints in %s", state.step, state.best_loss,
             plan.out)
    return plan.out / "best.pt"


def _run_epochs(cfg: TrainConfig, ctx: DistContext, plan: RunPlan, trainer: Trainer, state: Progress) -> None:
    """Optimizer steps, epoch by epoch, from ``state`` until ``plan.total_steps`` or early stopping."""
    device, data = ctx.device, plan.data
    ddp_model: nn.Module = DistributedDataParallel(trainer.model, device_ids=[device.index] if device.type == "cuda"
                                                   else None) if ctx.distributed else trainer.model
    train_ds = WindowDataset(cfg.fasta, data.windows.iloc[plan.train_idx], data.targets[plan.train_idx],
                             plan.geometry, rc_augment=cfg.rc_augment, max_shift=cfg.max_shift, seed=cfg.seed,
                             max_bin_shift=plan.max_bin_shift)
    # each process predicts a contiguous share of the validation windows
    val_share = np.array_split(plan.val_idx, ctx.world_size)[ctx.rank]
    val_ds = WindowDataset(cfg.fasta, data.windows.iloc[val_share], data.targets[val_share], plan.geometry)
    val_obs = data.targets[plan.val_idx]
    metrics = MetricsLogger(plan.out, resume_step=state.step if cfg.resume else None, enabled=ctx.is_main)
    bar = progress(total=plan.total_steps, initial=state.step, desc="train", unit="step", disable=not ctx.is_main)
    stop = state.step >= plan.total_steps
    t_last = time.perf_counter()
    try:
        while not stop:
            train_ds.set_epoch(state.epoch)
            sampler = StepBatchSampler(len(train_ds), cfg.seed, state.epoch, state.pos, plan.steps_per_epoch,
                                       cfg.batch_size, cfg.accumulate, ctx.rank, ctx.world_size)
            # own generator: creating the loader must not draw from the global stream (dropout) that last.pt saves
            loader = DataLoader(train_ds, batch_sampler=sampler, num_workers=cfg.num_workers,
                                pin_memory=device.type == "cuda",
                                generator=torch.Generator().manual_seed(state.epoch))
            batches = iter(loader)
            epoch_done = False
            while not (epoch_done or stop):
                micro = [next(batches) for _ in range(cfg.accumulate)]
                lr = cfg.lr * trainer.sched.factor()
                loss, grad_norm = train_step(
                    ddp_model, micro, state.step + 1, opt=trainer.opt, scaler=trainer.scaler, sched=trainer.sched,
                    loss_name=cfg.loss, dtype=plan.dtype, device=device, clip_grad=cfg.clip_grad,
                    params=trainer.params, ctx=ctx, stage_weight=cfg.stage_weight)
                state.step, state.pos = state.step + 1, state.pos + 1
                now = time.perf_counter()
                row: dict[str, Any] = {"step": state.step, "epoch": state.epoch + 1, "lr": lr,
                                       "train_loss": loss, "grad_norm": grad_norm,
                                       "samples_per_s": plan.global_batch / (now - t_last)}
                epoch_done = state.pos == plan.steps_per_epoch
                if epoch_done:  # last.pt then resumes at the start of the next epoch
                    state.epoch, state.pos = state.epoch + 1, 0
                stop = state.step >= plan.total_steps
                if state.step % cfg.val_every == 0 or stop:
                    stop = _validate_and_save(cfg, ctx, plan, trainer, state, row, val_ds, val_obs, stop)
                metrics.log(row)
                bar.set_postfix(loss=f"{loss:.3f}", samples_per_s=f"{row['samples_per_s']:.1f}")
                bar.update(1)
                t_last = time.perf_counter()
    finally:
        bar.close()
        metrics.close()


def _validate_and_save(
    cfg: TrainConfig, ctx: DistContext, plan: RunPlan, trainer: Trainer, state: Progress, row: dict[str, Any],
    val_ds: WindowDataset, val_obs: np.ndarray, stop: bool,
) -> bool:
    """Validate, record ``val_loss``/``val_pearson`` in ``row``, update ``state``, write ``best.pt``/``last.pt``.

    Returns whether training stops (``stop``, or early stopping after ``cfg.patience`` validations).
    """
    row["val_loss"], row["val_pearson"] = _validate(trainer.model, val_ds, val_obs, cfg, ctx)
    trainer.sched.observe(row["val_loss"])
    improved = row["val_loss"] < state.best_loss
    state.best_loss, state.bad = (row["val_loss"], 0) if improved else (state.best_loss, state.bad + 1)
    log.info("step %d: train loss %.4f, val loss %.4f, val pearson %.4f%s", state.step, row["train_loss"],
             row["val_loss"], row["val_pearson"], " (best)" if improved else "")
    if cfg.patience and state.bad >= cfg.patience and not stop:
        log.info("early stopping at step %d: no lower validation loss in %d validations", state.step, state.bad)
        stop = True
    rngs = gather_all(rng_state(), ctx)
    if not ctx.is_main:
        return stop
    if improved:
        save_checkpoint(plan.out / "best.pt", trainer.model, {
            **trainer.payload, "step": state.step, "val_loss": row["val_loss"], "val_pearson": row["val_pearson"]})
    save_checkpoint(plan.out / "last.pt", trainer.model, {
        **trainer.payload, "step": state.step, "epoch": state.epoch, "position": state.pos,
        "optimizer": trainer.opt.state_dict(), "scheduler": trainer.sched.state_dict(),
        "scaler": trainer.scaler.state_dict(), "rng": rngs, "best_val_loss": state.best_loss,
        "bad_validations": state.bad, "val_loss": row["val_loss"]})
    return stop


def train_step(
    model: nn.Module,
    micro_batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    step: int = 0,
    *,
    opt: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    sched: WarmupSchedule | None,
    loss_name: str,
    dtype: torch.dtype | None,
    device: torch.device,
    clip_grad: float,
    params: Sequence[torch.Tensor],
    ctx: DistContext = SINGLE_PROCESS,
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
    non-finite loss on any rank raises :class:`FloatingPointError`, naming
    ``step`` (the number of this optimizer step), before the optimizer step.
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
    """Validation loss and mean per-window Pearson over all validation windows ``obs`` ``(N, n_bins, n_tracks)``.

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
    return loss, mean_window_pearson(pred, obs)
