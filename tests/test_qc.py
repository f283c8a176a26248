"""Prepare QC: replicate concordance against scipy on independent bin sums, signal summaries, windows per split."""

from collections import Counter

import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import random_runs, raw_values, write_bigwig
from stagevep.data.peaks import union_peaks
from stagevep.data.qc import replicate_concordance, signal_distribution, windows_per_split, write_prepare_qc
from stagevep.io.peaks import read_peaks

BIN = 128


def _independent_bin_sums(bigwig, peaks, lengths):
    """Sum of raw pyBigWig values (NaN -> 0) over every 128-bp genome bin touching a peak, bins in sorted order."""
    bins = sorted({(c, b) for c, s, e in peaks.itertuples(index=False) if c in lengths
                   for b in range(s // BIN, (e - 1) // BIN + 1)})
    whole = {c: raw_values(bigwig, c, 0, n) for c, n in lengths.items()}
    return np.array([whole[c][b * BIN:(b + 1) * BIN].sum() for c, b in bins]), len(bins)


def test_concordance_equals_scipy_pearson_on_the_bundled_replicates(test_data):
    peaks = union_peaks(sorted((test_data / "peaks").iterdir()))
    reps = {"CS13": {r: test_data / "bigwig" / f"CS13_{r}.bw" for r in ("rep1", "rep2", "rep3")},
            "CS20": {"rep1": test_data / "bigwig" / "CS20_rep1.bw"}}
    table = replicate_concordance(reps, peaks, BIN)
    assert table[["replicate_a", "replicate_b"]].values.tolist() == [["rep1", "rep2"], ["rep1", "rep3"],
                                                                     ["rep2", "rep3"]]
    assert set(table["stage"]) == {"CS13"}, "a stage with one replicate has no pair"
    lengths = {line.split("\t")[0]: int(line.split("\t")[1])
               for line in (test_data / "genome.fa.fai").read_text().splitlines()}
    sums = {r: _independent_bin_sums(p, peaks, lengths) for r, p in reps["CS13"].items()}
    for row in table.itertuples():
        a, n_bins = sums[row.replicate_a]
        b, _ = sums[row.replicate_b]
        assert row.n_bins == n_bins
        assert row.pearson == pytest.approx(stats.pearsonr(a, b)[0], abs=1e-9)
        assert row.pearson_log1p == pytest.approx(stats.pearsonr(np.log1p(a), np.log1p(b))[0], abs=1e-9)


def test_concordance_with_gaps_and_a_peak_at_the_chromosome_end(tmp_path):
    rng = np.random.default_rng(4)
    chroms = {"chr1": 20_050, "chr2": 9_999}
    reps = {f"r{i}": write_bigwig(tmp_path / f"r{i}.bw", chroms,
                                  {c: random_runs(rng, n, gap_prob=0.4) for c, n in chroms.items()})
            for i in range(2)}
    bed = tmp_path / "p.bed"
    bed.write_text("chr1\t100\t700\nchr1\t650\t900\nchr1\t19_990\t20_050\nchr2\t0\t129\nchr2\t9_000\t9_999\n")
    peaks = read_peaks(bed)
    row = replicate_concordance({"S": reps}, peaks, BIN).iloc[0]
    a, n_bins = _independent_bin_sums(reps["r0"], peaks, chroms)
    b, _ = _independent_bin_sums(reps["r1"], peaks, chroms)
    assert row["n_bins"] == n_bins
    assert row["pearson"] == pytest.approx(stats.pearsonr(a, b)[0], abs=1e-9)


def _targets_file(path, raw, targets, tracks):
    with h5py.File(path, "w") as h5:
        h5.create_dataset("raw_sums", data=raw.astype(np.float32))
        h5.create_dataset("targets", data=targets.astype(np.float32))
        h5.attrs["tracks"] = tracks
    return path


def test_signal_distribution_matches_numpy(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.exponential(20, size=(11, 16, 2)) * (rng.random((11, 16, 2)) > 0.3)
    targets = np.minimum(np.log1p(raw), 3.5)
    path = _targets_file(tmp_path / "t.h5", raw, targets, ["A", "B"])
    summary, hists = signal_distribution(path, chunk=3)
    for t, stage in enumerate(["A", "B"]):
        for space, data in (("raw_sums", raw), ("targets", targets)):
            x = data[..., t].astype(np.float32).astype(np.float64).ravel()
            row = summary[(summary["stage"] == stage) & (summary["space"] == space)].iloc[0]
            assert row["n_values"] == x.size
            assert row["mean"] == pytest.approx(x.mean(), rel=1e-9)
            assert row["max"] == pytest.approx(x.max(), rel=1e-9)
            assert row["fraction_zero"] == pytest.approx((x == 0).mean())
            counts, edges = hists[space][stage]
            shown = x[x > 0] if space == "raw_sums" else x
            assert counts.sum() == shown.size, f"{space} {stage}: every value lands in one histogram bin"
            np.testing.assert_array_equal(counts, np.histogram(shown, bins=edges)[0])


def test_windows_per_split_counts():
    windows = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2", "chr8", "chr3", "chr2"],
                            "split": ["train", "train", "test", "val", "train", "test"]})
    got = windows_per_split(windows)
    assert got[["split", "chrom"]].values.tolist() == [["train", "chr1"], ["train", "chr3"], ["val", "chr8"],
                                                       ["test", "chr2"]]
    assert dict(zip(zip(got["split"], got["chrom"], strict=True), got["windows"], strict=True)) == \
        Counter(zip(windows["split"], windows["chrom"], strict=True))


def test_write_prepare_qc_writes_every_file(tmp_path, test_data):
    union = tmp_path / "union.bed"
    union_peaks(sorted((test_data / "peaks").iterdir())).to_csv(union, sep="\t", header=False, index=False)
    windows = tmp_path / "windows.bed"
    windows.write_text("chr1\t0\t2048\tw1\ttrain\nchr2\t0\t2048\tw2\ttest\nchr8\t0\t2048\tw3\tval\n")
    rng = np.random.default_rng(1)
    raw = rng.exponential(5, size=(3, 16, 2))
    targets = _targets_file(tmp_path / "targets.h5", raw, np.log1p(raw), ["CS13", "CS14"])
    specs = [("CS13", "rep1", test_data / "bigwig" / "CS13_rep1.bw"),
             ("CS13", "rep2", test_data / "bigwig" / "CS13_rep2.bw"),
             ("CS14", "rep1", test_data / "bigwig" / "CS14_rep1.bw")]
    out = tmp_path / "qc"
    written = write_prepare_qc(specs, union, targets, windows, out)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{stem}.{ext}" for stem in ("replicate_concordance", "signal_distribution",
                                                        "windows_per_split") for ext in ("tsv", "png", "pdf"))
    assert sorted(p.name for p in written) == names
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for pdf in out.glob("*.pdf"):
        assert pdf.read_bytes()[:5] == b"%PDF-"
    assert len(pd.read_csv(out / "replicate_concordance.tsv", sep="\t")) == 1
    assert pd.read_csv(out / "windows_per_split.tsv", sep="\t")["windows"].sum() == 3
