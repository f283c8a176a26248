"""Per-variant scores from reference and alternate predictions: pure array maths, no model and no files."""

from __future__ import annotations

import numpy as np

from stagevep.core.metrics import to_raw
from stagevep.errors import InputError

#: the summaries of :func:`variant_scores`, one ``<stage>_<suffix>`` column each in scores.tsv
SCORE_SUFFIXES = ("delta_sum", "abs_log2fc", "max_delta", "delta_signal")
#: per-variant summaries over the stages, from ``<stage>_delta_signal`` (:func:`effect_summary`)
EFFECT_COLUMNS = ("effect", "effect_stage", "effect_specificity")


def central_slice(n_bins: int, central_bins: int) -> slice:
    """Bins ``[n_bins // 2 - central_bins // 2, + central_bins)``: the original study's 448 +/- 48 for 896 and 96."""
    if not 1 <= central_bins <= n_bins:
        raise InputError(f"--central-bins must be between 1 and the model's n_bins ({n_bins}), got {central_bins}")
    start = n_bins // 2 - central_bins // 2
    return slice(start, start + central_bins)


def variant_scores(
    ref: np.ndarray, alt: np.ndarray, central_bins: int, pseudocount: float = 1e-3, transform: str = "log1p"
) -> dict[str, np.ndarray]:
    """Summaries of ``alt - ref`` over the central bins.

    ``ref`` and ``alt`` are ``(N, n_bins, n_tracks)`` in the model's target space. Returns arrays
    ``(N, n_tracks)``: ``delta_sum`` (sum of alt - ref), ``abs_log2fc`` (mean of
    ``|log2((alt + pc) / (ref + pc))|``), ``max_delta`` (the signed alt - ref at the bin of largest
    ``|alt - ref|``) and ``delta_signal`` (the sum of alt - ref after both are taken back to the
    signal's own units with ``transform``: ``expm1`` for ``log1p`` targets; signal x bp).

    NaN bins in ``alt`` (bins an indel occupies, :func:`~stagevep.variants.indels.realign`) are left
    out of every summary, in ref and alt alike; a variant whose central bins are all masked gets NaN.
    """
    sl = central_slice(ref.shape[1], central_bins)
    r = ref[:, sl].astype(np.float64)
    a = alt[:, sl].astype(np.float64)
    delta = a - r
    if not np.isnan(a).any():
        idx = np.abs(delta).argmax(axis=1)
        return {
            "delta_sum": delta.sum(axis=1),
            "abs_log2fc": np.abs(np.log2((a + pseudocount) / (r + pseudocount))).mean(axis=1),
            "max_delta": np.take_along_axis(delta, idx[:, None, :], axis=1)[:, 0, :],
            "delta_signal": (to_raw(a, transform) - to_raw(r, transform)).sum(axis=1),
        }
    known = ~np.isnan(delta)
    empty = ~known.any(axis=1)
    with np.errstate(invalid="ignore"):
        idx = np.where(known, np.abs(delta), -1.0).argmax(axis=1)
        lfc = np.abs(np.log2((a + pseudocount) / (r + pseudocount)))
        mean_lfc = np.where(known, lfc, 0.0).sum(axis=1) / known.sum(axis=1)
    out = {
        "delta_sum": np.where(known, delta, 0.0).sum(axis=1),
        "abs_log2fc": mean_lfc,
        "max_delta": np.take_along_axis(delta, idx[:, None, :], axis=1)[:, 0, :],
        "delta_signal": np.where(known, to_raw(a, transform) - to_raw(r, transform), 0.0).sum(axis=1),
    }
    return {k: np.where(empty, np.nan, v) for k, v in out.items()}


def effect_summary(delta: np.ndarray, tracks: list[str]) -> dict[str, np.ndarray]:
    """Per variant, from its per-stage signed effects ``delta`` ``(N, n_tracks)``:

    - ``effect``: the signed effect at the stage where it is largest in magnitude (a loss < 0);
    - ``effect_stage``: that stage's name;
    - ``effect_specificity``: ``n / (n - 1) * (1 - mean_s |delta_s| / max_s |delta_s|)`` for ``n`` stages:
      0 when every stage changes alike, 1 when one stage alone changes (NaN for a zero effect or one stage).

    Rows with a NaN effect (variants not scored) get NaN and an empty stage.
    """
    n, k = delta.shape
    mag = np.abs(delta)
    scored = ~np.isnan(delta).any(axis=1)
    top = np.where(scored, np.nanargmax(np.where(scored[:, None], mag, 0.0), axis=1), 0)
    effect = np.where(scored, delta[np.arange(n), top], np.nan)
    peak = mag[np.arange(n), top]
    with np.errstate(invalid="ignore", divide="ignore"):
        spec = (k / (k - 1)) * (1 - mag.mean(axis=1) / peak) if k > 1 else np.full(n, np.nan)
    spec = np.where(scored & (peak > 0), spec, np.nan)
    stage = np.where(scored, np.asarray(tracks, dtype=object)[top], "")
    return {"effect": effect, "effect_stage": stage, "effect_specificity": spec}
