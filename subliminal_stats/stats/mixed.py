"""Mixed-effects models over seeds: LMM, logistic GLMM (MAP) and GEE.

Each model compares a treated arm with a control arm from per-cell counts
(one row per condition × seed × question with ``hits`` out of ``n`` answers).
The seed — one trained student — is the unit of replication: seeds are nested
in their condition (seed ``"0"`` of the control arm is not seed ``"0"`` of the
treated arm), questions are crossed with seeds and shared by both arms.

Three comparisons are offered, all returning a
:class:`~subliminal_stats.stats.results.ComparisonResult` on the proportion
scale (treated − control):

``lmm_comparison``
    Linear mixed model on per-(seed, question) rates, REML
    (statsmodels ``MixedLM``: one constant group, ``re_formula="0"``, variance
    components for seed and question). The condition effect is a difference
    in proportions; it is tested with t on ``n_seeds_treated + n_seeds_control − 2``
    degrees of freedom (between-within rule: the condition varies between seeds
    only), not with the asymptotic z that over-rejects with few seeds.
``glmm_comparison``
    Logistic GLMM fitted by ``BinomialBayesMixedGLM.fit_map`` (posterior mode
    with a Laplace approximation; never ``fit_vb``). Reports the log-odds
    effect, the odds ratio and a proportion-scale difference. It is a Bayesian
    approximation, not a frequentist test: its result is labelled uncalibrated
    and carries the false-positive rate measured by simulation.
``gee_comparison``
    Binomial GEE (logit link) on cell rates (each question weighted equally),
    clusters = seeds, exchangeable working correlation, bias-reduced (Mancl–DeRouen)
    sandwich covariance and t on ``n_seeds − 2`` df computed here (GEE has no
    ``use_t``).

The false-positive rates quoted in results come from :data:`SIMULATED_FPR`,
measured with :func:`measure_false_positive_rates` (see the command there).
"""

from __future__ import annotations

import argparse
import functools
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from subliminal_stats.errors import InputError
from subliminal_stats.stats.results import ComparisonResult

__all__ = [
    "LmmFit",
    "GlmmMapFit",
    "GeeFit",
    "fit_lmm",
    "fit_glmm_map",
    "fit_gee",
    "lmm_comparison",
    "glmm_comparison",
    "gee_comparison",
    "simulate_cells",
    "measure_false_positive_rates",
    "SIMULATED_FPR",
    "SIMULATION_DESIGN",
]

REQUIRED_COLUMNS = ("condition", "seed", "question", "hits", "n")

#: Prior standard deviations of the MAP GLMM (statsmodels' arguments).
#: ``fe_p`` = SD of the normal prior on each fixed effect (log-odds); 10 is
#: nearly flat on the logit scale so the MAP fixed effects stay close to ML.
#: ``vcp_p`` = SD of the normal prior on log(random-effect SD); statsmodels'
#: default 1 (centred on SD = 1) keeps the joint mode away from SD → 0.
GLMM_FE_PRIOR_SD = 10.0
GLMM_VC_PRIOR_SD = 1.0
#: The joint posterior mode of (random effects, log SD) can sit at a tiny SD
#: (a known degeneracy of joint MAP); below this the result says so.
GLMM_COLLAPSED_SD = 0.01

#: Design of the calibration simulation behind :data:`SIMULATED_FPR`
#: (the design of docs/STATISTICS.md, 50 questions).
SIMULATION_DESIGN = {
    "logit_intercept": -2.0,
    "seed_sd": 0.4,
    "question_sd": 0.8,
    "n_questions": 50,
    "answers_per_question": 20,
}

#: False-positive rates at nominal α = 0.05 under the null (no effect),
#: measured on :data:`SIMULATION_DESIGN` (Monte Carlo SE ≈ 0.7 points at 1,000 sims).
#: Key: (method, seeds per arm) → (two-sided FPR, one-sided "greater" FPR, n sims).
#: Reproduce with (≈ 40 min on one idle core; each design has its own random stream,
#: so each ``--seeds-per-arm`` value may also be run as a separate process):
#:   python -m subliminal_stats.stats.mixed --sims 1000 --seeds-per-arm 3 5 10 --rng 20261127
#: The " z" rows are the asymptotic-z variant of the same fit, and "gee-robust z" the
#: plain sandwich with z: kept to show why the package does not use them.
SIMULATED_FPR: dict[tuple[str, int], tuple[float, float, int]] = {
    ("lmm", 3): (0.048, 0.060, 1000),
    ("lmm z", 3): (0.130, 0.090, 1000),
    ("glmm-map", 3): (0.081, 0.083, 1000),
    ("glmm-map z", 3): (0.189, 0.120, 1000),
    ("gee-bias-reduced", 3): (0.025, 0.036, 1000),
    ("gee-bias-reduced z", 3): (0.082, 0.076, 1000),
    ("gee-robust z", 3): (0.215, 0.130, 1000),
    ("lmm", 5): (0.047, 0.047, 1000),
    ("lmm z", 5): (0.084, 0.066, 1000),
    ("glmm-map", 5): (0.075, 0.068, 1000),
    ("glmm-map z", 5): (0.117, 0.084, 1000),
    ("gee-bias-reduced", 5): (0.033, 0.036, 1000),
    ("gee-bias-reduced z", 5): (0.055, 0.051, 1000),
    ("gee-robust z", 5): (0.120, 0.079, 1000),
    ("lmm", 10): (0.047, 0.051, 1000),
    ("lmm z", 10): (0.065, 0.061, 1000),
    ("glmm-map", 10): (0.065, 0.062, 1000),
    ("glmm-map z", 10): (0.090, 0.068, 1000),
    ("gee-bias-reduced", 10): (0.033, 0.041, 1000),
    ("gee-bias-reduced z", 10): (0.051, 0.050, 1000),
    ("gee-robust z", 10): (0.083, 0.070, 1000),
}

