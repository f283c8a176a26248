"""Learning-rate schedules: linear warmup, then cosine decay or reduce-on-plateau."""

from __future__ import annotations

import math
from typing import Any

import torch

from stagevep.errors import InputError

SCHEDULES = ("cosine", "plateau")


class WarmupSchedule:
    """Multiplies every parameter group's base learning rate by a factor that depends on the step.

    * warmup: the factor rises linearly from ``1 / warmup_steps`` to 1 over
      the first ``warmup_steps`` optimizer steps;
    * ``cosine``: then falls as half a cosine to ``min_factor`` at ``total_steps``;
    * ``plateau``: then stays at 1 and is multiplied by ``plateau_factor``
      whenever ``plateau_patience`` validations in a row did not improve the
      validation loss (see :meth:`observe`).

    Call :meth:`step` after each optimizer step. ``state_dict`` /
    ``load_state_dict`` make it resumable like a torch scheduler.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        kind: str,
        warmup_steps: int,
        total_steps: int,
        plateau_factor: float = 0.5,
        plateau_patience: int = 2,
        min_factor: float = 0.0,
    ) -> None:
        if kind not in SCHEDULES:
            raise InputError(f"--schedule must be one of {SCHEDULES}, got {kind!r}")
        self.optimizer, self.kind = optimizer, kind
        self.warmup_steps, self.total_steps = max(0, warmup_steps), max(1, total_steps)
        self.plateau_factor, self.plateau_patience, self.min_factor = plateau_factor, plateau_patience, min_factor
        self.base_lrs = [g.setdefault("initial_lr", g["lr"]) for g in optimizer.param_groups]
        self.last_step = 0
        self.plateau_scale = 1.0
        self.best = math.inf
        self.bad = 0
        self._apply()

    def factor(self, step: int | None = None) -> float:
        """Factor applied to the base learning rates before optimizer step ``step + 1``."""
        step = self.last_step if step is None else step
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "plateau":
            return self.plateau_scale
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    def step(self) -> None:
        """Advance one optimizer step."""
        self.last_step += 1
        self._apply()

    def observe(self, val_loss: float) -> None:
        """Record a validation loss; on ``plateau`` (after warmup) may lower the learning rate."""
        if val_loss < self.best:
            self.best, self.bad = val_loss, 0
            return
        self.bad += 1
        if self.kind == "plateau" and self.last_step >= self.warmup_steps and self.bad >= self.plateau_patience:
            self.plateau_scale *= self.plateau_factor
            self.bad = 0
            self._apply()

    def get_last_lr(self) -> list[float]:
        """Current learning rate of every parameter group."""
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {"last_step": self.last_step, "plateau_scale": self.plateau_scale, "best": self.best, "bad": self.bad,
                "kind": self.kind}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_step, self.plateau_scale = int(state["last_step"]), float(state["plateau_scale"])
        self.best, self.bad = float(state["best"]), int(state["bad"])
        self._apply()

    def _apply(self) -> None:
        f = self.factor()
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * f
