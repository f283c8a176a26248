"""Binned targets against sums computed from pyBigWig values and against pybbi."""

import logging

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pytest

import stagevep.data.targets as targets_mod
from conftest import random_runs, raw_values, write_bigwig
from stagevep.data.targets import (
    extract_sums,
    make_targets,
    make_targets_from_files,
    transform_targets,
    window_blocks,
)
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.hdf5 import read_targets


@pytest.fixture
def stage_bigwigs(tmp_path):
    rng = np.random.default_rng(3)
    chroms = {"chr1": 20_000, "chr2": 20_000}
    return {s: write_bigwig(tmp_path / f"{s}.bw", chroms, {c: random_runs(rng, n) for c, n in chroms.items()})
            for s in ("CS13", "CS20")}


def _windows():
    return pd.DataFrame({"chrom": ["chr1", "chr2", "chr1"], "start": [1000, 5000, 11_111],
                         "end": [9192, 13_192, 19_303], "split": ["train", "test", "val"]})


def test_sums_equal_raw_values_summed(stage_bigwigs):
    w = _windows()
    sums = extract_sums(w, stage_bigwigs, 128)
    assert sums.shape == (3, 64, 2)
    for i, row in w.iterrows():
        for t, path in enumerate(stage_bigwigs.values()):
            expected = raw_values(path, row.chrom, row.start, row.end).reshape(64, 128).sum(axis=1)
            np.testing.assert_allclose(sums[i, :, t], expected, rtol=1e-6)


def test_sums_equal_interval_overlaps(stage_bigwigs):
    """Independent of values(): sum over the file's intervals of value x overlap with each bin.

    (pybbi's ``exact=True`` bin sums were checked too and count one base too many
    at some bin edges, so they are not used as the reference.)
    """
    w = _windows()
    sums = extract_sums(w, stage_bigwigs, 128)
    for i, row in w.iterrows():
        bw = pyBigWig.open(str(stage_bigwigs["CS20"]))
        intervals = bw.intervals(row.chrom, row.start, row.end) or ()
        bw.close()
        expected = np.zeros(64)
        edges = row.start + 128 * np.arange(65)
        for s, e, v in intervals:
            overlap = np.clip(np.minimum(e, edges[1:]) - np.maximum(s, edges[:-1]), 0, None)
            expected += overlap * v
        np.testing.assert_allclose(sums[i, :, 1], expected, rtol=1e-6, atol=1e-4)


def test_transform_is_log1p_then_per_window_clip():
    rng = np.random.default_rng(0)
    sums = rng.exponential(5.0, size=(4, 64, 3))
    sums[0, 5, 0] = 1e6  # an outlier is capped at its window's percentile
    out, caps = transform_targets(sums, 99.0)
    logs = np.log1p(sums)
    for i in range(4):
        for t in range(3):
            cap = np.percentile(logs[i, :, t], 99.0)
            np.testing.assert_allclose(out[i, :, t], np.minimum(logs[i, :, t], cap), rtol=1e-6)
    assert out[0, 5, 0] < np.log1p(1e6)
    assert caps is None
    np.testing.assert_allclose(transform_targets(sums, None)[0], logs.astype(np.float32), rtol=1e-6)


def test_negative_signal_is_rejected():
    with pytest.raises(InputError, match="non-negative"):
        transform_targets(np.array([[[-1.0]]]), 99.0)


def test_targets_h5_contract(tmp_path, stage_bigwigs):
    w = _windows()
    out = tmp_path / "targets.h5"
    make_targets(w, stage_bigwigs, out, Geometry(n_bins=64, bin_size=128, context_length=16384), 99.9)
    with h5py.File(out) as h5:
        assert h5["targets"].dtype == np.float32
        assert h5["targets"].shape == (3, 64, 2)
        assert h5["targets"].chunks == (1, 64, 2)
        assert h5["targets"].compression is None
        assert h5["start"].dtype == np.int64
        for key in ("tracks", "bin_size", "n_bins", "context_length", "transform", "clip_percentile", "clip_scope",
                    "stagevep_version"):
            assert key in h5.attrs
    data = read_targets(out)
    assert data.tracks == ["CS13", "CS20"]
    assert data.windows[["chrom", "start", "end", "split"]].values.tolist() == w.values.tolist()
    raw = read_targets(out, dataset="raw_sums").targets
    np.testing.assert_allclose(data.targets, transform_targets(raw, 99.9)[0], rtol=1e-6)
    np.testing.assert_allclose(raw, extract_sums(w, stage_bigwigs, 128), rtol=1e-6)


