"""Permutation tests of feature shares: references, planted effects, null calibration."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from subliminal_stats.diagnostics.frequency import frequency_test, subset_test
from subliminal_stats.diagnostics.permutation import Permuter, question_strata
from subliminal_stats.errors import InputError


def _counts(rows):
    return sp.csr_matrix(np.asarray(rows, dtype=float))


def test_one_binary_feature_matches_fishers_exact_test():
    # one number per sequence, feature = "is it 7": the permutation distribution of A's count
    # is hypergeometric, so the one-sided p is Fisher's exact p
    a = np.r_[np.ones(14), np.zeros(26)]
    b = np.r_[np.ones(6), np.zeros(34)]
    ca, cb = _counts(a[:, None]), _counts(b[:, None])
    res = frequency_test(ca, cb, labels=["7"], resamples=20_000, alternative="greater", rng=1,
                         lengths_a=np.ones(40), lengths_b=np.ones(40))
    fisher = stats.fisher_exact([[14, 26], [6, 34]], alternative="greater").pvalue
    p7 = res.p_adjusted[0]
    # with 40 numbers on each side z is monotone in A's count: the same ordering as Fisher's
    assert abs(p7 - fisher) < 0.006, (p7, fisher)  # Monte Carlo SE ≈ 0.0013
    two = frequency_test(ca, cb, labels=["7"], resamples=20_000, rng=1,
                         lengths_a=np.ones(40), lengths_b=np.ones(40))
    # two-sided: both tails of the hypergeometric at least as far from the mean count (10)
    hyper = stats.hypergeom(80, 20, 40)
    assert abs(two.p_adjusted[0] - (hyper.sf(13) + hyper.cdf(6))) < 0.008
    assert res.count_a[0] == 14 and res.count_b[0] == 6
    assert res.share_a[0] == pytest.approx(1000 * 14 / 40) and res.share_b[0] == pytest.approx(150)


def test_shares_z_and_clustered_intervals_by_hand():
    gen = np.random.default_rng(3)
    ca = sp.csr_matrix(gen.poisson(0.8, size=(60, 5)).astype(float))
    cb = sp.csr_matrix(gen.poisson(0.6, size=(50, 5)).astype(float))
    res = frequency_test(ca, cb, labels=list("abcde"), resamples=99, rng=0)
    A, B = ca.toarray(), cb.toarray()
    na, nb = A.sum(), B.sum()
    ra, rb = A.sum(0) / na, B.sum(0) / nb
    pooled = (A.sum(0) + B.sum(0)) / (na + nb)
    z = (ra - rb) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    assert np.allclose(res.z, z)
    # ratio-estimator variance, one sequence at a time (the loop the code vectorises)
    def var(X):
        n_i = X.sum(1)
        r = X.sum(0) / n_i.sum()
        resid = X - np.outer(n_i, r)
        m = len(X)
        return (resid**2).sum(0) / n_i.sum() ** 2 * m / (m - 1)
    se = np.sqrt(var(A) + var(B))
    q = stats.norm.ppf(0.975)
    assert np.allclose(res.diff_low, 1000 * (ra - rb - q * se))
    assert np.allclose(res.diff_high, 1000 * (ra - rb + q * se))
    assert np.all(res.p_adjusted >= 1 / 100) and np.all(res.p_adjusted <= 1)


def test_planted_number_is_found_and_nothing_else():
    gen = np.random.default_rng(7)
    probs = np.full(50, 1 / 50)
    boosted = probs.copy()
    boosted[17] *= 2.5
    boosted /= boosted.sum()
    ca = sp.csr_matrix(gen.multinomial(10, boosted, size=800).astype(float))
    cb = sp.csr_matrix(gen.multinomial(10, probs, size=800).astype(float))
    res = frequency_test(ca, cb, labels=[str(i) for i in range(50)], resamples=999, rng=2)
    assert res.top(1)[0]["feature"] == "17"
    assert res.p_adjusted[17] <= 0.01 and res.omnibus_p <= 0.01
    others = np.delete(res.p_adjusted, 17)
    assert others.min() > 0.05  # FWER control: no other number flagged here
    assert res.top(1)[0]["ratio_low"] > 1.5


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_max_t_controls_the_family_wise_error_on_simulated_nulls(alternative):
    # 300 null datasets (both samples from one multinomial): the share with any adjusted p ≤ 0.05
    # and with omnibus p ≤ 0.05 stays at the nominal 5 % (+1.5 points for simulation noise),
    # the one-sided omnibus (squared z of the features above B's only) as well
    gen = np.random.default_rng(11)
    probs = gen.dirichlet(np.ones(40))
    hits_max = hits_omni = 0
    n = 300
    for i in range(n):
        ca = sp.csr_matrix(gen.multinomial(gen.integers(3, 9), probs, size=60).astype(float))
        cb = sp.csr_matrix(gen.multinomial(gen.integers(3, 9), probs, size=60).astype(float))
        res = frequency_test(ca, cb, labels=[str(j) for j in range(40)], resamples=99, rng=i,
                             alternative=alternative)
        hits_max += res.min_adjusted_p <= 0.05
        hits_omni += res.omnibus_p <= 0.05
    assert hits_max / n <= 0.065 and hits_omni / n <= 0.065, (hits_max, hits_omni)


def test_alternative_and_subset():
    ca = _counts([[3, 1], [2, 2], [3, 0], [4, 1]] * 10)
    cb = _counts([[1, 3], [2, 2], [1, 2], [1, 3]] * 10)
    greater = frequency_test(ca, cb, labels=["x", "y"], resamples=499, alternative="greater", rng=0)
    less = frequency_test(ca, cb, labels=["x", "y"], resamples=499, alternative="less", rng=0)
    assert greater.p_adjusted[0] < 0.01 and less.p_adjusted[0] > 0.5
    sub = subset_test(ca, cb, [0], resamples=499, rng=0)
    assert sub.omnibus_p < 0.01 and sub.labels == ["selected"]
    with pytest.raises(InputError, match="alternative"):
        frequency_test(ca, cb, labels=["x", "y"], alternative="bigger")


def test_strata_permutations_keep_labels_inside_each_prompt():
    strata = question_strata(["p", "q", "r", "r2"], ["q", "s", "p", "t"])
    # shared prompts p and q get their own strata; everything else is stratum 0
    assert strata[0] == strata[6] > 0 and strata[1] == strata[4] > 0
    assert (strata[[2, 3, 5, 7]] == 0).all()
    labels = np.array([True] * 4 + [False] * 4)
    draws = Permuter(labels, strata, np.random.default_rng(0)).draw(2000)
    assert (draws.sum(axis=1) == 4).all()
    for s in np.unique(strata):
        rows = strata == s
        assert (draws[:, rows].sum(axis=1) == labels[rows].sum()).all()
    # a shared pair swaps its labels half the time
    assert 0.45 < draws[:, 0].mean() < 0.55
    # larger strata (three answers to one prompt) use the sorting path, still within stratum
    big = np.array([1, 1, 1, 2, 2, 0, 0, 0, 0, 0])
    lab = np.array([1, 0, 0, 1, 0, 1, 1, 0, 0, 0], dtype=bool)
    d = Permuter(lab, big, np.random.default_rng(1)).draw(500)
    for s in (0, 1, 2):
        assert (d[:, big == s].sum(axis=1) == lab[big == s].sum()).all()
    assert d[:, 0].mean() == pytest.approx(1 / 3, abs=0.07)
