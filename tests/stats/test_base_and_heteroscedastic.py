"""Treated vs base by hand (rate-scale and log-odds), and both on a real-looking heteroscedastic design."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from subliminal_stats.stats import arrays as A
from subliminal_stats.stats import compare
from subliminal_stats.stats.simulation import ArmSpec, cells_frame, expected_logit, simulate_cells


def _cells(rows):
    return pd.DataFrame(rows, columns=["trait", "condition", "seed", "question", "hits", "n"])


def _known_rows():
    """Treated t1..t3 and control c1..c3 over q1, q2 (10 answers each), and a base model."""
    rows = []
    for seed, (h1, h2) in {"t1": (2, 4), "t2": (3, 5), "t3": (1, 3)}.items():
        rows += [("owl", "treated", seed, "q1", h1, 10), ("owl", "treated", seed, "q2", h2, 10)]
    for seed, (h1, h2) in {"c1": (1, 2), "c2": (2, 2), "c3": (0, 3)}.items():
        rows += [("owl", "control", seed, "q1", h1, 10), ("owl", "control", seed, "q2", h2, 10)]
    rows += [("owl", "base", "base", "q1", 1, 10), ("owl", "base", "base", "q2", 3, 10)]
    return rows


def _logit(h, n):
    return math.log((h + 0.5) / (n - h + 0.5))


def _replica():
    """Like the public Qwen2.5-7B replication: 3 + 3 seeds, 50 questions x 200 answers, treated
    per-seed rates spreading about 7 pp, controls about 0.13 pp (4,000 simulations)."""
    arms = (ArmSpec("control", -4.8, 3, seed_sd=0.05), ArmSpec("treated", -1.6, 3, seed_sd=0.5))
    return simulate_cells(n_sims=4000, arms=arms, n_questions=50, answers_per_question=200,
                          question_sd=0.8, rng=13)


def test_base_comparison_known_answer():
    # Treated rates per (seed, question), 10 answers each: s1 .2/.4, s2 .3/.5, s3 .1/.3;
    # base 1/10 and 3/10. By hand: d = (.1, .2, .0), mean .1, var(d) = .01 → a = .01/3;
    # base variance with p̃ = (4 + 1)/(20 + 2): b = (.5²/10 + .5²/10) · p̃(1 − p̃);
    # df = (a + b)² (G − 1)/a² = 26.4, capped at 2 (G − 1) = 4.
    rows = _known_rows()
    r = [x for x in compare(_cells(rows), base="base", method="welch")
         if x.control == "base"][0]
    a = 0.01 / 3
    p_t = 5 / 22
    b = (0.25 / 10 + 0.25 / 10) * p_t * (1 - p_t)
    se = math.sqrt(a + b)
    assert r.method == "t-vs-single-model"
    assert r.estimate == pytest.approx(0.1)
    assert r.df == pytest.approx(4.0)
    assert (a + b) ** 2 * 2 / a**2 == pytest.approx(26.42, abs=0.01)
    assert r.p_value == pytest.approx(2 * stats.t.sf(0.1 / se, 4))
    q = stats.t.ppf(0.975, 4)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.1 - q * se, 0.1 + q * se))
    # The question spread (.2 between q1 and q2) cancels: shifting both arms' q2 by the same
    # amount leaves the answer unchanged.
    shifted = [(t, c, s, q, h + (2 if q == "q2" and c in ("treated", "base") else 0), n)
               for t, c, s, q, h, n in rows]
    again = [x for x in compare(_cells(shifted), base="base", method="welch")
             if x.control == "base"][0]
    assert again.estimate == pytest.approx(r.estimate)


def test_heteroscedastic_design_welch_covers_pooled_does_not():
    sim = _replica()
    t, c = sim.seed_rates("treated"), sim.seed_rates("control")
    sd_t = 100 * math.sqrt(t.var(axis=-1, ddof=1).mean())
    sd_c = 100 * math.sqrt(c.var(axis=-1, ddof=1).mean())
    assert 5.5 < sd_t < 8.5 and 0.08 < sd_c < 0.2
    truth = sim.true_mean["treated"] - sim.true_mean["control"]
    welch = A.welch_t(t, c)
    covered = np.mean((welch.ci_low <= truth) & (truth <= welch.ci_high))
    assert covered >= 0.935, covered
    pooled = A.pooled_t(t, c)
    assert np.mean((pooled.ci_low <= truth) & (truth <= pooled.ci_high)) < 0.91
    # compare(method="welch") runs exactly this interval, for one of the simulated experiments.
    frame = cells_frame(sim, 0).assign(trait="penguin")
    r = compare(frame, method="welch")[0]
    assert r.method == "welch"
    assert (r.ci_low, r.ci_high) == pytest.approx((welch.ci_low[0], welch.ci_high[0]))
    assert any("arm spreads differ" in w for w in r.warnings)
    assert r.calibration_sims >= 1000
    assert r.calibration in ("calibrated for this design", "borderline for this design")


def test_against_a_one_seed_base_by_hand():
    # The default (log-odds t) on the same cells as the rate-scale known answer above.
    rows = _known_rows()
    r = [x for x in compare(_cells(rows), base="base") if x.control == "base"][0]
    assert r.method == "logit-t"
    lt = np.array([_logit(6, 20), _logit(8, 20), _logit(4, 20)])
    floor = np.mean([1 / (h + 0.5) + 1 / (20 - h + 0.5) for h in (6, 8, 4)])
    vt = max(lt.var(ddof=1), floor)
    lb = _logit(4, 20)
    se = math.sqrt(vt / 3 + 1 / 4.5 + 1 / 16.5)
    shift = lt.mean() - lb
    assert math.log(r.odds_ratio) == pytest.approx(shift)
    assert r.df == 2.0
    assert r.p_value == pytest.approx(2 * stats.t.sf(abs(shift) / se, 2))
    q = stats.t.ppf(0.975, 2)
    assert (math.log(r.odds_ratio_ci_low), math.log(r.odds_ratio_ci_high)) == pytest.approx(
        (shift - q * se, shift + q * se))
    # The pp figures read the log-odds at the base's rate, so the interval excludes 0 exactly
    # when the odds-ratio interval excludes 1.
    p_b = expit(lb)
    assert r.reference_rate == pytest.approx(p_b)
    assert r.estimate == pytest.approx(expit(lb + shift) - p_b)
    assert r.ci_low == pytest.approx(expit(lb + shift - q * se) - p_b)


def test_heteroscedastic_design_default_covers_its_estimand():
    sim = _replica()
    th, ch = sim.hits["treated"].sum(-1), sim.hits["control"].sum(-1)
    n = np.full(th.shape, 50.0 * 200)
    r = A.logit_t(th, n, ch, n)
    v = sim.question_effects
    truth = expected_logit(-1.6, v, 0.5) - expected_logit(-4.8, v, 0.05)
    covered = float(np.mean((r.ci_low <= truth) & (truth <= r.ci_high)))
    assert covered >= 0.935, covered
    frame = cells_frame(sim, 0).assign(trait="penguin")
    res = compare(frame)[0]
    assert res.method == "logit-t"
    assert math.log(res.odds_ratio_ci_low) == pytest.approx(float(r.ci_low[0]))
    assert res.calibration_sims >= 1000
