"""Evaluate a checkpoint on one split of ``targets.h5``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from stagevep.data.dataset import WindowDataset
from stagevep.errors import InputError
from stagevep.evaluate.metrics import pearson_all_bins, per_window_pearson, seed_metric
from stagevep.io.hdf5 import read_targets, write_targets
from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
from stagevep.model.predict import predict_batches, resolve_device

log = logging.getLogger(__name__)


def evaluate(
    checkpoint: str | Path,
    targets: str | Path,
    fasta: str | Path,
    out_dir: str | Path,
    split: str = "test",
    batch_size: int = 4,
    device: str = "auto",
    precision: str = "auto",
) -> pd.DataFrame:
    """Predict the windows of ``split`` and write ``metrics.tsv``, ``metrics.json`` and ``predictions.h5``.

    Metrics: ``mean_window_pearson`` (the seed's figure; per track, the mean over
    windows of the Pearson across bins) and ``pearson_all_bins`` (Pearson over
    all bins of the split concatenated). Returns the metrics table.
    """
    dev = resolve_device(device)
    model, ckpt = load_checkpoint(checkpoint, dev)
    data = read_targets(targets)
    geometry = checkpoint_geometry(ckpt)
    if list(ckpt["tracks"]) != data.tracks or geometry != data.geometry:
        raise InputError(
            f"checkpoint {checkpoint} (tracks {ckpt['tracks']}, geometry {geometry.to_dict()}) does not match "
            f"targets {targets} (tracks {data.tracks}, geometry {data.geometry.to_dict()})"
        )
    idx = data.split_index(split)
    if len(idx) == 0:
        raise InputError(f"{targets} has no windows in split {split!r}")
    windows = data.windows.iloc[idx].reset_index(drop=True)
    obs = data.targets[idx]
    ds = WindowDataset(fasta, windows, None, geometry)
    pred = predict_batches(model, ds.onehot_batches(batch_size), dev, precision,
                           total=-(-len(ds) // batch_size), desc="evaluate")

    per_window = per_window_pearson(pred, obs)
    all_bins = pearson_all_bins(pred, obs)
    rows = []
    for t, track in enumerate(data.tracks):
        rows.append(("mean_window_pearson", track, float(np.nanmean(per_window[:, t]))))
        rows.append(("pearson_all_bins", track, float(all_bins[t])))
    overall = seed_metric(pred, obs)
    rows.append(("mean_window_pearson", "all", overall))
    rows.append(("pearson_all_bins", "all", float(np.nanmean(all_bins))))
    metrics = pd.DataFrame(rows, columns=["metric", "track", "value"])
    metrics.insert(0, "split", split)
    metrics["n_windows"] = len(idx)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics.to_csv(out / "metrics.tsv", sep="\t", index=False, float_format="%.6g")
    summary = {
        "split": split,
        "n_windows": int(len(idx)),
        "checkpoint": str(checkpoint),
        "targets": str(targets),
        "metrics": {f"{m}/{t}": v for _, m, t, v, _ in metrics.itertuples(index=False)},
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_targets(out / "predictions.h5", pred, windows, data.tracks, geometry,
                  {"split": split, "checkpoint": str(checkpoint)}, dataset="predictions")
    log.info("%s split: seed metric (mean per-window Pearson) %.4f over %d windows",
             split, overall, len(idx))
    return metrics
