"""Statistics on plain arrays: seed-level t tests, clustered SEs, permutation, bootstrap.

Everything here takes numpy arrays and returns numbers or arrays; no DataFrames.
Functions whose inputs end in a ``seeds`` axis are vectorised over any leading
axes (simulations), which is what keeps the calibration simulations fast.

Conventions
-----------
* rates are proportions (0–1); differences are treated − reference;
* ``alternative`` is ``"two-sided"``, ``"greater"`` (treated > reference) or ``"less"``;
* one-sided intervals are one-sided (scipy's convention): ``greater`` gives
  ``(low, +inf)``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

# The t and normal distributions through scipy.special (the functions scipy.stats.t and
# scipy.stats.norm call): importing scipy.stats costs ~0.4 s of start-up, a third of `test`'s
# budget on a large table, and the default path needs nothing else from it.


def _t_sf(x, df):
    return special.stdtr(df, -np.asarray(x, dtype=float))


def _t_cdf(x, df):
    return special.stdtr(df, np.asarray(x, dtype=float))


def _t_ppf(p, df):
    return special.stdtrit(df, p)

ALTERNATIVES = ("two-sided", "greater", "less")


def check_alternative(alternative: str) -> str:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    return alternative


def check_confidence_level(confidence_level):
    """The level as a float (an array of levels stays an array), each strictly in (0, 1)."""
    level = np.asarray(confidence_level, dtype=float)
    if not np.all((level > 0.0) & (level < 1.0)):
        raise ValueError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level}")
    return float(level) if level.ndim == 0 else level


# --------------------------------------------------------------------------- t machinery


@dataclass(frozen=True)
class TTest:
    """Result of a t-based comparison (arrays when the inputs were batched)."""

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def t_inference(estimate, se, df, *, alternative="two-sided", confidence_level=0.95) -> TTest:
    """p-value and interval for ``estimate / se ~ t(df)`` (vectorised, ``confidence_level`` too).

    A zero ``se`` gives NaN statistic, p and interval (callers explain why).
    """
    check_alternative(alternative)
    confidence_level = check_confidence_level(confidence_level)  # may be one per test
    estimate, se, df = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (estimate, se, df)))
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = se > 0
        statistic = np.where(ok, estimate / np.where(ok, se, 1.0), np.nan)
        if alternative == "two-sided":
            p = 2.0 * _t_sf(np.abs(statistic), df)
            q = _t_ppf(0.5 + confidence_level / 2.0, df)
            low, high = estimate - q * se, estimate + q * se
        elif alternative == "greater":
            p = _t_sf(statistic, df)
            q = _t_ppf(confidence_level, df)
            low, high = estimate - q * se, np.full_like(estimate, np.inf)
        else:
            p = _t_cdf(statistic, df)
            q = _t_ppf(confidence_level, df)
            low, high = np.full_like(estimate, -np.inf), estimate + q * se
        p = np.minimum(p, 1.0)
        low = np.where(ok, low, np.nan)
        high = np.where(ok, high, np.nan)
    return TTest(estimate, se, df, statistic, p, low, high)


def welch_t(treated, reference, *, alternative="two-sided", confidence_level=0.95,
            df_rule: str = "capped") -> TTest:
    """Welch's unequal-variance t test on per-seed rates (last axis = seeds).

    ``df_rule``:

    * ``"capped"`` (default): the Welch–Satterthwaite df, at most ``2 (min(n1, n2) − 1)``.
      With equal arms the cap is ``n1 + n2 − 2``, which Satterthwaite never exceeds, so
      this *is* ``scipy.stats.ttest_ind(equal_var=False)``; with unequal arms it stops the
      plug-in df from running away when the small arm's variance is small by chance —
      plain Satterthwaite rejects 10 % of true nulls at 2 vs 10 seeds (normal data, equal
      variances), the cap 2.4 %.
    * ``"satterthwaite"``: the plain Welch–Satterthwaite df (scipy's, any arms).
    * ``"hsu"``: Hsu's ``min(n1, n2) − 1`` df (valid for any variance ratio, very
      conservative).
    """
    x = np.asarray(treated, dtype=float)
    y = np.asarray(reference, dtype=float)
    n1, n2 = x.shape[-1], y.shape[-1]
    if n1 < 2 or n2 < 2:
        raise ValueError("Welch's t needs at least 2 seeds per arm")
    a = x.var(axis=-1, ddof=1) / n1
    b = y.var(axis=-1, ddof=1) / n2
    se = np.sqrt(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    df = np.where(np.isfinite(df), df, n1 + n2 - 2.0)
    if df_rule == "hsu":
        df = np.full_like(df, min(n1, n2) - 1.0)
    elif df_rule == "capped":
        df = np.minimum(df, 2.0 * (min(n1, n2) - 1.0))
    elif df_rule != "satterthwaite":
        raise ValueError(f"df_rule must be 'capped', 'satterthwaite' or 'hsu', not {df_rule!r}")
    estimate = x.mean(axis=-1) - y.mean(axis=-1)
    return t_inference(estimate, se, df, alternative=alternative, confidence_level=confidence_level)


def pooled_t(treated, reference, *, alternative="two-sided", confidence_level=0.95) -> TTest:
    """Student's pooled-variance t test on per-seed rates (df = n1 + n2 − 2).

    Exact under normality when the arms share one variance, which holds under the
    no-transfer null (treated and control students exchangeable).
    """
    x = np.asarray(treated, dtype=float)
    y = np.asarray(reference, dtype=float)
    n1, n2 = x.shape[-1], y.shape[-1]
    if n1 < 2 or n2 < 2:
        raise ValueError("the pooled t test needs at least 2 seeds per arm")
    df = n1 + n2 - 2.0
    pooled_var = ((n1 - 1) * x.var(axis=-1, ddof=1) + (n2 - 1) * y.var(axis=-1, ddof=1)) / df
    se = np.sqrt(pooled_var * (1.0 / n1 + 1.0 / n2))
    estimate = x.mean(axis=-1) - y.mean(axis=-1)
    return t_inference(estimate, se, df, alternative=alternative, confidence_level=confidence_level)


def t_vs_noisy_constant(
    treated, reference_mean, reference_se, reference_df, *, alternative="two-sided",
    confidence_level=0.95,
) -> TTest:
    """Per-seed rates of a seeded arm against a single model treated as a noisy constant.

    SE² = s²/G + SE_ref², df by Welch–Satterthwaite with ``reference_df`` for the
    reference's variance (e.g. questions − 1 for a question-clustered SE).
    """
    x = np.asarray(treated, dtype=float)
    n = x.shape[-1]
    if n < 2:
        raise ValueError("a t test against a constant needs at least 2 seeds")
    a = x.var(axis=-1, ddof=1) / n
    b = np.asarray(reference_se, dtype=float) ** 2
    se = np.sqrt(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a**2 / (n - 1) + b**2 / np.asarray(reference_df, dtype=float))
    df = np.where(np.isfinite(df), df, n - 1.0)
    estimate = x.mean(axis=-1) - np.asarray(reference_mean, dtype=float)
    return t_inference(estimate, se, df, alternative=alternative, confidence_level=confidence_level)


def paired_vs_single(seed_rates, single_rates, single_var, *, alternative="two-sided",
                     confidence_level=0.95) -> TTest:
    """Question-paired t of a seeded arm against one unseeded model (e.g. the base).

    Each seed is compared with the single model on the same questions:
    ``d_s = mean_q (r_sq − b_q) = r_s − b̄``. The question effects cancel in ``d_s``
    (both arms answered the same questions), so the variance of the mean difference is
    the seeds' spread ``var(d_s) / G`` plus the single model's *sampling* variance
    ``single_var`` (binomial noise of ``b̄``, not its question spread). df by
    Welch–Satterthwaite with the seeds' ``G − 1`` (the single model's variance is
    estimated from thousands of answers: taken as known), at most ``2 (G − 1)``.

    Parameters
    ----------
    seed_rates : array (..., G)
        Per-seed rates (mean over the shared questions).
    single_rates : array (...)
        The single model's mean rate over the same questions.
    single_var : array (...)
        Sampling variance of ``single_rates`` (see :func:`single_model_variance`).
    """
    x = np.asarray(seed_rates, dtype=float)
    g = x.shape[-1]
    if g < 2:
        raise ValueError("a paired t against a single model needs at least 2 seeds")
    a = x.var(axis=-1, ddof=1) / g
    b = np.asarray(single_var, dtype=float)
    se = np.sqrt(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a**2 / (g - 1))
    # Capped at 2 (G − 1) for the reason Welch's df is capped: the plug-in df runs away when
    # the seeds' variance is small by chance (8.5 % false positives at 3 seeds without it).
    df = np.minimum(np.where(np.isfinite(df), df, g - 1.0), 2.0 * (g - 1.0))
    estimate = x.mean(axis=-1) - np.asarray(single_rates, dtype=float)
    return t_inference(estimate, se, df, alternative=alternative, confidence_level=confidence_level)


def single_model_variance(cell_hits, cell_n, weights=None):
    """Binomial sampling variance of a single model's mean of per-question rates.

    ``Var(Σ_q w_q b_q) = Σ_q w_q² p_q (1 − p_q) / n_q`` with every ``p_q`` replaced by the
    model's overall rate shrunk towards ½ by one pseudo-answer each way,
    ``p̃ = (H + 1) / (N + 2)``: ``p(1 − p)`` is concave, so the overall rate bounds the
    average per-question term from above (conservative), and the pseudo-answers keep the
    variance positive when the model never shows the trait (rare traits).

    Parameters
    ----------
    cell_hits, cell_n : arrays (..., Q)
        The single model's counts per question (``n`` may be a scalar).
    weights : array (..., Q), optional
        Weight of each question in the compared mean (default ``1/Q``).
    """
    h = np.asarray(cell_hits, dtype=float)
    n = np.broadcast_to(np.asarray(cell_n, dtype=float), h.shape)
    q = h.shape[-1]
    w = np.full(h.shape, 1.0 / q) if weights is None else np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_n = np.where(n > 0, 1.0 / np.where(n > 0, n, 1.0), 0.0)
    hits = np.where(n > 0, h, 0.0)
    p = (hits.sum(axis=-1) + 1.0) / (n.sum(axis=-1) + 2.0)
    return (w**2 * inv_n).sum(axis=-1) * p * (1 - p)


def t_interval_mean(x, *, confidence_level=0.95):
    """Mean, SE and two-sided t interval over the last axis (seeds)."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    mean = x.mean(axis=-1)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan, nan
    se = x.std(axis=-1, ddof=1) / math.sqrt(n)
    q = _t_ppf(0.5 + check_confidence_level(confidence_level) / 2.0, n - 1)
    return mean, se, mean - q * se, mean + q * se


