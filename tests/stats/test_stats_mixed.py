"""Mixed-effects models over seeds: R reference values, known answers, calibration checks.

Reference data: tests/fixtures/mixed/cells.csv (2 conditions × 4 seeds × 15 questions × 20
answers, simulated by ``simulate_cells(4, n_questions=15, answers_per_question=20,
effect=0.6, seed_sd=0.5, rng=20260)``); R numbers from ``Rscript tests/fixtures/mixed/reference.R``
(R 4.2.2, lme4 1.1.31), see tests/fixtures/mixed/README.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from subliminal_stats.errors import InputError
from subliminal_stats.stats import mixed
from subliminal_stats.stats.mixed import (
    fit_gee,
    fit_glmm_map,
    fit_lmm,
    gee_comparison,
    glmm_comparison,
    lmm_comparison,
    simulate_cells,
)
from subliminal_stats.stats.results import ComparisonResult

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "mixed" / "cells.csv"
ARMS = {"treated": "treated", "control": "control"}


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    # Small dense fits: a second BLAS thread only fights the other jobs on 2 cores.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    return pd.read_csv(DATA, dtype={"seed": str, "question": str})


@pytest.fixture(scope="module")
def lmm_fit(cells):
    return fit_lmm(cells, **ARMS)


@pytest.fixture(scope="module")
def glmm_fit(cells):
    return fit_glmm_map(cells, **ARMS)


def per_seed_rates(cells: pd.DataFrame) -> pd.Series:
    return (cells["hits"] / cells["n"]).groupby([cells["condition"], cells["seed"]]).mean()


# ---------------------------------------------------------------------------
# R reference values
# ---------------------------------------------------------------------------

# lmer(rate ~ condition + (1|condition:seed) + (1|question), data = d, REML = TRUE)
#   with d$rate <- d$hits / d$n, control as reference level (tests/fixtures/mixed/reference.R)
R_LMER = {
    "intercept": 0.1083333333,
    "effect": 0.0675000000,
    "effect_se": 0.04428189025,
    "seed_variance": 0.003558648508,  # condition:seed
    "question_variance": 0.005404386004,
    "residual_variance": 0.005446846507,
}

# glmer(cbind(hits, n - hits) ~ condition + (1|condition:seed) + (1|question),
#       data = d, family = binomial)     # Laplace approximation (nAGQ = 1)
R_GLMER = {
    "intercept": -2.2712925693,
    "effect": 0.5154414815,
    "effect_se": 0.3235342413,
    "seed_sd": 0.4214297793,
    "question_sd": 0.6454332037,
}


def test_lmm_matches_lmer_within_2_percent(lmm_fit):
    # Same estimator (REML) on the same data: agreement is in fact ~1e-4 relative.
    for name, r_value in R_LMER.items():
        ours = getattr(lmm_fit, name)
        assert ours == pytest.approx(r_value, rel=0.02), name
    assert lmm_fit.converged and lmm_fit.fit_warnings == ()


def test_glmm_map_vs_glmer_within_documented_tolerance(glmm_fit):
    # fit_map is the JOINT posterior mode of (fixed effects, random effects, log SDs)
    # under priors N(0, 10²) and N(0, 1) on log SD; glmer maximises the Laplace
    # MARGINAL likelihood (random effects integrated out). The joint mode shrinks the
    # random-effect SDs and so also the effect's SD. Measured on this dataset:
    #   intercept -2.2278 vs -2.2713 (1.9 %), effect 0.5100 vs 0.5154 (1.1 %),
    #   effect SD 0.2989 vs SE 0.3235 (-7.6 %), seed SD 0.3835 vs 0.4214 (-9.0 %),
    #   question SD 0.5706 vs 0.6454 (-11.6 %).
    # Tolerances: fixed effects 3 %, the effect's SD 10 %, random-effect SDs 15 %,
    # and the SDs must be SMALLER than glmer's (the documented direction of the bias).
    assert glmm_fit.intercept == pytest.approx(R_GLMER["intercept"], rel=0.03)
    assert glmm_fit.effect == pytest.approx(R_GLMER["effect"], rel=0.03)
    assert glmm_fit.effect_sd == pytest.approx(R_GLMER["effect_se"], rel=0.10)
    assert glmm_fit.seed_sd == pytest.approx(R_GLMER["seed_sd"], rel=0.15)
    assert glmm_fit.question_sd == pytest.approx(R_GLMER["question_sd"], rel=0.15)
    assert glmm_fit.effect_sd < R_GLMER["effect_se"]
    assert glmm_fit.seed_sd < R_GLMER["seed_sd"]
    assert glmm_fit.question_sd < R_GLMER["question_sd"]
    assert glmm_fit.converged


def test_glmm_counted_rows_equal_one_row_per_answer(cells, glmm_fit):
    # The fit weights (cell, outcome) rows by counts; statsmodels' own form takes one
    # 0/1 row per answer. Same posterior, so the same mode; the SDs come from a
    # finite-difference Hessian and agree to ~1e-5.
    design = mixed.prepare_cells(cells, trait=None, **ARMS)
    expanded = mixed.fit_glmm_design(design, one_row_per_answer=True)
    for name in ("intercept", "effect", "seed_sd", "question_sd"):
        assert getattr(glmm_fit, name) == pytest.approx(getattr(expanded, name), rel=1e-6), name
    assert glmm_fit.effect_sd == pytest.approx(expanded.effect_sd, rel=1e-4)
    assert glmm_fit.question_effects == pytest.approx(expanded.question_effects, rel=1e-5, abs=1e-7)


# ---------------------------------------------------------------------------
# Known answers in a balanced design
# ---------------------------------------------------------------------------


def anova_components(cells: pd.DataFrame) -> tuple[float, float, float]:
    """Method-of-moments (ANOVA) estimators for y = μ + α_c + u_cs + v_q + e, balanced.

    E[MS_seed] = σe² + Q σs², E[MS_question] = σe² + 2G σq², E[MS_resid] = σe²;
    REML equals these when they are all positive.
    """
    y = (cells["hits"] / cells["n"]).to_numpy()
    cond, seed, q = (
        cells["condition"].to_numpy(),
        cells["seed"].to_numpy(),
        cells["question"].to_numpy(),
    )
    frame = pd.DataFrame({"y": y, "c": cond, "s": cond + "/" + seed, "q": q})
    n_cond, n_seeds, n_q = 2, frame["s"].nunique(), frame["q"].nunique()
    grand = y.mean()
    cond_mean = frame.groupby("c")["y"].transform("mean")
    seed_mean = frame.groupby("s")["y"].transform("mean")
    q_mean = frame.groupby("q")["y"].transform("mean")
    ss_seed = ((seed_mean - cond_mean) ** 2).sum()
    ss_q = ((q_mean - grand) ** 2).sum()
    ss_total = ((y - grand) ** 2).sum()
    ss_cond = ((cond_mean - grand) ** 2).sum()
    ss_resid = ss_total - ss_cond - ss_seed - ss_q
    df_seed, df_q = n_seeds - n_cond, n_q - 1
    df_resid = len(y) - 1 - (n_cond - 1) - df_seed - df_q
    ms_seed, ms_q, ms_resid = ss_seed / df_seed, ss_q / df_q, ss_resid / df_resid
    return (ms_seed - ms_resid) / n_q, (ms_q - ms_resid) / n_seeds, ms_resid


def test_lmm_variance_components_equal_balanced_anova(cells, lmm_fit):
    seed_var, question_var, resid_var = anova_components(cells)
    assert lmm_fit.seed_variance == pytest.approx(seed_var, rel=1e-3)
    assert lmm_fit.question_variance == pytest.approx(question_var, rel=1e-3)
    assert lmm_fit.residual_variance == pytest.approx(resid_var, rel=1e-3)


def test_lmm_comparison_equals_student_t_on_per_seed_rates(cells):
    # Balanced design with a positive seed variance: the REML GLS contrast and its SE
    # are the pooled two-sample t on per-seed mean rates, df = 2G - 2.
    rates = per_seed_rates(cells)
    ref = stats.ttest_ind(rates["treated"], rates["control"], equal_var=True)
    ci = ref.confidence_interval(0.95)
    res = lmm_comparison(cells, trait="owl", **ARMS)
    assert isinstance(res, ComparisonResult) and res.method == "lmm"
    assert res.estimate == pytest.approx(
        rates["treated"].mean() - rates["control"].mean(), abs=1e-12
    )
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-4)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-4)
    # REML is optimised numerically: SE agrees to ~1e-4 relative, so CI ends to ~1e-5 absolute.
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-5)
    assert res.df == 6 and res.n_seeds_treated == 4 and res.n_seeds_control == 4
    one_sided = lmm_comparison(
        cells, trait="owl", alternative="greater", confidence_level=0.9, **ARMS
    )
    ref_one = stats.ttest_ind(rates["treated"], rates["control"], alternative="greater")
    assert one_sided.p_value == pytest.approx(ref_one.pvalue, rel=1e-4)
    assert one_sided.ci_low == pytest.approx(ref_one.confidence_interval(0.9).low, abs=1e-5)
    assert one_sided.ci_high == math.inf


def test_gee_bias_reduced_se_equals_closed_form(cells):
    # Balanced clusters, exchangeable working correlation, arm-level covariate:
    # the GEE fits the arm mean rates exactly, and the Mancl–DeRouen correction
    # (I - H_i)^-1 with leverage 1/G per seed inflates the robust meat by (G/(G-1))²:
    #   Var(b1) = Σ_arm s²_arm / ((G_arm - 1) (p_arm (1 - p_arm))²).
    rates = per_seed_rates(cells)
    p_t, p_c = rates["treated"].mean(), rates["control"].mean()
    variance = sum(
        rates[a].var(ddof=1) / (len(rates[a]) - 1) / (rates[a].mean() * (1 - rates[a].mean())) ** 2
        for a in ("treated", "control")
    )
    fit = fit_gee(cells, **ARMS)
    assert fit.effect == pytest.approx(special.logit(p_t) - special.logit(p_c), rel=1e-6)
    assert fit.effect_se == pytest.approx(math.sqrt(variance), rel=1e-6)
    res = gee_comparison(cells, trait="owl", **ARMS)
    t = fit.effect / math.sqrt(variance)
    assert res.statistic == pytest.approx(t, rel=1e-6)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(t), 6), rel=1e-6)
    assert res.estimate == pytest.approx(p_t - p_c, rel=1e-6)
    assert res.odds_ratio == pytest.approx(math.exp(fit.effect), rel=1e-9)
    # The interval maps the log-odds interval ends, so it excludes 0 exactly when p < 0.05.
    assert (res.ci_low > 0) == (res.p_value < 0.05)
    assert res.odds_ratio_ci_low < res.odds_ratio < res.odds_ratio_ci_high


def test_glmm_comparison_reports_odds_ratio_and_labelled_uncalibrated(cells, glmm_fit):
    res = glmm_comparison(cells, trait="owl", **ARMS)
    assert res.method == "glmm-map" and res.calibrated is False
    assert res.odds_ratio == pytest.approx(math.exp(glmm_fit.effect))
    q = stats.t.ppf(0.975, 6)
    assert res.odds_ratio_ci_low == pytest.approx(
        math.exp(glmm_fit.effect - q * glmm_fit.effect_sd)
    )
    assert res.odds_ratio_ci_high == pytest.approx(
        math.exp(glmm_fit.effect + q * glmm_fit.effect_sd)
    )
    # Proportion scale: model rates averaged over the fitted question effects and over
    # seeds u ~ N(0, seed_sd²), here by brute-force Monte Carlo instead of quadrature.
    v = np.asarray(glmm_fit.question_effects)
    u = np.random.default_rng(0).normal(0.0, glmm_fit.seed_sd, size=(200_000, 1))
    expected = np.mean(special.expit(glmm_fit.intercept + glmm_fit.effect + u + v)) - np.mean(
        special.expit(glmm_fit.intercept + u + v)
    )
    assert res.estimate == pytest.approx(expected, abs=2e-4)
    assert res.ci_low < res.estimate < res.ci_high
    # The model's difference (0.058) is not the raw difference of mean rates (0.0675):
    # the conditional log-odds effect (0.51, glmer 0.515) is smaller than the raw
    # marginal logit difference (0.563) on these data; the raw value is inside the CI.
    rates = per_seed_rates(cells)
    assert res.ci_low < rates["treated"].mean() - rates["control"].mean() < res.ci_high
    assert any("not a frequentist test" in w for w in res.warnings)
    assert any("false-positive rate" in w for w in res.warnings)
    assert not math.isnan(res.simulated_fpr)


def test_seeds_are_nested_in_condition(cells):
    # Seed labels 0-3 repeat across arms; renaming the treated seeds must change nothing.
    renamed = cells.copy()
    is_treated = renamed["condition"] == "treated"
    renamed.loc[is_treated, "seed"] = "t" + renamed.loc[is_treated, "seed"]
    a, b = fit_lmm(cells, **ARMS), fit_lmm(renamed, **ARMS)
    assert a.seed_variance == pytest.approx(b.seed_variance, rel=1e-6)
    assert a.effect_se == pytest.approx(b.effect_se, rel=1e-6)
    assert fit_gee(cells, **ARMS).effect_se == pytest.approx(
        fit_gee(renamed, **ARMS).effect_se, rel=1e-9
    )


def test_extra_conditions_and_traits_are_ignored(cells):
    other = cells.assign(condition="base", hits=cells["n"] // 2)
    wider = pd.concat(
        [cells.assign(trait="owl"), other.assign(trait="owl"), cells.assign(trait="cat", hits=0)]
    )
    a = lmm_comparison(cells, trait="owl", **ARMS)
    b = lmm_comparison(wider, trait="owl", **ARMS)
    assert b.estimate == pytest.approx(a.estimate, abs=1e-12)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-6)


def test_recorded_fprs_drive_results(cells):
    for method in ("lmm", "glmm-map", "gee-bias-reduced"):
        for g in (3, 5):
            two, one, n = mixed.SIMULATED_FPR[(method, g)]
            assert 0.0 <= two <= 1.0 and 0.0 <= one <= 1.0 and n >= 1000
    # 4 seeds/arm: the nearest simulated design is 3 (tie broken towards fewer seeds).
    for func, method in ((lmm_comparison, "lmm"), (gee_comparison, "gee-bias-reduced")):
        res = func(cells, trait="owl", **ARMS)
        fpr = mixed.SIMULATED_FPR[(method, 3)][0]
        assert res.simulated_fpr == fpr
        assert res.calibrated == (fpr <= mixed.CALIBRATED_MAX_FPR)
        assert any(w.startswith("over-rejects") for w in res.warnings) == (not res.calibrated)
        assert any(w.startswith("conservative") for w in res.warnings) == (fpr < 0.035)
        greater = func(cells, trait="owl", alternative="greater", **ARMS)
        assert greater.simulated_fpr == mixed.SIMULATED_FPR[(method, 3)][1]
        less = func(cells, trait="owl", alternative="less", **ARMS)  # not simulated
        assert math.isnan(less.simulated_fpr) and any(
            "'less' not simulated" in w for w in less.warnings
        )
        assert less.p_value == pytest.approx(1 - greater.p_value)
    glmm = glmm_comparison(cells, trait="owl", **ARMS)
    assert (
        glmm.calibrated is False and glmm.simulated_fpr == mixed.SIMULATED_FPR[("glmm-map", 3)][0]
    )


# ---------------------------------------------------------------------------
# Calibration: a small fixed-seed simulation (the recorded figures come from
# `python -m subliminal_stats.stats.mixed`, see SIMULATED_FPR)
# ---------------------------------------------------------------------------


def test_null_rejections_small_and_power_with_effect():
    rng = np.random.default_rng(7)
    null_lmm = null_gee = 0
    for _ in range(20):
        data = simulate_cells(3, n_questions=20, rng=rng)
        null_lmm += lmm_comparison(data, trait="x", **ARMS).p_value < 0.05
        null_gee += gee_comparison(data, trait="x", **ARMS).p_value < 0.05
    # Binomial(20, 0.05) exceeds 4 with probability 1.6 %; fitting without the seed
    # intercept (the vc_formula trap, ~54 % FPR) would fail this almost surely.
    # The precise rates are the recorded SIMULATED_FPR (300 sims per design).
    assert null_lmm <= 4 and null_gee <= 4
    hits = 0
    for _ in range(6):
        data = simulate_cells(3, n_questions=20, effect=1.5, rng=rng)
        res = lmm_comparison(data, trait="x", alternative="greater", **ARMS)
        hits += res.p_value < 0.05
        assert res.estimate > 0
    assert hits >= 5


def test_simulator_matches_its_design():
    data = simulate_cells(
        200, n_questions=40, answers_per_question=30, seed_sd=0.0, question_sd=0.0, rng=3
    )
    assert len(data) == 2 * 200 * 40 and set(data["n"]) == {30}
    rate = data["hits"].sum() / data["n"].sum()
    assert rate == pytest.approx(special.expit(-2.0), abs=0.003)
    assert data.groupby("condition")["seed"].nunique().to_dict() == {"control": 200, "treated": 200}


# ---------------------------------------------------------------------------
# Bad input: one-line InputError
# ---------------------------------------------------------------------------


def one_line_error(func, data, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        func(data, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("func", [lmm_comparison, glmm_comparison, gee_comparison])
def test_one_seed_per_arm_is_an_input_error(cells, func):
    single = cells[(cells["condition"] == "control") | (cells["seed"] == "0")]
    message = one_line_error(func, single, trait="owl", **ARMS)
    assert "'treated' has 1 seed" in message and "at least 2" in message


@pytest.mark.parametrize("func", [lmm_comparison, glmm_comparison, gee_comparison])
def test_empty_arm_is_an_input_error(cells, func):
    message = one_line_error(func, cells, trait="owl", treated="treatd", control="control")
    assert "'treatd' has no rows" in message


def test_other_bad_inputs(cells):
    assert "column(s) hits" in one_line_error(
        lmm_comparison, cells.drop(columns="hits"), trait="o", **ARMS
    )
    bad = cells.copy()
    bad.loc[5, "hits"] = 25
    assert "row 5" in one_line_error(fit_lmm, bad, **ARMS)
    fractional = cells.assign(hits=cells["hits"] + 0.5)
    assert "whole counts" in one_line_error(fit_lmm, fractional, **ARMS)
    constant = cells.assign(hits=5)  # every cell 5/20: nothing to estimate a variance from
    for func in (lmm_comparison, gee_comparison):
        assert "no usable variation" in one_line_error(func, constant, trait="o", **ARMS)
    zeros = cells.assign(hits=0)
    assert "no hits" in one_line_error(lmm_comparison, zeros, trait="o", **ARMS)
    assert "both 'x'" in one_line_error(lmm_comparison, cells, trait="o", treated="x", control="x")
    assert "alternative" in one_line_error(
        lmm_comparison, cells, trait="o", alternative="bigger", **ARMS
    )
    # One arm without hits: the LMM still works, log-odds models refuse with a reason.
    control_zero = cells.copy()
    control_zero.loc[control_zero["condition"] == "control", "hits"] = 0
    assert lmm_comparison(control_zero, trait="o", **ARMS).estimate > 0
    for func in (glmm_comparison, gee_comparison):
        assert "'control' has no hits" in one_line_error(func, control_zero, trait="o", **ARMS)


def test_unbalanced_questions_are_fitted_with_a_note(cells):
    drop = (
        (cells["condition"] == "treated") & (cells["seed"] == "1") & (cells["question"] == "q003")
    )
    res = lmm_comparison(cells[~drop], trait="owl", **ARMS)
    assert any("unbalanced" in w for w in res.warnings)
    assert np.isfinite(res.p_value) and res.ci_low < res.estimate < res.ci_high
