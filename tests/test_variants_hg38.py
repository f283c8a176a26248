"""Variant placement on a real hg38 sequence (rs661849 in the IRF6 region, chr1).

``../shared/data/irf6_rs661849_window.hg38.fa`` holds the 196,608-bp window
``chr1:209729583-209926191`` (0-based, half-open) centred on rs661849. The test
FASTA keeps the true coordinates: a contig ``chr1`` whose first 209,729,583
bases are N, written in large chunks as ordinary 60-column lines, followed by
the real window, indexed with ``pysam.faidx`` (htslib; independent of the
pyfaidx reader under test). It is about 213 MB in the temporary directory and
takes a few seconds to write; a shorter contig with shifted coordinates would
not test the 1-based/0-based conversion at the real position.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import torch
from torch import nn

from stagevep.geometry import Geometry
from stagevep.io.genome import open_fasta
from stagevep.io.variants import read_variants
from stagevep.variants.score import score_with_model
from stagevep.variants.sequences import variant_sequences

# a copy of ../shared/data/irf6_rs661849_window.hg38.fa kept with the tests, so that a clone tests anywhere
WINDOW_FA = Path(__file__).resolve().parent / "data" / "irf6_rs661849_window.hg38.fa"
GEOM = Geometry()  # Enformer's 896 x 128 bp in 196,608 bp: the window file is exactly one context
LINE = 60


def _read_window() -> tuple[int, str]:
    if not WINDOW_FA.exists():
        pytest.fail(f"{WINDOW_FA} is missing: restore it from git (a copy of ../shared/data)")
    header, *lines = WINDOW_FA.read_text().split("\n")
    start, end = map(int, re.match(r">chr1:(\d+)-(\d+) ", header).groups())
    seq = "".join(lines).upper()
    if len(seq) != end - start:
        pytest.fail(f"{WINDOW_FA}: {len(seq)} bases but the header says {end - start}")
    return start, seq


@pytest.fixture(scope="module")
def hg38_chr1(tmp_path_factory) -> tuple[Path, int, str]:
    """(indexed FASTA with the window at its hg38 offset on chr1, window start, window sequence)."""
    start, seq = _read_window()
    path = tmp_path_factory.mktemp("hg38") / "chr1_irf6.fa"
    t0 = time.perf_counter()
    full_lines, rest = divmod(start, LINE)
    block = ("N" * LINE + "\n") * 100_000
    with open(path, "w") as fh:
        fh.write(">chr1\n")
        for _ in range(full_lines // 100_000):
            fh.write(block)
        fh.write(("N" * LINE + "\n") * (full_lines % 100_000))
        tail = "N" * rest + seq
        fh.write("\n".join(tail[i:i + LINE] for i in range(0, len(tail), LINE)) + "\n")
    pysam.faidx(str(path))
    print(f"wrote and indexed {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
    return path, start, seq


class GCPerBin(nn.Module):
    """Toy model: per target bin, the count of G+C and of A+T bases; ``(B, n_bins, 2)``.

    Reverse-complementing the input swaps A<->T and C<->G (counts unchanged) and
    reverses the bins, so ``f(rc(x)) == flip_bins(f(x))``: forward and
    reverse-complement scoring must agree exactly.
    """

    def __init__(self, geometry: Geometry) -> None:
        super().__init__()
        self.g = geometry

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        core = x[:, self.g.flank:self.g.flank + self.g.target_length]
        binned = core.reshape(x.shape[0], self.g.n_bins, self.g.bin_size, 4).sum(dim=2)
        return torch.stack([binned[..., 1] + binned[..., 2], binned[..., 0] + binned[..., 3]], dim=-1)


def _table(tmp_path: Path, rows: list[tuple]) -> pd.DataFrame:
    tsv = tmp_path / "v.tsv"
    pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt"]).to_csv(tsv, sep="\t", index=False)
    return read_variants(tsv)


def test_rs661849_windows_at_the_true_position(hg38_chr1):
    path, start, seq = hg38_chr1
    fa = open_fasta(path)
    assert len(fa["chr1"]) == start + len(seq)
    pos = 209827888  # VCF POS (1-based) of rs661849 C>T; 0-based 209827887
    assert pos - 1 == start + GEOM.context_length // 2
    ref, alt = variant_sequences(fa, "chr1", pos, "T", GEOM.context_length)
    assert ref == seq
    assert ref[98304] == "C" and alt[98304] == "T"
    diff = np.flatnonzero(np.frombuffer(ref.encode(), np.uint8) != np.frombuffer(alt.encode(), np.uint8))
    assert diff.tolist() == [98304]


def test_rs661849_statuses_and_symmetric_model(tmp_path, hg38_chr1):
    path, _, seq = hg38_chr1
    fa = open_fasta(path)
    table = _table(tmp_path, [("rs661849", "chr1", 209827888, "C", "T"),
                              ("off_by_one", "chr1", 209827887, "C", "T"),
                              ("soft_masked", "chr1", 209827888, "c", "t")])
    model = GCPerBin(GEOM)
    fwd = score_with_model(model, GEOM, ["GC", "AT"], fa, table, central_bins=96, batch_size=2)
    rc = score_with_model(model, GEOM, ["GC", "AT"], fa, table, central_bins=96, batch_size=2, rc_ensemble=True)
    assert fwd["status"].tolist() == ["ok", "ref_mismatch", "ok"]
    assert seq[98303] != "C"  # the base left of rs661849 is not a C: POS 209827887 cannot match
    # C>T lowers the G+C count of the variant's bin (448) by one and raises A+T by one
    assert fwd.loc[0, "GC_delta_sum"] == -1 and fwd.loc[0, "AT_delta_sum"] == 1
    assert fwd.loc[0, "GC_max_delta"] == -1
    cols = ["GC_delta_sum", "AT_delta_sum", "GC_abs_log2fc", "AT_abs_log2fc", "GC_max_delta", "score"]
    np.testing.assert_allclose(rc.loc[[0, 2], cols], fwd.loc[[0, 2], cols], rtol=1e-6, atol=1e-6)
    assert fwd.loc[0, "score"] > 0 and np.isnan(fwd.loc[1, "score"])

    ref, _ = variant_sequences(fa, "chr1", 209827888, "T", GEOM.context_length)
    x = torch.from_numpy(np.stack([np.eye(4, dtype=np.float32)["ACGT".index(b)] for b in ref]))[None]
    rc_x = x.flip(1).flip(2)  # reverse complement: reverse positions, swap A<->T and C<->G (ACGT order)
    torch.testing.assert_close(model(rc_x).flip(1), model(x))