# --------------------------------------------------------------------------- single model


def clustered_mean_se(cell_hits, cell_n):
    """Mean of per-question rates and its question-clustered SE (last axis = questions).

    The estimator is the equal-weight mean of per-question rates
    ``r̄ = Σ_q r_q / Q``; its cluster-robust variance with the usual
    ``Q / (Q − 1)`` small-sample factor is ``Σ_q (r_q − r̄)² / (Q (Q − 1))``,
    which equals the pairwise form ``Q/(Q−1) Σ_i Σ_j w_i w_j (y_i − r̄)(y_j − r̄)
    1[q_i = q_j]`` over answers with weights ``w_i = 1 / (Q n_q)``.
    """
    hits = np.asarray(cell_hits, dtype=float)
    n = np.asarray(cell_n, dtype=float)
    rates = hits / n
    q = rates.shape[-1]
    mean = rates.mean(axis=-1)
    if q < 2:
        return mean, np.full_like(mean, np.nan)
    se = np.sqrt(((rates - mean[..., None]) ** 2).sum(axis=-1) / (q * (q - 1)))
    return mean, se


def clustered_se_pairwise(hits, cluster) -> float:
    """Reference implementation of the question-clustered SE by the pairwise sum over answers.

    Slow (quadratic in answers); for tests and for readers. Same estimator and
    small-sample factor as :func:`clustered_mean_se`.
    """
    y = np.asarray(hits, dtype=float)
    c = np.asarray(cluster)
    labels, inverse, counts = np.unique(c, return_inverse=True, return_counts=True)
    q = len(labels)
    w = 1.0 / (q * counts[inverse])
    mean = float((w * y).sum())
    resid = w * (y - mean)
    total = 0.0
    for i in range(len(y)):
        for j in range(len(y)):
            if c[i] == c[j]:
                total += resid[i] * resid[j]
    return math.sqrt(q / (q - 1) * total)


