"""Known-answer tests for the array maths (hand computations and independent references)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from subliminal_stats.stats import arrays as A

X = np.array([0.30, 0.40, 0.35])
Y = np.array([0.10, 0.20, 0.12])


def test_welch_matches_hand_computation():
    # Hand: means 0.35 and 0.14; variances 0.0025 and 0.0028; SE² = 0.0025/3 + 0.0028/3.
    se = math.sqrt(0.0025 / 3 + 0.0028 / 3)  # 0.0420317
    df = (0.0025 / 3 + 0.0028 / 3) ** 2 / ((0.0025 / 3) ** 2 / 2 + (0.0028 / 3) ** 2 / 2)
    assert se == pytest.approx(0.04203173, rel=1e-6)
    assert df == pytest.approx(3.98722, rel=1e-5)
    r = A.welch_t(X, Y)
    assert float(r.estimate) == pytest.approx(0.21)
    assert float(r.se) == pytest.approx(se)
    assert float(r.df) == pytest.approx(df)
    q = stats.t.ppf(0.975, df)
    assert float(r.ci_low) == pytest.approx(0.21 - q * se)
    assert float(r.ci_high) == pytest.approx(0.21 + q * se)
    ref = stats.ttest_ind(X, Y, equal_var=False)
    assert float(r.p_value) == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (float(r.ci_low), float(r.ci_high)) == pytest.approx((ci.low, ci.high))


def test_pooled_t_matches_scipy_and_one_sided():
    r = A.pooled_t(X, Y, alternative="greater")
    ref = stats.ttest_ind(X, Y, equal_var=True, alternative="greater")
    assert float(r.p_value) == pytest.approx(ref.pvalue)
    assert float(r.df) == 4
    assert float(r.ci_low) == pytest.approx(ref.confidence_interval(0.95).low)
    assert math.isinf(float(r.ci_high))
    # Hand: pooled variance (0.0025 + 0.0028)/2, SE = sqrt(sp² (1/3 + 1/3)).
    assert float(r.se) == pytest.approx(math.sqrt(0.00265 * 2 / 3))


def test_t_vs_noisy_constant_hand():
    # Treated X against a constant 0.2 with SE 0.01 on 19 df.
    a = 0.0025 / 3
    b = 0.01**2
    df = (a + b) ** 2 / (a**2 / 2 + b**2 / 19)
    r = A.t_vs_noisy_constant(X, 0.2, 0.01, 19)
    assert float(r.estimate) == pytest.approx(0.15)
    assert float(r.se) == pytest.approx(math.sqrt(a + b))
    assert float(r.df) == pytest.approx(df)
    assert float(r.p_value) == pytest.approx(2 * stats.t.sf(0.15 / math.sqrt(a + b), df))


def test_zero_spread_gives_nan_not_a_number_pretending():
    r = A.pooled_t(np.zeros(3), np.zeros(3))
    assert math.isnan(float(r.p_value)) and math.isnan(float(r.ci_low))


def test_exact_permutation_hand_enumerated():
    # Values 0..0.5 in steps of 0.1; observed treated {0.3, 0.1, 0.5}: sum 9 tenths.
    # Of the C(6,3) = 20 triples, 7 have sum ≥ 9 (complements with sum ≤ 6:
    # 012, 013, 014, 015, 023, 024, 123) → one-sided p = 7/20; |diff| ≥ 0.1 ↔ sum ≥ 9 or ≤ 6 → 14/20.
    x, y = [0.3, 0.1, 0.5], [0.0, 0.4, 0.2]
    greater = A.permutation_test(x, y, alternative="greater", interval=False)
    two = A.permutation_test(x, y, interval=False)
    assert greater.p_value == pytest.approx(7 / 20)
    assert two.p_value == pytest.approx(14 / 20)
    assert two.exhaustive and two.n_relabellings == 20 and two.min_p == pytest.approx(0.10)
    # The most extreme labelling: two-sided p = 2/20 = 0.10, the smallest possible with 3 vs 3.
    extreme = A.permutation_test([0.3, 0.4, 0.5], [0.0, 0.1, 0.2])
    assert extreme.p_value == pytest.approx(0.10)
    assert math.isinf(extreme.ci_low) and math.isinf(extreme.ci_high)  # α cannot be reached


def test_permutation_matches_scipy_and_monte_carlo():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0.3, 0.05, 5), rng.normal(0.25, 0.05, 5)
    ours = A.permutation_test(x, y, interval=False)
    ref = stats.permutation_test((x, y), lambda a, b: a.mean() - b.mean(),
                                 permutation_type="independent", n_resamples=np.inf)
    assert ours.p_value == pytest.approx(ref.pvalue)
    mc = A.permutation_test(x, y, max_exhaustive=10, n_resamples=20_000, rng=1, interval=False)
    assert not mc.exhaustive
    assert mc.p_value == pytest.approx(ref.pvalue, abs=0.01)


def test_permutation_interval_inverts_the_test():
    rng = np.random.default_rng(5)
    x, y = rng.normal(0.4, 0.05, 6), rng.normal(0.2, 0.05, 6)
    res = A.permutation_test(x, y)
    assert res.ci_low < res.estimate < res.ci_high
    # Just inside the bounds the shifted test does not reject; just outside it does.
    for bound, step in ((res.ci_low, -1e-4), (res.ci_high, 1e-4)):
        inside = A.permutation_test(x - (bound - step), y, interval=False).p_value
        outside = A.permutation_test(x - (bound + step), y, interval=False).p_value
        assert inside > 0.05 >= outside


def test_clustered_se_equals_pairwise_formula():
    rng = np.random.default_rng(11)
    n_q = np.array([5, 7, 4, 6, 5])
    cluster = np.repeat(np.arange(5), n_q)
    hits = (rng.random(n_q.sum()) < 0.3).astype(int)
    cell_hits = np.bincount(cluster, weights=hits)
    mean, se = A.clustered_mean_se(cell_hits, n_q)
    assert float(se) == pytest.approx(A.clustered_se_pairwise(hits, cluster), rel=1e-12)
    assert float(mean) == pytest.approx(np.mean(cell_hits / n_q))


def test_wilson_interval_hand_formula():
    # Effective n = p(1−p)/se² = 0.16·0.84/0.03² = 149.33; the Wilson formula at that n.
    p, se = 0.16, 0.03
    n = p * (1 - p) / se**2
    z = stats.norm.ppf(0.975)
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    low, high, n_eff = A.wilson_interval(p, se, 1000)
    assert n_eff == pytest.approx(n)
    assert (low, high) == pytest.approx((centre - half, centre + half), rel=1e-9)


def test_holm_and_bh_hand_values():
    p = [0.01, 0.04, 0.03, 0.20]
    holm, name = A.adjust_pvalues(p, method="holm")
    # Holm: sorted 0.01·4, max(0.03·3, ·), max(0.04·2, 0.09), 0.20·1.
    assert holm == pytest.approx([0.04, 0.09, 0.09, 0.20])
    assert name == "Holm"
    bh, name = A.adjust_pvalues(p, method="bh")
    # BH: p·m/rank = 0.04, 0.06, 0.0533, 0.20 → running minimum from the top.
    assert bh == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert name == "Benjamini-Hochberg"
    with_nan, _ = A.adjust_pvalues([0.01, math.nan, 0.04], method="holm")
    assert with_nan[0] == pytest.approx(0.02) and math.isnan(with_nan[1])


def test_variance_components_recover_simulated_truth():
    rng = np.random.default_rng(2)
    s, q, n = 40, 60, 400
    seed = rng.normal(0, 0.03, (s, 1))
    question = rng.normal(0, 0.05, (1, q))
    p = np.clip(0.3 + seed + question, 0.01, 0.99)
    rates = rng.binomial(n, p) / n
    comps = A.variance_components(rates, n)
    assert comps["var_seed"] == pytest.approx(np.var(seed, ddof=1), rel=0.25)
    assert comps["var_question"] == pytest.approx(np.var(question, ddof=1), rel=0.25)
    assert comps["var_within"] == pytest.approx(np.mean(p * (1 - p)), rel=0.02)
    assert comps["var_seed_question"] < 2e-4


def test_bca_matches_scipy_on_iid_data():
    # With one level (iid values) our BCa on scipy's own replicates equals scipy's BCa.
    rng = np.random.default_rng(4)
    x = rng.exponential(1.0, 25)
    ref = stats.bootstrap((x,), np.mean, method="BCa", n_resamples=4000, rng=7)
    jack = (x.sum() - x) / (len(x) - 1)
    low, high = A.bootstrap_interval(ref.bootstrap_distribution, x.mean(), jack, kind="bca")
    assert (low, high) == pytest.approx((ref.confidence_interval.low,
                                         ref.confidence_interval.high), rel=2e-3)


def test_two_level_bootstrap_variance_matches_formula():
    # Var of a seed+question bootstrap mean ≈ (G−1)/G² · s²_seed-means/ … checked by brute force.
    rng = np.random.default_rng(8)
    rates = rng.random((4, 10))
    reps = A.resample_arm_means(rates, n_resamples=200_000, rng=np.random.default_rng(1))
    seed_means = rates.mean(axis=1)
    # Law of total variance: seeds with replacement, then questions within the drawn seed.
    within = (rates.var(axis=1, ddof=0) / rates.shape[1]).mean()
    between = seed_means.var(ddof=0)
    expected = (between + within) / rates.shape[0]
    assert reps.mean() == pytest.approx(rates.mean(), abs=2e-3)
    assert reps.var() == pytest.approx(expected, rel=0.02)
    # Ragged (a seed lacks questions): each seed's questions are resampled among its own.
    ragged = rates.copy()
    ragged[0, 5:] = np.nan
    reps = A.resample_arm_means(ragged, n_resamples=50_000, rng=np.random.default_rng(2))
    assert reps.mean() == pytest.approx(np.nanmean(ragged, axis=1).mean(), abs=3e-3)


def test_adjustments_match_statsmodels_on_random_vectors():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(12)
    # Few vectors: statsmodels' Holm branch calls gc.collect() on every call (slow).
    for m in (1, 2, 3, 7, 20):
        for _ in range(2):
            p = rng.random(m) ** 3
            for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
                adjusted, _ = A.adjust_pvalues(p, method=ours)
                assert adjusted == pytest.approx(multipletests(p, method=theirs)[1])
