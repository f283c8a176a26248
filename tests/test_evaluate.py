"""Evaluation end to end on the bundled data with a tiny random checkpoint.

Metrics are checked against scipy on the arrays read back from the output
files, predicted bigWigs against a base-by-base recomputation read with
pyBigWig and pybbi, plots by their pixel size and content.
"""

from __future__ import annotations

import json

import bbi
import h5py
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pyBigWig
import pytest
import torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import r2_score

from stagevep.core.metrics import METRICS, metric_table
from stagevep.data.dataset import WindowDataset
from stagevep.data.targets import make_targets
from stagevep.data.windows import make_windows
from stagevep.errors import InputError
from stagevep.evaluate.run import evaluate
from stagevep.evaluate.tracks import overlap_mean_segments
from stagevep.geometry import Geometry
from stagevep.io.genome import fasta_lengths
from stagevep.model.checkpoint import load_checkpoint, save_checkpoint
from stagevep.model.enformer import build_model
from stagevep.model.predict import predict_batches
from stagevep.model.sizes import model_config
from stagevep.plots.evaluate import DPI, SCATTER_SIZE, histogram_size, panel_size

GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)
STAGES = ["CS13", "CS14", "CS15", "CS17", "CS20"]


@pytest.fixture(scope="module")
def targets_h5(tmp_path_factory, test_data):
    """Targets (first replicate per stage) over the bundled enhancers, plus windows shifted by 640 bp for every
    third enhancer, so that windows overlap and the overlap rule of the bigWigs is exercised."""
    out = tmp_path_factory.mktemp("targets") / "targets.h5"
    enh = pd.read_csv(test_data / "enhancers.tsv", sep="\t")
    centres = pd.concat([enh["centre"], enh["centre"].iloc[::3] + 640])
    chroms = pd.concat([enh["chrom"], enh["chrom"].iloc[::3]])
    peaks = pd.DataFrame({"chrom": chroms, "start": centres - 100, "end": centres + 100})
    windows = make_windows(peaks, fasta_lengths(test_data / "genome.fa"), GEOM.target_length)
    sheet = pd.read_csv(test_data / "samplesheet.csv").groupby("stage", sort=False).first()
    make_targets(windows, {s: test_data / r.bigwig for s, r in sheet.iterrows()}, out, GEOM)
    return out


def tiny_checkpoint(path, tracks=STAGES, geometry=GEOM, seed=0):
    torch.manual_seed(seed)
    model = build_model(model_config("tiny", geometry), n_tracks=len(tracks))
    save_checkpoint(path, model, {"model_config": model_config("tiny", geometry), "tracks": list(tracks),
                                  "geometry": geometry.to_dict(), "target_transform": {"transform": "log1p"}})
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, checkpoint, targets_h5, test_data):
    out = tmp_path_factory.mktemp("evaluate")
    evaluate(checkpoint, targets_h5, test_data / "genome.fa", out, split="test", batch_size=8, device="cpu",
             precision="fp32", rc_average=True)
    return out


def read_outputs(out, targets_h5):
    with h5py.File(targets_h5, "r") as h5:
        test = np.flatnonzero(h5["split"].asstr()[...] == "test")
        obs, raw = h5["targets"][...][test], h5["raw_sums"][...][test]
    with h5py.File(out / "predictions.h5", "r") as h5:
        pred = {"forward": h5["predictions"][...], "rc_average": h5["predictions_rc_average"][...]}
        windows = pd.DataFrame({"chrom": h5["chrom"].asstr()[...], "start": h5["start"][...],
                                "end": h5["end"][...]})
    return obs, raw, pred, windows


def scipy_metrics(pred, obs):
    """Every metric, per track, computed with scipy on explicitly built vectors."""
    n, _, k = obs.shape
    out = {m: [] for m in METRICS}
    for t in range(k):
        rs = [pearsonr(pred[i, :, t], obs[i, :, t]).statistic for i in range(n)
              if np.ptp(pred[i, :, t]) > 0 and np.ptp(obs[i, :, t]) > 0]
        out["mean_window_pearson"].append(np.mean(rs))
        out["pearson_all_bins"].append(pearsonr(pred[..., t].ravel(), obs[..., t].ravel()).statistic)
        out["spearman_all_bins"].append(spearmanr(pred[..., t].ravel(), obs[..., t].ravel()).statistic)
        tp = [pred[i, :, t].sum() for i in range(n)]
        to = [obs[i, :, t].sum() for i in range(n)]
        out["pearson_window_totals"].append(pearsonr(tp, to).statistic)
        dp = [pred[i, :, t].sum() - np.mean([pred[i, :, s].sum() for s in range(k)]) for i in range(n)]
        do = [obs[i, :, t].sum() - np.mean([obs[i, :, s].sum() for s in range(k)]) for i in range(n)]
        out["stage_specificity"].append(pearsonr(dp, do).statistic)
        out["r2_stage_deviation"].append(r2_score(do, dp))
    return out


