"""Replicate averaging against pyBigWig values read directly."""

import numpy as np
import pyBigWig
import pytest

from conftest import random_runs, raw_values, write_bigwig
from stagevep.data.average import average_bigwigs
from stagevep.errors import InputError


def test_average_equals_mean_of_raw_values(tmp_path):
    rng = np.random.default_rng(0)
    chroms = {"chr1": 5000, "chr2": 3000}
    paths = [write_bigwig(tmp_path / f"r{i}.bw", chroms, {c: random_runs(rng, n) for c, n in chroms.items()})
             for i in range(3)]
    out = tmp_path / "mean.bw"
    average_bigwigs(paths, out)
    for chrom, length in chroms.items():
        expected = np.mean([raw_values(p, chrom, 0, length) for p in paths], axis=0)
        np.testing.assert_allclose(raw_values(out, chrom, 0, length), expected, rtol=1e-6, atol=1e-6)


def test_missing_chromosome_counts_as_zero(tmp_path):
    a = write_bigwig(tmp_path / "a.bw", {"chr1": 100, "chr2": 50}, {"chr1": [(0, 100, 2.0)], "chr2": [(0, 50, 4.0)]})
    b = write_bigwig(tmp_path / "b.bw", {"chr1": 100}, {"chr1": [(10, 20, 6.0)]})
    out = tmp_path / "mean.bw"
    average_bigwigs([a, b], out)
    np.testing.assert_allclose(raw_values(out, "chr2", 0, 50), 2.0)
    v = raw_values(out, "chr1", 0, 100)
    np.testing.assert_allclose(v[10:20], 4.0)
    np.testing.assert_allclose(v[:10], 1.0)


def test_output_is_compact_runs(tmp_path):
    a = write_bigwig(tmp_path / "a.bw", {"chr1": 1000}, {"chr1": [(0, 10, 1.0), (10, 500, 1.0), (600, 700, 3.0)]})
    out = tmp_path / "mean.bw"
    average_bigwigs([a], out)
    bw = pyBigWig.open(str(out))
    assert bw.intervals("chr1") == ((0, 500, 1.0), (600, 700, 3.0))
    bw.close()


def test_length_mismatch_names_chromosome_and_files(tmp_path):
    a = write_bigwig(tmp_path / "a.bw", {"chr1": 100}, {"chr1": [(0, 10, 1.0)]})
    b = write_bigwig(tmp_path / "b.bw", {"chr1": 200}, {"chr1": [(0, 10, 1.0)]})
    with pytest.raises(InputError, match=r"chr1 is 100 bp in .*a\.bw but 200 bp in .*b\.bw"):
        average_bigwigs([a, b], tmp_path / "mean.bw")


def test_missing_input_is_input_error(tmp_path):
    with pytest.raises(InputError, match="bigWig file not found"):
        average_bigwigs([tmp_path / "nope.bw"], tmp_path / "mean.bw")
