"""Predicted variant effects against the synthetic dataset's true effects (``variants_truth.tsv``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from stagevep.errors import InputError

#: figures of :func:`effect_agreement`, in the order they are printed
AGREEMENT = ("signed_auc", "sign_accuracy", "stage_accuracy", "effect_pearson")


def read_truth(path: str | Path) -> pd.DataFrame:
    """``variants_truth.tsv`` as written by :func:`~stagevep.synthetic.generate.make_synthetic_dataset`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"variant truth table not found: {path}")
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NA"], dtype={"id": str, "group": str})


def effect_agreement(
    scores: pd.DataFrame, truth: pd.DataFrame, tracks: list[str], positive: str = "functional",
    negative: str = "flank",
) -> dict[str, float]:
    """How well the predicted per-stage effects of ``scores`` match the ``truth``.

    ``scores`` is a ``scores.tsv`` table (``id``, ``status``, ``<stage>_delta_signal``, ``effect``,
    ``effect_stage``); ``truth`` has ``id``, ``group``, ``true_stage`` and ``true_<stage>``.
    Scored variants only. Returns:

    - ``signed_auc``: ROC AUC of ``-effect`` (losses first), ``positive`` against ``negative``;
    - ``sign_accuracy``: fraction of ``positive`` variants whose ``effect`` has the true sign;
    - ``stage_accuracy``: fraction of ``positive`` variants with a single true stage of largest
      effect (``true_stage`` not empty) whose ``effect_stage`` is that stage;
    - ``effect_pearson``: Pearson, over every scored variant and stage, of ``<stage>_delta_signal``
      against ``true_<stage>``.
    """
    merged = scores.merge(truth[["id", "group", "true_stage", *(f"true_{t}" for t in tracks)]], on="id",
                          suffixes=("", "_truth"), validate="one_to_one")
    if len(merged) != len(truth):
        raise InputError(f"{len(truth) - len(merged)} variant(s) of the truth table are missing from the scores")
    ok = merged[merged["status"] == "ok"]
    group = ok["group_truth"] if "group_truth" in ok else ok["group"]
    pos, neg = ok[group == positive], ok[group == negative]
    true_pos = pos[[f"true_{t}" for t in tracks]].to_numpy(dtype=float)
    true_sign = np.sign(true_pos[np.arange(len(pos)), np.abs(true_pos).argmax(axis=1)])
    staged = pos[pos["true_stage"].fillna("") != ""]
    pred = ok[[f"{t}_delta_signal" for t in tracks]].to_numpy(dtype=float).ravel()
    true = ok[[f"true_{t}" for t in tracks]].to_numpy(dtype=float).ravel()
    return {
        "signed_auc": float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))],
                                          -np.r_[pos["effect"].to_numpy(float), neg["effect"].to_numpy(float)])),
        "sign_accuracy": float(np.mean(np.sign(pos["effect"].to_numpy(float)) == true_sign)),
        "stage_accuracy": float(np.mean(staged["effect_stage"] == staged["true_stage"])),
        "effect_pearson": float(np.corrcoef(pred, true)[0, 1]),
    }