def assert_table_matches_scipy(table, pred, obs, tracks):
    pred, obs = pred.astype(np.float64), obs.astype(np.float64)
    expected = scipy_metrics(pred, obs)
    value = {(m, t): v for m, t, v in table[["metric", "track", "value"]].itertuples(index=False)}
    for m in METRICS:
        for t, track in enumerate(tracks):
            assert value[(m, track)] == pytest.approx(expected[m][t], abs=1e-6), (m, track)
        if m not in ("mean_window_pearson", "r2_stage_deviation"):
            assert value[(m, "all")] == pytest.approx(np.mean(expected[m]), abs=1e-6), m
    totals_p, totals_o = pred.sum(axis=1), obs.sum(axis=1)
    pooled = r2_score(totals_o - totals_o.mean(1, keepdims=True), totals_p - totals_p.mean(1, keepdims=True),
                      multioutput="variance_weighted")
    assert value[("r2_stage_deviation", "all")] == pytest.approx(pooled, abs=1e-6)
    # mean_window_pearson: per window, mean over tracks; then mean over windows
    # (a track that is constant in a window has no correlation and is left out of that window's mean)
    per_window = [[pearsonr(pred[i, :, t], obs[i, :, t]).statistic for t in range(len(tracks))
                   if np.ptp(pred[i, :, t]) > 0 and np.ptp(obs[i, :, t]) > 0] for i in range(len(obs))]
    expected = np.mean([np.mean(r) for r in per_window if r])
    assert value[("mean_window_pearson", "all")] == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------------------
# constructed cases
# ---------------------------------------------------------------------------


def stage_specific(seed=0, n=40, n_bins=24, k=4):
    """Observed tracks whose stages differ in activity per window (gamma amplitudes per window and stage)."""
    rng = np.random.default_rng(seed)
    shape = np.exp(-0.5 * ((np.arange(n_bins) - n_bins / 2) / 3.0) ** 2)
    amp = rng.gamma(2.0, size=(n, 1, k)) * rng.gamma(3.0, size=(n, 1, 1))
    return amp * shape[None, :, None] + rng.gamma(1.0, 0.1, size=(n, n_bins, k))


def test_metric_table_matches_scipy_on_constructed_data():
    obs = stage_specific(1)
    pred = obs + np.random.default_rng(2).normal(0, 0.5, size=obs.shape)
    tracks = list("ABCD")
    table = metric_table(pred, obs, tracks)
    assert list(table["metric"].unique()) == list(METRICS)
    assert_table_matches_scipy(table, pred, obs, tracks)


def test_perfect_prediction_scores_one():
    obs = stage_specific(3)
    table = metric_table(obs.copy(), obs, list("ABCD"))
    np.testing.assert_allclose(table["value"].to_numpy(), 1.0, atol=1e-12)


def test_shuffled_stage_order_lowers_stage_specificity():
    obs = stage_specific(4)
    good = obs + np.random.default_rng(5).normal(0, 0.2, size=obs.shape)
    shuffled = good[..., [2, 0, 3, 1]]  # right locations and amounts, wrong stages
    value = {}
    for name, pred in (("good", good), ("shuffled", shuffled)):
        t = metric_table(pred, obs, list("ABCD"))
        value[name] = t.set_index(["metric", "track"])["value"]
    spec = ("stage_specificity", "all")
    assert value["good"][spec] > 0.9
    assert value["shuffled"][spec] < value["good"][spec] - 0.5
    # a location-only model (every stage predicted as the stage mean) has no stage specificity at all
    flat = np.repeat(obs.mean(axis=2, keepdims=True), 4, axis=2)
    assert np.isnan(metric_table(flat, obs, list("ABCD")).set_index(["metric", "track"])["value"][spec])


