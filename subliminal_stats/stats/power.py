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
from statsmodels.stats.power import TTestIndPower

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

    @property
    def effect_pp(self) -> float:
        return 100 * self.effect


def _alt(alternative: str) -> str:
    if alternative == "two-sided":
        return "two-sided"
    if alternative == "greater":
        return "larger"
    raise InputError(f"alternative must be 'two-sided' or 'greater', not {alternative!r}")


def _check(power, alpha):
    if not 0 < power < 1:
        raise InputError(f"power must be between 0 and 1 (e.g. 0.8), not {power}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1 (e.g. 0.05), not {alpha}")


def power_at(seeds_per_arm: float, effect_size_d: float, *, alpha=0.05,
             alternative="two-sided") -> float:
    """Power of the two-sample t test with ``seeds_per_arm`` seeds in each arm."""
    # The noncentral t directly: statsmodels' power() returns NaN for large effects
    # (e.g. 3 seeds per arm at d = 8), where the power is simply ≈ 1.
    n = float(seeds_per_arm)
    dof = 2.0 * n - 2.0
    nc = float(effect_size_d) * math.sqrt(n / 2.0)
    if alternative == "two-sided":
        crit = stats.t.ppf(1.0 - alpha / 2.0, dof)
        return float(stats.nct.sf(crit, dof, nc) + stats.nct.cdf(-crit, dof, nc))
    crit = stats.t.ppf(1.0 - alpha, dof)
    if alternative == "less":
        return float(stats.nct.cdf(-crit, dof, nc))
    return float(stats.nct.sf(crit, dof, nc))


def seeds_needed(*, effect: float, sd_between_seeds: float, power: float = 0.8, alpha: float = 0.05,
                 alternative: str = "two-sided") -> SeedPlan:
    """Seeds per arm for a two-sample t on per-seed rates to detect ``effect``.

    Parameters
    ----------
    effect : float
        Target difference in proportions (e.g. 0.05 for 5 pp).
    sd_between_seeds : float
        SD of per-seed rates within an arm (proportion scale), e.g. from
        :func:`estimate_between_seed_sd`.
    power, alpha : float
    alternative : {"two-sided", "greater"}

    Examples
    --------
    >>> plan = seeds_needed(effect=0.10, sd_between_seeds=0.05)  # d = 2
    >>> round(plan.seeds_exact, 2), plan.seeds_per_arm
    (5.09, 6)
    """
    _check(power, alpha)
    if not effect or not np.isfinite(effect) or effect <= 0:
        raise InputError(f"the target effect must be a positive difference, not {effect}")
    if not np.isfinite(sd_between_seeds) or sd_between_seeds <= 0:
        raise InputError(
            f"the between-seed SD must be positive, not {sd_between_seeds} (with zero spread "
            "between seeds any difference is detectable; check the pilot data)"
        )
    d = effect / sd_between_seeds
    exact = _solve_seeds(d, power=power, alpha=alpha, alternative=alternative)
    if not np.isfinite(exact) or exact > MAX_SEEDS:
        raise InputError(f"effect {100 * effect:.3g} pp is too small for this spread: more than "
                         f"{MAX_SEEDS} seeds per arm would be needed")
    whole = max(2, math.ceil(exact - 1e-9))
    return SeedPlan(whole, exact, float(effect), float(sd_between_seeds), float(d),
                    power_at(whole, d, alpha=alpha, alternative=alternative), alpha, alternative)


def _solve_seeds(d: float, *, power: float, alpha: float, alternative: str) -> float:
    """Continuous seeds per arm at which the t test reaches ``power`` (inf past MAX_SEEDS)."""
    def gap(n: float) -> float:
        return power_at(n, d, alpha=alpha, alternative=alternative) - power

    lo = 1.5  # df = 2n − 2 = 1: the t distribution is defined from here on
    if gap(lo) >= 0:
        return lo  # "1.5 or fewer": any design of 2 seeds per arm has the power
    hi = 2.0
    while gap(hi) < 0:
        if hi > MAX_SEEDS:
            return math.inf
        lo, hi = hi, hi * 2.0
    return float(optimize.brentq(gap, lo, hi, xtol=1e-10))


def detectable_effect(*, seeds_per_arm: int, sd_between_seeds: float, power: float = 0.8,
                      alpha: float = 0.05, alternative: str = "two-sided") -> SeedPlan:
    """Smallest difference (proportion) detectable with ``seeds_per_arm`` seeds in each arm."""
    _check(power, alpha)
    if seeds_per_arm < 2:
        raise InputError(f"a seed-level test needs at least 2 seeds per arm, not {seeds_per_arm}")
    if not np.isfinite(sd_between_seeds) or sd_between_seeds <= 0:
        raise InputError(f"the between-seed SD must be positive, not {sd_between_seeds}")
    d = float(TTestIndPower().solve_power(effect_size=None, nobs1=seeds_per_arm, alpha=alpha,
                                          power=power, ratio=1.0, alternative=_alt(alternative)))
    return SeedPlan(int(seeds_per_arm), float(seeds_per_arm), d * sd_between_seeds,
                    float(sd_between_seeds), d, power, alpha, alternative)


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