#: A method counts as calibrated in a design when its simulated two-sided FPR
#: at nominal 5 % is at most this (the tolerance the issue sets for the default test).
CALIBRATED_MAX_FPR = 0.065


# ---------------------------------------------------------------------------
# Input glue
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Design:
    """Validated cells of the two arms, ready for model fitting."""

    frame: pd.DataFrame  # condition, seed, seed_key, question, hits, n, rate, treated
    n_seeds_treated: int
    n_seeds_control: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def df_between_seeds(self) -> int:
        return self.n_seeds_treated + self.n_seeds_control - 2


def _prepare_cells(
    cells: pd.DataFrame, *, trait: str | None, treated: str, control: str
) -> _Design:
    """Check the cells table and keep the treated and control rows."""
    if not isinstance(cells, pd.DataFrame):
        raise InputError(
            f"cells must be a pandas DataFrame with columns {', '.join(REQUIRED_COLUMNS)}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in cells.columns]
    if missing:
        raise InputError(
            f"cells table lacks column(s) {', '.join(missing)}; expected one row per "
            f"(condition, seed, question) with columns {', '.join(REQUIRED_COLUMNS)}"
        )
    if str(treated) == str(control):
        raise InputError(f"treated and control are both {treated!r}; name two different conditions")
    frame = cells
    if trait is not None and "trait" in frame.columns:
        frame = frame[frame["trait"].astype(str) == str(trait)]
    frame = frame[frame["condition"].astype(str).isin([str(treated), str(control)])].copy()
    frame["condition"] = frame["condition"].astype(str)
    for label in (treated, control):
        if not (frame["condition"] == str(label)).any():
            where = (
                f" for trait {trait!r}" if trait is not None and "trait" in cells.columns else ""
            )
            raise InputError(
                f"condition {label!r} has no rows{where}; check the --treated/--control labels "
                f"against the conditions in the data"
            )
    for col in ("hits", "n"):
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any():
            row = frame.index[values.isna()][0]
            raise InputError(
                f"column {col!r} has a missing or non-numeric value at row {row}; give counts"
            )
        frame[col] = values
    bad = (
        (frame["n"] <= 0)
        | (frame["hits"] < 0)
        | (frame["hits"] > frame["n"])
        | (frame["hits"] % 1 != 0)
        | (frame["n"] % 1 != 0)
    )
    if bad.any():
        row = frame.index[bad][0]
        raise InputError(
            f"row {row} has hits={frame.loc[row, 'hits']} and n={frame.loc[row, 'n']}; "
            f"need whole counts with 0 <= hits <= n and n >= 1"
        )
    frame["seed"] = frame["seed"].astype(str)
    frame["question"] = frame["question"].astype(str)
    # Repeated rows of one cell are pooled: they are answers to the same question by the same seed.
    frame = frame.groupby(["condition", "seed", "question"], as_index=False, sort=True)[
        ["hits", "n"]
    ].sum()
    frame["treated"] = (frame["condition"] == str(treated)).astype(float)
    # Seeds are nested in condition: the same seed label in two arms is two different students.
    frame["seed_key"] = frame["condition"] + "/" + frame["seed"]
    frame["rate"] = frame["hits"] / frame["n"]

    seeds = frame.groupby("condition")["seed"].nunique()
    n_treated, n_control = int(seeds[str(treated)]), int(seeds[str(control)])
    for label, count in ((treated, n_treated), (control, n_control)):
        if count < 2:
            raise InputError(
                f"condition {label!r} has {count} seed; a mixed model over seeds needs at least 2 "
                f"seeds per arm (compare against a single base model with the base-model test instead)"
            )
    total_hits, total_n = frame["hits"].sum(), frame["n"].sum()
    if total_hits == 0 or total_hits == total_n:
        what = "no hits" if total_hits == 0 else "only hits"
        raise InputError(
            f"{what} in both {treated!r} and {control!r}: the rates do not vary, so no model can "
            f"estimate a difference; report the raw counts instead"
        )
    notes = []
    per_seed = frame.groupby("seed_key")["question"].apply(frozenset)
    if per_seed.nunique() > 1:
        notes.append(
            "seeds were not asked the same questions (unbalanced design): the model uses every "
            "cell, but the t degrees of freedom are approximate"
        )
    return _Design(
        frame=frame, n_seeds_treated=n_treated, n_seeds_control=n_control, notes=tuple(notes)
    )


def _arm_without_variation(design: _Design) -> str | None:
    """Name an arm whose answers are all misses or all hits (log-odds undefined)."""
    totals = design.frame.groupby("condition")[["hits", "n"]].sum()
    for label, row in totals.iterrows():
        if row["hits"] == 0 or row["hits"] == row["n"]:
            return f"{label!r} has {'no hits' if row['hits'] == 0 else 'only hits'}"
    return None


# ---------------------------------------------------------------------------
# Small-sample inference on one coefficient
# ---------------------------------------------------------------------------


def _t_inference(
    estimate: float, se: float, df: float, *, alternative: str, confidence_level: float
) -> tuple[float, float, float, float]:
    """t statistic, p-value and interval for one coefficient (scipy conventions).

    One-sided alternatives give one-sided intervals with an infinite side.
    """
    # A standard error at rounding level means the cells carry no variation to fit.
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 1e-10):
        raise InputError(
            f"the model fit gave estimate {estimate:.4g} with standard error {se:.4g}; the data "
            "have no usable variation between cells (e.g. every cell has the same rate), so use "
            "the default seed-level test"
        )
    statistic = estimate / se
    dist = stats.t(df) if np.isfinite(df) else stats.norm()
    if alternative == "two-sided":
        p = 2.0 * dist.sf(abs(statistic))
        q = dist.ppf(0.5 + confidence_level / 2.0)
        low, high = estimate - q * se, estimate + q * se
    elif alternative == "greater":
        p = dist.sf(statistic)
        low, high = estimate - dist.ppf(confidence_level) * se, math.inf
    else:  # less
        p = dist.cdf(statistic)
        low, high = -math.inf, estimate + dist.ppf(confidence_level) * se
    return float(statistic), float(min(1.0, p)), float(low), float(high)


