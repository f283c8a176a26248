"""Correlation and R² metrics against scipy and scikit-learn; the no-sequence and shuffled references."""

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import r2_score

from stagevep.core.metrics import (
    mean_profile,
    mean_window_pearson,
    pearson_all_bins,
    per_window_pearson,
    r2_stage_deviation,
    shuffled,
    stage_specificity,
)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.gamma(2.0, size=(6, 32, 3))
    pred = obs + rng.normal(0, 1.0, size=obs.shape)
    return pred, obs


def test_per_window_pearson_matches_scipy():
    pred, obs = _data()
    r = per_window_pearson(pred, obs)
    assert r.shape == (6, 3)
    for i in range(6):
        for t in range(3):
            assert np.isclose(r[i, t], pearsonr(pred[i, :, t], obs[i, :, t]).statistic)


def test_mean_window_pearson_is_mean_over_windows_of_track_mean():
    pred, obs = _data(1)
    expected = np.mean([np.mean([pearsonr(pred[i, :, t], obs[i, :, t]).statistic for t in range(3)])
                        for i in range(6)])
    assert np.isclose(mean_window_pearson(pred, obs), expected)


def test_all_bins_pearson_matches_scipy():
    pred, obs = _data(2)
    r = pearson_all_bins(pred, obs)
    for t in range(3):
        assert np.isclose(r[t], pearsonr(pred[..., t].ravel(), obs[..., t].ravel()).statistic)


def test_perfect_prediction_and_constant_tracks():
    _, obs = _data(3)
    assert np.isclose(mean_window_pearson(obs, obs), 1.0)
    assert np.allclose(pearson_all_bins(2 * obs + 1, obs), 1.0)
    obs[0, :, 1] = 5.0  # constant observed track: undefined, left out of the window's mean
    r = per_window_pearson(obs, obs)
    assert np.isnan(r[0, 1]) and np.isclose(mean_window_pearson(obs, obs), 1.0)


def test_r2_stage_deviation_matches_sklearn():
    pred, obs = _data(4)
    totals_p, totals_o = pred.sum(axis=1), obs.sum(axis=1)
    dev_p = totals_p - totals_p.mean(axis=1, keepdims=True)
    dev_o = totals_o - totals_o.mean(axis=1, keepdims=True)
    per_track, pooled = r2_stage_deviation(pred, obs)
    np.testing.assert_allclose(per_track, r2_score(dev_o, dev_p, multioutput="raw_values"), atol=1e-12)
    assert pooled == pytest.approx(r2_score(dev_o, dev_p, multioutput="variance_weighted"), abs=1e-12)


def test_r2_stage_deviation_is_scale_sensitive_unlike_the_pearson_form():
    _, obs = _data(5)
    shrunk = obs.mean(axis=2, keepdims=True) + 0.1 * (obs - obs.mean(axis=2, keepdims=True))
    assert np.allclose(stage_specificity(shrunk, obs), 1.0)  # same stage order, a tenth of the amplitude
    assert r2_stage_deviation(shrunk, obs)[1] < 0.25
    assert r2_stage_deviation(obs, obs)[1] == pytest.approx(1.0)


def test_references_read_no_sequence_or_break_the_pairing():
    pred, obs = _data(6)
    train = np.random.default_rng(0).gamma(2.0, size=(9, 32, 3))
    ref = mean_profile(train, len(obs))
    assert ref.shape == obs.shape and np.allclose(ref, train.mean(axis=0))
    assert r2_stage_deviation(ref, obs)[1] <= 0  # a constant prediction explains no variance
    perm = shuffled(np.arange(50)[:, None], seed=3)[:, 0]
    assert sorted(perm) == list(range(50)) and not np.any(perm == np.arange(50))  # a derangement
    np.testing.assert_array_equal(shuffled(pred, seed=1), shuffled(pred, seed=1))
