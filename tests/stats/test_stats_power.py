"""Power planning in seeds: known answers from the two-sample t power equation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from subliminal_stats.errors import InputError
from subliminal_stats.stats import (
    detectable_effect,
    estimate_between_seed_sd,
    power_at,
    seeds_needed,
    simulate_responses,
)


def _noncentral_t_power(n, d, alpha=0.05):
    """Independent reference: power of the two-sided pooled t by the noncentral t."""
    df = 2 * n - 2
    nc = d * math.sqrt(n / 2)
    q = stats.t.ppf(1 - alpha / 2, df)
    return stats.nct.sf(q, df, nc) + stats.nct.cdf(-q, df, nc)


def _hsu_power(n, d, alpha=0.05):
    """Independent reference: equal SDs, so the statistic is a noncentral t on 2n − 2 df;
    the default test (logit-t) takes its critical value on Hsu's n − 1."""
    df = 2 * n - 2
    nc = d * math.sqrt(n / 2)
    q = stats.t.ppf(1 - alpha / 2, n - 1)
    return stats.nct.sf(q, df, nc) + stats.nct.cdf(-q, df, nc)


@pytest.mark.parametrize("d, exact, ceil", [(1, 17.61, 18), (2, 6.02, 7), (3, 3.95, 4)])
def test_seeds_needed_known_answers(d, exact, ceil):
    # docs/STATISTICS.md quotes 17, 5, 3 seeds/arm for the pooled t (critical value on
    # 2n − 2 df, power_at below); the default test takes it on Hsu's n − 1, valid whatever the
    # arms' spreads, and needs up to two seeds more: 17.61, 6.02, 3.95 by scipy's noncentral t.
    plan = seeds_needed(effect=0.05 * d, sd_between_seeds=0.05)
    assert plan.effect_size_d == pytest.approx(d)
    assert plan.seeds_exact == pytest.approx(exact, abs=0.01)
    assert plan.seeds_per_arm == ceil
    assert plan.power >= 0.8
    assert plan.power == pytest.approx(_hsu_power(ceil, d), abs=1e-6)
    assert _hsu_power(ceil - 1, d) < 0.8


def test_power_at_rounded_designs_is_just_below_target():
    assert power_at(5, 2.0) == pytest.approx(_noncentral_t_power(5, 2.0), abs=1e-6)
    assert 0.75 < power_at(5, 2.0) < 0.8  # why "5 seeds" for d = 2 is slightly short


def test_detectable_effect_inverts_seeds_needed():
    plan = detectable_effect(seeds_per_arm=5, sd_between_seeds=0.04)
    assert _hsu_power(5, plan.effect_size_d) == pytest.approx(0.8, abs=1e-6)
    assert plan.effect == pytest.approx(plan.effect_size_d * 0.04)
    one_sided = detectable_effect(seeds_per_arm=5, sd_between_seeds=0.04, alternative="greater")
    assert one_sided.effect < plan.effect


def test_power_by_simulation_matches_formula():
    # 4000 simulated pairs of normal seed samples, pooled t at 5 % → empirical power ≈ formula.
    rng = np.random.default_rng(1)
    n, d = 5, 2.0
    x = rng.normal(d, 1, (4000, n))
    y = rng.normal(0, 1, (4000, n))
    p = stats.ttest_ind(x, y, axis=1).pvalue
    assert np.mean(p < 0.05) == pytest.approx(power_at(n, d), abs=0.025)


def test_between_seed_sd_from_pilot_data():
    df = simulate_responses(seeds_per_arm=4, rng=2)
    sd, dof, where = estimate_between_seed_sd(df)
    from subliminal_stats.stats import per_seed_rates

    rates = per_seed_rates(df)
    arms = [g["rate"].to_numpy() for _, g in rates.groupby("condition") if len(g) > 1]
    pooled = math.sqrt(sum(((a - a.mean()) ** 2).sum() for a in arms) / sum(len(a) - 1
                                                                            for a in arms))
    assert sd == pytest.approx(pooled)
    assert dof == 6 and "control" in where and "treated" in where


def test_bad_planning_input():
    with pytest.raises(InputError, match="between-seed SD must be positive"):
        seeds_needed(effect=0.05, sd_between_seeds=0.0)
    with pytest.raises(InputError, match="positive difference"):
        seeds_needed(effect=-0.05, sd_between_seeds=0.05)
    with pytest.raises(InputError, match="at least 2 seeds"):
        detectable_effect(seeds_per_arm=1, sd_between_seeds=0.05)
    single = simulate_responses(seeds_per_arm=1, rng=1)
    with pytest.raises(InputError, match="2 or more seeds"):
        estimate_between_seed_sd(single)


def test_large_effects_need_few_seeds_not_an_error():
    """statsmodels' power() gives NaN at 3 seeds and d = 8; the noncentral t gives ≈ 1."""
    import math

    from scipy import stats as sps

    from subliminal_stats.stats import power_at, seeds_needed

    # hand computation: df = 4, noncentrality 8·sqrt(3/2), two-sided 5 %
    crit = sps.t.ppf(0.975, 4)
    nc = 8 * math.sqrt(1.5)
    assert power_at(3, 8.0) == sps.nct.sf(crit, 4, nc) + sps.nct.cdf(-crit, 4, nc)
    assert power_at(3, 8.0) > 0.999
    # The default's df at 2 seeds per arm is 1 (Hsu): d = 8 needs 3 seeds, d = 20 two.
    for d, seeds in ((8.0, 3), (20.0, 2)):
        plan = seeds_needed(effect=d / 100, sd_between_seeds=0.01)
        assert plan.seeds_per_arm == seeds and plan.power >= 0.8
        # scipy's nct gives NaN on 1–2 df at these noncentralities: simulate instead.
        rng = np.random.default_rng(int(d))
        x, y = rng.normal(d, 1, (20_000, seeds)), rng.normal(0, 1, (20_000, seeds))
        from subliminal_stats.stats import arrays as A

        simulated = float(np.mean(A.welch_t(x, y, df_rule="hsu").p_value <= 0.05))
        assert plan.power == pytest.approx(simulated, abs=0.01)
    # 2 seeds per arm at d = 8: power 0.958 (still above 80 %, so 2 is enough)
    assert power_at(2, 8.0) == pytest.approx(0.95805, abs=1e-4)