def _detail(text: str) -> dict:
    """``method_detail`` keyword when the shared result class has that field."""
    return (
        {"method_detail": text} if "method_detail" in ComparisonResult.__dataclass_fields__ else {}
    )


def _check_options(alternative: str, confidence_level: float) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise InputError(
            f"alternative must be 'two-sided', 'greater' or 'less', not {alternative!r}"
        )
    if not 0.0 < confidence_level < 1.0:
        raise InputError(
            f"confidence_level must be between 0 and 1 (e.g. 0.95), not {confidence_level}"
        )


def _fpr_lookup(method: str, seeds_per_arm: float, alternative: str) -> tuple[float, float, str]:
    """Simulated FPR of ``method`` in the nearest simulated design.

    Returns the FPR for ``alternative`` (NaN for "less", which was not simulated),
    the FPR used to judge calibration (the two-sided one when the first is NaN)
    and a sentence quoting it.
    """
    sizes = sorted({g for (m, g) in SIMULATED_FPR if m == method})
    if not sizes:
        return math.nan, math.nan, "its false-positive rate has not been simulated"
    nearest = min(sizes, key=lambda g: (abs(g - seeds_per_arm), g))
    two_sided, greater, n_sims = SIMULATED_FPR[(method, nearest)]
    fpr = {"two-sided": two_sided, "greater": greater}.get(alternative, math.nan)
    judged = two_sided if math.isnan(fpr) else fpr
    kind = {"two-sided": "two-sided", "greater": "one-sided"}.get(
        alternative, "two-sided (one-sided 'less' not simulated)"
    )
    where = (
        f"{nearest} seeds/arm"
        if nearest == seeds_per_arm
        else f"{nearest} seeds/arm, the nearest simulated design to {seeds_per_arm:g}"
    )
    sentence = (
        f"simulated {kind} false-positive rate at nominal 5% is {100 * judged:.1f}% "
        f"({n_sims} null simulations, {where}, logit −2, seed SD 0.4, question SD 0.8, "
        f"50 questions × 20 answers)"
    )
    return fpr, judged, sentence


def _calibration(method: str, design: _Design, alternative: str) -> tuple[float, bool, list[str]]:
    """``simulated_fpr``, ``calibrated`` and caveats for a frequentist method."""
    seeds_per_arm = (design.n_seeds_treated + design.n_seeds_control) / 2
    fpr, judged, sentence = _fpr_lookup(method, seeds_per_arm, alternative)
    if math.isnan(judged):
        return fpr, True, [sentence]
    calibrated = judged <= CALIBRATED_MAX_FPR
    prefix = (
        "over-rejects: "
        if not calibrated
        else "conservative (loses power): "
        if judged < 0.035
        else ""
    )
    # Quote the figure when it is a caveat, or when the alternative was not simulated.
    notes = [prefix + sentence] if prefix or math.isnan(fpr) else []
    return fpr, calibrated, notes


# ---------------------------------------------------------------------------
# LMM
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LmmFit:
    """REML fit of ``rate ~ treated + (1 | condition:seed) + (1 | question)``.

    Attributes
    ----------
    intercept, effect : float
        Fixed effects: control mean rate and treated − control difference (proportions).
    effect_se : float
        Model-based standard error of ``effect``.
    seed_variance, question_variance, residual_variance : float
        REML variance components (rate scale).
    """

    intercept: float
    effect: float
    effect_se: float
    seed_variance: float
    question_variance: float
    residual_variance: float
    n_seeds_treated: int
    n_seeds_control: int
    converged: bool
    fit_warnings: tuple[str, ...] = field(default_factory=tuple)


def _captured(caught: list[warnings.WarningMessage]) -> list[str]:
    """Turn statsmodels warnings into short plain sentences (deduplicated)."""
    out: list[str] = []
    for w in caught:
        text = " ".join(str(w.message).split())
        if "boundary of the parameter space" in text:
            # MixedLM flags any variance below an absolute 0.01, which every
            # rate-scale variance is; boundaries are checked on the estimates instead.
            continue
        if "converge" in text.lower():
            text = f"the optimiser did not converge ({text[:80]}); treat the numbers as unreliable"
        else:
            text = f"{w.category.__name__}: {text[:100]}"
        if text not in out:
            out.append(text)
    return out


def _moment_variances(frame: pd.DataFrame) -> dict[str, float]:
    """Method-of-moments variance components (exact ANOVA when balanced), a REML start."""
    n_questions, n_seeds = frame["question"].nunique(), frame["seed_key"].nunique()
    rate = frame["rate"]
    seed_mean = rate.groupby(frame["seed_key"]).transform("mean")
    condition_mean = rate.groupby(frame["condition"]).transform("mean")
    question_mean = rate.groupby(frame["question"]).transform("mean")
    resid = rate - seed_mean - question_mean + rate.mean()
    df_resid = max(len(frame) - n_seeds - n_questions + 1, 1)
    residual = max(float(np.sum(resid**2)) / df_resid, 1e-12)
    seed_dev = (seed_mean - condition_mean).groupby(frame["seed_key"]).first()
    seed = float(np.sum(seed_dev**2)) / max(n_seeds - 2, 1) - residual / n_questions
    question = float(rate.groupby(frame["question"]).mean().var(ddof=1)) - residual / n_seeds
    # Keep the start off the boundary: MixedLM optimises square roots of these ratios.
    floor = 1e-3 * residual
    return {"seed": max(seed, floor), "question": max(question, floor), "residual": residual}


