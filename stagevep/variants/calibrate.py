"""Calibration of variant scores against a background of random SNVs scored by the same model.

A raw score (a change of predicted signal) means little on its own. :func:`draw_background` draws
random SNVs from the sequence around the training windows' peak centres, in strata of distance to
the nearest peak centre (:func:`distance_edges`), reproducibly from a seed; they are scored once per
model (``score_background.py``) and :func:`calibrate` then places every variant in the background of
its own distance stratum:

- per stage S, ``S_pct_signed``: the mid-rank percentile of ``S_delta_signal`` among the stratum's
  background values, ``100 * (#{b < x} + #{b = x} / 2) / m`` (a strong loss is near 0, a gain near 100);
- per stage S, ``S_pct_abs``: the same for ``S_abs_log2fc`` (how unusual the change is, either way);
- ``score_pct``: the same for ``score`` (the largest ``S_abs_log2fc`` over the stages);
- ``pvalue``: the empirical one-sided p-value of ``score``, ``(1 + #{b >= x}) / (1 + m)``, never 0;
- ``qvalue``: Benjamini-Hochberg adjusted ``pvalue`` over the scored variants;
- ``distance_to_peak``: bp from the variant to the nearest training window centre on its contig.

``m`` is the number of background SNVs in the stratum. A stratum with fewer than
:data:`MIN_PER_STRATUM` background SNVs is pooled with its nearer neighbour.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyfaidx
from scipy.stats import false_discovery_control

from stagevep import __version__
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.files import atomic_path

log = logging.getLogger(__name__)

#: strata with fewer background SNVs are pooled with a neighbour
MIN_PER_STRATUM = 50
BACKGROUND_GROUP = "background"
#: candidate positions per wanted SNV before a stratum is given up as too small for the genome
MAX_TRIES = 200
ACGT = ("A", "C", "G", "T")


def distance_edges(geometry: Geometry) -> np.ndarray:
    """Lower edges of the distance strata (bp): ``0``, then ``bin_size * 2**k`` below half the context,
    then half the context (beyond it a variant cannot reach the peak's centre bin). ``(n_strata,)``."""
    half = geometry.context_length // 2
    edges = [0]
    step = geometry.bin_size
    while step < half:
        edges.append(step)
        step *= 2
    edges.append(half)
    return np.asarray(edges, dtype=np.int64)


def peak_distance(windows: pd.DataFrame, chroms: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Distance (bp) from each 1-based position to the nearest window centre on its contig.

    ``windows`` has ``chrom`` and 0-based ``centre``; ``chroms``, ``positions`` are ``(N,)``. Contigs
    without windows give ``inf``. Returns float64 ``(N,)``.
    """
    out = np.full(len(positions), np.inf)
    idx0 = np.asarray(positions, dtype=np.int64) - 1
    chroms = np.asarray(chroms).astype(str)
    for chrom, centres in windows.groupby("chrom")["centre"]:
        c = np.sort(centres.to_numpy(dtype=np.int64))
        on = np.flatnonzero(chroms == chrom)
        if not len(on):
            continue
        k = np.searchsorted(c, idx0[on])
        left = np.abs(idx0[on] - c[np.clip(k - 1, 0, len(c) - 1)])
        right = np.abs(c[np.clip(k, 0, len(c) - 1)] - idx0[on])
        out[on] = np.minimum(left, right)
    return out


def stratum_of(distance: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the stratum ``[edges[k], edges[k + 1])`` holding each distance; ``(N,)`` int."""
    return np.searchsorted(edges, distance, side="right") - 1


def draw_background(
    fa: pyfaidx.Fasta, windows: pd.DataFrame, n: int, geometry: Geometry, seed: int = 0,
) -> pd.DataFrame:
    """``n`` random SNVs, the same number in each distance stratum (:func:`distance_edges`).

    Each draw picks a window centre at random, a side and a distance uniformly within the stratum
    (the last stratum: up to twice its lower edge), and keeps the position when its distance to the
    *nearest* centre falls in the stratum and its base is A/C/G/T; the ALT is one of the other three
    bases at random. Reproducible for a given ``seed``, genome and window table.
    Returns :data:`~stagevep.io.variants.VARIANT_COLUMNS` plus ``distance_to_peak``, ``stratum``.
    """
    if n < 1:
        raise InputError(f"--background_variants must be at least 1 to calibrate, got {n}")
    edges = distance_edges(geometry)
    rng = np.random.default_rng(seed)
    lengths = {c: len(fa[c]) for c in windows["chrom"].unique() if c in fa}
    usable = windows[windows["chrom"].isin(list(lengths))].reset_index(drop=True)
    if usable.empty:
        raise InputError("none of the checkpoint's training windows lie on a contig of this FASTA: the background "
                         "is drawn around them. Use the FASTA the model was trained on.")
    wanted = np.full(len(edges), n // len(edges))
    wanted[: n % len(edges)] += 1
    chrom_of = usable["chrom"].to_numpy().astype(str)
    centre_of = usable["centre"].to_numpy(dtype=np.int64)
    size_of = np.array([lengths[c] for c in chrom_of], dtype=np.int64)
    rows: list[tuple] = []
    for k, lo in enumerate(edges):
        hi = int(edges[k + 1]) if k + 1 < len(edges) else 2 * int(lo)
        got, drawn = 0, 0
        while got < wanted[k] and drawn < MAX_TRIES * wanted[k]:
            m = 2 * int(wanted[k] - got) + 16  # candidates per round, drawn together
            drawn += m
            w = rng.integers(len(usable), size=m)
            idx = centre_of[w] + rng.choice((-1, 1), size=m) * rng.integers(lo, max(hi, int(lo) + 1), size=m)
            alt_pick = rng.integers(3, size=m)
            inside = (idx >= 0) & (idx < size_of[w])
            stratum = np.full(m, -1)
            stratum[inside] = stratum_of(peak_distance(usable, chrom_of[w][inside], idx[inside] + 1), edges)
            for j in np.flatnonzero(stratum == k):
                ref = str(fa[chrom_of[w[j]]][int(idx[j])]).upper()
                if ref not in ACGT or got == wanted[k]:
                    continue
                alt = [b for b in "ACGT" if b != ref][alt_pick[j]]
                rows.append((f"bg{len(rows) + 1:06d}", chrom_of[w[j]], int(idx[j]) + 1, ref, alt, BACKGROUND_GROUP))
                got += 1
        if got < wanted[k]:
            log.warning("background: only %d of %d SNVs found %d-%s bp from a peak centre (the genome is too "
                        "small there); that stratum is pooled with its neighbour if it has fewer than %d",
                        got, wanted[k], lo, hi if k + 1 < len(edges) else "more", MIN_PER_STRATUM)
    table = pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt", "group"])
    table["distance_to_peak"] = peak_distance(usable, table["chrom"].to_numpy(), table["pos"].to_numpy())
    table["stratum"] = stratum_of(table["distance_to_peak"].to_numpy(), edges)
    return table


def pooled_strata(counts: np.ndarray, minimum: int = MIN_PER_STRATUM) -> np.ndarray:
    """Map each stratum to a pool: strata with fewer than ``minimum`` background SNVs join a neighbour.

    ``counts`` ``(n_strata,)``; returns ``(n_strata,)`` pool labels (the first stratum of each pool).
    Small strata are merged towards the nearer-to-peak side first (the far end is the largest).
    """
    labels = np.arange(len(counts))
    pooled = counts.astype(np.int64).copy()
    if pooled.sum() < minimum:
        return np.zeros(len(counts), dtype=np.int64)
    k = 0
    groups: list[list[int]] = []
    while k < len(counts):
        group, total = [k], pooled[k]
        while total < minimum and group[-1] + 1 < len(counts):
            group.append(group[-1] + 1)
            total += pooled[group[-1]]
        groups.append(group)
        k = group[-1] + 1
    if len(groups) > 1 and sum(pooled[g] for g in groups[-1]) < minimum:
        groups[-2].extend(groups.pop())
    for g in groups:
        labels[g] = g[0]
    return labels


def midrank_percentile(values: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``100 * (#{b < x} + #{b = x} / 2) / m`` for each ``x`` of ``values`` ``(N,)``; NaN for NaN ``x``."""
    b = np.sort(background[~np.isnan(background)])
    if not len(b):
        return np.full(len(values), np.nan)
    below = np.searchsorted(b, values, side="left")
    equal = np.searchsorted(b, values, side="right") - below
    out = 100.0 * (below + 0.5 * equal) / len(b)
    return np.where(np.isnan(values), np.nan, out)


def empirical_pvalue(values: np.ndarray, background: np.ndarray) -> np.ndarray:
    """One-sided ``(1 + #{b >= x}) / (1 + m)`` for each ``x`` of ``values`` ``(N,)``; NaN for NaN ``x``."""
    b = np.sort(background[~np.isnan(background)])
    at_least = len(b) - np.searchsorted(b, values, side="left")
    return np.where(np.isnan(values), np.nan, (1.0 + at_least) / (1.0 + len(b)))


def calibrate(scores: pd.DataFrame, background: pd.DataFrame, windows: pd.DataFrame, tracks: list[str],
              geometry: Geometry) -> pd.DataFrame:
    """``scores`` with the calibration columns of this module's docstring added (same rows and order)."""
    edges = distance_edges(geometry)
    out = scores.copy()
    out["distance_to_peak"] = peak_distance(windows, out["chrom"].to_numpy(), out["pos"].to_numpy())
    counts = np.bincount(background["stratum"].to_numpy(dtype=np.int64), minlength=len(edges))[: len(edges)]
    pool = pooled_strata(counts)
    bg_pool = pool[background["stratum"].to_numpy(dtype=np.int64)]
    var_pool = pool[stratum_of(out["distance_to_peak"].to_numpy(), edges)]
    columns = [(f"{t}_pct_signed", f"{t}_delta_signal") for t in tracks]
    columns += [(f"{t}_pct_abs", f"{t}_abs_log2fc") for t in tracks] + [("score_pct", "score")]
    new = {name: np.full(len(out), np.nan) for name, _ in columns}
    new["pvalue"] = np.full(len(out), np.nan)
    for p in np.unique(var_pool):
        rows, bg = var_pool == p, background[bg_pool == p]
        for name, source in columns:
            new[name][rows] = midrank_percentile(out.loc[rows, source].to_numpy(float), bg[source].to_numpy(float))
        new["pvalue"][rows] = empirical_pvalue(out.loc[rows, "score"].to_numpy(float), bg["score"].to_numpy(float))
    for name, values in new.items():
        out[name] = values
    scored = ~np.isnan(new["pvalue"])
    out["qvalue"] = np.nan
    if scored.any():
        out.loc[scored, "qvalue"] = false_discovery_control(new["pvalue"][scored], method="bh")
    return out


def background_key(checkpoint_md5: str, settings: dict[str, Any]) -> str:
    """12 hex digits identifying a background: the model's md5 and every setting that changes its scores."""
    text = json.dumps({"checkpoint_md5": checkpoint_md5, **settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def file_md5(path: str | Path) -> str:
    """md5 hex digest of a file, read in 8-MB blocks."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_background(table: pd.DataFrame, path: str | Path, info: dict[str, Any]) -> None:
    """``path`` (parquet) and ``<path>.json`` beside it with ``info`` (model md5, settings, version)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    with atomic_path(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps({**info, "n": len(table), "stagevep_version": __version__}, indent=1) + "\n")


def read_background(path: str | Path, tracks: list[str], settings: dict[str, Any]) -> pd.DataFrame:
    """A background written by :func:`write_background`, checked against the variants' scoring settings.

    :class:`InputError` when its tracks or any setting in ``settings`` (central bins, RC ensemble,
    pseudocount, ...) differ: percentiles against a background scored otherwise would mean nothing.
    """
    path = Path(path)
    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        raise InputError(f"background {path} (and {meta_path.name} beside it) not found: run score_background.py")
    info = json.loads(meta_path.read_text())
    if list(info.get("tracks", [])) != list(tracks):
        raise InputError(f"background {path} was scored for tracks {info.get('tracks')}, the variants for {tracks}: "
                         "score the background with the same checkpoint")
    differ = {k: (info.get("settings", {}).get(k), v) for k, v in settings.items()
              if info.get("settings", {}).get(k) != v}
    if differ:
        raise InputError(f"background {path} was scored with other settings than the variants "
                         f"(setting: (background, variants)) {differ}: score both with the same options")
    return pd.read_parquet(path)


def scoring_settings(central_bins: int, pseudocount: float, rc_ensemble: bool, precision: str,
                     share_reference: bool = False) -> dict[str, Any]:
    """The scoring options a background must share with the variants it calibrates."""
    return {"central_bins": int(central_bins), "pseudocount": float(pseudocount), "rc_ensemble": bool(rc_ensemble),
            "precision": str(precision), "share_reference": bool(share_reference)}