def wilson_interval(mean, se, n_answers, *, confidence_level=0.95):
    """Wilson interval for a clustered proportion, via the effective sample size.

    ``n_eff = p (1 − p) / se²`` (the answers deflated by the design effect, capped
    at ``n_answers``); when the clustered SE is 0 (all answers 0 or all 1) the
    design effect is unknown and ``n_answers`` is used.
    """
    from statsmodels.stats.proportion import proportion_confint

    p = float(mean)
    if se is not None and np.isfinite(se) and se > 0 and 0 < p < 1:
        n_eff = min(p * (1 - p) / se**2, float(n_answers))
    else:
        n_eff = float(n_answers)
    low, high = proportion_confint(p * n_eff, n_eff, alpha=1 - confidence_level, method="wilson")
    return float(low), float(high), n_eff


# --------------------------------------------------------------------------- variance split


def variance_components(rates, n_answers):
    """Method-of-moments variance split of a (seeds × questions) table of cell rates.

    Model: ``r_sq = μ + a_s + b_q + e_sq``; answers within a cell are Bernoulli
    with variance ``σ²_w``. Balanced two-way ANOVA without replication:
    ``E[MS_seed] = σ²_e + Q σ²_a``, ``E[MS_question] = σ²_e + S σ²_b``,
    ``E[MS_resid] = σ²_e``, with ``σ²_e = σ²_sq + σ²_w / n``.

    ``rates`` may carry leading axes (arms, each a seeds × questions table); ``n_answers``
    is then one mean number of answers per cell for each (a 2-D table takes any array and
    uses its mean).

    Returns
    -------
    dict with ``var_seed``, ``var_question``, ``var_seed_question`` (interaction),
    ``var_within`` (per-answer Bernoulli variance within a question), all on the
    proportion scale and clipped at 0. ``var_seed`` is NaN for one seed. Floats for one
    table, arrays over the leading axes otherwise.
    """
    r = np.asarray(rates, dtype=float)
    s, q = r.shape[-2:]
    lead = r.shape[:-2]
    n = (np.full(lead, float(np.mean(n_answers))) if not lead
         else np.broadcast_to(np.asarray(n_answers, dtype=float), lead))
    flat = r.reshape(*lead, s * q)
    # Per-answer within-cell variance, unbiased per cell: r(1−r) n/(n−1).
    with np.errstate(divide="ignore", invalid="ignore"):
        within = np.mean(flat * (1 - flat) * n[..., None] / (n[..., None] - 1), axis=-1)
    var_within = np.where(n > 1, within, math.nan)
    grand = flat.mean(axis=-1)
    seed_means = r.mean(axis=-1)
    question_means = r.mean(axis=-2)
    nan = np.full(lead, math.nan)
    out = {"var_seed": nan, "var_question": nan, "var_seed_question": nan,
           "var_within": var_within}
    within_part = np.where(np.isfinite(var_within), var_within / n, 0.0)
    if s >= 2 and q >= 2:
        ms_seed = q * ((seed_means - grand[..., None]) ** 2).sum(axis=-1) / (s - 1)
        ms_question = s * ((question_means - grand[..., None]) ** 2).sum(axis=-1) / (q - 1)
        resid = (r - seed_means[..., :, None] - question_means[..., None, :]
                 + grand[..., None, None])
        ms_resid = (resid**2).reshape(*lead, s * q).sum(axis=-1) / ((s - 1) * (q - 1))
        out["var_seed"] = np.maximum((ms_seed - ms_resid) / q, 0.0)
        out["var_question"] = np.maximum((ms_question - ms_resid) / s, 0.0)
        out["var_seed_question"] = np.maximum(ms_resid - within_part, 0.0)
    elif q >= 2:
        # One seed: question spread = spread of question rates minus binomial noise.
        ms_question = ((question_means - grand[..., None]) ** 2).sum(axis=-1) / (q - 1)
        out["var_question"] = np.maximum(ms_question - within_part, 0.0)
    if not lead:
        return {k: float(v) for k, v in out.items()}
    return out


