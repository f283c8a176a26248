"""Evaluate a checkpoint on one split of ``targets.h5``: metrics, predictions, bigWigs and plots."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from stagevep import __version__
from stagevep.core.metrics import (
    REFERENCES,
    column_pearson,
    mean_profile,
    mean_window_pearson,
    metric_table,
    per_window_pearson,
    shuffled,
    to_raw,
    window_mean_pearson,
    window_totals,
)
from stagevep.data.dataset import WindowDataset
from stagevep.errors import InputError
from stagevep.evaluate.tracks import per_base_signal, write_prediction_bigwigs
from stagevep.io.files import atomic_path
from stagevep.io.genome import fasta_lengths
from stagevep.io.hdf5 import TargetSet, read_targets, write_targets
from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
from stagevep.model.predict import predict_batches, resolve_device
from stagevep.plots.evaluate import plot_evaluation

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["split", "prediction", "space", "metric", "track", "value", "n_windows"]
#: the pooled figures that open the report and ``metrics.json``'s ``headline``, each beside its references
#: seeded permutations whose metrics are averaged for the ``shuffled`` reference (one alone varies by about
#: 1 / sqrt(windows): 0.1 for 100 windows)
SHUFFLES = 20
HEADLINE_METRICS = ("pearson_window_totals", "r2_stage_deviation", "stage_specificity", "mean_window_pearson")


def check_compatible(ckpt: dict[str, Any], data: TargetSet, checkpoint: str | Path, targets: str | Path) -> None:
    """Reject a checkpoint whose tracks, geometry or target transform disagree with the targets file.

    The message names both files and both values.
    """
    geometry = checkpoint_geometry(ckpt)
    problems = []
    if list(ckpt["tracks"]) != data.tracks:
        problems.append(f"tracks {list(ckpt['tracks'])} in the checkpoint but {data.tracks} in the targets")
    if geometry != data.geometry:
        problems.append(f"geometry {geometry.to_dict()} in the checkpoint but {data.geometry.to_dict()} in the targets")
    ckpt_transform = (ckpt.get("target_transform") or {}).get("transform")
    if ckpt_transform is not None and ckpt_transform != data.attrs.get("transform"):
        problems.append(f"target transform {ckpt_transform!r} in the checkpoint but "
                        f"{data.attrs.get('transform')!r} in the targets")
    if problems:
        raise InputError(
            f"checkpoint {checkpoint} does not match targets {targets}: " + "; ".join(problems)
            + ". Evaluate a checkpoint with the targets file it was trained on (same stages, in the same order, "
            "and the same window geometry)."
        )


def read_raw_sums(path: str | Path, idx: np.ndarray) -> np.ndarray | None:
    """``raw_sums`` ``(len(idx), n_bins, n_tracks)`` of the rows ``idx`` of ``targets.h5``; None if absent."""
    with h5py.File(path, "r") as h5:
        if "raw_sums" not in h5:
            return None
        return h5["raw_sums"][...][idx]


def evaluate(
    checkpoint: str | Path,
    targets: str | Path,
    fasta: str | Path,
    out_dir: str | Path,
    split: str = "test",
    batch_size: int = 4,
    device: str = "auto",
    precision: str = "auto",
    rc_average: bool = False,
) -> pd.DataFrame:
    """Predict the windows of ``split`` and write every evaluation output into ``out_dir``.

    Outputs (``docs/output.md`` defines each): ``metrics.tsv``,
    ``metrics.json``, ``window_metrics.tsv``, ``predictions.h5``,
    ``bigwig/<stage>.pred.bw`` and ``plots/``. Metrics are computed for the
    plain (``forward``) predictions, and with ``rc_average`` also for the
    reverse-complement averaged ones (``rc_average``) from the same forward
    passes; each in the ``transformed`` target space and, where ``targets.h5``
    has ``raw_sums``, in the ``raw`` space. The per-window table, bigWigs and
    plots use the reverse-complement averaged predictions when ``rc_average``
    is set, else the plain ones. Returns the metrics table.
    """
    dev = resolve_device(device)
    model, ckpt = load_checkpoint(checkpoint, dev)
    data = read_targets(targets)
    check_compatible(ckpt, data, checkpoint, targets)
    transform = data.attrs.get("transform")
    if transform is None:
        raise InputError(f"{targets} has no 'transform' attribute: remake it with make_targets.py")
    idx = data.split_index(split)
    if len(idx) == 0:
        raise InputError(f"{targets} has no windows in split {split!r}: choose another --split")
    windows = data.windows.iloc[idx].reset_index(drop=True)
    obs = data.targets[idx]
    raw_obs = read_raw_sums(targets, idx)
    if raw_obs is None:
        log.warning("%s has no raw_sums dataset: raw-space metrics are left out", targets)
    geometry = data.geometry

    ds = WindowDataset(fasta, windows, None, geometry)
    n_batches = -(-len(ds) // batch_size)
    if rc_average:
        averaged, forward = predict_batches(model, ds.onehot_batches(batch_size), dev, precision, total=n_batches,
                                            desc="evaluate", rc_average=True, with_forward=True)
        predictions = {"forward": forward, "rc_average": averaged}
    else:
        forward = predict_batches(model, ds.onehot_batches(batch_size), dev, precision, total=n_batches,
                                  desc="evaluate")
        predictions = {"forward": forward}
    primary_name = "rc_average" if rc_average else "forward"
    primary = predictions[primary_name]

    train_idx = data.split_index("train")
    raw_train = read_raw_sums(targets, train_idx) if raw_obs is not None else None
    spaces_of = {name: {"transformed": pred} for name, pred in predictions.items()}
    spaces_of["mean_profile"] = {"transformed": mean_profile(data.targets[train_idx], len(idx))}
    if raw_obs is not None:
        for name, pred in predictions.items():
            spaces_of[name]["raw"] = to_raw(pred, transform)
        spaces_of["mean_profile"]["raw"] = mean_profile(raw_train, len(idx))
    observed = {"transformed": obs, "raw": raw_obs}
    tables = []
    for name, spaces in spaces_of.items():
        for space, p in spaces.items():
            tables.append(_labelled(metric_table(p, observed[space], data.tracks), name, space))
    for space in spaces_of[primary_name]:  # the mean over SHUFFLES seeded permutations
        runs = [metric_table(shuffled(primary, seed) if space == "transformed"
                             else to_raw(shuffled(primary, seed), transform), observed[space], data.tracks)
                for seed in range(SHUFFLES)]
        values = np.stack([r["value"].to_numpy(dtype=np.float64) for r in runs])
        with warnings.catch_warnings():  # a metric undefined in every permutation stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(values, axis=0)
        tables.append(_labelled(runs[0].assign(value=mean), "shuffled", space))
    metrics = pd.concat(tables, ignore_index=True)
    metrics.insert(0, "split", split)
    metrics["n_windows"] = len(idx)
    metrics = metrics[METRIC_COLUMNS]

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_window = per_window_pearson(primary, obs)
    score = window_mean_pearson(primary, obs)
    window_table = windows[["chrom", "start", "end"]].copy()
    for t, track in enumerate(data.tracks):
        window_table[f"{track}_pearson"] = per_window[:, t]
    window_table["mean_pearson"] = score
    _write_text(out / "window_metrics.tsv", window_table.to_csv(sep="\t", index=False, float_format="%.6g",
                                                                na_rep="NA"))

    extra = {"predictions_rc_average": predictions["rc_average"]} if rc_average else None
    write_targets(out / "predictions.h5", forward, windows, data.tracks, geometry,
                  {"split": split, "checkpoint": str(checkpoint), "transform": transform,
                   "rc_average": rc_average, "stagevep_version": __version__},
                  dataset="predictions", extra=extra)
    write_prediction_bigwigs(per_base_signal(primary, transform, geometry.bin_size), windows, data.tracks,
                             fasta_lengths(fasta), geometry.bin_size, out / "bigwig")
    totals_pred, totals_obs = window_totals(primary), window_totals(obs)
    plot_evaluation(primary, obs, windows, data.tracks, per_window, score, geometry.bin_size, out / "plots",
                    totals=(totals_pred, totals_obs),
                    pearson=(_track_pearson(obs.reshape(-1, obs.shape[-1]), primary.reshape(-1, obs.shape[-1])),
                             _track_pearson(totals_obs, totals_pred)))

    _write_text(out / "metrics.tsv", metrics.to_csv(sep="\t", index=False, float_format="%.6g", na_rep="NA"))
    summary = {
        "split": split,
        "n_windows": int(len(idx)),
        "rc_average": rc_average,
        "checkpoint": {"path": str(checkpoint), "step": ckpt.get("step"), "val_loss": ckpt.get("val_loss"),
                       "tracks": list(ckpt["tracks"]), "geometry": geometry.to_dict(),
                       "stagevep_version": ckpt.get("stagevep_version")},
        "targets": {"path": str(targets), "transform": transform,
                    "clip_percentile": data.attrs.get("clip_percentile"), "fasta": data.attrs.get("fasta"),
                    "raw_sums": raw_obs is not None},
        "fasta": str(fasta),
        "stagevep_version": __version__,
        "headline": headline(metrics, primary_name),
        "metrics": _nested(metrics),
    }
    _write_text(out / "metrics.json", json.dumps(summary, indent=2, allow_nan=False, default=str) + "\n")
    log.info("%s split: mean per-window Pearson %.4f over %d windows (%s predictions)",
             split, mean_window_pearson(primary, obs), len(idx), primary_name)
    return metrics


def _track_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson of each column of ``(n, n_tracks)`` arrays, one column at a time: ``(n_tracks,)``.

    Each column is copied to a contiguous ``(n, 1)`` array first, as the scatter titles have always been computed.
    """
    return np.array([column_pearson(np.ascontiguousarray(x[:, [t]]), np.ascontiguousarray(y[:, [t]]))[0]
                     for t in range(x.shape[1])])


