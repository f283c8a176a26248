"""Reference/alternate predictions and per-stage variant scores."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pyfaidx
import torch
from torch import nn

from stagevep import __version__
from stagevep.errors import InputError
from stagevep.evaluate.metrics import to_raw
from stagevep.geometry import Geometry, resolve_central_bins
from stagevep.io.files import atomic_path
from stagevep.io.genome import fetch_padded, one_hot, open_fasta
from stagevep.io.variants import read_variants
from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
from stagevep.model.enformer import SNVPairs, StageEnformer, unwrap
from stagevep.model.predict import predict_batches, resolve_device
from stagevep.variants.indels import ALIGNMENTS, indel_windows, left_normalize, realign
from stagevep.variants.shared import score_shared

log = logging.getLogger(__name__)

SCORE_SUFFIXES = ("delta_sum", "abs_log2fc", "max_delta", "delta_signal")
#: per-variant summaries over the stages, from ``<stage>_delta_signal`` (:func:`effect_summary`)
EFFECT_COLUMNS = ("effect", "effect_stage", "effect_specificity")
ACGT = frozenset("ACGT")
#: every status a variant can get, in the order they are checked
STATUSES = ("ok", "unknown_contig", "out_of_bounds", "unsupported_allele", "indel_too_long", "ref_mismatch")
#: the longest indel scored by default (``--max-indel-length``): bases added or removed
MAX_INDEL_LENGTH = 50
#: ok variants predicted per call of predict_batches (bounds memory: chunk x 2 x n_bins x n_tracks floats)
CHUNK_VARIANTS = 2048


def central_slice(n_bins: int, central_bins: int) -> slice:
    """Bins ``[n_bins // 2 - central_bins // 2, + central_bins)``: the seed's 448 +/- 48 for 896 and 96."""
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


def allele_status(ref: str, alt: str, max_indel_length: int = MAX_INDEL_LENGTH) -> str:
    """``ok`` when REF and ALT are different A/C/G/T alleles that can be scored; else the reason.

    SNVs, multi-base substitutions and indels are scored; ``indel_too_long`` when an indel adds or
    removes more than ``max_indel_length`` bases; ``unsupported_allele`` for anything else (``*``,
    ``.``, symbolic ``<DEL>``, breakends, IUPAC codes, ``N``, REF == ALT).
    """
    if not ref or not alt or not (set(ref) | set(alt)) <= ACGT or ref == alt:
        return "unsupported_allele"
    return "indel_too_long" if abs(len(ref) - len(alt)) > max_indel_length else "ok"


def variant_status(fa: pyfaidx.Fasta, chrom: str, pos: int, ref: str, alt: str,
                   max_indel_length: int = MAX_INDEL_LENGTH) -> str:
    """Status of one variant (see :data:`STATUSES`); ``pos`` is 1-based, alleles upper-case.

    REF is compared with the FASTA over its whole length, case-insensitively (soft-masked genomes).
    """
    if chrom not in fa:
        return "unknown_contig"
    if not 1 <= pos <= len(fa[chrom]) or pos - 1 + len(ref) > len(fa[chrom]):
        return "out_of_bounds"
    status = allele_status(ref, alt, max_indel_length)
    if status != "ok":
        return status
    return "ok" if str(fa[chrom][pos - 1:pos - 1 + len(ref)]).upper() == ref else "ref_mismatch"


def variant_statuses(fa: pyfaidx.Fasta, variants: pd.DataFrame, max_indel_length: int = MAX_INDEL_LENGTH) -> np.ndarray:
    """:func:`variant_status` of every row of a variant table; returns ``(N,)`` strings."""
    return np.array([variant_status(fa, str(r.chrom), int(r.pos), str(r.ref), str(r.alt), max_indel_length)
                     for r in variants.itertuples(index=False)], dtype=object)


def variant_sequences(fa: pyfaidx.Fasta, chrom: str, pos: int, alt: str, context_length: int) -> tuple[str, str]:
    """Reference and alternate context sequences with the variant at index ``context_length // 2``.

    ``pos`` is 1-based; the context starts at 0-based ``pos - 1 - context_length // 2``
    and is N-padded beyond the chromosome ends.
    """
    centre = context_length // 2
    start = variant_context_start(pos, context_length)
    ref_seq = fetch_padded(fa, chrom, start, start + context_length)
    return ref_seq, ref_seq[:centre] + alt + ref_seq[centre + 1:]


def variant_context_start(pos: int, context_length: int) -> int:
    """0-based genome start of the context that puts 1-based ``pos`` at index ``context_length // 2``."""
    return int(pos) - 1 - context_length // 2


def pair_batches(
    fa: pyfaidx.Fasta, variants: pd.DataFrame, rows: np.ndarray, context_length: int, batch_size: int
) -> Iterator[torch.Tensor]:
    """One-hot ``(2 * batch_size, context_length, 4)`` batches: ref of ``rows[i]`` at ``2i``, its alt at ``2i + 1``.

    The last batch is padded to the full size with copies of its last pair (their predictions are to be
    dropped: ``2 * len(rows)`` rows of output are real). Every variant thus goes through the model in a
    batch of the same shape, and its scores do not depend on which variants share its batch: on the CPU
    they are bitwise the same whether a table is scored whole or in shards.
    """
    centre = context_length // 2
    for i in range(0, len(rows), batch_size):
        chunk = rows[i:i + batch_size]
        x = np.empty((2 * batch_size, context_length, 4), dtype=np.float32)
        for k, j in enumerate(chunk):
            start = variant_context_start(variants.at[j, "pos"], context_length)
            x[2 * k] = one_hot(fetch_padded(fa, variants.at[j, "chrom"], start, start + context_length))
            x[2 * k + 1] = x[2 * k]
            x[2 * k + 1, centre] = one_hot(variants.at[j, "alt"])[0]
        x[2 * len(chunk):] = np.tile(x[2 * len(chunk) - 2:2 * len(chunk)], (batch_size - len(chunk), 1, 1))
        yield torch.from_numpy(x)


class TrackKeeper:
    """Per-bin ref/alt predictions to keep for ``--save-tracks``.

    Keeps every scored variant (``keep_all``), those whose ID is in ``ids``, and
    the ``top_n`` highest-scoring ones (held in memory until :meth:`rows`).
    Arrays are float32 ``(n_bins, n_tracks)`` per variant.
    """

    def __init__(self, keep_all: bool = False, ids: set[str] | None = None, top_n: int = 0) -> None:
        self.keep_all, self.ids, self.top_n = keep_all, ids or set(), top_n
        self.kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._top: list[tuple[float, int, np.ndarray, np.ndarray]] = []

    def add(self, rows: np.ndarray, ids: np.ndarray, score: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> None:
        """Offer ``ref``/``alt`` ``(n, n_bins, n_tracks)`` of table rows ``rows`` with ``score`` ``(n,)``."""
        for k, row in enumerate(rows):
            if self.keep_all or ids[k] in self.ids:
                self.kept[int(row)] = (ref[k].copy(), alt[k].copy())
            elif self.top_n:
                item = (float(score[k]), int(row), ref[k].copy(), alt[k].copy())
                if len(self._top) < self.top_n:
                    heapq.heappush(self._top, item)
                elif item[0] > self._top[0][0]:
                    heapq.heapreplace(self._top, item)

    def rows(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Table row -> (ref, alt) of every kept variant."""
        return {**self.kept, **{row: (r, a) for _, row, r, a in self._top}}


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
    :class:`~stagevep.model.enformer.SNVPairs`, which recomputes only the alt's
    convolution features near the variant; other models run ref and alt in full.

    ``transform`` is the checkpoint's target transform (for ``S_delta_signal``). Indels and multi-base
    substitutions (up to ``max_indel_length`` bases added or removed) are left-normalised and scored
    with full passes of ``model`` on their reference and alternate windows, realigned by
    ``indel_alignment`` (:mod:`stagevep.variants.indels`); the table keeps their input coordinates.
    With ``share_reference``, SNVs whose windows overlap share one reference pass
    (:mod:`stagevep.variants.shared`), each summarised over the bins centred on its own position.

    Returns the table with ``status`` and, per stage S, ``S_delta_sum``,
    ``S_abs_log2fc``, ``S_max_delta``, ``S_delta_signal`` (:func:`variant_scores`),
    then ``score`` (max over stages of ``S_abs_log2fc``) and ``effect``,
    ``effect_stage``, ``effect_specificity`` (:func:`effect_summary` of the
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
    _report_statuses(fa, out, strict_ref)
    is_ok = out["status"].to_numpy() == "ok"
    snv = (out["ref"].str.len() == 1).to_numpy() & (out["alt"].str.len() == 1).to_numpy()
    ok = np.flatnonzero(is_ok & snv)
    runner = SNVPairs(unwrap(model)) if isinstance(unwrap(model), StageEnformer) else model

    scores = {k: np.full((len(out), len(tracks)), np.nan) for k in SCORE_SUFFIXES}
    complex_rows = np.flatnonzero(is_ok & ~snv)
    if len(complex_rows):
        _score_complex(model, geometry, fa, out, complex_rows, scores, central_bins, batch_size, pseudocount,
                       device, precision, rc_ensemble, keeper, transform, indel_alignment)
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
    scores: dict[str, np.ndarray], central_bins: int, batch_size: int, pseudocount: float,
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


def _report_statuses(fa: pyfaidx.Fasta, table: pd.DataFrame, strict_ref: bool) -> None:
    """Log why variants are not scored; with ``strict_ref`` a REF mismatch is an error."""
    for reason, n in table.loc[table["status"] != "ok", "status"].value_counts().items():
        examples = ", ".join(table.loc[table["status"] == reason, "id"].astype(str).head(3))
        log.warning("%d variant(s) not scored: %s (e.g. %s)", n, reason, examples)
    bad = table[table["status"] == "ref_mismatch"]
    if bad.empty:
        return
    shown = "; ".join(f"{r.id} {r.chrom}:{r.pos} REF {r.ref}, FASTA {str(fa[r.chrom][int(r.pos) - 1]).upper()}"
                      for r in bad.head(3).itertuples(index=False))
    # a table written with 0-based positions matches the genome one base to the right
    shifted = sum(int(r.pos) < len(fa[r.chrom]) and str(fa[r.chrom][int(r.pos)]).upper() == r.ref
                  for r in bad.itertuples(index=False))
    hint = (" Most mismatches match the base one to the right: are the positions 0-based? pos must be 1-based "
            "(VCF convention)." if len(bad) >= 3 and shifted > len(bad) / 2 else
            " Check that the variants and the FASTA use the same genome build and 1-based positions.")
    if strict_ref:
        raise InputError(f"{len(bad)} variant(s) have a REF allele that disagrees with the FASTA ({shown}).{hint} "
                         "Without --strict-ref they are reported with status ref_mismatch and not scored.")
    log.warning("REF disagrees with the FASTA for %d variant(s): %s.%s", len(bad), shown, hint)



def write_scores(scores: pd.DataFrame, tsv: str | Path) -> None:
    """Write ``scores.tsv`` and, beside it, the same table as ``scores.parquet`` (each atomically)."""
    tsv = Path(tsv)
    with atomic_path(tsv) as tmp:
        scores.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NA")
    with atomic_path(tsv.with_suffix(".parquet")) as tmp:
        scores.to_parquet(tmp, index=False)


def write_tracks(
    path: str | Path, scores: pd.DataFrame, kept: dict[int, tuple[np.ndarray, np.ndarray]], tracks: list[str],
    geometry: Geometry, central_bins: int, attrs: dict[str, Any] | None = None,
) -> None:
    """Write kept per-bin predictions to HDF5 (``--save-tracks``).

    Datasets: ``ref``, ``alt`` float32 ``(M, n_bins, n_tracks)``; ``id``, ``chrom``
    (strings), ``pos`` (1-based int64), ``row`` (row in scores.tsv), all length M in
    table order. Attributes: ``tracks``, ``n_bins``, ``bin_size``, ``context_length``,
    ``central_bins``, ``central_start``, ``variant_bin`` (the target bin holding the
    variant), plus ``attrs``.
    """
    rows = np.array(sorted(kept), dtype=np.int64)
    shape = (len(rows), geometry.n_bins, len(tracks))
    strings = h5py.string_dtype("utf-8")
    with atomic_path(Path(path)) as tmp, h5py.File(tmp, "w") as h5:
        for name, k in (("ref", 0), ("alt", 1)):
            h5.create_dataset(name, data=np.stack([kept[r][k] for r in rows]) if len(rows) else np.zeros(shape),
                              dtype="float32")
        h5.create_dataset("row", data=rows)
        h5.create_dataset("id", data=scores["id"].to_numpy()[rows].astype(str).tolist(), dtype=strings)
        h5.create_dataset("chrom", data=scores["chrom"].to_numpy()[rows].astype(str).tolist(), dtype=strings)
        h5.create_dataset("pos", data=scores["pos"].to_numpy()[rows].astype(np.int64))
        h5.attrs.update({"tracks": list(tracks), **geometry.to_dict(), "central_bins": central_bins,
                         "central_start": central_slice(geometry.n_bins, central_bins).start,
                         "variant_bin": (geometry.context_length // 2 - geometry.flank) // geometry.bin_size,
                         "stagevep_version": __version__, **(attrs or {})})


def score_variant_file(
    checkpoint: str | Path,
    fasta: str | Path,
    variants: str | Path,
    out: str | Path,
    groups: str | Path | None = None,
    central_bins: int | None = None,
    batch_size: int = 8,
    pseudocount: float = 1e-3,
    device: str = "auto",
    precision: str = "auto",
    rc_ensemble: bool = False,
    strict_ref: bool = False,
    save_tracks: str | Path | None = None,
    track_ids: list[str] | None = None,
    track_top_n: int = 0,
    *,
    shard: bool = False,
    max_indel_length: int = MAX_INDEL_LENGTH,
    indel_alignment: str = "shift",
    share_reference: bool = False,
) -> pd.DataFrame:
    """File-level scoring: read the variant table, write ``scores.tsv`` and ``scores.parquet``.

    The model, its tracks and geometry come from ``checkpoint``; ``central_bins`` None takes
    :func:`~stagevep.geometry.default_central_bins` of that geometry. With
    ``save_tracks`` the per-bin ref/alt predictions go to that HDF5 file (see
    :func:`write_tracks`): for every scored variant, or, when ``track_ids`` or
    ``track_top_n`` is given, only for those IDs and the ``track_top_n`` highest scores.
    With ``shard`` the table is one shard of a larger one (:mod:`stagevep.variants.shards`):
    ``track_ids`` it does not hold are left to the other shards.
    """
    table = read_variants(variants, groups)
    unknown = sorted(set(track_ids or []) - set(table["id"]))
    if unknown and not shard:
        raise InputError(f"variant ID(s) to plot not found in {variants}: {unknown[:5]}")
    dev = resolve_device(device)
    model, ckpt = load_checkpoint(checkpoint, dev)
    geometry = checkpoint_geometry(ckpt)
    central_bins = resolve_central_bins(central_bins, geometry)
    tracks = list(ckpt["tracks"])
    keeper = None
    if save_tracks:
        keeper = TrackKeeper(keep_all=not track_ids and not track_top_n, ids=set(track_ids or []), top_n=track_top_n)
    scores = score_with_model(model, geometry, tracks, open_fasta(fasta), table, central_bins, batch_size,
                              pseudocount, dev, precision, rc_ensemble, strict_ref, keeper,
                              transform=ckpt["target_transform"]["transform"], max_indel_length=max_indel_length,
                              indel_alignment=indel_alignment, share_reference=share_reference)
    write_scores(scores, out)
    if keeper is not None:
        write_tracks(save_tracks, scores, keeper.rows(), tracks, geometry, central_bins,
                     {"rc_ensemble": rc_ensemble, "target_transform": str(ckpt["target_transform"]),
                      "checkpoint": str(checkpoint)})
    return scores