# --------------------------------------------------------------------------- permutation


@dataclass(frozen=True)
class PermutationResult:
    estimate: float
    p_value: float
    n_relabellings: int
    exhaustive: bool
    min_p: float
    ci_low: float
    ci_high: float


def relabelling_masks(n_treated: int, n_reference: int, *, max_exhaustive=20_000,
                      n_resamples=9_999, rng=None):
    """Boolean masks (relabellings × seeds): True = seed labelled treated.

    Exhaustive (every ``C(n1+n2, n1)`` relabelling, the observed one first) when
    that count is ≤ ``max_exhaustive``; otherwise the observed labelling plus
    ``n_resamples`` random ones.
    """
    n = n_treated + n_reference
    total = math.comb(n, n_treated)
    if total <= max_exhaustive:
        masks = np.zeros((total, n), dtype=bool)
        for k, combo in enumerate(itertools.combinations(range(n), n_treated)):
            masks[k, list(combo)] = True
        return masks, True
    rng = np.random.default_rng(rng)
    keys = rng.random((n_resamples, n))
    order = np.argsort(keys, axis=1)[:, :n_treated]
    masks = np.zeros((n_resamples + 1, n), dtype=bool)
    masks[0, :n_treated] = True
    np.put_along_axis(masks[1:], order, True, axis=1)
    return masks, False


