"""Linear mixed model on per-(seed, question) rates, REML, t on seed df.

statsmodels ``MixedLM``: one constant group, ``re_formula="0"``, variance components for
seed and question (crossed). The condition effect is a difference in proportions tested
with t on ``n_seeds_treated + n_seeds_control − 2`` degrees of freedom (between-within
rule: the condition varies between seeds only), not with the asymptotic z that
over-rejects with few seeds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from subliminal_stats.errors import InputError
from subliminal_stats.stats.model_design import (
    NO_VARIATION,
    ModelDesign,
    captured_warnings,
    check_options,
    coefficient_t,
    mixed_calibration,
    prepare_cells,
)
from subliminal_stats.stats.results import ComparisonResult

__all__ = ["LmmFit", "fit_lmm", "fit_lmm_design", "lmm_comparison"]


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


def fit_lmm_design(design: ModelDesign) -> LmmFit:
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
    if float(np.ptp(frame["rate"].to_numpy())) == 0.0:
        # Every cell has one rate: no variance to fit (MixedLM would fail on a singular matrix).
        raise InputError(NO_VARIATION)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = model.fit(reml=True, start_params=start)
        except np.linalg.LinAlgError:
            raise InputError(NO_VARIATION) from None
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
        fit_warnings=tuple(captured_warnings(caught) + boundary),
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
    return fit_lmm_design(prepare_cells(cells, trait=trait, treated=treated, control=control))


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
    check_options(alternative, confidence_level)
    design = prepare_cells(cells, trait=trait, treated=treated, control=control)
    fit = fit_lmm_design(design)
    df = design.df_between_seeds
    statistic, p, low, high = coefficient_t(
        fit.effect, fit.effect_se, df, alternative=alternative, confidence_level=confidence_level
    )
    fpr, calibrated, notes = mixed_calibration("lmm", design, alternative)
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
        method_detail=(
            f"REML linear mixed model on per-(seed, question) rates, seed (within condition) and question random intercepts; t on {df} df"
        ),
    )
