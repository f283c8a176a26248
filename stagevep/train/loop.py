"""Finetune a :class:`~stagevep.model.enformer.StageEnformer` on ``targets.h5``."""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from stagevep.data.dataset import WindowDataset
from stagevep.errors import InputError
from stagevep.evaluate.metrics import seed_metric
from stagevep.io.hdf5 import read_targets
from stagevep.model.checkpoint import save_checkpoint
from stagevep.model.enformer import (
    StageEnformer,
    apply_finetune_policy,
    build_model,
    freeze_batchnorm_of_frozen,
    model_config,
)
from stagevep.model.predict import autocast_dtype, predict_batches, resolve_device
from stagevep.progress import progress

log = logging.getLogger(__name__)

LOSSES = ("poisson", "mse")
METRICS_COLUMNS = ["step", "epoch", "lr", "train_loss", "val_loss", "val_pearson", "grad_norm", "samples_per_s"]


@dataclass
class TrainConfig:
    """Everything a training run depends on; written to ``config.json``."""

    targets: str
    fasta: str
    out_dir: str
    pretrained: str | None = None
    model_size: str = "full"
    finetune: str = "all"
    unfreeze_last_n: int = 2
    loss: str = "poisson"
    lr: float = 1e-4
    weight_decay: float = 0.01
    batch_size: int = 4
    max_steps: int = 1000
    val_every: int = 200
    clip_grad: float = 0.5
    rc_augment: bool = True
    precision: str = "auto"
    device: str = "auto"
    num_workers: int = 0
    seed: int = 0


def loss_fn(name: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean loss over ``(batch, n_bins, n_tracks)``: Poisson NLL (rate ``pred``) or MSE."""
    if name == "poisson":
        return F.poisson_nll_loss(pred, target, log_input=False, full=False, eps=1e-8)
    if name == "mse":
        return F.mse_loss(pred, target)
    raise InputError(f"--loss must be one of {LOSSES}, got {name!r}")


def train(cfg: TrainConfig) -> Path:
    """Train and write ``best.pt``, ``last.pt``, ``metrics.csv`` and ``config.json`` to ``cfg.out_dir``.

    Validation (loss and the seed's per-window Pearson on the ``val`` split)
    runs every ``val_every`` steps and at the end; ``best.pt`` holds the
    lowest validation loss. A non-finite loss aborts with the step number
    and writes no checkpoint. Returns the path of ``best.pt``.
    """
    if cfg.loss not in LOSSES:
        raise InputError(f"--loss must be one of {LOSSES}, got {cfg.loss!r}")
    if cfg.max_steps < 1 or cfg.batch_size < 1 or cfg.val_every < 1:
        raise InputError("--max-steps, --batch-size and --val-every must be positive")
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")

    data = read_targets(cfg.targets)
    geometry = data.geometry
    train_idx, val_idx = data.split_index("train"), data.split_index("val")
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise InputError(
            f"{cfg.targets} has {len(train_idx)} train and {len(val_idx)} val windows; both splits are needed"
        )
    device = resolve_device(cfg.device)
    dtype = autocast_dtype(cfg.precision, device)
    mcfg = model_config(cfg.model_size, geometry)
    model = build_model(mcfg, len(data.tracks), cfg.pretrained).to(device)
    apply_finetune_policy(model, cfg.finetune, cfg.unfreeze_last_n)
    params = [p for p in model.parameters() if p.requires_grad]
    log.info(
        "model %s: %d parameters, %d trainable; device %s, precision %s",
        cfg.model_size, sum(p.numel() for p in model.parameters()), sum(p.numel() for p in params),
        device, dtype or "fp32",
    )
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _warmup_cosine(cfg.max_steps))
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

    train_ds = WindowDataset(cfg.fasta, data.windows.iloc[train_idx], data.targets[train_idx], geometry,
                             rc_augment=cfg.rc_augment, seed=cfg.seed)
    val_ds = WindowDataset(cfg.fasta, data.windows.iloc[val_idx], data.targets[val_idx], geometry)
    gen = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=True, drop_last=len(train_ds) >= cfg.batch_size,
                        num_workers=cfg.num_workers, generator=gen)
    payload = {
        "model_config": mcfg,
        "tracks": data.tracks,
        "geometry": geometry.to_dict(),
        "target_transform": {k: data.attrs.get(k) for k in ("transform", "clip_percentile", "clip_scope")},
        "train_config": asdict(cfg),
    }

    best_loss = math.inf
    step, epoch = 0, 0
    metrics_path = out / "metrics.csv"
    with open(metrics_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=METRICS_COLUMNS)
        writer.writeheader()
        bar = progress(total=cfg.max_steps, desc="train", unit="step")
        while step < cfg.max_steps:
            epoch += 1
            for x, y in loader:
                model.train()
                freeze_batchnorm_of_frozen(model)
                t0 = time.perf_counter()
                x, y = x.to(device), y.to(device)
                with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                    pred = model(x)
                loss = loss_fn(cfg.loss, pred.float(), y)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"non-finite training loss ({loss.item()}) at step {step + 1}; no checkpoint written. "
                        "Lower --lr or use --precision fp32."
                    )
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
                grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad))
                scaler.step(opt)
                scaler.update()
                sched.step()
                step += 1
                row = {"step": step, "epoch": epoch, "lr": sched.get_last_lr()[0], "train_loss": loss.item(),
                       "grad_norm": grad_norm, "samples_per_s": len(x) / (time.perf_counter() - t0)}
                if step % cfg.val_every == 0 or step == cfg.max_steps:
                    row["val_loss"], row["val_pearson"] = _validate(model, val_ds, cfg, device)
                    log.info("step %d: train loss %.4f, val loss %.4f, val pearson %.4f",
                             step, row["train_loss"], row["val_loss"], row["val_pearson"])
                    if row["val_loss"] < best_loss:
                        best_loss = row["val_loss"]
                        save_checkpoint(out / "best.pt", model, {**payload, "step": step, "val_loss": best_loss})
                writer.writerow(row)
                fh.flush()
                bar.set_postfix(loss=f"{row['train_loss']:.3f}", sps=f"{row['samples_per_s']:.1f}")
                bar.update(1)
                if step >= cfg.max_steps:
                    break
        bar.close()
    save_checkpoint(out / "last.pt", model, {**payload, "step": step, "optimizer": opt.state_dict(),
                                             "scheduler": sched.state_dict()})
    log.info("training done after %d steps; best val loss %.4f; checkpoints in %s", step, best_loss, out)
    return out / "best.pt"


def _validate(model: StageEnformer, ds: WindowDataset, cfg: TrainConfig, device: torch.device) -> tuple[float, float]:
    pred = predict_batches(model, ds.onehot_batches(cfg.batch_size), device, cfg.precision, desc="validate")
    obs = ds.targets
    loss = float(loss_fn(cfg.loss, torch.from_numpy(pred), torch.from_numpy(obs)))
    return loss, seed_metric(pred, obs)


def _warmup_cosine(total: int, warmup_frac: float = 0.05):
    warmup = max(1, int(total * warmup_frac))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return schedule