def _perm_pvalues(pooled, masks, n1, n2, alternative, exhaustive):
    """p-values of the mean difference for batched pooled data (…, n)."""
    sums = pooled @ masks.T.astype(float)  # (…, relabellings)
    total = pooled.sum(axis=-1, keepdims=True)
    diffs = sums / n1 - (total - sums) / n2
    observed = pooled[..., :n1].mean(axis=-1) - pooled[..., n1:].mean(axis=-1)
    tol = 1e-12 * np.maximum(1.0, np.abs(observed))[..., None]
    obs = observed[..., None]
    if alternative == "two-sided":
        extreme = np.abs(diffs) >= np.abs(obs) - tol
    elif alternative == "greater":
        extreme = diffs >= obs - tol
    else:
        extreme = diffs <= obs + tol
    count = extreme.sum(axis=-1)
    m = masks.shape[0]
    # Monte Carlo: masks[0] is the observed labelling, so count ≥ 1 → (1 + b) / (1 + B).
    p = count / m
    return observed, np.minimum(p, 1.0)


def permutation_test(treated, reference, *, alternative="two-sided", confidence_level=0.95,
                     max_exhaustive=20_000, n_resamples=9_999, rng=None,
                     interval=True) -> PermutationResult:
    """Seed-level permutation test of the difference in mean per-seed rates.

    Exhaustive over all ``C(n1+n2, n1)`` relabellings when feasible, Monte Carlo
    otherwise. The interval inverts the test under a location-shift model
    (treated = reference + δ); it is infinite when the design cannot reach the
    level (e.g. 3 vs 3 seeds: smallest two-sided p = 2/20 = 0.10).
    """
    check_alternative(alternative)
    x = np.asarray(treated, dtype=float).ravel()
    y = np.asarray(reference, dtype=float).ravel()
    n1, n2 = len(x), len(y)
    if n1 < 1 or n2 < 1 or n1 + n2 < 3:
        raise ValueError("a permutation test needs at least 3 seeds in all")
    masks, exhaustive = relabelling_masks(n1, n2, max_exhaustive=max_exhaustive,
                                          n_resamples=n_resamples, rng=rng)
    m = masks.shape[0]
    if exhaustive:
        # The observed labelling and (for equal arms) its mirror are the most extreme.
        mirror = 2 if (alternative == "two-sided" and n1 == n2) else 1
        min_p = mirror / m
    else:
        min_p = 1.0 / m
    observed, p = _perm_pvalues(np.concatenate([x, y]), masks, n1, n2, alternative, exhaustive)
    low, high = -np.inf, np.inf
    if interval:
        low, high = _invert_shift(x, y, masks, alternative, confidence_level, exhaustive)
    return PermutationResult(float(observed), float(p), m, exhaustive, float(min_p),
                             float(low), float(high))


def _invert_shift(x, y, masks, alternative, confidence_level, exhaustive):
    """Interval {δ: p(treated − δ vs reference) > α} by bisection on each side."""
    alpha = 1 - confidence_level
    n1, n2 = len(x), len(y)
    estimate = x.mean() - y.mean()
    spread = max(np.ptp(np.concatenate([x, y])), 1e-9)

    def p_at(delta, alt):
        _, p = _perm_pvalues(np.concatenate([x - delta, y]), masks, n1, n2, alt, exhaustive)
        return float(p)

    def bound(direction, alt, level):
        # Find the δ beyond which the shifted test rejects; inf when it never does.
        far = estimate + direction * 20 * spread
        if p_at(far, alt) > level:
            return direction * np.inf
        inside, outside = estimate, far
        for _ in range(60):
            mid = 0.5 * (inside + outside)
            if p_at(mid, alt) > level:
                inside = mid
            else:
                outside = mid
        return inside

    if alternative == "two-sided":
        return bound(-1, "two-sided", alpha), bound(+1, "two-sided", alpha)
    if alternative == "greater":
        return bound(-1, "greater", alpha), np.inf
    return -np.inf, bound(+1, "less", alpha)