def test_overlap_mean_segments_equal_base_by_base_mean():
    rng = np.random.default_rng(0)
    bin_size, n_bins, k = 8, 5, 2
    starts = np.sort(rng.integers(0, 200, size=12))
    values = rng.random((12, n_bins, k))
    s, e, v = overlap_mean_segments(starts, values, bin_size)
    total, count = np.zeros((300, k)), np.zeros(300)
    for i, st in enumerate(starts):  # independent: base-level accumulation
        total[st:st + n_bins * bin_size] += np.repeat(values[i], bin_size, axis=0)
        count[st:st + n_bins * bin_size] += 1
    got = np.full((300, k), np.nan)
    for a, b, val in zip(s, e, v, strict=True):
        got[a:b] = val
    covered = count > 0
    np.testing.assert_allclose(got[covered], total[covered] / count[covered, None], rtol=1e-12)
    assert np.isnan(got[~covered]).all()
    assert (np.diff(s) > 0).all() and (e <= np.r_[s[1:], np.inf]).all() and (e - s <= bin_size).all()


# ---------------------------------------------------------------------------
# evaluate() on the bundled data
# ---------------------------------------------------------------------------


def test_metrics_match_scipy_on_bundled_data(evaluated, targets_h5):
    obs, raw, pred, _ = read_outputs(evaluated, targets_h5)
    metrics = pd.read_csv(evaluated / "metrics.tsv", sep="\t")
    assert list(metrics.columns) == ["split", "prediction", "space", "metric", "track", "value", "n_windows"]
    assert (metrics["split"] == "test").all() and (metrics["n_windows"] == len(obs)).all()
    for name in ("forward", "rc_average"):
        for space, p, o in (("transformed", pred[name], obs), ("raw", np.expm1(pred[name].astype(np.float64)), raw)):
            table = metrics[(metrics["prediction"] == name) & (metrics["space"] == space)]
            assert len(table) == len(METRICS) * (len(STAGES) + 1), (name, space)
            assert_table_matches_scipy(table, p, o, STAGES)
    summary = json.loads((evaluated / "metrics.json").read_text())
    assert summary["split"] == "test" and summary["rc_average"] is True
    assert summary["checkpoint"]["tracks"] == STAGES and summary["targets"]["transform"] == "log1p"
    for pred_name, space, metric, track, value in metrics[["prediction", "space", "metric", "track", "value"]
                                                          ].itertuples(index=False):
        stored = summary["metrics"][pred_name][space][metric][track]
        assert stored is None if np.isnan(value) else stored == pytest.approx(value, rel=1e-5)


def test_predictions_align_with_targets_and_rc_average_is_one_pass(evaluated, targets_h5, checkpoint, test_data):
    obs, _, pred, windows = read_outputs(evaluated, targets_h5)
    with h5py.File(targets_h5, "r") as h5:
        test = np.flatnonzero(h5["split"].asstr()[...] == "test")
        keys = list(zip(h5["chrom"].asstr()[...][test], h5["start"][...][test], strict=True))
    assert list(zip(windows["chrom"], windows["start"], strict=True)) == keys
    assert pred["forward"].shape == obs.shape
    model, _ = load_checkpoint(checkpoint)
    first = windows.iloc[:4].assign(split="test")  # one batch, separately through both modes
    ds = WindowDataset(test_data / "genome.fa", first, None, GEOM)
    plain = predict_batches(model, ds.onehot_batches(4), torch.device("cpu"), "fp32")
    averaged = predict_batches(model, ds.onehot_batches(4), torch.device("cpu"), "fp32", rc_average=True)
    np.testing.assert_allclose(pred["forward"][:4], plain, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pred["rc_average"][:4], averaged, rtol=1e-5, atol=1e-6)
    assert not np.allclose(pred["forward"], pred["rc_average"])


