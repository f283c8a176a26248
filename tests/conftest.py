"""Shared fixtures: the bundled synthetic dataset and small hand-made files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "assets" / "test_data"


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The committed synthetic dataset (assets/test_data)."""
    return TEST_DATA


def write_bigwig(path: Path, chroms: dict[str, int], entries: dict[str, list[tuple[int, int, float]]]) -> Path:
    """Write a bigWig from ``{chrom: [(start, end, value), ...]}`` (sorted, non-overlapping)."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chroms.items()))
    for chrom in chroms:
        runs = entries.get(chrom, [])
        if runs:
            bw.addEntries([chrom] * len(runs), [s for s, _, _ in runs], ends=[e for _, e, _ in runs],
                          values=[float(v) for _, _, v in runs])
    bw.close()
    return path


def random_runs(rng: np.random.Generator, length: int, gap_prob: float = 0.2) -> list[tuple[int, int, float]]:
    """Random-length runs (1-300 bp) over ``[0, length)``, some left as no-data gaps."""
    runs, pos = [], 0
    while pos < length:
        end = min(length, pos + int(rng.integers(1, 300)))
        if rng.random() > gap_prob:
            runs.append((pos, end, round(float(rng.exponential(2.0)), 3)))
        pos = end
    return runs


def fasta_text(path: Path) -> dict[str, str]:
    """``{contig: sequence}`` parsed from the FASTA text itself (independent of pyfaidx)."""
    seqs: dict[str, list[str]] = {}
    name = ""
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif line:
            seqs[name].append(line)
    return {k: "".join(v) for k, v in seqs.items()}


def raw_values(path: Path, chrom: str, start: int, end: int) -> np.ndarray:
    """Values read straight from pyBigWig, NaN -> 0 (the independent reference)."""
    bw = pyBigWig.open(str(path))
    try:
        if chrom not in bw.chroms():
            return np.zeros(end - start)
        return np.nan_to_num(np.asarray(bw.values(chrom, start, end), dtype=np.float64))
    finally:
        bw.close()


@pytest.fixture(scope="session", autouse=True)
def genome_cache(tmp_path_factory) -> Iterator[Path]:
    """Encoded genomes of the tests go to a session temporary directory, not the system-wide cache."""
    import os

    path = tmp_path_factory.mktemp("genome-cache")
    previous = os.environ.get("STAGEVEP_CACHE_DIR")
    os.environ["STAGEVEP_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("STAGEVEP_CACHE_DIR", None)
    else:
        os.environ["STAGEVEP_CACHE_DIR"] = previous


def mixing_model(geometry, n_tracks: int, seed: int = 0):
    """A tiny :class:`StageEnformer` in eval mode whose every weight is random, so a single base changes
    its predictions well above float rounding (a fresh Enformer zero-initialises the attention output,
    which leaves the transformer an identity and variant effects at rounding level)."""
    import torch

    from stagevep.model.enformer import build_model
    from stagevep.model.sizes import model_config

    torch.manual_seed(seed)
    model = build_model(model_config("tiny", geometry), n_tracks).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim > 1:
                p.normal_(0.0, p[0].numel() ** -0.5)
            elif "bias" in name:
                p.normal_(0.0, 0.1)
            else:  # normalisation scales
                p.uniform_(0.5, 1.5)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model
