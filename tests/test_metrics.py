"""Correlation metrics against scipy."""

import numpy as np
from scipy.stats import pearsonr

from stagevep.evaluate.metrics import pearson_all_bins, per_window_pearson, seed_metric


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


def test_seed_metric_is_mean_over_windows_of_track_mean():
    pred, obs = _data(1)
    expected = np.mean([np.mean([pearsonr(pred[i, :, t], obs[i, :, t]).statistic for t in range(3)])
                        for i in range(6)])
    assert np.isclose(seed_metric(pred, obs), expected)


def test_all_bins_pearson_matches_scipy():
    pred, obs = _data(2)
    r = pearson_all_bins(pred, obs)
    for t in range(3):
        assert np.isclose(r[t], pearsonr(pred[..., t].ravel(), obs[..., t].ravel()).statistic)


def test_perfect_prediction_and_constant_tracks():
    _, obs = _data(3)
    assert np.isclose(seed_metric(obs, obs), 1.0)
    assert np.allclose(pearson_all_bins(2 * obs + 1, obs), 1.0)
    obs[0, :, 1] = 5.0  # constant observed track: undefined, left out of the window's mean
    r = per_window_pearson(obs, obs)
    assert np.isnan(r[0, 1]) and np.isclose(seed_metric(obs, obs), 1.0)
