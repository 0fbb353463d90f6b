"""`plan` never raises unexpectedly nor prints nan; its power is the power the default test delivers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A
from subliminal_stats.stats.power import (
    detectable_effect,
    power_table,
    sd_upper_bound,
    seeds_needed,
    welch_power,
)

ALTERNATIVES = st.sampled_from(["two-sided", "greater", "less"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(effect=st.floats(1e-4, 1.0), sd_c=st.floats(0.0, 0.5), sd_t=st.floats(0.0, 0.5),
       power=st.floats(0.05, 0.99), alpha=st.floats(1e-4, 0.5), alternative=ALTERNATIVES)
def test_seeds_needed_never_raises_unexpectedly_or_nan(effect, sd_c, sd_t, power, alpha,
                                                       alternative):
    try:
        plan = seeds_needed(effect=effect, sd_between_seeds=sd_c, sd_treated=sd_t, power=power,
                            alpha=alpha, alternative=alternative)
    except InputError as exc:  # a one-line reason: zero spread, or > 10,000 seeds
        assert "\n" not in str(exc)
        return
    assert 2 <= plan.seeds_per_arm <= 10_000
    assert math.isfinite(plan.power) and plan.power >= power - 1e-6
    assert math.isfinite(plan.effect_size_d)


@settings(max_examples=150, deadline=None)
@given(seeds=st.integers(2, 10_000), sd_c=st.floats(1e-4, 0.5), sd_t=st.floats(0.0, 0.5),
       power=st.floats(0.05, 0.99), alpha=st.floats(1e-4, 0.5), alternative=ALTERNATIVES)
def test_detectable_effect_never_nan(seeds, sd_c, sd_t, power, alpha, alternative):
    if power <= alpha:
        with pytest.raises(InputError, match="must exceed alpha"):
            detectable_effect(seeds_per_arm=seeds, sd_between_seeds=sd_c, power=power,
                              alpha=alpha)
        return
    plan = detectable_effect(seeds_per_arm=seeds, sd_between_seeds=sd_c, sd_treated=sd_t,
                             power=power, alpha=alpha, alternative=alternative)
    assert math.isfinite(plan.effect) and plan.effect > 0
    assert welch_power(seeds, plan.effect, sd_t, sd_c, alpha=alpha, df_rule="hsu",
                       alternative="greater" if alternative == "less" else alternative) \
        == pytest.approx(power, abs=1e-6)


def test_the_two_reported_crashes(cli):
    # `plan --effect 2 --sd 0.16` ended in a brentq traceback; `--effect 50 --sd 1` printed nan.
    for args in (["--effect", "2", "--sd", "0.16"], ["--effect", "50", "--sd", "1"]):
        r = cli("plan", *args)
        assert r.code == 0, r.err
        assert "nan" not in r.out.lower() and "Traceback" not in r.err
        assert " (exact" in r.out


@pytest.mark.parametrize("effect, sd_c, sd_t", [(0.10, 0.05, 0.05), (0.10, 0.02, 0.08),
                                                (0.05, 0.001, 0.06), (0.20, 0.05, 0.15)])
def test_simulated_power_within_3_points_at_the_recommended_seeds(effect, sd_c, sd_t):
    plan = seeds_needed(effect=effect, sd_between_seeds=sd_c, sd_treated=sd_t)
    n = plan.seeds_per_arm
    rng = np.random.default_rng(int(1000 * effect + 100 * sd_t))
    x = rng.normal(effect, sd_t, (20_000, n))  # MC SE of a power near 0.8: 0.3 points
    y = rng.normal(0.0, sd_c, (20_000, n))
    simulated = float(np.mean(A.welch_t(x, y, df_rule="hsu").p_value <= 0.05))  # the default's df
    assert simulated == pytest.approx(plan.power, abs=0.03), (n, simulated, plan.power)
    # Planning with the control's SD alone would promise too much when treated seeds spread more.
    if sd_t > sd_c:
        naive = seeds_needed(effect=effect, sd_between_seeds=sd_c)
        assert naive.seeds_per_arm < n


def test_pilot_uncertainty_and_power_table():
    # 3 + 3 pilot: 2 df per arm, the 80 % upper bound of an SD is 2.1x the estimate.
    assert sd_upper_bound(1.0, 2) == pytest.approx(math.sqrt(2 / 0.4462871), rel=1e-5)
    table = power_table(effects_pp=[1, 5, 10], seeds=[3, 5, 10], sd_treated_pp=7.0,
                        sd_control_pp=0.13)
    assert list(table.columns) == ["effect_pp", "sd_treated_pp", "sd_control_pp",
                                   "seeds_per_arm", "power"]
    assert table["power"].between(0, 1).all() and table["power"].notna().all()
    p = table.set_index(["effect_pp", "seeds_per_arm"])["power"]
    assert p[(1, 3)] < p[(10, 3)] < p[(10, 10)] + 1e-12
