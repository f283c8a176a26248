"""Group statistics against scipy and scikit-learn."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from stagevep.core.stats import bootstrap_auc_ci, cohens_d, group_stats
from stagevep.errors import InputError
from stagevep.variants.compare import compare_groups_files


def _scores(n_pos=8, n_neg=30, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for group, n, shift in (("functional", n_pos, 1.0), ("nonfunctional", n_neg, 0.0)):
        for i in range(n):
            a, b = rng.normal(shift, 1, 2)
            rows.append({"id": f"{group}{i}", "group": group, "status": "ok", "CS13_abs_log2fc": abs(a),
                         "CS20_abs_log2fc": abs(b)})
    df = pd.DataFrame(rows)
    df["score"] = df[["CS13_abs_log2fc", "CS20_abs_log2fc"]].max(axis=1)
    return df


def test_group_stats_match_scipy_and_sklearn():
    df = _scores()
    res = group_stats(df, n_boot=200).set_index("metric")
    assert list(res.index) == ["score", "CS13_abs_log2fc", "CS20_abs_log2fc"]
    assert set(res["kind"]) == {"magnitude"}
    for metric in res.index:
        pos = df.loc[df.group == "functional", metric].to_numpy()
        neg = df.loc[df.group == "nonfunctional", metric].to_numpy()
        row = res.loc[metric]
        mw = stats.mannwhitneyu(pos, neg, alternative="two-sided")
        wt = stats.ttest_ind(pos, neg, equal_var=False)
        assert row.mannwhitney_u == pytest.approx(mw.statistic) and row.mannwhitney_p == pytest.approx(mw.pvalue)
        assert row.welch_t == pytest.approx(wt.statistic) and row.welch_p == pytest.approx(wt.pvalue)
        auc = roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])
        assert row.auc == pytest.approx(auc)
        assert row.auc == pytest.approx(mw.statistic / (len(pos) * len(neg)))  # AUC = U / (n1 n2)
        assert row.auc_ci_low <= row.auc <= row.auc_ci_high
        assert (row.n_pos, row.n_neg) == (8, 30)
        assert row.median_pos == pytest.approx(np.median(pos)) and row.mean_neg == pytest.approx(neg.mean())


def test_cohens_d_pooled_sd():
    pos, neg = np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.0, 2.0])
    sp = np.sqrt((2 * pos.var(ddof=1) + 3 * neg.var(ddof=1)) / 5)
    assert cohens_d(pos, neg) == pytest.approx((pos.mean() - neg.mean()) / sp)


def test_bootstrap_is_seeded():
    df = _scores()
    pos = df.loc[df.group == "functional", "score"].to_numpy()
    neg = df.loc[df.group == "nonfunctional", "score"].to_numpy()
    assert bootstrap_auc_ci(pos, neg, 100, seed=3) == bootstrap_auc_ci(pos, neg, 100, seed=3)


def _table(pos, neg):
    values = np.r_[pos, neg].astype(float)
    return pd.DataFrame({"id": [f"v{i}" for i in range(len(values))], "status": "ok", "score": values,
                         "group": ["functional"] * len(pos) + ["nonfunctional"] * len(neg)})


@pytest.mark.parametrize(
    ("pos", "neg"),
    [([0.5, 0.5, 1.0, 2.0], [0.5, 0.5, 0.5, 1.0, 0.1]),  # ties within and across groups
     ([3.0, 1.0], [1.0, 0.2, 0.4]),  # a group of size 2, one tie across groups
     ([1.0, 1.0], [1.0, 1.0, 2.0])],  # nearly all tied; positive group has zero variance
)
def test_ties_and_groups_of_two_match_scipy_and_sklearn(pos, neg):
    pos, neg = np.array(pos), np.array(neg)
    row = group_stats(_table(pos, neg), n_boot=50).iloc[0]
    mw = stats.mannwhitneyu(pos, neg, alternative="two-sided")
    wt = stats.ttest_ind(pos, neg, equal_var=False)
    auc = roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])
    assert row.mannwhitney_u == pytest.approx(mw.statistic) and row.mannwhitney_p == pytest.approx(mw.pvalue)
    assert row.welch_t == pytest.approx(wt.statistic) and row.welch_p == pytest.approx(wt.pvalue)
    assert row.auc == pytest.approx(auc)
    sp = np.sqrt(((len(pos) - 1) * pos.var(ddof=1) + (len(neg) - 1) * neg.var(ddof=1)) / (len(pos) + len(neg) - 2))
    assert row.cohens_d == pytest.approx((pos.mean() - neg.mean()) / sp)
    assert row.auc_ci_low <= row.auc_ci_high and row.note == ""


def test_group_of_one_gives_na_with_a_note(caplog):
    pos, neg = np.array([2.0]), np.array([0.5, 2.0, 1.0])
    row = group_stats(_table(pos, neg), n_boot=50).iloc[0]
    assert row.n_pos == 1 and row.n_neg == 3
    assert np.isnan(row.cohens_d) and np.isnan(row.welch_t) and np.isnan(row.welch_p)
    assert np.isnan(row.auc_ci_low) and np.isnan(row.auc_ci_high)
    mw = stats.mannwhitneyu(pos, neg, alternative="two-sided")
    assert row.mannwhitney_p == pytest.approx(mw.pvalue)
    assert row.auc == pytest.approx(roc_auc_score([1, 0, 0, 0], np.r_[pos, neg]))  # 0.5 tie counts half
    assert "functional has 1 scored variant(s)" in row.note and "NA" in row.note
    assert "functional has 1 scored variant" in caplog.text


def test_group_with_no_scored_variant_is_all_na_not_a_crash():
    df = _table([1.0, 2.0], [0.5, 0.1, 0.3])
    df.loc[:1, "status"] = "ref_mismatch"
    row = group_stats(df, n_boot=20).iloc[0]
    assert row.n_pos == 0 and np.isnan(row.auc) and np.isnan(row.mannwhitney_p) and np.isnan(row.mean_pos)
    assert "functional has 0 scored variant(s)" in row.note


def test_unscored_and_unlabelled_are_left_out():
    df = _scores()
    df.loc[0, "status"] = "ref_mismatch"
    df.loc[1, "group"] = ""
    assert group_stats(df, n_boot=10).iloc[0].n_pos == 6


def test_missing_groups_are_errors():
    df = _scores()
    with pytest.raises(InputError, match="positive group 'causal'.*--positive_group"):
        group_stats(df, positive_group="causal")
    with pytest.raises(InputError, match="a second group is needed"):
        group_stats(df[df.group == "functional"])


def test_files_and_plots(tmp_path):
    df = _scores()
    df.to_csv(tmp_path / "scores.tsv", sep="\t", index=False)
    compare_groups_files(tmp_path / "scores.tsv", tmp_path / "out", n_boot=20)
    res = pd.read_csv(tmp_path / "out" / "group_stats.tsv", sep="\t")
    assert res["metric"].tolist() == ["score", "CS13_abs_log2fc", "CS20_abs_log2fc"]
    import matplotlib.image as mpimg
    for name in ("score_by_group.png", "per_stage_by_group.png", "roc_by_stage.png"):
        img = mpimg.imread(tmp_path / "out" / "plots" / name)
        assert img.shape[0] > 300 and img.shape[1] > 300
        assert img[..., :3].std() > 0.05  # not a blank image


def _signed(seed=0):
    """functional: losses at CS13; flank and far: no effect."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, n, shift in (("functional", 12, -2.0), ("flank", 15, 0.0), ("far", 20, 0.0)):
        for i in range(n):
            d13, d20 = rng.normal(shift, 0.5), rng.normal(shift / 4, 0.5)
            rows.append({"id": f"{group}{i}", "group": group, "status": "ok", "CS13_abs_log2fc": abs(d13),
                         "CS20_abs_log2fc": abs(d20), "CS13_delta_signal": d13, "CS20_delta_signal": d20,
                         "effect": d13 if abs(d13) >= abs(d20) else d20})
    df = pd.DataFrame(rows)
    df["score"] = df[["CS13_abs_log2fc", "CS20_abs_log2fc"]].max(axis=1)
    return df


