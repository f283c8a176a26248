"""Shared reference passes: SNVs whose windows overlap are scored against one reference window.

Per-variant centring (the default) gives every SNV its own window with the variant at index
``context_length // 2``, i.e. at the first base of bin ``n_bins // 2``, and pays a reference pass per
variant. With ``share_reference``, each contig is cut into tiles of ``2 * max_offset`` bp
(:func:`max_offset`) starting at its first base; the SNVs of one tile whose positions agree modulo the bin
size share one window, placed so that each of them sits on the first base of a bin a whole number of bins
from the window's centre (:func:`tiles`), as per-variant centring places a variant on the first base of
the central bin. The window's reference goes through the model once, and each alternate is that window
with one base changed. A :class:`~stagevep.model.enformer.StageEnformer` reuses the
reference's input to every convolution layer and recomputes, layer by layer, only the positions that
depend on the changed base (:class:`~stagevep.model.incremental.IncrementalConv`), so an alternate costs a
few hundred positions of convolution and one transformer pass. The windows are fixed by the genome alone,
so a variant's scores do not depend on which other variants are scored with it (nor on the shard it
lands in).

Each variant's summary bins are centred on its own bin: bins ``b_v - central_bins // 2`` to
``b_v - central_bins // 2 + central_bins - 1``, where ``b_v`` is the bin holding the variant. A variant sits
at most ``max_offset`` bp plus one bin from its window's centre, so its summary bins stay inside the
window. The convolutions and pooling of Enformer move with the sequence in steps of whole bins (128 bp) and
the transformer's positions are relative, so scores agree with per-variant centring except for what the
window's ends contribute; the measured agreement is in docs/benchmarks.md. (Windows that put variants at
other offsets within a bin would not agree: the pooling chain is not equivariant to shifts of less than a
bin.)
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch
from torch import nn

from stagevep.core.sequence import one_hot
from stagevep.geometry import Geometry
from stagevep.io.genome import fetch_padded
from stagevep.model.enformer import StageEnformer, unwrap
from stagevep.model.incremental import IncrementalConv
from stagevep.model.predict import autocast_dtype
from stagevep.progress import progress


def max_offset(geometry: Geometry, central_bins: int) -> int:
    """Largest distance (bp) of a variant from its cluster window's centre."""
    return max(0, (geometry.n_bins - central_bins) // 4) * geometry.bin_size


def tile_size(geometry: Geometry, central_bins: int) -> int:
    """Length (bp) of the genome tiles whose variants share one window: ``2 * max_offset``, at least 1."""
    return max(1, 2 * max_offset(geometry, central_bins))


def tiles(chroms: np.ndarray, positions: np.ndarray, geometry: Geometry, central_bins: int
          ) -> list[tuple[np.ndarray, int]]:
    """Group variants into shared windows. ``chroms``, ``positions`` (1-based) ``(N,)``; returns, in genome
    order, ``(members, centre)``: index arrays into the inputs and the 0-based genome index at the centre of
    their shared window.

    Tile ``t`` of a contig covers 0-based ``[t * size, (t + 1) * size)`` (:func:`tile_size`). Its variants
    are grouped by their position modulo the bin size, and each group's window is centred on the first index
    at or after the tile's centre ``t * size + size // 2`` with that residue. Every member thus sits a whole
    number of bins (at most ``max_offset / bin_size + 1``) from its window's centre, on the first base of its
    bin, exactly where per-variant centring puts a variant.
    """
    size, bs = tile_size(geometry, central_bins), geometry.bin_size
    pos0 = positions.astype(np.int64) - 1
    tile, residue = pos0 // size, pos0 % bs
    order = np.lexsort((positions, residue, tile, chroms))
    out: list[tuple[np.ndarray, int]] = []
    start = 0
    for k in range(1, len(order) + 1):
        i, j = order[start], order[k] if k < len(order) else None
        if j is None or chroms[j] != chroms[i] or tile[j] != tile[i] or residue[j] != residue[i]:
            middle = int(tile[i]) * size + size // 2
            out.append((order[start:k], middle + (int(residue[i]) - middle) % bs))
            start = k
    return out


@torch.no_grad()
def shared_predictions(
    model: nn.Module, x: np.ndarray, indices: np.ndarray, bases: np.ndarray, batch_size: int,
    device: torch.device, precision: str = "auto", rc: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference ``(n_bins, n_tracks)`` and alternates ``(K, n_bins, n_tracks)`` of one window ``x`` ``(L, 4)``
    with base ``bases[k]`` (0-3 for A, C, G, T) at index ``indices[k]``; ``rc`` averages the reverse
    complement (flipped back). Alternates go ``batch_size`` at a time, the last batch padded."""
    ref_f, alt_f = _one_strand(model, x, indices, bases, batch_size, device, precision)
    if not rc:
        return ref_f, alt_f
    x_rc = x[::-1, ::-1].copy()
    ref_r, alt_r = _one_strand(model, x_rc, x.shape[0] - 1 - indices, 3 - bases, batch_size, device, precision)
    return 0.5 * (ref_f + ref_r[::-1]), 0.5 * (alt_f + alt_r[:, ::-1])


def _one_strand(model: nn.Module, x: np.ndarray, indices: np.ndarray, bases: np.ndarray, batch_size: int,
                device: torch.device, precision: str) -> tuple[np.ndarray, np.ndarray]:
    dtype = autocast_dtype(precision, device)
    core = unwrap(model)
    # the model's own float type (float64 models give scores exact to float64 rounding); outputs as float64
    xt = torch.from_numpy(np.ascontiguousarray(x))[None].to(device, next(core.parameters(), torch.empty(0)).dtype)
    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        if isinstance(core, StageEnformer):
            inc = IncrementalConv(core, xt[0])
            ref = core.predict_from_features(inc.features).double()
            idx_t, bases_t = torch.from_numpy(np.asarray(indices)), torch.from_numpy(np.asarray(bases))
            alts = []
            for batch in _chunks(len(indices), batch_size):
                padded = batch + [batch[-1]] * (batch_size - len(batch))  # one batch shape for every variant
                h = inc.alternates(idx_t[padded], bases_t[padded])
                alts.append(core.predict_from_features(h).double()[:len(batch)])
            alt = torch.cat(alts)
        else:
            ref = model(xt).double()
            alts = []
            for batch in _chunks(len(indices), batch_size):
                xb = xt.repeat(batch_size, 1, 1)
                for k, i in enumerate(batch):
                    xb[k, int(indices[i])] = 0.0
                    xb[k, int(indices[i]), int(bases[i])] = 1.0
                alts.append(model(xb).double()[:len(batch)])
            alt = torch.cat(alts)
    return ref[0].cpu().numpy(), alt.cpu().numpy()


def _chunks(n: int, size: int) -> Iterator[list[int]]:
    for i in range(0, n, size):
        yield list(range(i, min(n, i + size)))


def own_bins(pred: np.ndarray, bin_of: np.ndarray, width: int) -> np.ndarray:
    """Per variant the ``width`` bins centred on its own bin: ``pred`` ``(K, n_bins, T)`` or ``(n_bins, T)``
    shared, ``bin_of`` ``(K,)`` -> ``(K, width, T)``; bins beyond the window are NaN."""
    n_bins = pred.shape[-2]
    out = np.full((len(bin_of), width, pred.shape[-1]), np.nan, dtype=np.float64)
    for k, b in enumerate(bin_of):
        lo = int(b) - width // 2
        src = pred[k] if pred.ndim == 3 else pred
        a, z = max(lo, 0), min(lo + width, n_bins)
        out[k, a - lo:z - lo] = src[a:z]
    return out


def score_shared(model: nn.Module, geometry: Geometry, fa, table: pd.DataFrame, rows: np.ndarray, central_bins: int,
                 batch_size: int, device: torch.device, precision: str, rc: bool
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each genome tile of ``rows`` (SNVs of ``table`` with status ok): ``(rows, ref, alt)`` with ``ref``, ``alt``
    ``(K, n_bins, T)`` re-centred on each variant's own bin (NaN beyond the shared window)."""
    L, flank, bs = geometry.context_length, geometry.flank, geometry.bin_size
    chroms = table["chrom"].to_numpy()[rows].astype(str)
    positions = table["pos"].to_numpy()[rows].astype(np.int64)
    for members, centre in progress(tiles(chroms, positions, geometry, central_bins),
                                    desc="shared windows", unit="window"):
        start = centre - L // 2
        x = one_hot(fetch_padded(fa, chroms[members[0]], start, start + L))
        idx = positions[members] - 1 - start
        bases = np.array(["ACGT".index(a) for a in table["alt"].to_numpy()[rows[members]]])
        ref, alt = shared_predictions(model, x, idx, bases, batch_size, device, precision, rc)
        bin_of = (idx - flank) // bs
        yield rows[members], own_bins(ref, bin_of, geometry.n_bins), own_bins(alt, bin_of, geometry.n_bins)