def _fit_lmm_design(design: _Design) -> LmmFit:
    import statsmodels.formula.api as smf
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    frame = design.frame.assign(one_group=1)
    # Crossed random effects in MixedLM: one constant group, no group-level
    # random effect (re_formula="0"), and both factors as variance components.
    model = smf.mixedlm(
        "rate ~ treated",
        frame,
        groups="one_group",
        re_formula="0",
        vc_formula={"seed": "0 + C(seed_key)", "question": "0 + C(question)"},
    )
    # Start at the moment estimates (the REML answer itself in a balanced design):
    # about half the optimiser work of statsmodels' default start.
    moments = _moment_variances(frame)
    start = MixedLMParams(model.k_fe, model.k_re, model.k_vc)
    start.fe_params = np.zeros(model.k_fe)
    start.cov_re = np.eye(model.k_re)
    start.vcomp = np.array([moments[name] / moments["residual"] for name in model.exog_vc.names])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=True, start_params=start)
    vcomp = dict(zip(model.exog_vc.names, np.asarray(result.vcomp, dtype=float), strict=True))
    total = sum(vcomp.values()) + float(result.scale)
    boundary = [
        f"the {name} variance is estimated at zero (boundary fit)"
        for name, value in vcomp.items()
        if value <= 1e-6 * total
    ]
    return LmmFit(
        intercept=float(result.fe_params["Intercept"]),
        effect=float(result.fe_params["treated"]),
        effect_se=float(result.bse_fe["treated"]),
        seed_variance=float(vcomp["seed"]),
        question_variance=float(vcomp["question"]),
        residual_variance=float(result.scale),
        n_seeds_treated=design.n_seeds_treated,
        n_seeds_control=design.n_seeds_control,
        converged=bool(result.converged),
        fit_warnings=tuple(_captured(caught) + boundary),
    )


def fit_lmm(cells: pd.DataFrame, *, treated: str, control: str, trait: str | None = None) -> LmmFit:
    """Fit the linear mixed model on per-(seed, question) rates (REML).

    Equivalent lme4 call: ``lmer(rate ~ condition + (1|condition:seed) + (1|question))``.

    Parameters
    ----------
    cells : DataFrame
        One row per (condition, seed, question): ``condition, seed, question, hits, n``
        (optionally ``trait``, then filtered on ``trait``).
    treated, control : str
        Condition labels; other conditions are ignored.
    trait : str, optional
        Keep only this trait's rows when ``cells`` has a ``trait`` column.

    Returns
    -------
    LmmFit
        Fixed effects, their standard error and the variance components.
    """
    return _fit_lmm_design(_prepare_cells(cells, trait=trait, treated=treated, control=control))


def lmm_comparison(
    cells: pd.DataFrame,
    *,
    trait: str,
    treated: str,
    control: str,
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
) -> ComparisonResult:
    """Treated − control difference in proportions from the LMM, t on seed df.

    The fixed condition effect of ``rate ~ treated + (1|condition:seed) + (1|question)``
    (REML) is tested with t on ``n_seeds_treated + n_seeds_control − 2`` degrees of
    freedom: the condition varies between seeds only, so the seeds, not the answers,
    set the df (in a balanced design this is the exact F test of the nested ANOVA).

    Parameters
    ----------
    cells : DataFrame
        One row per (condition, seed, question) with ``hits`` out of ``n`` answers.
    trait, treated, control : str
        Labels for the result; ``treated``/``control`` select the rows.
    alternative : {"two-sided", "greater", "less"}
        "greater" tests treated > control.
    confidence_level : float
        Of the interval (one-sided for one-sided alternatives).

    Returns
    -------
    ComparisonResult
        ``method="lmm"``, estimate and interval in proportions.
    """
    _check_options(alternative, confidence_level)
    design = _prepare_cells(cells, trait=trait, treated=treated, control=control)
    fit = _fit_lmm_design(design)
    df = design.df_between_seeds
    statistic, p, low, high = _t_inference(
        fit.effect, fit.effect_se, df, alternative=alternative, confidence_level=confidence_level
    )
    fpr, calibrated, notes = _calibration("lmm", design, alternative)
    notes += list(design.notes) + [f"LMM fit: {w}" for w in fit.fit_warnings]
    return ComparisonResult(
        trait=str(trait),
        treated=str(treated),
        control=str(control),
        method="lmm",
        estimate=fit.effect,
        ci_low=low,
        ci_high=high,
        p_value=p,
        n_seeds_treated=design.n_seeds_treated,
        n_seeds_control=design.n_seeds_control,
        alternative=alternative,
        confidence_level=confidence_level,
        statistic=statistic,
        df=float(df),
        calibrated=calibrated,
        simulated_fpr=fpr,
        warnings=tuple(notes),
        **_detail(
            f"REML linear mixed model on per-(seed, question) rates, seed (within condition) and question random intercepts; t on {df} df"
        ),
    )