def test_signed_rows_against_a_chosen_negative_group():
    df = _signed()
    res = group_stats(df, negative_group="flank", n_boot=50).set_index("metric")
    assert list(res.index) == ["score", "CS13_abs_log2fc", "CS20_abs_log2fc", "effect", "CS13_delta_signal",
                               "CS20_delta_signal"]
    assert list(res["kind"]) == ["magnitude"] * 3 + ["signed"] * 3
    assert set(res["negative_group"]) == {"flank"} and set(res["n_neg"]) == {15}
    pos = df.loc[df.group == "functional", "effect"].to_numpy()
    neg = df.loc[df.group == "flank", "effect"].to_numpy()
    row = res.loc["effect"]
    assert row.auc == pytest.approx(roc_auc_score(np.r_[np.ones(12), np.zeros(15)], np.r_[pos, neg]))
    assert row.auc < 0.1  # losses: the positive group's effects are lower
    assert row.cohens_d < 0 and row.mean_pos == pytest.approx(pos.mean())
    both = group_stats(df, negative_group="flank,far", n_boot=20).set_index("metric")
    default = group_stats(df, n_boot=20).set_index("metric")
    assert both.loc["effect", "negative_group"] == default.loc["effect", "negative_group"] == "far+flank"
    assert both.loc["effect", "n_neg"] == 35


@pytest.mark.parametrize(("negative", "message"), [("nonexistent", "not among the groups present"),
                                                   ("functional", "includes the positive group")])
def test_bad_negative_group(negative, message):
    with pytest.raises(InputError, match=message):
        group_stats(_signed(), negative_group=negative, n_boot=10)
