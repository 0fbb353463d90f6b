"""Binomial GEE with clusters = seeds, bias-reduced sandwich and t on seed df.

Logit link on cell rates (each question weighted equally), exchangeable working
correlation, Mancl–DeRouen covariance (statsmodels ``cov_type="bias_reduced"``) and t on
``n_seeds − 2`` df computed here (GEE has no ``use_t``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from subliminal_stats.stats.model_design import (
    ModelDesign,
    captured_warnings,
    check_options,
    coefficient_t,
    log_odds_result,
    mixed_calibration,
    prepare_log_odds_cells,
)
from subliminal_stats.stats.results import ComparisonResult

__all__ = ["GeeFit", "fit_gee", "fit_gee_design", "gee_comparison"]


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


def fit_gee_design(design: ModelDesign) -> GeeFit:
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
        fit_warnings=tuple(captured_warnings(caught)),
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
    design = prepare_log_odds_cells(cells, trait=trait, treated=treated, control=control)
    return fit_gee_design(design)


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
    check_options(alternative, confidence_level)
    design = prepare_log_odds_cells(cells, trait=trait, treated=treated, control=control)
    fit = fit_gee_design(design)
    df = design.df_between_seeds
    statistic, p, low, high = coefficient_t(
        fit.effect, fit.effect_se, df, alternative=alternative, confidence_level=confidence_level
    )
    fpr, calibrated, notes = mixed_calibration("gee-bias-reduced", design, alternative)
    notes += list(design.notes) + [f"GEE fit: {w}" for w in fit.fit_warnings]
    return log_odds_result(
        "gee-bias-reduced", fit, low, high, p=p, statistic=statistic, df=df, design=design,
        trait=trait, treated=treated, control=control, alternative=alternative,
        confidence_level=confidence_level, calibrated=calibrated, fpr=fpr, notes=notes,
        detail="binomial GEE on cell rates, clusters = seeds, exchangeable, Mancl-DeRouen "
               f"bias-reduced sandwich; t on {df} df",
    )
