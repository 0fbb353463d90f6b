"""Detector: AUROC against references, planted signal, null calibration."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

from subliminal_stats.diagnostics.detector import _delong_var, bag_aurocs, detector


def _naive_delong(neg, pos):
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)


def test_auroc_at_k1_is_sklearns_and_delong_matches_the_pairwise_formula():
    gen = np.random.default_rng(0)
    y = np.r_[np.ones(150, bool), np.zeros(130, bool)]
    scores = np.round(gen.normal(size=280) + 0.4 * y, 1)  # rounded: ties count half
    curve = bag_aurocs(scores, y, bag_sizes=(1, 8, 200), resamples=199, rng=0)
    k1, k8, k200 = curve.rows
    assert k1.auroc == pytest.approx(roc_auc_score(y, scores))
    assert _delong_var(scores[~y], scores[y]) == pytest.approx(_naive_delong(scores[~y], scores[y]))
    assert k1.ci_low < k1.auroc < k1.ci_high
    assert k1.null_low < 0.5 < k1.null_high and k1.p_value < 0.01
    assert k8.bags_a == 150 // 8 and k8.bags_b == 130 // 8 and k8.auroc > k1.auroc
    assert np.isnan(k200.auroc)  # fewer than two bags per class


def test_bag_null_is_uniform_under_exchangeable_scores():
    # scores independent of labels: p at each K, and the min-p over K, reject ≤ 5 % (+1.5)
    gen = np.random.default_rng(5)
    y = np.r_[np.ones(64, bool), np.zeros(64, bool)]
    n, rejections, combined = 300, np.zeros(3), 0
    for i in range(n):
        curve = bag_aurocs(gen.normal(size=128), y, bag_sizes=(1, 4, 16), resamples=99, rng=i)
        rejections += [r.p_value <= 0.05 for r in curve.rows]
        combined += curve.p_value <= 0.05
    assert (rejections / n <= 0.065).all() and combined / n <= 0.065, (rejections, combined)


def test_detector_finds_planted_content_but_format_does_not():
    gen = np.random.default_rng(2)
    n = 2000
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)]
    probs = np.full(30, 1 / 30)
    tilted = probs.copy()
    tilted[:3] *= 2.5
    tilted /= tilted.sum()
    counts = np.vstack([gen.multinomial(8, tilted if label else probs) for label in y])
    content = sp.csr_matrix((counts > 0).astype(float))
    fmt = gen.normal(size=(n, 4))  # format unrelated to the teacher
    res = detector(content, fmt, y, bag_sizes=(1, 16), resamples=199, rng=0)
    c1, c16 = res.content.rows
    f1, f16 = res.format.rows
    assert res.n_train + res.n_test == n
    assert c1.auroc > 0.55 and c16.auroc > 0.8 and res.p_value <= 0.01
    assert f16.null_low <= f16.auroc <= f16.null_high or f16.p_value > 0.01
    assert res.format_p_value > 0.01
