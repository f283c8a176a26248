"""Training metrics: ``metrics.csv`` (one row per optimizer step) and TensorBoard events."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from stagevep.io.files import atomic_path

METRICS_COLUMNS = ["step", "epoch", "lr", "train_loss", "val_loss", "val_pearson", "grad_norm", "samples_per_s"]


class MetricsLogger:
    """Appends rows to ``out_dir/metrics.csv`` and scalars to ``out_dir/tensorboard/``.

    ``resume_step`` (when resuming) drops rows and events logged after that
    step by the interrupted run, so both logs read as one run. With
    ``enabled=False`` (ranks other than 0) nothing is written.
    """

    def __init__(self, out_dir: str | Path, resume_step: int | None = None, enabled: bool = True) -> None:
        self.enabled = enabled
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        out = Path(out_dir)
        self.path = out / "metrics.csv"
        kept = _rows_up_to(self.path, resume_step) if resume_step is not None else []
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=METRICS_COLUMNS)
            writer.writeheader()
            writer.writerows(kept)
        self._fh = open(self.path, "a", newline="")
        self._csv = csv.DictWriter(self._fh, fieldnames=METRICS_COLUMNS)
        self._tb = SummaryWriter(log_dir=str(out / "tensorboard"), purge_step=resume_step)

    def log(self, row: dict[str, Any]) -> None:
        """Write one step's row; missing columns stay empty."""
        if not self.enabled:
            return
        self._csv.writerow({k: row.get(k, "") for k in METRICS_COLUMNS})
        self._fh.flush()
        step = int(row["step"])
        for key, tag in (("train_loss", "train/loss"), ("lr", "train/lr"), ("grad_norm", "train/grad_norm"),
                         ("samples_per_s", "train/samples_per_s"), ("val_loss", "val/loss"),
                         ("val_pearson", "val/pearson")):
            value = row.get(key)
            if value is not None and value != "" and math.isfinite(float(value)):
                self._tb.add_scalar(tag, float(value), step)

    def close(self) -> None:
        if self.enabled:
            self._fh.close()
            self._tb.close()


def _rows_up_to(path: Path, step: int) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [r for r in csv.DictReader(fh) if r.get("step") and int(r["step"]) <= step]
