"""Reference/alternate predictions and per-stage variant scores."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stagevep.errors import InputError
from stagevep.io.genome import fetch_padded, one_hot, open_fasta
from stagevep.io.variants import read_variants
from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
from stagevep.model.predict import predict_batches, resolve_device

log = logging.getLogger(__name__)

SCORE_SUFFIXES = ("delta_sum", "abs_log2fc", "max_delta")
ACGT = frozenset("ACGT")


def central_slice(n_bins: int, central_bins: int) -> slice:
    """Bins ``[n_bins // 2 - central_bins // 2, + central_bins)``: the seed's 448 +/- 48 for 896 and 96."""
    if not 1 <= central_bins <= n_bins:
        raise InputError(f"--central-bins must be between 1 and the model's n_bins ({n_bins}), got {central_bins}")
    start = n_bins // 2 - central_bins // 2
    return slice(start, start + central_bins)


def variant_scores(
    ref: np.ndarray, alt: np.ndarray, central_bins: int, pseudocount: float = 1e-3
) -> dict[str, np.ndarray]:
    """Summaries of ``alt - ref`` over the central bins.

    ``ref`` and ``alt`` are ``(N, n_bins, n_tracks)``. Returns arrays ``(N, n_tracks)``:
    ``delta_sum`` (sum of alt - ref), ``abs_log2fc`` (mean of
    ``|log2((alt + pc) / (ref + pc))|``) and ``max_delta`` (the signed alt - ref
    at the bin of largest ``|alt - ref|``).
    """
    sl = central_slice(ref.shape[1], central_bins)
    r = ref[:, sl].astype(np.float64)
    a = alt[:, sl].astype(np.float64)
    delta = a - r
    idx = np.abs(delta).argmax(axis=1)
    return {
        "delta_sum": delta.sum(axis=1),
        "abs_log2fc": np.abs(np.log2((a + pseudocount) / (r + pseudocount))).mean(axis=1),
        "max_delta": np.take_along_axis(delta, idx[:, None, :], axis=1)[:, 0, :],
    }


def variant_status(ref_base: str | None, ref: str, alt: str) -> str:
    """``ok`` or why a variant cannot be scored; ``ref_base`` is the FASTA base (None: unknown contig)."""
    if ref_base is None:
        return "unknown_contig"
    if len(ref) != 1 or len(alt) != 1:
        return "unsupported_allele" if not (set(ref) | set(alt)) <= ACGT else "indel_unsupported"
    if ref not in ACGT or alt not in ACGT:
        return "unsupported_allele"
    if ref == alt:
        return "unsupported_allele"
    if ref_base.upper() != ref:
        return "ref_mismatch"
    return "ok"


def variant_sequences(fa, chrom: str, pos: int, alt: str, context_length: int) -> tuple[str, str]:
    """Reference and alternate context sequences with the variant at index ``context_length // 2``.

    ``pos`` is 1-based; the context starts at ``pos - 1 - context_length // 2``.
    """
    centre = context_length // 2
    start = pos - 1 - centre
    ref_seq = fetch_padded(fa, chrom, start, start + context_length)
    alt_seq = ref_seq[:centre] + alt + ref_seq[centre + 1 :]
    return ref_seq, alt_seq


def score_variants(
    checkpoint: str | Path,
    fasta: str | Path,
    variants: pd.DataFrame,
    central_bins: int = 96,
    batch_size: int = 4,
    pseudocount: float = 1e-3,
    device: str = "auto",
    precision: str = "auto",
) -> pd.DataFrame:
    """Score every variant; rows keep the input order and every variant appears once.

    Returns ``id chrom pos ref alt group status``, then per stage S
    ``S_delta_sum``, ``S_abs_log2fc``, ``S_max_delta``, then ``score`` (max over
    stages of ``S_abs_log2fc``). Unscored variants have NaN scores.
    """
    dev = resolve_device(device)
    model, ckpt = load_checkpoint(checkpoint, dev)
    geometry = checkpoint_geometry(ckpt)
    central_slice(geometry.n_bins, central_bins)
    tracks = list(ckpt["tracks"])
    fa = open_fasta(fasta)
    contigs = set(fa.keys())

    statuses = []
    for row in variants.itertuples(index=False):
        pos = int(row.pos)  # pyfaidx returns None for numpy integer indices
        inside = row.chrom in contigs and 1 <= pos <= len(fa[row.chrom])
        ref_base = str(fa[row.chrom][pos - 1]) if inside else None
        statuses.append(variant_status(ref_base, row.ref, row.alt))
    out = variants.copy()
    out["status"] = statuses
    ok = np.flatnonzero(out["status"].to_numpy() == "ok")
    for reason, n in out.loc[out["status"] != "ok", "status"].value_counts().items():
        log.warning("%d variant(s) not scored: %s", n, reason)

    scores = {k: np.full((len(out), len(tracks)), np.nan) for k in SCORE_SUFFIXES}
    if len(ok):
        def batches():
            for i in range(0, len(ok), batch_size):
                seqs = []
                for j in ok[i : i + batch_size]:
                    r, a = variant_sequences(fa, out.at[j, "chrom"], int(out.at[j, "pos"]), out.at[j, "alt"],
                                             geometry.context_length)
                    seqs += [r, a]
                yield torch.from_numpy(np.stack([one_hot(s) for s in seqs]))

        pred = predict_batches(model, batches(), dev, precision, total=-(-len(ok) // batch_size), desc="variants")
        summary = variant_scores(pred[0::2], pred[1::2], central_bins, pseudocount)
        for k in SCORE_SUFFIXES:
            scores[k][ok] = summary[k]
    for t, track in enumerate(tracks):
        for k in SCORE_SUFFIXES:
            out[f"{track}_{k}"] = scores[k][:, t]
    out["score"] = np.nanmax(scores["abs_log2fc"], axis=1, initial=-np.inf)
    out.loc[out["status"] != "ok", "score"] = np.nan
    log.info("scored %d of %d variants", len(ok), len(out))
    return out


def write_scores(scores: pd.DataFrame, tsv: str | Path) -> None:
    """Write ``scores.tsv`` and, beside it, the same table as ``scores.parquet``."""
    tsv = Path(tsv)
    tsv.parent.mkdir(parents=True, exist_ok=True)
    scores.to_csv(tsv, sep="\t", index=False, float_format="%.6g", na_rep="NA")
    scores.to_parquet(tsv.with_suffix(".parquet"), index=False)


def score_variant_file(
    checkpoint: str | Path,
    fasta: str | Path,
    variants: str | Path,
    out: str | Path,
    groups: str | Path | None = None,
    central_bins: int = 96,
    batch_size: int = 4,
    pseudocount: float = 1e-3,
    device: str = "auto",
    precision: str = "auto",
) -> pd.DataFrame:
    """File-level :func:`score_variants`: read the variant table, write ``scores.tsv`` and ``scores.parquet``."""
    scores = score_variants(checkpoint, fasta, read_variants(variants, groups), central_bins, batch_size,
                            pseudocount, device, precision)
    write_scores(scores, out)
    return scores