# ---------------------------------------------------------------------------
# Logistic GLMM by MAP (BinomialBayesMixedGLM.fit_map)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GlmmMapFit:
    """Posterior mode of the logistic GLMM with seed (within condition) and question effects.

    Attributes
    ----------
    intercept, effect : float
        Posterior modes of the control log-odds and the treated − control log-odds.
    effect_sd : float
        Laplace-approximation posterior SD of ``effect``.
    seed_sd, question_sd : float
        Random-effect standard deviations at the mode (log-odds scale).
    question_effects : tuple of float
        Posterior modes of the question effects, in the order of ``questions``.
    """

    intercept: float
    effect: float
    effect_sd: float
    seed_sd: float
    question_sd: float
    questions: tuple[str, ...]
    question_effects: tuple[float, ...]
    n_seeds_treated: int
    n_seeds_control: int
    converged: bool
    fit_warnings: tuple[str, ...] = field(default_factory=tuple)

    def difference_at_effect(self, effect: float) -> float:
        """Treated − control proportion for a log-odds ``effect``.

        Averaged over the fitted question effects v_q and over seeds drawn from
        N(0, seed_sd²) (20-point Gauss–Hermite), like a mean of per-seed rates:
        mean_q E_u expit(intercept + effect + u + v_q) − mean_q E_u expit(intercept + u + v_q).
        Increasing in ``effect``, so interval ends map to interval ends.
        """
        nodes, weights = np.polynomial.hermite_e.hermegauss(20)
        u = self.seed_sd * nodes[:, None]
        v = np.asarray(self.question_effects)[None, :]
        weights = weights[:, None] / weights.sum()

        def mean_rate(shift: float) -> float:
            return float(
                np.mean(np.sum(weights * special.expit(self.intercept + shift + u + v), axis=0))
            )

        return mean_rate(effect) - mean_rate(0.0)


@functools.cache
def _counted_binomial_glmm():
    """BinomialBayesMixedGLM whose 0/1 rows carry answer counts.

    statsmodels takes one row per answer. Every answer of one cell with the same
    outcome contributes the same term, so rows (cell, outcome) weighted by their
    counts give exactly the same log posterior and gradient from 2 rows per cell
    instead of n: the data terms of the parent are swapped for count-weighted ones,
    the priors are left to the parent.
    """
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    class CountedBinomialBayesMixedGLM(BinomialBayesMixedGLM):
        def __init__(self, endog, exog, exog_vc, ident, *, counts, **kwargs):
            super().__init__(endog, exog, exog_vc, ident, **kwargs)
            self.counts = np.asarray(counts, dtype=float)

        def _mean(self, params):
            fep, _, vc = self._unpack(params)
            return self.family.link.inverse(np.dot(self.exog, fep) + self.exog_vc.dot(vc))

        def logposterior(self, params):
            loglike_obs = self.family.loglike_obs(self.endog, self._mean(params))
            # Parent = priors + unweighted data term; replace the data term.
            return super().logposterior(params) + np.dot(self.counts - 1.0, loglike_obs)

        def logposterior_grad(self, params):
            mu = self._mean(params)
            score = (self.endog - mu) / self.family.link.deriv(mu) / self.family.variance(mu)
            extra = (self.counts - 1.0) * score
            grad = super().logposterior_grad(params)
            grad[: self.k_fep] += np.dot(extra, self.exog)
            grad[self.k_fep + self.k_vcp :] += self.exog_vc.transpose().dot(extra)
            return grad

    return CountedBinomialBayesMixedGLM


