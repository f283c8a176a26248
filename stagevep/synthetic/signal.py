"""The synthetic replicates' files: bigWigs of the noisy signal and peaks in several formats."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pybigtools

from stagevep.io.bigwig import BigWigWriter
from stagevep.synthetic.config import SyntheticConfig


def write_replicate_bigwig(
    path: Path, truth: dict[str, np.ndarray], gain: float, noise: float, rng: np.random.Generator
) -> None:
    """Runs of 20-300 bp where there is signal and 300-3000 bp elsewhere, each at its mean value plus noise."""
    chroms = [(c, len(v)) for c, v in truth.items()]
    with BigWigWriter(path, chroms) as writer:
        for chrom, signal in truth.items():
            length = len(signal)
            starts, ends = _runs(signal > 1e-3, rng)
            csum = np.concatenate([[0.0], np.cumsum(signal)])
            means = (csum[ends] - csum[starts]) / (ends - starts)
            values = np.round(means * gain + np.abs(rng.normal(0.0, noise, size=len(starts))), 3)
            gap_start = int(rng.integers(0, length - 5000))
            keep = (ends <= gap_start) | (starts >= gap_start + int(rng.integers(1000, 5000)))
            writer.add_runs(chrom, starts[keep], ends[keep], values[keep])


def _runs(active: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Run ``(starts, ends)`` tiling ``active`` ``(length,)``: 20-300 bp inside active bases, 300-3000 bp
    elsewhere (a long run stops where the next active base starts)."""
    length = len(active)
    on = np.flatnonzero(active)
    short = rng.integers(20, 300, size=length // 20 + 1)
    long = rng.integers(300, 3000, size=length // 300 + 1)
    bounds, pos, k = [0], 0, 0
    while pos < length:
        if active[pos]:
            pos += int(short[k % len(short)])
        else:
            nxt = np.searchsorted(on, pos)
            limit = int(on[nxt]) if nxt < len(on) else length
            pos = min(pos + int(long[k % len(long)]), limit)
        k += 1
        bounds.append(min(pos, length))
    b = np.asarray(bounds)
    return b[:-1], b[1:]


def write_peaks(
    path: Path, enhancers: pd.DataFrame, stage: str, cfg: SyntheticConfig, rng: np.random.Generator
) -> None:
    """Peaks of ``stage`` around enhancers whose activity reaches ``cfg.peak_threshold``, in the format
    named by ``path``'s suffix (:data:`~stagevep.synthetic.config.PEAK_FORMATS`)."""
    rows = []
    for enh in enhancers.itertuples(index=False):
        act = float(getattr(enh, f"activity_{stage}"))
        if act < cfg.peak_threshold:
            continue
        centre = int(enh.centre + rng.normal(0, 80))
        half = int(rng.integers(250, 700))
        score = int(min(1000, 250 * act))
        rows.append((enh.chrom, centre - half, centre + half, score, act))
    chrom_order = {c: i for i, c in enumerate(cfg.chrom_lengths)}
    rows.sort(key=lambda r: (chrom_order[r[0]], r[1]))
    fmt = path.name.split(".", 1)[1]
    if fmt == "bb":
        pybigtools_rows = ((c, s, e, f"peak{i}\t{sc}\t.") for i, (c, s, e, sc, _) in enumerate(rows))
        bb = pybigtools.open(str(path), "w")
        bb.write(dict(cfg.chrom_lengths), pybigtools_rows)
        return
    lines = []
    for i, (chrom, start, end, score, act) in enumerate(rows):
        name = f"peak{i}"
        if fmt.startswith("bed"):
            lines.append(f"{chrom}\t{start}\t{end}\t{name}\t{score}\t.")
        elif fmt == "narrowPeak":
            signal = f"{act * 10:.3f}\t{act * 8:.3f}\t{act * 6:.3f}"
            lines.append(f"{chrom}\t{start}\t{end}\t{name}\t{score}\t.\t{signal}\t{(end - start) // 2}")
        else:  # gappedPeak: one block spanning the peak
            lines.append(
                f"{chrom}\t{start}\t{end}\t{name}\t{score}\t.\t{start}\t{end}\t0\t1\t{end - start},\t0,\t"
                f"{act * 10:.3f}\t{act * 8:.3f}\t{act * 6:.3f}"
            )
    text = "track name=synthetic_peaks\n" + "\n".join(lines) + "\n"
    if fmt.endswith(".gz"):
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(text.encode())
    else:
        path.write_text(text)