def permutation_pvalues_batch(treated, reference, *, alternative="two-sided",
                              max_exhaustive=20_000, n_resamples=1_999, rng=None):
    """Vectorised permutation p-values for a batch of datasets (…, seeds)."""
    x = np.asarray(treated, dtype=float)
    y = np.asarray(reference, dtype=float)
    n1, n2 = x.shape[-1], y.shape[-1]
    masks, exhaustive = relabelling_masks(n1, n2, max_exhaustive=max_exhaustive,
                                          n_resamples=n_resamples, rng=rng)
    _, p = _perm_pvalues(np.concatenate([x, y], axis=-1), masks, n1, n2, alternative, exhaustive)
    return p


# --------------------------------------------------------------------------- bootstrap


def resample_arm_means(rates, counts=None, *, n_resamples, rng, resample_questions=True,
                       dtype=np.float64):
    """Two-level bootstrap replicates of one arm's mean per-seed rate.

    Resample seeds with replacement, then (within each drawn seed) its questions
    with replacement; the replicate is the mean over drawn seeds of the mean over
    drawn questions.

    Parameters
    ----------
    rates : array (seeds, questions)
        Per-(seed, question) rates; NaN where a seed lacks a question.
    n_resamples : int
    rng : numpy Generator
    resample_questions : bool
        False gives the one-level cluster bootstrap (seeds only).

    Returns
    -------
    array (n_resamples,)
    """
    r = np.asarray(rates, dtype=float)
    g, q = r.shape
    present = np.isfinite(r)
    k = present.sum(axis=1)  # questions answered per seed
    # Pack each seed's answered questions to the left so index j < k_s is valid.
    packed = np.zeros_like(r)
    for s in range(g):
        packed[s, : k[s]] = r[s, present[s]]
    packed = packed.astype(dtype)
    seeds = rng.integers(0, g, size=(n_resamples, g)) if g > 1 else np.zeros((n_resamples, 1), int)
    if not resample_questions:
        seed_means = np.nanmean(np.where(present, r, np.nan), axis=1)
        return seed_means[seeds].mean(axis=1)
    k_drawn = k[seeds]  # (B, g)
    balanced = bool(np.all(k == q))
    out = np.empty(n_resamples)
    # Chunks of ~256k cells stay in cache (several times faster than one big gather).
    chunk = max(1, 262_144 // max(1, g * q))
    flat = packed.ravel()
    # Small index dtype: generating and adding int16 is about twice as fast as int64.
    itype = np.int16 if g * q < 2**15 else np.int32
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        s_idx = seeds[start:stop]
        if balanced:
            q_idx = rng.integers(0, q, size=(stop - start, g, q), dtype=itype)
            q_idx += (s_idx.astype(itype) * itype(q))[..., None]
            values = flat[q_idx]
            out[start:stop] = values.reshape(stop - start, -1).sum(axis=1) / (g * q)
        else:
            kd = k_drawn[start:stop]
            q_idx = (rng.random((stop - start, g, q)) * kd[..., None]).astype(np.int32)
            valid = np.arange(q)[None, None, :] < kd[..., None]
            values = np.where(valid, packed[s_idx[..., None], q_idx], 0.0)
            out[start:stop] = (values.sum(axis=2) / kd).mean(axis=1)
    return out


def bootstrap_interval(replicates, estimate, jackknife=None, *, confidence_level=0.95,
                       alternative="two-sided", kind="bca"):
    """Percentile or BCa interval from bootstrap replicates.

    BCa (Efron 1987): bias correction ``z0`` from the share of replicates below
    the estimate, acceleration ``a`` from ``jackknife`` (leave-one-cluster-out
    estimates). Falls back to percentile when the jackknife is degenerate.
    """
    check_alternative(alternative)
    reps = np.asarray(replicates, dtype=float)
    alpha = 1 - check_confidence_level(confidence_level)
    if alternative == "two-sided":
        probs = np.array([alpha / 2, 1 - alpha / 2])
    elif alternative == "greater":
        probs = np.array([alpha])
    else:
        probs = np.array([1 - alpha])
    if kind == "bca":
        below = np.mean(reps < estimate) + 0.5 * np.mean(reps == estimate)
        below = min(max(below, 1.0 / (len(reps) + 1)), 1 - 1.0 / (len(reps) + 1))
        z0 = special.ndtri(below)
        a = 0.0
        if jackknife is not None and len(jackknife) >= 2:
            jk = np.asarray(jackknife, dtype=float)
            d = jk.mean() - jk
            denom = 6.0 * (d**2).sum() ** 1.5
            a = float((d**3).sum() / denom) if denom > 0 else 0.0
        z = special.ndtri(probs)
        probs = special.ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
    qs = np.quantile(reps, probs)
    if alternative == "two-sided":
        return float(qs[0]), float(qs[1])
    if alternative == "greater":
        return float(qs[0]), math.inf
    return -math.inf, float(qs[0])


def bootstrap_pvalue(replicates, *, alternative="two-sided") -> float:
    """p-value by inverting the percentile interval at 0 (descriptive, not calibrated)."""
    reps = np.asarray(replicates, dtype=float)
    b = len(reps)
    le = (np.sum(reps <= 0) + 1) / (b + 1)
    ge = (np.sum(reps >= 0) + 1) / (b + 1)
    if alternative == "greater":
        return float(le)
    if alternative == "less":
        return float(ge)
    return float(min(1.0, 2 * min(le, ge)))


# --------------------------------------------------------------------------- odds ratio


def empirical_logit(hits, n):
    """log((h + ½) / (n − h + ½)): finite at 0 % and 100 %."""
    hits = np.asarray(hits, dtype=float)
    n = np.asarray(n, dtype=float)
    return np.log((hits + 0.5) / (n - hits + 0.5))


def empirical_logit_variance(hits, n):
    """Binomial variance of :func:`empirical_logit`: ``1/(h + ½) + 1/(n − h + ½)``."""
    hits = np.asarray(hits, dtype=float)
    n = np.asarray(n, dtype=float)
    return 1.0 / (hits + 0.5) + 1.0 / (n - hits + 0.5)


def _floored_logit_variance(hits, n):
    """Per-arm variance of per-seed empirical logits, at least their mean binomial variance.

    The spread of seed log-odds is the students' own spread plus each seed's binomial
    noise, and the second is known from the counts: flooring the sample variance there
    keeps a sample whose seeds agree by chance (a rare trait: 0, 1 or 2 hits per seed)
    from giving a too-short interval (coverage 92.2 % → 93.9 % at 1 % rates with 200
    answers per seed on the grid), and makes the test defined when every seed has the same
    count.
    """
    logits = empirical_logit(hits, n)
    sample = logits.var(axis=-1, ddof=1)
    return logits, np.maximum(sample, empirical_logit_variance(hits, n).mean(axis=-1))


def logit_t(hits_t, n_t, hits_r, n_r, *, alternative="two-sided", confidence_level=0.95) -> TTest:
    """t on per-seed log-odds: each arm's own variance (floored), Hsu's df (last axis = seeds).

    The estimand is the shift of the students' mean log-odds, ``E[logit p_T] − E[logit p_C]``
    over seeds (each seed's ``p`` its rate over the questions it answered): the typical
    student's odds ratio ``exp(estimate)``. On the log-odds scale a trait that some students
    pick up a thousandfold more than others is near-normal, where on the rate scale it is
    so skewed that no t interval for the *mean* rate covers with a few seeds (issue 13);
    this is the method that meets both bounds in every cell of the scenario grid.

    Each seed's log-odds is :func:`empirical_logit` of its pooled counts; each arm's
    variance is the sample variance of those, at least their mean binomial variance
    (:func:`empirical_logit_variance`); ``se² = v_T/n_T + v_R/n_R`` with Hsu's
    ``df = min(n_T, n_R) − 1`` (valid for any variance ratio).

    Parameters
    ----------
    hits_t, n_t, hits_r, n_r : arrays (..., seeds)
        Per-seed hit counts and answers of the treated and reference arms.
    """
    g1, g2 = np.shape(hits_t)[-1], np.shape(hits_r)[-1]
    if g1 < 2 or g2 < 2:
        raise ValueError("the log-odds t needs at least 2 seeds per arm")
    lt, vt = _floored_logit_variance(hits_t, n_t)
    lr, vr = _floored_logit_variance(hits_r, n_r)
    se = np.sqrt(vt / g1 + vr / g2)
    estimate = lt.mean(axis=-1) - lr.mean(axis=-1)
    return t_inference(estimate, se, min(g1, g2) - 1.0, alternative=alternative,
                       confidence_level=confidence_level)


def logit_t_vs_single(hits_t, n_t, hits_single, n_single, *, alternative="two-sided",
                      confidence_level=0.95) -> TTest:
    """:func:`logit_t` of a seeded arm against one unseeded model (the base), same questions.

    ``estimate = mean_s logit_s − logit_base``; ``se² = v_T/G + var(logit_base)`` with the
    base's binomial variance (:func:`empirical_logit_variance`: one model, no seed spread);
    ``df = G − 1``. The null is that the base model is the typical student (its log-odds the
    students' mean), which is what "fine-tuning moved nothing" means on this scale.
    """
    g = np.shape(hits_t)[-1]
    if g < 2:
        raise ValueError("the log-odds t against a single model needs at least 2 seeds")
    lt, vt = _floored_logit_variance(hits_t, n_t)
    lb = empirical_logit(hits_single, n_single)
    se = np.sqrt(vt / g + empirical_logit_variance(hits_single, n_single))
    return t_inference(lt.mean(axis=-1) - lb, se, g - 1.0, alternative=alternative,
                       confidence_level=confidence_level)


# --------------------------------------------------------------------------- naive (calibration only)


def naive_pooled_z(hits_t, n_t, hits_r, n_r, *, alternative="two-sided"):
    """Two-proportion z test pooling every answer (WRONG unit; shown only to over-reject)."""
    p1, p2 = hits_t / n_t, hits_r / n_r
    p = (hits_t + hits_r) / (n_t + n_r)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(p * (1 - p) * (1 / n_t + 1 / n_r))
    return _z_p(z, alternative)


def _z_p(z, alternative):
    if alternative == "two-sided":
        return 2 * special.ndtr(-np.abs(z))
    if alternative == "greater":
        return special.ndtr(-z)
    return special.ndtr(z)


def cluster_se_difference(seed_hits_t, seed_n_t, seed_hits_r, seed_n_r):
    """Difference of pooled proportions and its seed-clustered SE (last axis = seeds).

    CR1: the sandwich sum times ``G / (G − 1)`` per arm (with equal answers per
    seed this equals Welch's SE on per-seed rates).
    """
    out = []
    for h, n in ((seed_hits_t, seed_n_t), (seed_hits_r, seed_n_r)):
        h = np.asarray(h, dtype=float)
        n = np.asarray(n, dtype=float)
        g = h.shape[-1]
        total_n = n.sum(axis=-1)
        p = h.sum(axis=-1) / total_n
        var = ((h - p[..., None] * n) ** 2).sum(axis=-1) / total_n**2 * g / max(g - 1, 1)
        out.append((p, var))
    (p1, v1), (p2, v2) = out
    return p1 - p2, np.sqrt(v1 + v2)


# --------------------------------------------------------------------------- multiplicity

ADJUST_METHODS = {"holm": ("holm", "Holm"), "bh": ("fdr_bh", "Benjamini-Hochberg"),
                  "none": (None, "none")}


def adjust_pvalues(p_values, *, method="holm"):
    """Multiplicity-adjusted p-values (Holm or Benjamini–Hochberg); NaNs are left out.

    Same numbers as ``statsmodels.stats.multitest.multipletests`` with
    ``method="holm"`` / ``"fdr_bh"`` (the tests check this; note its default is
    Holm–Šidák). Computed here because statsmodels' Holm branch calls
    ``gc.collect()``, which takes ~0.25 s per call with a large table in memory.

    Returns
    -------
    (adjusted array, human-readable method name)
    """
    if method not in ADJUST_METHODS:
        raise ValueError(f"adjust must be one of {tuple(ADJUST_METHODS)}, got {method!r}")
    sm_name, label = ADJUST_METHODS[method]
    p = np.asarray(p_values, dtype=float)
    out = p.copy()
    ok = np.isfinite(p)
    if sm_name is None or not ok.any():
        return out, label
    q = p[ok]
    m = len(q)
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    if sm_name == "holm":
        # Step-down: p_(i) · (m − i + 1), running maximum.
        adj = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    else:
        # Step-up: p_(i) · m / i, running minimum from the largest.
        adj = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adj, 1.0)
    out[ok] = adjusted
    return out, label