def _fit_glmm_design(design: _Design, *, one_row_per_answer: bool = False) -> GlmmMapFit:
    from scipy import sparse
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    frame = design.frame
    hits = frame["hits"].to_numpy(dtype=np.int64)
    misses = frame["n"].to_numpy(dtype=np.int64) - hits
    cells = np.arange(len(frame))
    if one_row_per_answer:
        # statsmodels' own form (kept to check the counted form against it).
        row_cell = np.concatenate([np.repeat(cells, hits), np.repeat(cells, misses)])
        endog = np.concatenate([np.ones(hits.sum()), np.zeros(misses.sum())])
    else:
        # One row per (cell, outcome) that occurs, weighted by its count.
        counts = np.concatenate([hits, misses])
        keep = counts > 0
        row_cell = np.concatenate([cells, cells])[keep]
        endog = np.concatenate([np.ones(len(cells)), np.zeros(len(cells))])[keep]
        counts = counts[keep]
    treated = frame["treated"].to_numpy()[row_cell]
    exog = np.column_stack([np.ones_like(treated), treated])

    seed_codes, seed_levels = pd.factorize(frame["seed_key"], sort=True)
    question_codes, question_levels = pd.factorize(frame["question"], sort=True)
    n_seed, n_question = len(seed_levels), len(question_levels)
    rows = np.arange(len(endog))
    cols = np.concatenate([seed_codes[row_cell], n_seed + question_codes[row_cell]])
    exog_vc = sparse.csr_array(
        (np.ones(2 * len(endog)), (np.concatenate([rows, rows]), cols)),
        shape=(len(endog), n_seed + n_question),
    )
    ident = np.r_[np.zeros(n_seed, dtype=int), np.ones(n_question, dtype=int)]
    options = {
        "vcp_p": GLMM_VC_PRIOR_SD,
        "fe_p": GLMM_FE_PRIOR_SD,
        "fep_names": ["Intercept", "treated"],
        "vcp_names": ["seed", "question"],
    }
    if one_row_per_answer:
        model = BinomialBayesMixedGLM(endog, exog, exog_vc, ident, **options)
    else:
        model = _counted_binomial_glmm()(endog, exog, exog_vc, ident, counts=counts, **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Fixed start (rng=0) so the fit is reproducible; the mode does not depend on it.
        result = model.fit_map(rng=0)
    converged = bool(result.optim_retvals.success)
    q_effects = result.vc_mean[n_seed:]
    return GlmmMapFit(
        intercept=float(result.fe_mean[0]),
        effect=float(result.fe_mean[1]),
        effect_sd=float(result.fe_sd[1]),
        seed_sd=float(np.exp(result.vcp_mean[0])),
        question_sd=float(np.exp(result.vcp_mean[1])),
        questions=tuple(str(q) for q in question_levels),
        question_effects=tuple(float(v) for v in q_effects),
        n_seeds_treated=design.n_seeds_treated,
        n_seeds_control=design.n_seeds_control,
        converged=converged,
        fit_warnings=tuple(_captured(caught)),
    )


def fit_glmm_map(
    cells: pd.DataFrame, *, treated: str, control: str, trait: str | None = None
) -> GlmmMapFit:
    """Fit the logistic GLMM by posterior mode (``BinomialBayesMixedGLM.fit_map``).

    Model: ``logit P(hit) = intercept + effect·treated + u_seed + v_question`` with
    ``u ~ N(0, seed_sd²)`` per seed within condition and ``v ~ N(0, question_sd²)``.
    Priors: N(0, 10²) on fixed effects, N(0, 1) on log(SD) (statsmodels' default).
    Closest lme4 call: ``glmer(cbind(hits, n - hits) ~ condition + (1|condition:seed)
    + (1|question), family = binomial)`` — which maximises the Laplace marginal
    likelihood instead of the joint posterior mode, hence different variance components.

    Parameters
    ----------
    cells : DataFrame
        One row per (condition, seed, question): ``condition, seed, question, hits, n``.
    treated, control : str
        Condition labels.
    trait : str, optional
        Keep only this trait's rows when ``cells`` has a ``trait`` column.

    Returns
    -------
    GlmmMapFit
    """
    design = _prepare_cells(cells, trait=trait, treated=treated, control=control)
    problem = _arm_without_variation(design)
    if problem:
        raise InputError(
            f"{problem}: the log-odds difference is infinite; use the LMM or Welch test instead"
        )
    return _fit_glmm_design(design)


def _log_odds_result(method, fit, low, high, *, p, statistic, df, design, trait, treated, control,
                     alternative, confidence_level, calibrated, fpr, notes, detail) -> ComparisonResult:
    """A result from a fit on the log-odds scale: the effect and its bounds ``low``/``high``
    (log odds ratio) become percentage-point differences and an odds ratio."""
    return ComparisonResult(
        trait=str(trait),
        treated=str(treated),
        control=str(control),
        method=method,
        estimate=fit.difference_at_effect(fit.effect),
        ci_low=fit.difference_at_effect(low) if np.isfinite(low) else -math.inf,
        ci_high=fit.difference_at_effect(high) if np.isfinite(high) else math.inf,
        p_value=p,
        n_seeds_treated=design.n_seeds_treated,
        n_seeds_control=design.n_seeds_control,
        alternative=alternative,
        confidence_level=confidence_level,
        statistic=statistic,
        df=float(df),
        odds_ratio=float(math.exp(fit.effect)),
        odds_ratio_ci_low=float(math.exp(low)) if np.isfinite(low) else 0.0,
        odds_ratio_ci_high=float(math.exp(high)) if np.isfinite(high) else math.inf,
        calibrated=calibrated,
        simulated_fpr=fpr,
        warnings=tuple(notes),
        **_detail(detail),
    )


def glmm_comparison(
    cells: pd.DataFrame,
    *,
    trait: str,
    treated: str,
    control: str,
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
) -> ComparisonResult:
    """Treated vs control from the MAP logistic GLMM (labelled uncalibrated).

    The log-odds effect is divided by its Laplace posterior SD and referred to t on
    ``n_seeds − 2`` df (less anti-conservative than z with few seeds, still not an
    exact test). The proportion-scale estimate averages the fitted probabilities over
    the questions of the data and over the fitted seed distribution
    (:meth:`GlmmMapFit.difference_at_effect`); its interval maps the log-odds interval
    ends through the same function, holding b0, v_q and the seed SD at their modes.
    ``calibrated`` is always False — a posterior approximation is not a frequentist
    test — and ``simulated_fpr`` gives the false-positive rate measured by simulation.

    Parameters
    ----------
    cells : DataFrame
        One row per (condition, seed, question) with ``hits`` out of ``n`` answers.
    trait, treated, control : str
        Labels for the result; ``treated``/``control`` select the rows.
    alternative : {"two-sided", "greater", "less"}
    confidence_level : float

    Returns
    -------
    ComparisonResult
        ``method="glmm-map"`` with odds ratio and its interval.
    """
    _check_options(alternative, confidence_level)
    design = _prepare_cells(cells, trait=trait, treated=treated, control=control)
    problem = _arm_without_variation(design)
    if problem:
        raise InputError(
            f"{problem}: the log-odds difference is infinite; use the LMM or Welch test instead"
        )
    fit = _fit_glmm_design(design)
    df = design.df_between_seeds
    statistic, p, low, high = _t_inference(
        fit.effect, fit.effect_sd, df, alternative=alternative, confidence_level=confidence_level
    )
    seeds_per_arm = (design.n_seeds_treated + design.n_seeds_control) / 2
    fpr, _, fpr_sentence = _fpr_lookup("glmm-map", seeds_per_arm, alternative)
    notes = [
        "Bayesian MAP fit (BinomialBayesMixedGLM.fit_map, Laplace posterior SD), not a "
        f"frequentist test: p uses t on {df} df and is only indicative; {fpr_sentence}",
        "pp difference = model rates averaged over these questions and over the fitted seed "
        "distribution (odds ratio is the model's own scale)",
    ]
    notes += list(design.notes) + [f"GLMM fit: {w}" for w in fit.fit_warnings]
    if fit.seed_sd < GLMM_COLLAPSED_SD:
        notes.append(
            f"GLMM fit: the seed SD collapsed to {fit.seed_sd:.2g} at the joint posterior mode, so the "
            "fit ignores between-seed variation and its interval is too narrow"
        )
    return _log_odds_result(
        "glmm-map", fit, low, high, p=p, statistic=statistic, df=df, design=design,
        trait=trait, treated=treated, control=control, alternative=alternative,
        confidence_level=confidence_level, calibrated=False, fpr=fpr, notes=notes,
        detail="logistic GLMM, BinomialBayesMixedGLM.fit_map (Laplace posterior), seed and "
               f"question random intercepts; mode/SD referred to t on {df} df",
    )


# ---------------------------------------------------------------------------
# GEE with bias-reduced sandwich and t on seed df
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GeeFit:
    """Binomial GEE (logit link) on unweighted cell rates, clusters = seeds, exchangeable.

    Attributes
    ----------
    intercept, effect : float
        Control log-odds and treated − control log-odds (population-averaged).
    effect_se : float
        Bias-reduced (Mancl–DeRouen) sandwich SE of ``effect``.
    effect_se_robust : float
        Plain robust sandwich SE (shown for comparison; too small with few seeds).
    working_correlation : float
        Estimated exchangeable correlation within a seed.
    """

    intercept: float
    effect: float
    effect_se: float
    effect_se_robust: float
    working_correlation: float
    n_seeds_treated: int
    n_seeds_control: int
    converged: bool
    fit_warnings: tuple[str, ...] = field(default_factory=tuple)

    def difference_at_effect(self, effect: float) -> float:
        """expit(intercept + effect) − expit(intercept): marginal treated − control proportion."""
        return float(special.expit(self.intercept + effect) - special.expit(self.intercept))


def _fit_gee_design(design: _Design) -> GeeFit:
    import statsmodels.api as sm

    frame = design.frame
    exog = np.column_stack([np.ones(len(frame)), frame["treated"].to_numpy()])
    groups = pd.factorize(frame["seed_key"], sort=True)[0]
    # Quasi-binomial estimating equations on cell rates, every question weighted
    # equally (the per-seed mean-of-question-rates estimand of the other tests).
    # No answer-count weights: statsmodels' bias_reduced covariance breaks with
    # GEE weights (shape error in GEE._bc_covmat, statsmodels 0.15).
    model = sm.GEE(
        frame["rate"].to_numpy(),
        exog,
        groups=groups,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reduced = model.fit(cov_type="bias_reduced")
    robust_se = float(np.sqrt(reduced.cov_robust[1, 1]))
    converged = bool(getattr(reduced, "converged", True))
    return GeeFit(
        intercept=float(reduced.params[0]),
        effect=float(reduced.params[1]),
        effect_se=float(reduced.bse[1]),
        effect_se_robust=robust_se,
        working_correlation=float(model.cov_struct.dep_params),
        n_seeds_treated=design.n_seeds_treated,
        n_seeds_control=design.n_seeds_control,
        converged=converged,
        fit_warnings=tuple(_captured(caught)),
    )


def fit_gee(cells: pd.DataFrame, *, treated: str, control: str, trait: str | None = None) -> GeeFit:
    """Fit the binomial GEE on cell rates (clusters = seeds, exchangeable, bias-reduced SE).

    Parameters
    ----------
    cells : DataFrame
        One row per (condition, seed, question): ``condition, seed, question, hits, n``.
    treated, control : str
        Condition labels.
    trait : str, optional
        Keep only this trait's rows when ``cells`` has a ``trait`` column.

    Returns
    -------
    GeeFit
    """
    design = _prepare_cells(cells, trait=trait, treated=treated, control=control)
    problem = _arm_without_variation(design)
    if problem:
        raise InputError(
            f"{problem}: the log-odds difference is infinite; use the LMM or Welch test instead"
        )
    return _fit_gee_design(design)


def gee_comparison(
    cells: pd.DataFrame,
    *,
    trait: str,
    treated: str,
    control: str,
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
) -> ComparisonResult:
    """Treated vs control from a binomial GEE with bias-reduced SE and t on seed df.

    Clusters are seeds (nested in condition), the working correlation is exchangeable
    within a seed, the covariance is statsmodels' ``cov_type="bias_reduced"``
    (Mancl–DeRouen) and the Wald statistic is referred to t on
    ``n_seeds_treated + n_seeds_control − 2`` df. The proportion-scale difference is
    expit(b0 + b1) − expit(b0) (population-averaged); its interval maps the log-odds
    interval ends through that function holding b0 at its estimate, so it agrees with p.

    Parameters
    ----------
    cells : DataFrame
        One row per (condition, seed, question) with ``hits`` out of ``n`` answers.
    trait, treated, control : str
    alternative : {"two-sided", "greater", "less"}
    confidence_level : float

    Returns
    -------
    ComparisonResult
        ``method="gee-bias-reduced"``, with the odds ratio and its interval.
    """
    _check_options(alternative, confidence_level)
    design = _prepare_cells(cells, trait=trait, treated=treated, control=control)
    problem = _arm_without_variation(design)
    if problem:
        raise InputError(
            f"{problem}: the log-odds difference is infinite; use the LMM or Welch test instead"
        )
    fit = _fit_gee_design(design)
    df = design.df_between_seeds
    statistic, p, low, high = _t_inference(
        fit.effect, fit.effect_se, df, alternative=alternative, confidence_level=confidence_level
    )
    fpr, calibrated, notes = _calibration("gee-bias-reduced", design, alternative)
    notes += list(design.notes) + [f"GEE fit: {w}" for w in fit.fit_warnings]
    return _log_odds_result(
        "gee-bias-reduced", fit, low, high, p=p, statistic=statistic, df=df, design=design,
        trait=trait, treated=treated, control=control, alternative=alternative,
        confidence_level=confidence_level, calibrated=calibrated, fpr=fpr, notes=notes,
        detail="binomial GEE on cell rates, clusters = seeds, exchangeable, Mancl-DeRouen "
               f"bias-reduced sandwich; t on {df} df",
    )


# ---------------------------------------------------------------------------
# Calibration by simulation
# ---------------------------------------------------------------------------


def simulate_cells(
    seeds_per_arm: int,
    *,
    n_questions: int = 50,
    answers_per_question: int = 20,
    logit_intercept: float = -2.0,
    seed_sd: float = 0.4,
    question_sd: float = 0.8,
    effect: float = 0.0,
    treated: str = "treated",
    control: str = "control",
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Simulate cells of a hierarchical binomial design (control vs treated).

    ``logit P(hit) = logit_intercept + effect·treated + u_seed + v_question`` with
    seed effects drawn per seed of each arm and question effects shared by both arms
    (crossed); each cell has ``answers_per_question`` answers.

    Returns
    -------
    DataFrame
        ``condition, seed, question, hits, n``; seed labels ``"0"…`` repeat across arms.
    """
    rng = np.random.default_rng(rng)
    arms = np.repeat([0.0, 1.0], seeds_per_arm)  # control seeds then treated seeds
    u = rng.normal(0.0, seed_sd, size=arms.size)
    v = rng.normal(0.0, question_sd, size=n_questions)
    logits = logit_intercept + effect * arms[:, None] + u[:, None] + v[None, :]
    hits = rng.binomial(answers_per_question, special.expit(logits))
    seed_labels = np.tile(np.arange(seeds_per_arm), 2)
    return pd.DataFrame(
        {
            "condition": np.repeat(np.where(arms == 1.0, treated, control), n_questions),
            "seed": np.repeat(seed_labels, n_questions).astype(str),
            "question": np.tile([f"q{j:03d}" for j in range(n_questions)], arms.size),
            "hits": hits.ravel(),
            "n": answers_per_question,
        }
    )


def _null_p_values(cells: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Two-sided and 'greater' p of each method (and z variants) on one dataset."""
    design = _prepare_cells(cells, trait=None, treated="treated", control="control")
    df = design.df_between_seeds
    out: dict[str, tuple[float, float]] = {}
    fits = {"lmm": (_fit_lmm_design, "effect_se")}
    if _arm_without_variation(design) is None:
        fits["glmm-map"] = (_fit_glmm_design, "effect_sd")
        fits["gee-bias-reduced"] = (_fit_gee_design, "effect_se")
    for method, (fitter, se_name) in fits.items():
        fit = fitter(design)
        se = getattr(fit, se_name)
        for suffix, dof in (("", df), (" z", math.inf)):
            two = _t_inference(fit.effect, se, dof, alternative="two-sided", confidence_level=0.95)[
                1
            ]
            one = _t_inference(fit.effect, se, dof, alternative="greater", confidence_level=0.95)[1]
            out[method + suffix] = (two, one)
        if method == "gee-bias-reduced":
            z = fit.effect / fit.effect_se_robust
            out["gee-robust z"] = (float(2 * stats.norm.sf(abs(z))), float(stats.norm.sf(z)))
    return out


def measure_false_positive_rates(
    *,
    n_sims: int,
    seeds_per_arm: int,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
    progress: bool = False,
) -> dict[str, tuple[float, float, int]]:
    """Rejection rates of every mixed-model method under the null (no effect).

    Simulates :data:`SIMULATION_DESIGN` with ``seeds_per_arm`` seeds per arm and
    fits all three models (plus their asymptotic-z variants) to each dataset.

    Returns
    -------
    dict
        method → (two-sided rejection rate, one-sided 'greater' rejection rate,
        number of datasets the method could be fitted to).
    """
    rng = np.random.default_rng(rng)
    rejections: dict[str, list[tuple[bool, bool]]] = {}
    start = time.perf_counter()
    for i in range(n_sims):
        cells = simulate_cells(seeds_per_arm, rng=rng, **SIMULATION_DESIGN)
        for method, (two, one) in _null_p_values(cells).items():
            rejections.setdefault(method, []).append((two < alpha, one < alpha))
        if progress and (i + 1) % max(1, n_sims // 10) == 0:
            # Cumulative rates: the first k datasets are exactly those of --sims k.
            so_far = ", ".join(
                f"{m} {100 * np.mean([r[0] for r in rejections[m]]):.1f}%"
                for m in ("lmm", "glmm-map", "gee-bias-reduced")
                if m in rejections
            )
            print(
                f"  G={seeds_per_arm}: {i + 1}/{n_sims} sims, {time.perf_counter() - start:.0f} s; {so_far}",
                flush=True,
            )
    return {
        method: (
            float(np.mean([r[0] for r in rows])),
            float(np.mean([r[1] for r in rows])),
            len(rows),
        )
        for method, rows in rejections.items()
    }


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Measure null false-positive rates of the mixed-model methods."
    )
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--seeds-per-arm", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--rng", type=int, default=20261127)
    args = parser.parse_args(argv)
    for g in args.seeds_per_arm:
        # One stream per design so each design's figures reproduce on their own.
        rates = measure_false_positive_rates(
            n_sims=args.sims, seeds_per_arm=g, rng=[args.rng, g], progress=True
        )
        for method, (two, one, n) in sorted(rates.items()):
            print(f"    ({method!r}, {g}): ({two:.3f}, {one:.3f}, {n}),")


if __name__ == "__main__":
    _main()
