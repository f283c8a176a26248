"""Group comparison of variant scores (functional vs non-functional)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from stagevep.errors import InputError

log = logging.getLogger(__name__)

STAT_COLUMNS = [
    "metric", "kind", "positive_group", "negative_group", "n_pos", "n_neg", "mean_pos", "mean_neg", "median_pos",
    "median_neg", "mannwhitney_u", "mannwhitney_p", "welch_t", "welch_p", "cohens_d", "auc", "auc_ci_low",
    "auc_ci_high", "note",
]


def cohens_d(pos: np.ndarray, neg: np.ndarray) -> float:
    """``(mean_pos - mean_neg) / pooled SD`` with ddof=1; NaN when undefined."""
    n1, n2 = len(pos), len(neg)
    if n1 < 2 or n2 < 2:
        return float("nan")
    pooled = ((n1 - 1) * pos.var(ddof=1) + (n2 - 1) * neg.var(ddof=1)) / (n1 + n2 - 2)
    return float((pos.mean() - neg.mean()) / np.sqrt(pooled)) if pooled > 0 else float("nan")


def bootstrap_auc_ci(pos: np.ndarray, neg: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the ROC AUC, resampling each group with replacement (stratified)."""
    if len(pos) < 2 or len(neg) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    aucs = np.empty(n_boot)
    for b in range(n_boot):
        s = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        aucs[b] = roc_auc_score(y, s)
    lo, hi = np.percentile(aucs, [2.5, 97.5])
    return float(lo), float(hi)


def compare_two(pos: np.ndarray, neg: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """All statistics for two samples; those needing >= 2 per group are NaN otherwise."""
    nan = float("nan")
    res = {
        "n_pos": len(pos), "n_neg": len(neg),
        "mean_pos": float(np.mean(pos)) if len(pos) else nan, "mean_neg": float(np.mean(neg)) if len(neg) else nan,
        "median_pos": float(np.median(pos)) if len(pos) else nan,
        "median_neg": float(np.median(neg)) if len(neg) else nan,
        "mannwhitney_u": nan, "mannwhitney_p": nan, "welch_t": nan, "welch_p": nan,
        "cohens_d": cohens_d(pos, neg), "auc": nan, "auc_ci_low": nan, "auc_ci_high": nan,
    }
    if len(pos) and len(neg):
        mw = stats.mannwhitneyu(pos, neg, alternative="two-sided")
        res["mannwhitney_u"], res["mannwhitney_p"] = float(mw.statistic), float(mw.pvalue)
        res["auc"] = float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))
    if len(pos) >= 2 and len(neg) >= 2:
        wt = stats.ttest_ind(pos, neg, equal_var=False)
        res["welch_t"], res["welch_p"] = float(wt.statistic), float(wt.pvalue)
        res["auc_ci_low"], res["auc_ci_high"] = bootstrap_auc_ci(pos, neg, n_boot, seed)
    return res


def score_metrics(scores: pd.DataFrame) -> list[tuple[str, str]]:
    """``(column, kind)`` of every compared score: magnitudes first, then signed effects.

    Magnitudes (``kind`` = ``magnitude``): ``score`` and every ``<stage>_abs_log2fc``. Signed
    (``kind`` = ``signed``; a loss is negative): ``effect`` and every ``<stage>_delta_signal``,
    where the table has them.
    """
    magnitude = ["score"] + [c for c in scores.columns if c.endswith("_abs_log2fc")]
    signed = [c for c in ("effect",) if c in scores.columns] + [c for c in scores.columns
                                                                if c.endswith("_delta_signal")]
    return [(c, "magnitude") for c in magnitude] + [(c, "signed") for c in signed]


def resolve_negative_groups(groups: list[str], positive_group: str, negative_group: str | None) -> list[str]:
    """The negative groups: those named in ``negative_group`` (joined by ``,`` or ``+``) or, when it is empty,
    every group of ``groups`` but ``positive_group``. Sorted; :class:`InputError` for an unknown group or
    one that is the positive group."""
    if not negative_group:
        return [g for g in groups if g != positive_group]
    negatives = sorted({g.strip() for g in negative_group.replace("+", ",").split(",") if g.strip()})
    unknown = [g for g in negatives if g not in groups]
    if unknown or positive_group in negatives:
        problem = (f"{unknown} not among the groups present {groups}" if unknown
                   else f"it includes the positive group {positive_group!r}")
        raise InputError(f"--negative_group {negative_group!r}: {problem}. Give one or more other groups "
                         "(comma-separated), or leave it empty to compare against all other groups")
    return negatives


def group_stats(
    scores: pd.DataFrame, positive_group: str = "functional", n_boot: int = 1000, seed: int = 0,
    negative_group: str | None = None,
) -> pd.DataFrame:
    """Compare ``positive_group`` against ``negative_group`` (default: every other labelled group).

    One row per compared score (:func:`score_metrics`: magnitudes, then signed effects), columns
    :data:`STAT_COLUMNS`. ``negative_group`` is one group or several joined by ``,`` or ``+``.
    For a signed score the AUC is the probability that a positive variant's effect is higher than
    a negative one's: below 0.5 when the positive group's variants are losses. Variants with
    status other than ``ok`` or an empty group are left out. A group with fewer than 2 scored
    variants (even 0) gives NA for the statistics that need more and a ``note`` saying so; an
    unknown group or a single group is an :class:`InputError`.
    """
    if "group" not in scores.columns:
        raise InputError("the scores have no 'group' column: give groups in the variant table or with --groups")
    labelled = scores[scores["group"].fillna("") != ""]
    groups = sorted(set(labelled["group"]))
    if positive_group not in groups:
        raise InputError(f"no variant is in the positive group {positive_group!r}; groups present: {groups}. "
                         "Set --positive_group to one of them, assign groups (table column 'group' or --groups), "
                         "or run with --skip_group_comparison")
    negatives = resolve_negative_groups(groups, positive_group, negative_group)
    if not negatives:
        raise InputError(f"all labelled variants are in {positive_group!r}; a second group is needed to compare")
    negative_name = "+".join(negatives)
    usable = labelled[(labelled["status"] == "ok") & labelled["group"].isin([positive_group, *negatives])]
    is_pos = (usable["group"] == positive_group).to_numpy()
    small = [f"{name} has {n} scored variant(s)" for name, n in
             ((positive_group, int(is_pos.sum())), (negative_name, int((~is_pos).sum()))) if n < 2]
    note = ""
    if small:
        note = "; ".join(small) + ": statistics that need 2 or more per group are NA"
        log.warning("%s", note)
    rows = []
    for metric, kind in score_metrics(scores):
        values = usable[metric].to_numpy(dtype=float)
        res = compare_two(values[is_pos], values[~is_pos], n_boot, seed)
        rows.append({"metric": metric, "kind": kind, "positive_group": positive_group,
                     "negative_group": negative_name, **res, "note": note})
    return pd.DataFrame(rows, columns=STAT_COLUMNS)
