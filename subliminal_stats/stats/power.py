"""Power planning in seeds: how many students per arm, or what effect they can detect.

The test is a two-sample t on per-seed rates, so power depends on the effect
relative to the **between-seed SD of per-seed rates** (Cohen's d =
effect / SD), not on the number of answers. Computed with statsmodels'
``TTestIndPower`` (noncentral t; α passed explicitly — scipy's
``scipy.stats.power`` would default to 0.01).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from subliminal_stats.errors import InputError

MAX_SEEDS = 10_000


@dataclass(frozen=True)
class SeedPlan:
    """Answer of :func:`seeds_needed` / :func:`detectable_effect`.

    Attributes
    ----------
    seeds_per_arm : int
        Whole seeds per arm (``ceil(seeds_exact)`` — rounding up keeps power ≥ target).
    seeds_exact : float
        The fractional solution of the power equation.
    effect : float
        Difference in proportions (0–1).
    sd_between_seeds : float
        SD of per-seed rates (proportion scale).
    effect_size_d : float
        effect / sd_between_seeds.
    power : float
        Power achieved at ``seeds_per_arm`` (≥ the target).
    """

    seeds_per_arm: int
    seeds_exact: float
    effect: float
    sd_between_seeds: float
    effect_size_d: float
    power: float
    alpha: float
    alternative: str
    #: Each arm's between-seed SD (both equal ``sd_between_seeds`` unless given apart).
    sd_treated: float = math.nan
    sd_control: float = math.nan

    @property
    def effect_pp(self) -> float:
        return 100 * self.effect


def _alt(alternative: str) -> str:
    if alternative in ("two-sided", "greater", "less"):
        return alternative
    raise InputError(f"alternative must be 'two-sided', 'greater' or 'less', not {alternative!r}")


def _check(power, alpha):
    if not 0 < power < 1:
        raise InputError(f"power must be between 0 and 1 (e.g. 0.8), not {power}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1 (e.g. 0.05), not {alpha}")
    if not power > alpha:
        raise InputError(f"power {power} must exceed alpha {alpha} (a test has power α at no "
                         "effect)")


def _t_tail_power(nc: float, dof: float, alpha: float, alternative: str,
                  crit_dof: float | None = None) -> float:
    """Power of a t test with noncentrality ``nc`` on ``dof`` df; never NaN.

    ``crit_dof`` (default ``dof``) is the df of the critical value, when the test uses a
    smaller df than its statistic's distribution has (Hsu's ``min(n) − 1``).
    scipy's noncentral t returns NaN far in its tails (e.g. 3 seeds per arm at d = 12);
    there the normal approximation ``Φ(nc − c)`` is used, exact to many digits at such nc.
    """
    if not (math.isfinite(nc) and math.isfinite(dof) and dof > 0):
        raise InputError(f"power is undefined for noncentrality {nc} on {dof} df")
    if alternative not in ("two-sided", "greater", "less"):
        raise InputError(f"alternative must be 'two-sided', 'greater' or 'less', not {alternative!r}")
    if alternative == "less":
        nc = -nc
    two = alternative == "two-sided"
    crit = float(stats.t.ppf(1.0 - (alpha / 2.0 if two else alpha),
                             dof if crit_dof is None else crit_dof))
    upper = float(stats.nct.sf(crit, dof, nc))
    lower = 0.0
    if two:
        # scipy's nct.cdf is wrong far in the left tail (e.g. −0.5 at 1 df, nc ≈ 10: power
        # fell from 0.49 to 0.003 as the effect grew); its mirror sf(c, −nc) is accurate.
        lower = float(stats.nct.cdf(-crit, dof, nc))
        mirror = float(stats.nct.sf(crit, dof, -nc))
        if not (math.isfinite(lower) and abs(lower - mirror) < 1e-9):
            lower = mirror
    value = upper + lower
    if not 0.0 <= value <= 1.0 + 1e-12:  # NaN far in the tails: the direct integral
        value = _nct_sf(crit, dof, nc) + (_nct_sf(crit, dof, -nc) if two else 0.0)
    return float(min(1.0, max(0.0, value)))


def _nct_sf(crit: float, dof: float, nc: float) -> float:
    """P(T > crit) for T = (Z + nc) / S, S = sqrt(χ²_dof / dof), by adaptive quadrature over S."""
    from scipy import integrate

    root = math.sqrt(dof)

    def integrand(x):
        return stats.chi.pdf(x * root, dof) * root * stats.norm.sf(crit * x - nc)

    # Most of S's mass lies within a few SDs of 1; split there so quad sees the peak.
    total = 0.0
    for lo, hi in ((0.0, 1.0), (1.0, 3.0), (3.0, math.inf)):
        total += integrate.quad(integrand, lo, hi, epsabs=1e-12, epsrel=1e-10, limit=200)[0]
    return float(total)


def power_at(seeds_per_arm: float, effect_size_d: float, *, alpha=0.05,
             alternative="two-sided") -> float:
    """Power of the two-sample t test with ``seeds_per_arm`` seeds in each arm (equal SDs).

    With equal SDs and equal arms this is also Welch's power at its population df.
    """
    n = float(seeds_per_arm)
    return _t_tail_power(float(effect_size_d) * math.sqrt(n / 2.0), 2.0 * n - 2.0, alpha,
                         alternative)


def welch_power(seeds_per_arm: float, effect: float, sd_treated: float, sd_control: float, *,
                alpha: float = 0.05, alternative: str = "two-sided",
                seeds_control: float | None = None, df_rule: str = "satterthwaite") -> float:
    """Power of a t test with each arm's own between-seed SD (Welch's standard error).

    Noncentral t with noncentrality ``effect / sqrt(sd_t²/n_t + sd_c²/n_c)`` on the
    Welch–Satterthwaite df evaluated at the true SDs (the usual approximation; checked by
    simulation in the tests to within a point or two); with ``df_rule="hsu"`` the critical
    value is taken on Hsu's ``min(n_t, n_c) − 1``, as the default test (``logit-t``) does.
    Equal SDs and arms give the pooled-t power of :func:`power_at`.
    """
    if df_rule not in ("hsu", "satterthwaite"):
        raise InputError(f"df_rule must be 'hsu' (the default test) or 'satterthwaite' (welch), "
                         f"not {df_rule!r}")
    n_t = float(seeds_per_arm)
    n_c = n_t if seeds_control is None else float(seeds_control)
    # Work in units of the larger SD: squares of tiny SDs (1e-200) would underflow to 0.
    unit = max(float(sd_treated), float(sd_control))
    if not unit > 1e-12:
        raise InputError("both between-seed SDs are 0: with no spread between seeds any "
                         "difference is detectable; check the pilot data")
    effect, sd_treated, sd_control = effect / unit, sd_treated / unit, sd_control / unit
    a, b = sd_treated**2 / n_t, sd_control**2 / n_c
    if not a + b > 0:
        raise InputError("both between-seed SDs are 0: with no spread between seeds any "
                         "difference is detectable; check the pilot data")
    dof = (a + b) ** 2 / ((a**2 / (n_t - 1) if a else 0.0) + (b**2 / (n_c - 1) if b else 0.0))
    # Hsu's rule changes the critical value, not the statistic: still Welch's, distributed
    # about as a noncentral t on the Satterthwaite df at the true SDs.
    crit_dof = min(n_t, n_c) - 1.0 if df_rule == "hsu" else None
    return _t_tail_power(effect / math.sqrt(a + b), dof, alpha, alternative, crit_dof=crit_dof)


def _sds(sd_between_seeds, sd_treated):
    sd_c = float(sd_between_seeds)
    sd_t = sd_c if sd_treated is None else float(sd_treated)
    for name, value in (("between-seed SD", sd_c), ("treated between-seed SD", sd_t)):
        if not math.isfinite(value) or value < 0:
            raise InputError(f"the {name} must be a finite number ≥ 0, not {value}")
    if max(sd_c, sd_t) <= 1e-12:
        raise InputError(
            f"the between-seed SD must be positive, not {sd_between_seeds} (with zero spread "
            "between seeds any difference is detectable; check the pilot data)")
    return sd_t, sd_c


def plan_df_rule(metric: str = "hit") -> str:
    """The ``df_rule`` that plans for the test ``metric`` gets by default: ``"hsu"`` for the
    default (``logit-t``) on 0/1 answers, ``"satterthwaite"`` for ``welch`` on a score."""
    return "hsu" if metric == "hit" else "satterthwaite"


def _power(n: float, effect: float, sd_t: float, sd_c: float, alpha: float,
           alternative: str, df_rule: str = "hsu") -> float:
    # The planned effect is a size in the direction of the alternative; the df is by default
    # the default test's (Hsu's min(n) − 1), so the plan does not promise a liberal df's power.
    alt = "greater" if alternative == "less" else alternative
    return welch_power(n, abs(effect), sd_t, sd_c, alpha=alpha, alternative=alt, df_rule=df_rule)


def seeds_needed(*, effect: float, sd_between_seeds: float, power: float = 0.8, alpha: float = 0.05,
                 alternative: str = "two-sided", sd_treated: float | None = None,
                 df_rule: str = "hsu") -> SeedPlan:
    """Seeds per arm for the default test to detect ``effect`` (percentage points of rate).

    Planned on the rate scale with each arm's SD and the default's df (Hsu's ``min(n) − 1``);
    the default tests the same seeds on the log-odds scale, where this is its power when the
    per-seed rates are not strongly skewed (see the tests for the simulated check).

    Parameters
    ----------
    effect : float
        Target difference in proportions (e.g. 0.05 for 5 pp), in the direction of the
        alternative (a size: for ``"less"`` a drop of that size).
    sd_between_seeds : float
        SD of per-seed rates within the control arm (proportion scale), e.g. from
        :func:`estimate_between_seed_sd`; also the treated arm's unless ``sd_treated``.
    power, alpha : float
    alternative : {"two-sided", "greater", "less"}
    sd_treated : float, optional
        The treated arm's between-seed SD: treated students usually spread more than
        controls, and planning with the control's SD alone promises power it does not give.
    df_rule : {"hsu", "satterthwaite"}
        ``"hsu"`` plans for the default test (``logit-t``); ``"satterthwaite"`` for ``welch``
        (the default for a score such as the probe's ``prob``).

    Examples
    --------
    >>> plan = seeds_needed(effect=0.10, sd_between_seeds=0.05)  # d = 2
    >>> round(plan.seeds_exact, 2), plan.seeds_per_arm
    (5.09, 6)
    """
    _check(power, alpha)
    _alt(alternative)
    if not np.isfinite(effect) or effect == 0 or (effect < 0 and alternative != "less"):
        raise InputError(f"the target effect must be a positive difference, not {effect}")
    sd_t, sd_c = _sds(sd_between_seeds, sd_treated)
    d = abs(effect) / math.sqrt((sd_t**2 + sd_c**2) / 2.0)

    def gap(n: float) -> float:
        return _power(n, effect, sd_t, sd_c, alpha, alternative, df_rule) - power

    lo = 1.5  # df ≥ 0.5: the t distribution is defined from here on
    if gap(lo) >= 0:
        exact = lo  # "1.5 or fewer": any design of 2 seeds per arm has the power
    else:
        hi = 2.0
        while gap(hi) < 0:
            if hi > MAX_SEEDS:
                raise InputError(f"effect {100 * abs(effect):.3g} pp is too small for this spread: "
                                 f"more than {MAX_SEEDS} seeds per arm would be needed")
            lo, hi = hi, hi * 2.0
        exact = float(optimize.brentq(gap, lo, hi, xtol=1e-10))
    if exact > MAX_SEEDS:
        raise InputError(f"effect {100 * abs(effect):.3g} pp is too small for this spread: more than "
                         f"{MAX_SEEDS} seeds per arm would be needed")
    whole = max(2, math.ceil(exact - 1e-9))
    return SeedPlan(whole, exact, float(effect), float(sd_between_seeds), float(d),
                    _power(whole, effect, sd_t, sd_c, alpha, alternative, df_rule), alpha,
                    alternative,
                    sd_t, sd_c)


def detectable_effect(*, seeds_per_arm: int, sd_between_seeds: float, power: float = 0.8,
                      alpha: float = 0.05, alternative: str = "two-sided",
                      sd_treated: float | None = None, df_rule: str = "hsu") -> SeedPlan:
    """Smallest difference (proportion) the default test detects with ``seeds_per_arm`` seeds per arm.

    Same model as :func:`seeds_needed` (each arm's own SD, the default's df).
    """
    _check(power, alpha)
    _alt(alternative)
    if not 2 <= seeds_per_arm <= MAX_SEEDS:
        raise InputError(f"a seed-level test needs at least 2 seeds per arm (at most {MAX_SEEDS}), not {seeds_per_arm}")
    sd_t, sd_c = _sds(sd_between_seeds, sd_treated)
    scale = math.sqrt(sd_t**2 / seeds_per_arm + sd_c**2 / seeds_per_arm)

    def gap(z: float) -> float:
        return _power(seeds_per_arm, z * scale, sd_t, sd_c, alpha, alternative, df_rule) - power

    hi = 1.0
    while gap(hi) < 0:
        hi *= 2.0
        if hi > 1e6:
            raise InputError("no detectable effect could be found for these settings")
    z = float(optimize.brentq(gap, 0.0, hi, xtol=1e-12))
    effect = z * scale
    d = effect / math.sqrt((sd_t**2 + sd_c**2) / 2.0)
    return SeedPlan(int(seeds_per_arm), float(seeds_per_arm), effect, float(sd_between_seeds), d,
                    power, alpha, alternative, sd_t, sd_c)


def sd_upper_bound(sd: float, dof: int, *, confidence: float = 0.8) -> float:
    """One-sided upper confidence bound of an SD estimated on ``dof`` degrees of freedom.

    ``sd · sqrt(dof / χ²_{1−confidence}(dof))``: with a 3 + 3 pilot (2 df per arm) the
    80 % bound is 2.1× the estimate, so a plan from the point estimate alone promises
    power it will often not deliver.
    """
    if dof < 1:
        raise InputError("an SD estimated on 0 degrees of freedom has no bound: add seeds")
    return float(sd * math.sqrt(dof / stats.chi2.ppf(1 - confidence, dof)))


def power_table(*, effects_pp, seeds, sd_treated_pp: float, sd_control_pp: float,
                alpha: float = 0.05, alternative: str = "two-sided") -> pd.DataFrame:
    """Power of the default test over effects (percentage points) × seeds per arm.

    For reports: every column is on a scale a reader can use — the effect in pp and the
    two SDs it assumes in pp beside it.

    Returns
    -------
    pandas.DataFrame
        ``effect_pp, sd_treated_pp, sd_control_pp, seeds_per_arm, power``.
    """
    sd_t, sd_c = _sds(sd_control_pp / 100, sd_treated_pp / 100)
    rows = []
    for e in effects_pp:
        for g in seeds:
            rows.append({"effect_pp": float(e), "sd_treated_pp": float(sd_treated_pp),
                         "sd_control_pp": float(sd_control_pp), "seeds_per_arm": int(g),
                         "power": _power(int(g), e / 100, sd_t, sd_c, alpha, alternative)})
    return pd.DataFrame(rows)


def estimate_between_seed_sd(df: pd.DataFrame, *, trait: str | None = None,
                             conditions=None, metric: str = "hit") -> tuple[float, int, str]:
    """Pooled within-arm SD of per-seed rates from pilot data (responses table).

    Pools the per-seed variance over every (trait, condition) arm with ≥ 2
    seeds (restricted to ``trait`` / ``conditions`` when given). ``metric`` names
    what a seed's rate is made of: ``"hit"`` (sampled answers) or a score column
    in [0, 1] such as ``"prob"`` (the probability probe).

    Raises
    ------
    InputError
        When no arm has two seeds, or every arm's seeds share one rate (SD 0, e.g.
        no hits at all): a zero SD would make any effect look detectable.

    Returns
    -------
    (sd, df, description) — the pooled SD, its degrees of freedom and a sentence
    naming the arms used.
    """
    from subliminal_stats.stats.cells import per_seed_rates, score_cells

    rates = per_seed_rates(df if metric == "hit" else score_cells(df, metric))
    if trait is not None:
        if trait not in set(rates["trait"]):
            raise InputError(f"unknown trait label {trait!r}: the data has "
                             f"{', '.join(sorted(map(str, rates['trait'].unique())))}")
        rates = rates[rates["trait"] == trait]
    if conditions:
        rates = rates[rates["condition"].isin(list(conditions))]
    ss, dof, used = 0.0, 0, []
    for (t, c), group in rates.groupby(["trait", "condition"], sort=False):
        if len(group) >= 2:
            ss += float(((group["rate"] - group["rate"].mean()) ** 2).sum())
            dof += len(group) - 1
            used.append(f"{t}/{c} ({len(group)} seeds)")
    if dof == 0:
        raise InputError("no arm of the pilot data has 2 or more seeds, so the between-seed SD "
                         "cannot be estimated; pass --sd instead")
    sd = math.sqrt(ss / dof)
    if sd == 0:
        what = "hit rate" if metric == "hit" else f"mean {metric}"
        raise InputError(f"every seed of an arm has the same {what} in the pilot data (between-seed "
                         "SD 0, e.g. no hits at all), so it cannot size a design; pass --sd, "
                         "or plan on a score that varies (e.g. --metric prob)")
    return sd, dof, "pooled over " + ", ".join(used)


def estimate_arm_sds(df: pd.DataFrame, *, treated: str = "treated", control: str = "control",
                     trait: str | None = None, metric: str = "hit") -> dict:
    """Each arm's between-seed SD of per-seed rates from pilot data (pooled over traits).

    Returns
    -------
    dict
        ``{"treated": (sd, df) or None, "control": (sd, df) or None}``: an arm with fewer
        than 2 seeds per trait gives ``None``.
    """
    from subliminal_stats.stats.cells import per_seed_rates, score_cells

    rates = per_seed_rates(df if metric == "hit" else score_cells(df, metric))
    if trait is not None:
        rates = rates[rates["trait"] == trait]
    out = {}
    for role, label in (("treated", treated), ("control", control)):
        ss, dof = 0.0, 0
        for _, group in rates[rates["condition"] == label].groupby("trait", sort=False):
            if len(group) >= 2:
                ss += float(((group["rate"] - group["rate"].mean()) ** 2).sum())
                dof += len(group) - 1
        out[role] = (math.sqrt(ss / dof), dof) if dof else None
    return out
