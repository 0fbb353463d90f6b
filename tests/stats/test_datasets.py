"""The teacher-dataset level: datasets as replicates, seeds nested (issue 17 §6).

References: scipy's Welch t on per-dataset means, statsmodels' MixedLM (REML) for the
variance split of a balanced design, fixed-seed simulations with ≥ 1,000 nulls per scenario.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from subliminal_stats.errors import InputError
from subliminal_stats.stats import datasets as D


def _two_level(rng, d, s, mu, dataset_sd, seed_sd, prefix):
    w = rng.normal(0, dataset_sd, d)
    rates = (mu + w[:, None] + rng.normal(0, seed_sd, (d, s))).ravel()
    labels = np.repeat([f"{prefix}{i}" for i in range(d)], s)
    return rates, labels


def test_dataset_means_and_welch_over_datasets_match_scipy():
    rng = np.random.default_rng(1)
    tr, tl = _two_level(rng, 4, 3, 0.30, 0.03, 0.01, "t")
    cr, cl = _two_level(rng, 4, 2, 0.20, 0.02, 0.01, "c")
    labels, means, seeds = D.dataset_means(tr, tl)
    assert list(labels) == ["t0", "t1", "t2", "t3"] and list(seeds) == [3, 3, 3, 3]
    assert means == pytest.approx(tr.reshape(4, 3).mean(axis=1))
    res = D.compare_datasets(tr, tl, cr, cl)
    ref = stats.ttest_ind(tr.reshape(4, 3).mean(1), cr.reshape(4, 2).mean(1), equal_var=False)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert res.df == pytest.approx(ref.df, rel=1e-9)  # equal arms: the cap never binds
    ci = ref.confidence_interval(0.95)
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert res.unit == "dataset" and res.n_datasets_treated == 4 == res.n_datasets_control


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_variance_split_matches_reml_on_a_balanced_design():
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(7)
    rates, labels = _two_level(rng, 8, 4, 0.25, 0.04, 0.02, "d")
    split = D.variance_split(rates, labels)
    fit = smf.mixedlm("y ~ 1", pd.DataFrame({"y": rates, "g": labels}), groups="g").fit(reml=True)
    # Balanced one-way design: the ANOVA estimates are the REML estimates (when > 0).
    assert split.between_datasets == pytest.approx(float(fit.cov_re.iloc[0, 0]), rel=1e-4)
    assert split.within_datasets == pytest.approx(float(fit.scale), rel=1e-4)
    assert split.seeds_per_dataset == 4 and split.n_datasets == 8
    assert 0 < split.dataset_share < 1


def test_variance_split_hand_computation_and_edge_cases():
    # Two datasets of two seeds: means 0.2 and 0.4, within-SS 4 × 0.02² = 0.0016 on 2 df
    # → MSW 0.0008; MSB = 2 × (0.1² + 0.1²) / 1 = 0.04; σ_d² = (0.04 − 0.0008) / 2.
    s = D.variance_split([0.18, 0.22, 0.38, 0.42], ["a", "a", "b", "b"])
    assert s.within_datasets == pytest.approx(0.0008)
    assert s.between_datasets == pytest.approx((0.04 - 0.0008) / 2)
    one = D.variance_split([0.1, 0.2, 0.3], ["a", "b", "c"])
    assert math.isnan(one.within_datasets) and "cannot be told apart" in one.note
    neg = D.variance_split([0.1, 0.3, 0.1, 0.3], ["a", "a", "b", "b"])
    assert neg.between_datasets == 0 and "below 0" in neg.note
    with pytest.raises(InputError, match="at least 2 teacher datasets"):
        D.variance_split([0.1, 0.2], ["a", "a"])
    with pytest.raises(InputError, match="one dataset label per seed"):
        D.dataset_means([0.1, 0.2], ["a"])


def test_one_dataset_per_arm_is_refused_with_the_reason():
    assert not D.needs_dataset_level(["a", "a", "a"], ["b", "c"])
    with pytest.raises(InputError, match="at least 2 teacher datasets per arm"):
        D.compare_datasets([0.2, 0.3, 0.25], ["a"] * 3, [0.1, 0.12], ["b", "c"])


def test_frame_entry_point_matches_the_array_api_and_refuses_bad_labels():
    from subliminal_stats.stats import simulate_responses

    rows = simulate_responses(seeds_per_arm=6, include_base=False, rng=2)
    # Three teacher datasets per arm, two students each.
    seed_no = rows["seed"].str.rsplit("-", n=1).str[-1].astype(int)
    rows = rows.assign(dataset=rows["condition"] + "-d" + (seed_no // 2).astype(str))
    res = D.compare_datasets_frame(rows)
    rates = D.seed_rates_with_datasets(rows)
    assert len(rates) == 12 and set(rates.columns) == {"trait", "condition", "dataset", "seed",
                                                       "rate"}
    t = rates[rates["condition"] == "treated"]
    c = rates[rates["condition"] == "control"]
    ref = D.compare_datasets(t["rate"], t["dataset"], c["rate"], c["dataset"])
    assert res.estimate == pytest.approx(ref.estimate) and res.n_datasets_treated == 3
    # Per-seed rates equal the package's own (mean of per-question rates).
    from subliminal_stats.stats import per_seed_rates

    own = per_seed_rates(rows).set_index(["condition", "seed"])["rate"]
    mine = rates.set_index(["condition", "seed"])["rate"]
    assert mine.sort_index().to_numpy() == pytest.approx(own.sort_index().to_numpy())
    with pytest.raises(InputError, match="'dataset' column"):
        D.compare_datasets_frame(rows.drop(columns="dataset"))
    bad = rows.copy()
    bad.loc[bad.index[0], "dataset"] = "other"
    with pytest.raises(InputError, match="more than one dataset label"):
        D.compare_datasets_frame(bad)


# Nulls with ≥ 1,000 simulations: a subset of dataset_scenarios() (the whole 240-scenario grid
# is `D.calibrate_datasets()`, about a minute: every null ≤ 5.9 % there, see the module doc).
NULLS = [D.DatasetScenario(d, s, rate, dsd, ssd)
         for d, s, rate, dsd, ssd in ((2, 5, 0.12, 0.5, 0.4), (3, 2, 0.01, 1.0, 0.1),
                                      (5, 5, 0.12, 0.5, 0.1), (3, 5, 0.01, 0.0, 0.4),
                                      (5, 2, 0.12, 0.2, 0.4))]


@pytest.fixture(scope="module")
def null_frame():
    return D.calibrate_datasets(NULLS, n_sims=2000, rng=11)


def test_dataset_level_test_keeps_its_false_positive_rate(null_frame):
    ok = null_frame[null_frame["method"] == "dataset-welch"]
    assert len(ok) == len(NULLS) and (ok["n_sims"] >= 1000).all()
    assert ok["rejection_rate"].max() <= 0.065, ok[["n_datasets", "seeds_per_dataset",
                                                    "dataset_sd", "rejection_rate"]]


def test_ignoring_the_dataset_level_is_anti_conservative(null_frame):
    naive = null_frame[null_frame["method"] == "seed-welch (datasets ignored)"]
    spread = naive[naive["dataset_sd"] >= 0.5]
    # Each seed counted as independent while seeds share their dataset's draw: at least twice
    # the nominal 5 % (14 % with 2 seeds per dataset, 36–42 % with 5).
    assert (spread["rejection_rate"] > 0.10).all(), spread
    assert (spread[spread["seeds_per_dataset"] == 5]["rejection_rate"] > 0.25).all()
    # ... and only the dataset level causes it: with dataset SD 0 both tests hold.
    flat = naive[naive["dataset_sd"] == 0]
    assert (flat["rejection_rate"] <= 0.065).all()


def test_dataset_level_interval_covers_an_effect():
    sc = D.DatasetScenario(3, 5, 0.12, 0.5, 0.4, effect=1.0)
    rows = D.calibrate_datasets([sc], n_sims=2000, rng=5)
    dataset = rows[rows["method"] == "dataset-welch"].iloc[0]
    naive = rows[rows["method"] == "seed-welch (datasets ignored)"].iloc[0]
    assert dataset["coverage"] >= 0.935 and naive["coverage"] < 0.8


# ----------------------------------------------------------------------------- planning


def test_plan_closed_form_and_more_datasets_without_a_dataset_cost():
    plan = D.plan_datasets(effect=0.05, dataset_sd=0.03, seed_sd=0.02, students=12)
    best = plan["best"]
    assert (best.datasets, best.seeds_per_dataset) == (12, 1)
    assert "more datasets" in plan["advice"]
    for o in plan["options"]:
        assert o.variance_of_mean == pytest.approx(0.03**2 / o.datasets
                                                   + 0.02**2 / (o.datasets * o.seeds_per_dataset))
    # Power rises with the number of datasets at a fixed budget of students.
    by_d = {o.datasets: o.power for o in plan["options"] if o.students == 12}
    assert by_d[2] < by_d[3] < by_d[4] < by_d[6] < by_d[12]


def test_plan_with_a_dataset_cost_finds_the_two_stage_optimum():
    # σ_d = 0.01, σ_s = 0.04, a dataset costs 4 students: S* = sqrt(4 × 16) = 8.
    plan = D.plan_datasets(effect=0.04, dataset_sd=0.01, seed_sd=0.04, students=40,
                           dataset_cost=4.0)
    assert plan["optimal_seeds_per_dataset"] == pytest.approx(8.0)
    best = plan["best"]
    assert best.cost <= 40 + 1e-9 and best.seeds_per_dataset > 1
    # By hand, D (4 + S) ≤ 40: 2 × 16 → 1.00e-4, 3 × 9 → 0.926e-4, 4 × 6 → 0.917e-4 (the
    # least variance, next to S* = 8), 5 × 4 → 1.00e-4 (more df), 6 × 2 → 1.5e-4.
    var = {(o.datasets, o.seeds_per_dataset): o.variance_of_mean for o in plan["options"]}
    assert min(var, key=var.get) == (4, 6)
    assert var[(4, 6)] == pytest.approx(0.01**2 / 4 + 0.04**2 / 24)
    assert (best.datasets, best.seeds_per_dataset) in {(3, 9), (4, 6), (5, 4)}
    assert best.power >= max(o.power for o in plan["options"]) - 0.02


@pytest.mark.parametrize("d, s, dsd, ssd", [(4, 3, 0.02, 0.03), (6, 1, 0.03, 0.01),
                                              (3, 5, 0.01, 0.04)])
def test_planned_power_matches_simulation(d, s, dsd, ssd):
    effect = 0.05
    options = D.plan_datasets(effect=effect, dataset_sd=dsd, seed_sd=ssd,
                              students=d * s)["options"]
    planned = next(o.power for o in options if (o.datasets, o.seeds_per_dataset) == (d, s))
    simulated = D.simulated_power(effect=effect, dataset_sd=dsd, seed_sd=ssd, datasets=d,
                                  seeds_per_dataset=s, n_sims=6000, rng=d * 10 + s)
    assert abs(planned - simulated) <= 0.03, (planned, simulated)


@pytest.mark.parametrize("kwargs, match", [
    (dict(effect=0.0, dataset_sd=0.1, seed_sd=0.1, students=10), "non-zero"),
    (dict(effect=0.1, dataset_sd=0.0, seed_sd=0.0, students=10), "both SDs are 0"),
    (dict(effect=0.1, dataset_sd=-1.0, seed_sd=0.1, students=10), "dataset SD"),
    (dict(effect=0.1, dataset_sd=0.1, seed_sd=0.1, students=1), "budget"),
    (dict(effect=0.1, dataset_sd=0.1, seed_sd=0.1, students=3, dataset_cost=math.nan), "cost"),
])
def test_plan_refuses_bad_input_in_one_line(kwargs, match):
    with pytest.raises(InputError, match=match):
        D.plan_datasets(**kwargs)


def test_plan_never_nan_over_wide_ranges():
    for dsd, ssd, effect, n in ((0.0, 0.05, 0.01, 4), (1e-6, 0.3, 0.5, 50), (0.2, 0.0, 0.001, 7),
                                (0.05, 0.05, 0.9, 1000), (0.01, 0.02, 0.02, 4)):
        plan = D.plan_datasets(effect=effect, dataset_sd=dsd, seed_sd=ssd, students=n,
                               dataset_cost=1.0)
        assert all(0 <= o.power <= 1 and math.isfinite(o.power) for o in plan["options"])
