"""DataFrame API: summaries, comparisons, multiplicity, and the bad-input catalogue."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from repo_paths import EXAMPLE_CSV
from scipy import stats
from statsmodels.stats.multitest import multipletests

from subliminal_stats.data.schema import read_responses
from subliminal_stats.errors import InputError
from subliminal_stats.stats import (
    ROW_KEYS,
    available_methods,
    compare,
    per_seed_rates,
    results_frame,
    simulate_responses,
    summarize,
)


@pytest.fixture(scope="module")
def owl():
    return read_responses(EXAMPLE_CSV)


def _seed_rates_by_hand(df):
    per_q = df.groupby(["condition", "seed", "question"])["hit"].mean()
    return per_q.groupby(["condition", "seed"]).mean()


def test_per_seed_rates_match_groupby(owl):
    ours = per_seed_rates(owl).set_index(["condition", "seed"])["rate"]
    ref = _seed_rates_by_hand(owl)
    pd.testing.assert_series_equal(ours.sort_index(), ref.sort_index(), check_names=False)
    row = per_seed_rates(owl).iloc[0]
    assert row["n_answers"] == 200 and row["n_questions"] == 20


def test_summarize_intervals(owl):
    s = summarize(owl).set_index("condition")
    rates = _seed_rates_by_hand(owl)
    treated = rates.loc["treated"].to_numpy()
    low, high = stats.t.interval(0.95, 2, loc=treated.mean(), scale=stats.sem(treated))
    assert s.loc["treated", "mean"] == pytest.approx(treated.mean())
    assert (s.loc["treated", "ci_low"], s.loc["treated", "ci_high"]) == pytest.approx((low, high))
    assert s.loc["treated", "interval"] == "t over seeds"
    # Base: one seed → question-clustered SE and Wilson interval.
    q_rates = owl[owl.condition == "base"].groupby("question")["hit"].mean().to_numpy()
    se = math.sqrt(((q_rates - q_rates.mean()) ** 2).sum() / (20 * 19))
    assert s.loc["base", "se"] == pytest.approx(se)
    assert s.loc["base", "interval"] == "Wilson (question-clustered SE)"
    assert s.loc["base", "ci_low"] < s.loc["base", "mean"] < s.loc["base", "ci_high"]
    assert math.isnan(s.loc["base", "var_seed"]) and s.loc["base", "var_question"] >= 0
    for col in ("n_seeds", "n_questions", "n_answers", "sd_between_seeds", "var_seed",
                "var_question", "var_within"):
        assert col in s.columns


def test_welch_matches_scipy_and_a_hand_computation(owl):
    results = compare(owl, base="base", method="welch")
    assert [(r.control, r.method) for r in results] == [("control", "welch"),
                                                        ("base", "t-vs-single-model")]
    r = results[0]
    rates = _seed_rates_by_hand(owl)
    x, y = rates.loc["treated"].to_numpy(), rates.loc["control"].to_numpy()
    ref = stats.ttest_ind(x, y, equal_var=False)
    assert r.p_value == pytest.approx(ref.pvalue) and r.df == pytest.approx(ref.df)
    ci = ref.confidence_interval()
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high))
    # By hand: Welch's SE and Satterthwaite df from the two arms' variances.
    a, b = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    df = (a + b) ** 2 / (a**2 / (len(x) - 1) + b**2 / (len(y) - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(a + b)
    assert (r.ci_low, r.ci_high) == pytest.approx((x.mean() - y.mean() - half,
                                                   x.mean() - y.mean() + half))
    assert r.verdict == ("transfer" if r.p_value <= 0.05 else "no evidence")
    assert r.calibration.startswith(("calibrated", "borderline", "NOT CALIBRATED"))
    assert r.calibration_sims >= 1000
    assert "Holm over 1 test(s)" in r.family and "vs control" in r.family


def test_default_compare_matches_scipy(owl):
    results = compare(owl, base="base", method="pooled-t")
    assert [(r.control, r.method) for r in results] == [("control", "pooled-t"),
                                                        ("base", "t-vs-single-model")]
    r = results[0]
    rates = _seed_rates_by_hand(owl)
    ref = stats.ttest_ind(rates.loc["treated"], rates.loc["control"], equal_var=True)
    assert r.estimate == pytest.approx(rates.loc["treated"].mean() - rates.loc["control"].mean())
    assert r.p_value == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval()
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high))
    assert r.calibrated and r.odds_ratio > 1 and r.odds_ratio_ci_low < r.odds_ratio
    base = results[1]
    assert base.n_seeds_control == 1 and any("noisy constant" in w for w in base.warnings)
    row = r.to_row()
    assert set(ROW_KEYS) <= set(row)
    assert list(results_frame(results).columns[: len(ROW_KEYS)]) == list(ROW_KEYS)


def test_one_sided_greater(owl):
    two = compare(owl, method="welch")[0]
    one = compare(owl, method="welch", alternative="greater")[0]
    assert one.p_value == pytest.approx(two.p_value / 2)
    assert math.isinf(one.ci_high) and one.ci_low > two.ci_low


def test_multiplicity_across_traits_holm_and_bh():
    df = simulate_responses(traits=("owl", "cat", "dog", "eel"), effect=(1.4, 0.0, 0.6, 0.0),
                            seeds_per_arm=5, include_base=False, rng=4)
    raw = compare(df, adjust="none")
    p = [r.p_value for r in raw]
    holm = compare(df, adjust="holm")
    bh = compare(df, adjust="bh")
    assert [r.p_adjusted for r in holm] == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert [r.p_adjusted for r in bh] == pytest.approx(list(multipletests(p, method="fdr_bh")[1]))
    assert holm[0].adjust_method == "Holm across 4 trait(s)"
    assert bh[0].adjust_method.startswith("Benjamini-Hochberg")
    assert [r.trait for r in holm] == ["owl", "cat", "dog", "eel"]


def test_permutation_warns_when_alpha_unreachable(owl):
    r = compare(owl, method="permutation")[0]
    assert r.p_value == pytest.approx(0.10)
    assert any("smallest attainable two-sided p is 0.1" in w for w in r.warnings)


def test_bootstrap_is_labelled_descriptive():
    df = simulate_responses(seeds_per_arm=4, include_base=True, rng=9)
    results = compare(df, method="bootstrap-bca,bootstrap-percentile", base="base",
                      resamples=2000, rng=1)
    assert len(results) == 4
    for r in results:
        assert r.ci_low < r.estimate < r.ci_high
    control = [r for r in results if r.control == "control"]
    assert all(not r.calibrated and r.simulated_fpr > 0.065 for r in control)
    assert all(any("NOT CALIBRATED" in w for w in r.warnings) for r in control)
    again = compare(df, method="bootstrap-bca", resamples=2000, rng=1)
    assert again[0].ci_low == results[0].ci_low  # reproducible with rng


def test_all_methods_run(owl):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = compare(owl, method="all", base="base", resamples=200, rng=0)
    methods = {r.method for r in results if r.control == "control"}
    assert {"pooled-t", "welch", "permutation", "bootstrap-bca", "bootstrap-percentile"} <= methods
    if "lmm" not in available_methods():
        pytest.skip("stats/mixed.py does not provide the mixed models")
    assert len(methods) >= 8


# ----------------------------------------------------------------------------- bad input


def _tiny(seeds_t=3, seeds_c=3, hit=None, rng=0):
    df = simulate_responses(seeds_per_arm=max(seeds_t, seeds_c), include_base=False,
                            n_questions=5, answers_per_question=4, rng=rng)
    keep_t = [f"treated-{i}" for i in range(seeds_t)]
    keep_c = [f"control-{i}" for i in range(seeds_c)]
    df = df[df["seed"].isin(keep_t + keep_c)].copy()
    if hit is not None:
        df["hit"] = hit
    return df


def test_one_seed_per_arm_is_refused():
    with pytest.raises(InputError, match="one seed each.*at least 2 seeds"):
        compare(_tiny(1, 1))


def test_one_seed_in_one_arm_falls_back_to_noisy_constant():
    r = compare(_tiny(3, 1), method="welch")[0]
    assert r.method == "t-vs-single-model" and r.n_seeds_control == 1
    assert np.isfinite(r.p_value)
    assert any("one seed" in w for w in r.warnings)
    r = compare(_tiny(3, 1))[0]  # the default against one seed: the base as the typical student
    assert r.method == "logit-t" and r.n_seeds_control == 1 and np.isfinite(r.p_value)
    assert any("one seed" in w for w in r.warnings)


def test_empty_arm_and_trait_missing_from_a_condition():
    df = _tiny()
    with pytest.raises(InputError, match="unknown condition label 'control'"):
        compare(df[df.condition == "treated"])
    cat = df[df.condition == "treated"].assign(trait="cat")
    with pytest.raises(InputError, match="trait 'cat' has no answers for condition 'control'"):
        compare(pd.concat([df, cat]))


def test_unknown_labels():
    df = _tiny()
    with pytest.raises(InputError, match="unknown condition label 'ctrl'"):
        compare(df, control="ctrl")
    with pytest.raises(InputError, match="unknown trait label 'cat'"):
        compare(df, traits="cat")
    with pytest.raises(InputError, match="unknown method"):
        compare(df, method="ttest")
    with pytest.raises(InputError, match="both 'treated'"):
        compare(df, control="treated")


@pytest.mark.parametrize("value", [0, 1])
def test_all_hits_equal_says_why_there_is_no_p(value):
    r = compare(_tiny(hit=value), method="welch")[0]
    assert r.estimate == 0.0
    assert math.isnan(r.p_value) and math.isnan(r.ci_low)
    assert any("zero spread between seeds" in w for w in r.warnings)
    assert not r.significant
    # The log-odds t knows each seed's binomial variance, so it is defined there: no evidence.
    r = compare(_tiny(hit=value))[0]
    assert r.method == "logit-t" and r.estimate == 0.0 and r.p_value == pytest.approx(1.0)
    assert r.ci_low < 0 < r.ci_high and r.verdict == "no evidence"
    s = summarize(_tiny(hit=value))
    assert all("zero spread" in note for note in s["note"])


def test_unequal_questions_across_seeds_warns_and_uses_own_questions():
    df = _tiny()
    dropped = df[~((df.seed == "treated-0") & (df.question.isin(["q00", "q01"])))]
    r = compare(dropped, method="welch")[0]
    assert any("answered different questions" in w for w in r.warnings)
    rates = _seed_rates_by_hand(dropped)
    assert r.estimate == pytest.approx(rates.loc["treated"].mean() - rates.loc["control"].mean())


def test_single_seed_treated_arm_mirrors_single_seed_reference(owl):
    # base (1 seed) as the treated arm vs control (3 seeds) is the mirror image of
    # control vs base: same p, negated estimate and interval.
    forward = compare(owl, treated="control", control="base", method="welch")[0]
    mirror = compare(owl, treated="base", control="control", method="welch")[0]
    assert mirror.method == forward.method == "t-vs-single-model"
    assert mirror.estimate == pytest.approx(-forward.estimate)
    assert (mirror.ci_low, mirror.ci_high) == pytest.approx((-forward.ci_high, -forward.ci_low))
    assert mirror.p_value == pytest.approx(forward.p_value)
    greater = compare(owl, treated="base", control="control", alternative="greater")[0]
    less = compare(owl, treated="control", control="base", alternative="less")[0]
    assert greater.p_value == pytest.approx(less.p_value)
    # The default (log-odds) mirrors too: same p, inverse odds ratio.
    forward = compare(owl, treated="control", control="base")[0]
    mirror = compare(owl, treated="base", control="control")[0]
    assert mirror.method == forward.method == "logit-t"
    assert mirror.p_value == pytest.approx(forward.p_value)
    assert mirror.odds_ratio == pytest.approx(1 / forward.odds_ratio)
    assert mirror.odds_ratio_ci_low == pytest.approx(1 / forward.odds_ratio_ci_high)


def test_cell_counts_input_gives_the_same_answer(owl):
    from subliminal_stats.stats import cell_counts

    cells = cell_counts(owl)
    assert list(cells.columns) == ["trait", "condition", "seed", "question", "hits", "n"]
    assert cells["n"].sum() == len(owl) and cells["hits"].sum() == owl["hit"].sum()
    a = compare(owl, base="base")
    b = compare(cells, base="base")
    assert [r.to_row() for r in a] == [r.to_row() for r in b]


def test_odds_ratio_is_exp_of_t_on_per_seed_log_odds(owl):
    r = compare(owl, method="welch")[0]
    totals = owl.groupby(["condition", "seed"])["hit"].agg(["sum", "count"])
    logit = np.log((totals["sum"] + 0.5) / (totals["count"] - totals["sum"] + 0.5))
    x, y = logit.loc["treated"].to_numpy(), logit.loc["control"].to_numpy()
    # The log-odds t: Welch's SE (each arm's sample variance is above its binomial floor
    # here) on Hsu's df, min(3, 3) - 1 = 2.
    n = totals["count"]
    floor_t = np.mean(1 / (totals["sum"].loc["treated"] + 0.5)
                      + 1 / (n.loc["treated"] - totals["sum"].loc["treated"] + 0.5))
    assert x.var(ddof=1) > floor_t
    ref = stats.ttest_ind(x, y, equal_var=False)
    diff = x.mean() - y.mean()
    se = diff / ref.statistic
    q = stats.t.ppf(0.975, 2)
    assert r.odds_ratio == pytest.approx(math.exp(diff))
    assert (r.odds_ratio_ci_low, r.odds_ratio_ci_high) == pytest.approx(
        (math.exp(diff - q * se), math.exp(diff + q * se)))