def test_window_metrics_table(evaluated, targets_h5):
    obs, _, pred, windows = read_outputs(evaluated, targets_h5)
    table = pd.read_csv(evaluated / "window_metrics.tsv", sep="\t")
    assert list(table[["chrom", "start", "end"]].itertuples(index=False)) == list(windows.itertuples(index=False))
    for i in (0, len(table) // 2, len(table) - 1):
        r = [pearsonr(pred["rc_average"][i, :, t].astype(float), obs[i, :, t].astype(float)).statistic
             for t in range(len(STAGES))]
        np.testing.assert_allclose(table.loc[i, [f"{s}_pearson" for s in STAGES]].to_numpy(float), r, atol=1e-5)
        assert table.loc[i, "mean_pearson"] == pytest.approx(np.nanmean(r), abs=1e-5)  # constant tracks left out


def test_predicted_bigwigs_reopen_with_pybigwig_and_pybbi(evaluated, targets_h5, test_data):
    _, _, pred, windows = read_outputs(evaluated, targets_h5)
    signal = np.expm1(pred["rc_average"].astype(np.float64)) / GEOM.bin_size  # per-base units of the inputs
    lengths = fasta_lengths(test_data / "genome.fa")
    # a window that overlaps another one, and one that does not, if there is one
    def overlapping(i):
        same = windows["chrom"] == windows.loc[i, "chrom"]
        return ((windows["start"] < windows.loc[i, "end"]) & (windows["end"] > windows.loc[i, "start"]) & same).sum()
    counts = np.array([overlapping(i) for i in range(len(windows))])
    assert (counts > 1).any(), "the fixture should produce overlapping windows"
    sampled = [int(np.argmax(counts > 1))] + ([int(np.argmax(counts == 1))] if (counts == 1).any() else [])
    for t, stage in enumerate(STAGES):
        path = evaluated / "bigwig" / f"{stage}.pred.bw"
        bw = pyBigWig.open(str(path))
        assert list(bw.chroms().items()) == list(lengths.items())
        with bbi.open(str(path)) as f:
            assert dict(f.chromsizes) == lengths
        for i in sampled:
            chrom, start, end = windows.loc[i, ["chrom", "start", "end"]]
            # independent: per base, the mean over every window covering it
            total, count = np.zeros(end - start), np.zeros(end - start)
            for j in np.flatnonzero((windows["chrom"] == chrom) & (windows["start"] < end) & (windows["end"] > start)):
                base = np.repeat(signal[j, :, t], GEOM.bin_size)
                lo, hi = max(start, windows.loc[j, "start"]), min(end, windows.loc[j, "end"])
                total[lo - start:hi - start] += base[lo - windows.loc[j, "start"]:hi - windows.loc[j, "start"]]
                count[lo - start:hi - start] += 1
            expected = total / count
            np.testing.assert_allclose(bw.values(chrom, int(start), int(end), numpy=True), expected, rtol=1e-5)
            np.testing.assert_allclose(bbi.fetch(str(path), chrom, int(start), int(end)), expected, rtol=1e-5)
            if counts[i] == 1:
                np.testing.assert_allclose(expected, np.repeat(signal[i, :, t], GEOM.bin_size))
        # entries sorted and non-overlapping on every chromosome; no data outside the windows
        for chrom in lengths:
            iv = bw.intervals(chrom) or ()
            assert all(a[1] <= b[0] for a, b in zip(iv, iv[1:], strict=False)), chrom
        assert np.isnan(bw.values("chr2", 0, 10)).all() or (windows[windows["chrom"] == "chr2"]["start"] < 10).any()
        bw.close()
    assert not list((evaluated / "bigwig").glob("*.tmp"))


def test_plots_for_every_stage_with_expected_size(evaluated):
    plots = evaluated / "plots"
    expected = {f"scatter_{s}": SCATTER_SIZE for s in STAGES}
    expected["window_pearson"] = histogram_size(len(STAGES))
    expected.update({f"tracks_{k}": panel_size(len(STAGES)) for k in ("best", "median", "worst")})
    for stem, (w, h) in expected.items():
        img = mpimg.imread(plots / f"{stem}.png")
        assert img.shape[:2] == (round(h * DPI), round(w * DPI)), stem
        assert img[..., :3].std() > 0.01, f"{stem}.png is blank"
        assert (plots / f"{stem}.pdf").stat().st_size > 1000, stem
    assert not list(plots.glob("*.tmp"))


def test_checkpoint_that_disagrees_with_targets_is_rejected(tmp_path, targets_h5, test_data):
    cases = {
        "tracks": tiny_checkpoint(tmp_path / "order.pt", tracks=STAGES[::-1]),
        "geometry": tiny_checkpoint(tmp_path / "geom.pt", geometry=Geometry(n_bins=8, bin_size=128,
                                                                            context_length=4096)),
    }
    for what, ckpt in cases.items():
        out = tmp_path / f"out_{what}"
        with pytest.raises(InputError) as err:
            evaluate(ckpt, targets_h5, test_data / "genome.fa", out, device="cpu")
        msg = str(err.value)
        assert str(ckpt) in msg and str(targets_h5) in msg and what in msg
        if what == "tracks":
            assert str(STAGES[::-1]) in msg and str(STAGES) in msg
        else:
            assert "'n_bins': 8" in msg and "'n_bins': 16" in msg
        assert not out.exists() or not list(out.iterdir())
