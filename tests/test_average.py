"""Replicate averaging against pyBigWig values read directly."""

import logging
import subprocess
import sys
from pathlib import Path

import bbi
import numpy as np
import pandas as pd
import pyBigWig
import pytest

from conftest import random_runs, raw_values, write_bigwig
from stagevep.data.average import average_bigwigs
from stagevep.errors import InputError
from stagevep.io.bigwig import BigWigWriter


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


def _deeptools_bigwig_average() -> str:
    """The bigwigAverage next to this interpreter (the test extras install deepTools into the venv)."""
    local = Path(sys.executable).parent / "bigwigAverage"
    return str(local) if local.exists() else "bigwigAverage"


def _write_fasta(path, chroms):
    path.write_text("".join(f">{c}\n{'A' * n}\n" for c, n in chroms.items()))
    return path


def test_average_equals_mean_of_raw_values_on_bundled_data(tmp_path, test_data):
    sheet = pd.read_csv(test_data / "samplesheet.csv")
    reps = [test_data / b for b in sheet.loc[sheet["stage"] == "CS13", "bigwig"]]
    fasta = test_data / "genome.fa"
    out = tmp_path / "CS13.mean.bw"
    average_bigwigs(reps, out, fasta)
    bw = pyBigWig.open(str(out))
    chroms = bw.chroms()
    bw.close()
    fai_order = [line.split("\t")[0] for line in (test_data / "genome.fa.fai").read_text().splitlines()]
    assert list(chroms) == [c for c in fai_order if c in chroms]
    for chrom, length in chroms.items():
        expected = np.mean([raw_values(p, chrom, 0, length) for p in reps], axis=0)
        np.testing.assert_allclose(raw_values(out, chrom, 0, length), expected, rtol=1e-5, atol=1e-5)
        # readable by pybbi too (another bigWig reader, not libBigWig)
        np.testing.assert_allclose(bbi.fetch(str(out), chrom, 0, length, missing=0.0), expected, rtol=1e-5,
                                   atol=1e-5)
    assert bbi.chromsizes(str(out)) == chroms


def test_uncovered_gaps_across_small_blocks_give_exact_mean_and_maximal_runs(tmp_path):
    rng = np.random.default_rng(7)
    chroms = {"chr1": 7000, "chr2": 2500}
    paths = [write_bigwig(tmp_path / f"r{i}.bw", chroms, {c: random_runs(rng, n, gap_prob=0.6) for c, n in
                                                          chroms.items()}) for i in range(3)]
    # one long constant run that crosses several block boundaries
    paths.append(write_bigwig(tmp_path / "flat.bw", chroms, {"chr1": [(0, 7000, 3.0)]}))
    out = tmp_path / "mean.bw"
    average_bigwigs(paths, out, block_size=1000)
    bw = pyBigWig.open(str(out))
    for chrom, length in chroms.items():
        expected = np.mean([raw_values(p, chrom, 0, length) for p in paths], axis=0)
        np.testing.assert_allclose(raw_values(out, chrom, 0, length), expected, rtol=1e-5, atol=1e-5)
        iv = bw.intervals(chrom) or ()
        for (_, e1, v1), (s2, _, v2) in zip(iv[:-1], iv[1:], strict=True):
            assert not (e1 == s2 and v1 == v2), f"adjacent equal runs at {chrom}:{e1} were not merged"
    bw.close()


def test_agrees_with_deeptools_bigwigaverage_binsize_1(tmp_path):
    rng = np.random.default_rng(11)
    chroms = {"chr1": 6000, "chr2": 3000}
    paths = [write_bigwig(tmp_path / f"r{i}.bw", chroms, {c: random_runs(rng, n, gap_prob=0.3) for c, n in
                                                          chroms.items()}) for i in range(2)]
    ours = tmp_path / "ours.bw"
    average_bigwigs(paths, ours)
    theirs = tmp_path / "deeptools.bw"
    subprocess.run([_deeptools_bigwig_average(), "-b", *map(str, paths), "-o", str(theirs), "--binSize", "1",
                    "-p", "1"], check=True, capture_output=True)
    for chrom, length in chroms.items():
        # deepTools writes about 6 significant digits
        np.testing.assert_allclose(raw_values(ours, chrom, 0, length), raw_values(theirs, chrom, 0, length),
                                   rtol=1e-5, atol=1e-5)