def test_bin_count_follows_window_length(tmp_path, stage_bigwigs):
    bed = tmp_path / "w.bed"
    bed.write_text("chr1\t0\t2560\tw1\ttrain\nchr2\t100\t2660\tw2\tval\n")
    out = tmp_path / "t.h5"
    make_targets_from_files(bed, [f"{s}={p}" for s, p in stage_bigwigs.items()], out, bin_size=128,
                            context_length=16384)
    assert read_targets(out).targets.shape == (2, 20, 2)


def test_bad_bigwig_spec(tmp_path, stage_bigwigs):
    bed = tmp_path / "w.bed"
    bed.write_text("chr1\t0\t2560\tw1\ttrain\n")
    with pytest.raises(InputError, match="STAGE=FILE"):
        make_targets_from_files(bed, ["CS13"], tmp_path / "t.h5")


def _reference_sums(path, windows, bin_size):
    """numpy sum of pyBigWig values() (NaN and beyond-the-end as 0) over each bin: ``(N, n_bins)``."""
    width = int(windows["end"].iloc[0] - windows["start"].iloc[0])
    out = np.zeros((len(windows), width // bin_size))
    bw = pyBigWig.open(str(path))
    lengths = bw.chroms()
    bw.close()
    for i, (chrom, start, end) in enumerate(windows[["chrom", "start", "end"]].itertuples(index=False)):
        vals = np.zeros(end - start)
        lo, hi = max(start, 0), min(end, lengths.get(chrom, 0))
        if hi > lo:
            vals[lo - start : hi - start] = raw_values(path, chrom, lo, hi)
        out[i] = vals.reshape(-1, bin_size).sum(axis=1)
    return out


def test_every_bin_equals_numpy_sum_on_bundled_data_across_blocks(monkeypatch, test_data):
    """Many overlapping windows on the bundled stage bigWigs, with blocks small enough to split them."""
    monkeypatch.setattr(targets_mod, "BLOCK_SPAN", 40_000)
    rng = np.random.default_rng(4)
    fai = pd.read_csv(test_data / "genome.fa.fai", sep="\t", header=None, usecols=[0, 1], names=["chrom", "len"])
    rows = []
    for chrom, length in fai.itertuples(index=False):
        for start in rng.integers(0, length - 12_800, size=12):
            rows.append((chrom, int(start), int(start) + 12_800, "train"))
    rows.append(("chr1", 400_000 - 12_800, 400_000, "train"))  # flush with the chromosome end
    w = pd.DataFrame(rows, columns=["chrom", "start", "end", "split"]).sample(frac=1, random_state=1)
    sheet = pd.read_csv(test_data / "samplesheet.csv").drop_duplicates("stage")
    bigwigs = {r.stage: test_data / r.bigwig for r in sheet.itertuples()}
    sums = extract_sums(w.reset_index(drop=True), bigwigs, 128)
    for t, path in enumerate(bigwigs.values()):
        np.testing.assert_allclose(sums[:, :, t], _reference_sums(path, w.reset_index(drop=True), 128),
                                   rtol=1e-6, atol=1e-4)


def test_nan_values_and_absent_chromosome_count_as_zero(tmp_path, caplog):
    path = write_bigwig(tmp_path / "nan.bw", {"chr1": 3000},
                        {"chr1": [(0, 500, 2.0), (500, 900, float("nan")), (1000, 2000, 0.5)]})
    w = pd.DataFrame({"chrom": ["chr1", "chrZ"], "start": [0, 0], "end": [2560, 2560], "split": ["train", "val"]})
    with caplog.at_level(logging.WARNING):
        sums = extract_sums(w, {"S": path}, 128)
    assert "nan.bw contains NaN values" in caplog.text
    assert "has no chromosome chrZ" in caplog.text
    assert np.isfinite(sums).all()
    np.testing.assert_allclose(sums[0, :, 0], _reference_sums(path, w.iloc[:1], 128)[0])
    assert sums[0, 3, 0] == 116 * 2.0  # bases 384-500 at 2.0, 500-512 NaN
    assert sums[0, 4, 0] == 0.0  # bases 512-640: all NaN
    assert sums[0, 7, 0] == 24 * 0.5  # bases 896-1000 uncovered, 1000-1024 at 0.5
    assert not sums[1].any()


def test_window_blocks_cover_each_window_once_within_span():
    rng = np.random.default_rng(0)
    starts = rng.integers(0, 5_000_000, size=500)
    ends = starts + 114_688
    blocks = window_blocks(starts, ends, max_span=1_000_000)
    idx = np.concatenate(blocks)
    assert sorted(idx.tolist()) == list(range(500))
    for block in blocks:
        assert ends[block].max() - starts[block].min() <= 1_000_000
    # windows far apart are never read as one stretch
    far = window_blocks(np.array([0, 50_000, 5_000_000]), np.array([114_688, 164_688, 5_114_688]))
    assert [b.tolist() for b in far] == [[0, 1], [2]]


def test_track_scope_caps_come_from_the_training_split_only(tmp_path, stage_bigwigs):
    rng = np.random.default_rng(2)
    sums = rng.gamma(0.5, 50.0, size=(30, 64, 2))
    train = np.arange(30) % 3 == 0
    out, caps = transform_targets(sums, 95.0, "track", train)
    logs = np.log1p(sums)
    expected_caps = [np.percentile(logs[train, :, t].ravel(), 95.0) for t in range(2)]
    np.testing.assert_allclose(caps, expected_caps)
    np.testing.assert_allclose(out, np.minimum(logs, np.array(expected_caps)).astype(np.float32), rtol=1e-6)
    # inflating the validation/test windows changes neither the caps nor the training targets
    inflated = sums.copy()
    inflated[~train] *= 1000
    out2, caps2 = transform_targets(inflated, 95.0, "track", train)
    np.testing.assert_array_equal(caps2, caps)
    np.testing.assert_array_equal(out2[train], out[train])
    assert (out2[~train] <= caps2.astype(np.float32)).all()
    # and the caps are recorded in the file
    h5_path = tmp_path / "t.h5"
    make_targets(_windows(), stage_bigwigs, h5_path, Geometry(n_bins=64, bin_size=128, context_length=16384),
                 90.0, clip_scope="track")
    data = read_targets(h5_path)
    raw = read_targets(h5_path, dataset="raw_sums").targets
    assert data.attrs["clip_scope"] == "track"
    train_rows = data.windows["split"].to_numpy() == "train"
    file_caps = [np.percentile(np.log1p(raw[train_rows, :, t]), 90.0) for t in range(2)]
    np.testing.assert_allclose(data.attrs["clip_caps"], file_caps, rtol=1e-6)


def test_track_scope_without_training_windows_is_an_error():
    with pytest.raises(InputError, match="training windows"):
        transform_targets(np.ones((2, 4, 1)), 99.0, "track", np.array([False, False]))


def test_truncated_bigwig_leaves_no_targets_file(tmp_path, stage_bigwigs):
    data = stage_bigwigs["CS13"].read_bytes()
    bad = tmp_path / "bad.bw"
    bad.write_bytes(data[: len(data) // 2])
    out_dir = tmp_path / "out"
    with pytest.raises(InputError, match=r"bad\.bw is truncated"):
        make_targets(_windows(), {"CS13": bad}, out_dir / "t.h5",
                     Geometry(n_bins=64, bin_size=128, context_length=16384))
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
