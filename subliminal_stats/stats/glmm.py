"""Logistic GLMM fitted by ``BinomialBayesMixedGLM.fit_map`` (never ``fit_vb``).

Posterior mode with a Laplace approximation: reports the log-odds effect, the odds ratio
and a proportion-scale difference. A Bayesian approximation, not a frequentist test: its
result is labelled uncalibrated and carries the false-positive rate measured by simulation.
"""

from __future__ import annotations

import functools
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
    fpr_lookup,
    log_odds_result,
    prepare_log_odds_cells,
)
from subliminal_stats.stats.results import ComparisonResult

__all__ = ["GLMM_COLLAPSED_SD", "GLMM_FE_PRIOR_SD", "GLMM_VC_PRIOR_SD", "GlmmMapFit",
           "fit_glmm_design", "fit_glmm_map", "glmm_comparison"]

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


def fit_glmm_design(design: ModelDesign, *, one_row_per_answer: bool = False) -> GlmmMapFit:
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
        fit_warnings=tuple(captured_warnings(caught)),
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
    design = prepare_log_odds_cells(cells, trait=trait, treated=treated, control=control)
    return fit_glmm_design(design)




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
    check_options(alternative, confidence_level)
    design = prepare_log_odds_cells(cells, trait=trait, treated=treated, control=control)
    fit = fit_glmm_design(design)
    df = design.df_between_seeds
    statistic, p, low, high = coefficient_t(
        fit.effect, fit.effect_sd, df, alternative=alternative, confidence_level=confidence_level
    )
    seeds_per_arm = (design.n_seeds_treated + design.n_seeds_control) / 2
    fpr, _, fpr_sentence = fpr_lookup("glmm-map", seeds_per_arm, alternative)
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
    return log_odds_result(
        "glmm-map", fit, low, high, p=p, statistic=statistic, df=df, design=design,
        trait=trait, treated=treated, control=control, alternative=alternative,
        confidence_level=confidence_level, calibrated=False, fpr=fpr, notes=notes,
        detail="logistic GLMM, BinomialBayesMixedGLM.fit_map (Laplace posterior), seed and "
               f"question random intercepts; mode/SD referred to t on {df} df",
    )