def test_chromosomes_follow_fasta_order_and_unknown_ones_are_dropped(tmp_path, caplog):
    a = write_bigwig(tmp_path / "a.bw", {"chrUn_x": 50, "chr2": 100, "chr1": 200},
                     {"chrUn_x": [(0, 50, 1.0)], "chr2": [(0, 100, 2.0)], "chr1": [(0, 200, 4.0)]})
    fasta = _write_fasta(tmp_path / "g.fa", {"chr1": 200, "chr2": 100, "chr3": 10})
    out = tmp_path / "mean.bw"
    with caplog.at_level(logging.WARNING):
        average_bigwigs([a], out, fasta)
    bw = pyBigWig.open(str(out))
    assert list(bw.chroms().items()) == [("chr1", 200), ("chr2", 100)]
    bw.close()
    assert "chrUn_x" in caplog.text


def test_length_disagreement_with_fasta_names_chromosome(tmp_path):
    a = write_bigwig(tmp_path / "a.bw", {"chr1": 200}, {"chr1": [(0, 10, 1.0)]})
    fasta = _write_fasta(tmp_path / "g.fa", {"chr1": 150})
    with pytest.raises(InputError, match=r"chr1 is 200 bp in the bigWigs but 150 bp in .*g\.fa"):
        average_bigwigs([a], tmp_path / "out" / "mean.bw", fasta)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_chromosome_rule_is_logged(tmp_path, caplog):
    a = write_bigwig(tmp_path / "a.bw", {"chr1": 100, "chr2": 50}, {"chr1": [(0, 100, 2.0)], "chr2": [(0, 50, 4.0)]})
    b = write_bigwig(tmp_path / "b.bw", {"chr1": 100}, {"chr1": [(10, 20, 6.0)]})
    with caplog.at_level(logging.WARNING):
        average_bigwigs([a, b], tmp_path / "mean.bw")
    assert "chromosome chr2 is missing from b.bw" in caplog.text


@pytest.mark.parametrize("keep_fraction", [0.02, 0.5, 0.9])
def test_truncated_bigwig_is_one_clear_error_and_leaves_no_output(tmp_path, keep_fraction):
    rng = np.random.default_rng(5)
    chroms = {"chr1": 200_000}
    good = write_bigwig(tmp_path / "good.bw", chroms, {"chr1": random_runs(rng, 200_000)})
    data = good.read_bytes()
    bad = tmp_path / "truncated.bw"
    bad.write_bytes(data[: int(len(data) * keep_fraction)])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(InputError, match=r"truncated\.bw .*(truncated|too short)"):
        average_bigwigs([good, bad], out_dir / "mean.bw")
    assert list(out_dir.iterdir()) == []


def test_text_file_given_as_bigwig(tmp_path):
    bedgraph = tmp_path / "signal.bw"
    bedgraph.write_text("chr1\t0\t100\t1.5\nchr1\t100\t200\t2.5\n" * 10)
    with pytest.raises(InputError, match=r"signal\.bw is not a bigWig file .*text: 'chr1\\t0\\t100"):
        average_bigwigs([bedgraph], tmp_path / "mean.bw")


def test_nan_values_count_as_zero_with_a_warning(tmp_path, caplog):
    a = write_bigwig(tmp_path / "nan.bw", {"chr1": 300},
                     {"chr1": [(0, 50, 1.0), (100, 150, float("nan")), (200, 250, 3.0)]})
    b = write_bigwig(tmp_path / "b.bw", {"chr1": 300}, {"chr1": [(0, 300, 1.0)]})
    out = tmp_path / "mean.bw"
    with caplog.at_level(logging.WARNING):
        average_bigwigs([a, b], out)
    assert "nan.bw contains NaN values" in caplog.text
    assert "b.bw contains" not in caplog.text
    v = raw_values(out, "chr1", 0, 300)
    np.testing.assert_allclose(v[100:150], 0.5)
    np.testing.assert_allclose(v[200:250], 2.0)
    np.testing.assert_allclose(v[:50], 1.0)


def test_writer_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "x.bw"
    with pytest.raises(RuntimeError, match="boom"), BigWigWriter(out, [("chr1", 100)]) as writer:
        writer.add_runs("chr1", np.array([0]), np.array([10]), np.array([1.0]))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
