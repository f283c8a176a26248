"""Reference/alternate predictions of a model and the per-stage scores of every variant of a table."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyfaidx
import torch
from torch import nn

from stagevep.core.sequence import one_hot
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.variant_status import MAX_INDEL_LENGTH, report_statuses, variant_statuses
from stagevep.model.enformer import StageEnformer, unwrap
from stagevep.model.predict import predict_batches
from stagevep.model.receptive import SNVPairs
from stagevep.variants.indels import ALIGNMENTS, indel_windows, left_normalize, realign
from stagevep.variants.keeper import TrackKeeper
from stagevep.variants.sequences import pair_batches
from stagevep.variants.shared import score_shared
from stagevep.variants.summary import SCORE_SUFFIXES, central_slice, effect_summary, variant_scores

log = logging.getLogger(__name__)

#: ok variants predicted per call of predict_batches (bounds memory: chunk x 2 x n_bins x n_tracks floats)
CHUNK_VARIANTS = 2048


def score_with_model(
    model: nn.Module,
    geometry: Geometry,
    tracks: list[str],
    fa: pyfaidx.Fasta,
    variants: pd.DataFrame,
    central_bins: int = 96,
    batch_size: int = 8,
    pseudocount: float = 1e-3,
    device: torch.device | None = None,
    precision: str = "auto",
    rc_ensemble: bool = False,
    strict_ref: bool = False,
    keeper: TrackKeeper | None = None,
    transform: str = "log1p",
    *,
    max_indel_length: int = MAX_INDEL_LENGTH,
    indel_alignment: str = "shift",
    share_reference: bool = False,
) -> pd.DataFrame:
    """Score every variant of ``variants`` (:data:`~stagevep.io.variants.VARIANT_COLUMNS`) with ``model``.

    ``model`` maps one-hot ``(B, geometry.context_length, 4)`` to
    ``(B, geometry.n_bins, len(tracks))``. Ref and alt of ``batch_size`` variants
    share one forward pass; ``rc_ensemble`` averages forward and reverse-complement
    predictions (:func:`~stagevep.model.predict.predict_batches`). A
    :class:`~stagevep.model.enformer.StageEnformer` runs through
    :class:`~stagevep.model.receptive.SNVPairs`, which recomputes only the alt's
    convolution features near the variant; other models run ref and alt in full.

    ``transform`` is the checkpoint's target transform (for ``S_delta_signal``). Indels and multi-base
    substitutions (up to ``max_indel_length`` bases added or removed) are left-normalised and scored
    with full passes of ``model`` on their reference and alternate windows, realigned by
    ``indel_alignment`` (:mod:`stagevep.variants.indels`); the table keeps their input coordinates.
    With ``share_reference``, SNVs whose windows overlap share one reference pass
    (:mod:`stagevep.variants.shared`), each summarised over the bins centred on its own position.

    Returns the table with ``status`` and, per stage S, ``S_delta_sum``,
    ``S_abs_log2fc``, ``S_max_delta``, ``S_delta_signal`` (:func:`~stagevep.variants.summary.variant_scores`),
    then ``score`` (max over stages of ``S_abs_log2fc``) and ``effect``,
    ``effect_stage``, ``effect_specificity`` (:func:`~stagevep.variants.summary.effect_summary` of the
    ``S_delta_signal``); rows keep the input order; unscored variants have NaN scores.
    """
    central_slice(geometry.n_bins, central_bins)
    if batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {batch_size}")
    device = device or torch.device("cpu")
    out = variants.reset_index(drop=True).copy()
    if indel_alignment not in ALIGNMENTS:
        raise InputError(f"--indel-alignment must be one of {', '.join(ALIGNMENTS)}, got {indel_alignment!r}")
    if max_indel_length < 0:
        raise InputError(f"--max-indel-length must be at least 0, got {max_indel_length}")
    out["status"] = variant_statuses(fa, out, max_indel_length)
    report_statuses(fa, out, strict_ref)
    is_ok = out["status"].to_numpy() == "ok"
    snv = (out["ref"].str.len() == 1).to_numpy() & (out["alt"].str.len() == 1).to_numpy()
    ok = np.flatnonzero(is_ok & snv)
    runner = SNVPairs(unwrap(model)) if isinstance(unwrap(model), StageEnformer) else model

    scores = {k: np.full((len(out), len(tracks)), np.nan) for k in SCORE_SUFFIXES}
    complex_rows = np.flatnonzero(is_ok & ~snv)
    if len(complex_rows):
        _score_complex(model, geometry, fa, out, complex_rows, scores, central_bins=central_bins,
                       batch_size=batch_size, pseudocount=pseudocount, device=device, precision=precision,
                       rc_ensemble=rc_ensemble, keeper=keeper, transform=transform, alignment=indel_alignment)
    if share_reference and len(ok):
        for rows, ref, alt in score_shared(model, geometry, fa, out, ok, central_bins,
                                           batch_size, device, precision, rc_ensemble):
            summary = variant_scores(ref, alt, central_bins, pseudocount, transform)
            for k in SCORE_SUFFIXES:
                scores[k][rows] = summary[k]
            if keeper is not None:
                keeper.add(rows, out["id"].to_numpy()[rows], summary["abs_log2fc"].max(axis=1),
                           ref.astype(np.float32), alt.astype(np.float32))
        ok = ok[:0]
    n_chunks = -(-len(ok) // CHUNK_VARIANTS)
    for c in range(n_chunks):
        rows = ok[c * CHUNK_VARIANTS:(c + 1) * CHUNK_VARIANTS]
        desc = "variants" if n_chunks == 1 else f"variants (part {c + 1}/{n_chunks})"
        pred = predict_batches(runner, pair_batches(fa, out, rows, geometry.context_length, batch_size), device,
                               precision, total=-(-len(rows) // batch_size), desc=desc,
                               rc_average=rc_ensemble)[:2 * len(rows)]
        summary = variant_scores(pred[0::2], pred[1::2], central_bins, pseudocount, transform)
        for k in SCORE_SUFFIXES:
            scores[k][rows] = summary[k]
        if keeper is not None:
            keeper.add(rows, out["id"].to_numpy()[rows], summary["abs_log2fc"].max(axis=1), pred[0::2], pred[1::2])
    for t, track in enumerate(tracks):
        for k in SCORE_SUFFIXES:
            out[f"{track}_{k}"] = scores[k][:, t]
    out["score"] = np.nan
    scored = np.flatnonzero(is_ok)
    out.loc[scored, "score"] = scores["abs_log2fc"][scored].max(axis=1)
    for name, values in effect_summary(scores["delta_signal"], tracks).items():
        out[name] = values
    log.info("scored %d of %d variants (%d indels or multi-base substitutions)", len(scored), len(out),
             len(complex_rows))
    return out


def _score_complex(
    model: nn.Module, geometry: Geometry, fa: pyfaidx.Fasta, table: pd.DataFrame, rows: np.ndarray,
    scores: dict[str, np.ndarray], *, central_bins: int, batch_size: int, pseudocount: float,
    device: torch.device, precision: str, rc_ensemble: bool, keeper: TrackKeeper | None, transform: str,
    alignment: str,
) -> None:
    """Score indels and multi-base substitutions (``rows`` of ``table``) into ``scores`` (in place).

    Each variant contributes its reference and left-anchored alternate window, plus the right-anchored
    one under the shift rules for a length change (:func:`~stagevep.variants.indels.indel_windows`);
    they go through ``model`` in full, ``2 * batch_size`` windows per pass (the last pass padded, as for
    SNVs), and the alternate prediction is realigned (:func:`~stagevep.variants.indels.realign`).
    """
    L, c = geometry.context_length, geometry.context_length // 2
    parts: list[tuple[int, int, int, int | None, int, int]] = []  # row, ref, left, right, n_ref, n_alt
    windows: list[str] = []
    for j in rows:
        pos, ref, alt = left_normalize(fa, str(table.at[j, "chrom"]), int(table.at[j, "pos"]),
                                       str(table.at[j, "ref"]), str(table.at[j, "alt"]))
        ref_w, left_w, right_w = indel_windows(fa, str(table.at[j, "chrom"]), pos, ref, alt, L)
        shifted = alignment != "none" and len(ref) != len(alt)
        k = len(windows)
        windows += [ref_w, left_w] + ([right_w] if shifted else [])
        parts.append((int(j), k, k + 1, k + 2 if shifted else None, len(ref), len(alt)))
    per_pass = 2 * batch_size

    def batches() -> Iterator[torch.Tensor]:
        for i in range(0, len(windows), per_pass):
            chunk = windows[i:i + per_pass]
            chunk += [chunk[-1]] * (per_pass - len(chunk))
            yield torch.from_numpy(np.stack([one_hot(w) for w in chunk]))

    pred = predict_batches(model, batches(), device, precision, total=-(-len(windows) // per_pass),
                           desc="indels", rc_average=rc_ensemble)[:len(windows)]
    ref = np.stack([pred[k] for _, k, _, _, _, _ in parts])
    alt = np.stack([realign(pred[left], None if right is None else pred[right], n_ref, n_alt, geometry.flank,
                            geometry.bin_size, c, alignment) for _, _, left, right, n_ref, n_alt in parts])
    summary = variant_scores(ref, alt, central_bins, pseudocount, transform)
    for name in SCORE_SUFFIXES:
        scores[name][rows] = summary[name]
    if keeper is not None:
        keeper.add(rows, table["id"].to_numpy()[rows], np.nan_to_num(summary["abs_log2fc"], nan=-1).max(axis=1),
                   ref, alt.astype(np.float32))
