"""A simple sequence baseline: ridge regression of window totals on k-mer counts.

For each window of ``targets.h5`` it counts the canonical k-mers (a k-mer and
its reverse complement together) of the target window's sequence, fits one
ridge regression per stage of the window totals (sum of the transformed targets
over the bins) on the training windows, picks the ridge penalty that gives the
highest R² of stage deviations on the validation windows, and predicts the test
windows. It reads the sequence, but only as a bag of short words: a model that
does not beat it has not learned more than k-mer composition.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

from stagevep.core.metrics import pearson_window_totals, r2_stage_deviation
from stagevep.io.genome import open_fasta
from stagevep.io.hdf5 import read_targets

_CODE = np.full(256, -1, dtype=np.int64)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[ord(chr(_b).lower())] = _i


def canonical_index(k: int) -> np.ndarray:
    """For every k-mer code ``0 .. 4**k - 1``, the column of its canonical k-mer: ``(4**k,)``."""
    kmers = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
    comp = str.maketrans("ACGT", "TGCA")
    canon = sorted({min(s, s.translate(comp)[::-1]) for s in kmers})
    col = {s: i for i, s in enumerate(canon)}
    return np.array([col[min(s, s.translate(comp)[::-1])] for s in kmers])


def kmer_counts(fasta: str | Path, windows: pd.DataFrame, k: int = 5) -> np.ndarray:
    """Canonical k-mer counts of each window's sequence (``chrom start end``): ``(N, n_canonical)``.

    k-mers holding an N (or any non-ACGT base) are not counted.
    """
    fa = open_fasta(fasta)
    index = canonical_index(k)
    out = np.zeros((len(windows), index.max() + 1))
    for n, (chrom, start, end) in enumerate(windows[["chrom", "start", "end"]].itertuples(index=False)):
        codes = _CODE[np.frombuffer(str(fa[chrom][int(start):int(end)]).encode(), dtype=np.uint8)]
        m = len(codes) - k + 1
        value, valid = np.zeros(m, dtype=np.int64), np.ones(m, dtype=bool)
        for j in range(k):
            c = codes[j:j + m]
            valid &= c >= 0
            value = value * 4 + np.maximum(c, 0)
        out[n] = np.bincount(index[value[valid]], minlength=out.shape[1])
    return out


def kmer_baseline(
    targets: str | Path, fasta: str | Path, k: int = 5, alphas: tuple[float, ...] = (1, 10, 100, 1e3, 1e4, 1e5),
    split: str = "test",
) -> dict[str, float]:
    """Fit on ``train``, choose the penalty on ``val``, score ``split``: Pearson of window totals and R² of
    stage deviations (pooled, in the target space), with the chosen ``alpha``."""
    data = read_targets(targets)
    idx = {s: data.split_index(s) for s in ("train", "val", split)}
    x = {s: kmer_counts(fasta, data.windows.iloc[i], k) for s, i in idx.items()}
    y = {s: data.targets[i].sum(axis=1, dtype=np.float64) for s, i in idx.items()}  # (N, n_tracks)

    def fitted(alpha: float, on: str) -> np.ndarray:
        return Ridge(alpha=alpha).fit(x["train"], y["train"]).predict(x[on])

    best = max(alphas, key=lambda a: r2_stage_deviation(fitted(a, "val")[:, None], y["val"][:, None])[1])
    pred = fitted(best, split)[:, None]  # (N, 1, n_tracks): totals as a one-bin window
    obs = y[split][:, None]
    return {"pearson_window_totals": float(np.nanmean(pearson_window_totals(pred, obs))),
            "r2_stage_deviation": r2_stage_deviation(pred, obs)[1], "alpha": float(best)}