def _labelled(table: pd.DataFrame, prediction: str, space: str) -> pd.DataFrame:
    """``table`` with the ``prediction`` and ``space`` columns in front."""
    table = table.copy()
    table.insert(0, "space", space)
    table.insert(0, "prediction", prediction)
    return table


def headline(metrics: pd.DataFrame, primary: str) -> dict[str, dict[str, float | None]]:
    """``{metric: {"model": v, "mean_profile": v, "shuffled": v}}``: pooled (``all``), target space.

    ``model`` is the ``primary`` prediction (``rc_average`` when computed, else ``forward``).
    NaN (e.g. a correlation with the constant totals of the mean profile) is None.
    """
    pooled = metrics[(metrics["track"] == "all") & (metrics["space"] == "transformed")]
    value = pooled.set_index(["prediction", "metric"])["value"]
    out: dict[str, dict[str, float | None]] = {}
    for metric in HEADLINE_METRICS:
        row = {"model": value[(primary, metric)], **{ref: value[(ref, metric)] for ref in REFERENCES}}
        out[metric] = {k: None if np.isnan(v) else float(v) for k, v in row.items()}
    return out


def _nested(metrics: pd.DataFrame) -> dict[str, Any]:
    """``{prediction: {space: {metric: {track: value}}}}`` with NaN as None (JSON null)."""
    nested: dict[str, Any] = {}
    for pred, space, metric, track, value in metrics[["prediction", "space", "metric", "track", "value"]].itertuples(
        index=False
    ):
        nested.setdefault(pred, {}).setdefault(space, {}).setdefault(metric, {})[track] = (
            None if np.isnan(value) else float(value)
        )
    return nested


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
