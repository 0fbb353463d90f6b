"""Defences and doses on per-seed rates: efficacy with a Fieller interval, TOST, a dose trend.

* :func:`efficacy` — share of the undefended effect a defence removes,
  ``E = (U − D) / (U − R)`` (U undefended, D defended, R the reference: control students or
  the base model), with Fieller's interval (the ratio's exact-under-normality interval: it
  is unbounded when the undefended effect itself is not clearly non-zero, and says so);
* :func:`tost` — "blocked to within δ pp of the reference": two one-sided Welch tests
  (df capped as for the default test); equivalent when the ``1 − 2α`` interval lies inside
  ``(−δ, δ)``. Never "no transfer" from a non-significant difference;
* :func:`dose_trend` — the slope of per-seed rates on a numeric dose (OLS, t on
  ``seeds − 2`` df) and, when doses have ≥ 2 seeds, the smallest dose whose difference from
  dose 0 the default test detects (Holm over doses).

The seed is the unit: every input is one arm's per-seed rates (0–1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A

__all__ = ["DoseTrend", "Efficacy", "Equivalence", "dose_trend", "efficacy", "tost"]


def _arm(x, name: str, minimum: int = 2) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size < minimum or not np.isfinite(a).all():
        raise InputError(f"the {name} arm needs at least {minimum} finite per-seed rates, "
                         f"got {a.size}")
    return a


@dataclass(frozen=True)
class Efficacy:
    """Share of the undefended effect removed, with its interval (proportions; 1 = blocked)."""

    estimate: float
    ci_low: float
    ci_high: float
    undefended_effect: float
    defended_effect: float
    df: float
    confidence_level: float
    bounded: bool
    note: str = ""


def efficacy(undefended, defended, reference, *, confidence_level: float = 0.95,
             reference_var: float | None = None) -> Efficacy:
    """Efficacy ``(U − D) / (U − R)`` of a defence with Fieller's interval.

    Parameters
    ----------
    undefended, defended, reference : array-like
        Per-seed rates of each arm. ``reference`` may be one value (the base model) with
        ``reference_var`` its sampling variance
        (:func:`~subliminal_stats.stats.arrays.single_model_variance`).
    confidence_level : float

    Notes
    -----
    With arm means ū, d̄, r̄ and variances of the means v_u, v_d, v_r, the numerator
    N = ū − d̄ and denominator M = ū − r̄ share v_u: cov(N, M) = v_u. Fieller's set is
    {θ : (N − θM)² ≤ q² (v_N − 2θ v_u + θ² v_M)}; it is an interval when
    M² > q² v_M (the undefended effect is significant at this level), else unbounded.
    q is a t quantile on the Welch–Satterthwaite df of N − θ̂M, capped at
    2 (min seeds − 1) as for the default test.
    """
    u, d = _arm(undefended, "undefended"), _arm(defended, "defended")
    r = np.asarray(reference, dtype=float).ravel()
    level = A.check_confidence_level(confidence_level)
    if r.size >= 2:
        vr, df_r = r.var(ddof=1) / r.size, r.size - 1.0
    elif reference_var is not None:
        vr, df_r = float(reference_var), math.inf
    else:
        raise InputError("a one-value reference (the base model) needs reference_var")
    vu, vd = u.var(ddof=1) / u.size, d.var(ddof=1) / d.size
    n_, m_ = u.mean() - d.mean(), u.mean() - r.mean()
    theta = n_ / m_ if m_ != 0 else math.nan
    parts = [(vu * (1 - (theta if math.isfinite(theta) else 0.0)) ** 2, u.size - 1.0),
             (vd, d.size - 1.0), (vr * (theta if math.isfinite(theta) else 0.0) ** 2, df_r)]
    total = sum(p for p, _ in parts)
    denom = sum(p**2 / k for p, k in parts if k != math.inf and p > 0)
    df = total**2 / denom if denom > 0 else math.inf
    seeds = [u.size, d.size] + ([r.size] if r.size >= 2 else [])
    df = min(df, 2.0 * (min(seeds) - 1.0))
    q = float(stats.t.ppf(0.5 + level / 2, df))
    v_n, v_m, c = vu + vd, vu + vr, vu
    a = m_**2 - q**2 * v_m
    b = -2 * (n_ * m_ - q**2 * c)
    cc = n_**2 - q**2 * v_n
    disc = b * b - 4 * a * cc
    if a > 0 and disc >= 0:
        lo, hi = sorted(((-b - math.sqrt(disc)) / (2 * a), (-b + math.sqrt(disc)) / (2 * a)))
        return Efficacy(float(theta), lo, hi, float(m_), float(d.mean() - r.mean()), df,
                        level, True)
    note = ("the undefended effect is not clearly above the reference at this level, so the "
            "share removed is unbounded: any efficacy is compatible with the data")
    return Efficacy(float(theta), -math.inf, math.inf, float(m_), float(d.mean() - r.mean()),
                    df, level, False, note)


@dataclass(frozen=True)
class Equivalence:
    """TOST of "defended within ±δ of the reference"."""

    difference: float
    margin: float
    p_value: float
    ci_low: float
    ci_high: float
    df: float
    alpha: float
    equivalent: bool

    @property
    def verdict(self) -> str:
        within = f"within ±{100 * self.margin:g} pp"
        return (f"blocked ({within} of the reference)" if self.equivalent
                else f"not shown to be blocked ({within} not established)")


def tost(defended, reference, *, margin: float, alpha: float = 0.05,
         reference_var: float | None = None) -> Equivalence:
    """Two one-sided tests: is the defended arm within ``±margin`` of the reference?

    ``margin`` is a proportion (0.02 = 2 pp), chosen by the user and printed. The two
    one-sided Welch tests (df capped at 2 (min seeds − 1)) reject "difference ≤ −δ" and
    "difference ≥ δ"; ``p_value`` is the larger of the two, and ``equivalent`` holds when it
    is at most α — exactly when the ``1 − 2α`` interval lies inside ``(−δ, δ)``.
    """
    if not margin > 0:
        raise InputError(f"the equivalence margin must be positive, not {margin}")
    d = _arm(defended, "defended")
    r = np.asarray(reference, dtype=float).ravel()
    if r.size >= 2:
        res = A.welch_t(d, r, confidence_level=1 - 2 * alpha)
    elif reference_var is not None:
        res = A.paired_vs_single(d, float(r.mean()), float(reference_var),
                                 confidence_level=1 - 2 * alpha)
    else:
        raise InputError("a one-value reference (the base model) needs reference_var")
    est, se, df = float(res.estimate), float(res.se), float(res.df)
    if not se > 0:
        raise InputError("zero spread between seeds: equivalence cannot be tested")
    p_low = float(stats.t.sf((est + margin) / se, df))  # H0: diff ≤ −δ
    p_high = float(stats.t.cdf((est - margin) / se, df))  # H0: diff ≥ δ
    p = max(p_low, p_high)
    return Equivalence(est, float(margin), p, float(res.ci_low), float(res.ci_high), df,
                       float(alpha), bool(p <= alpha))


@dataclass(frozen=True)
class DoseTrend:
    """Slope of per-seed rates on dose, and the smallest dose detected (if testable)."""

    slope: float
    ci_low: float
    ci_high: float
    p_value: float
    df: float
    n_seeds: int
    n_doses: int
    smallest_detected_dose: float | None
    note: str


def dose_trend(dose, rates, *, confidence_level: float = 0.95, alpha: float = 0.05) -> DoseTrend:
    """OLS slope of per-seed rates on a numeric dose, t on ``seeds − 2`` df.

    ``dose`` and ``rates`` give one value per seed. With at least 2 seeds at dose 0 and at a
    dose, each dose is compared with dose 0 by the default test (Holm over the doses) and the
    smallest detected dose is reported; with one seed per dose it cannot be (said in ``note``).
    """
    x = np.asarray(dose, dtype=float).ravel()
    y = np.asarray(rates, dtype=float).ravel()
    if x.size != y.size or x.size < 3 or np.unique(x).size < 2:
        raise InputError("a dose trend needs at least 3 seeds over at least 2 doses")
    res = stats.linregress(x, y)
    df = x.size - 2.0
    q = float(stats.t.ppf(0.5 + confidence_level / 2, df))
    doses = np.unique(x)
    counts = {float(dd): int((x == dd).sum()) for dd in doses}
    note = ""
    smallest = None
    if min(counts.values()) < 2:
        note = (f"{min(counts.values())} seed at some dose: the trend rests on between-dose "
                "scatter only (seed noise and dose effect are confounded per dose), and no "
                "single dose can be tested against dose 0 — train ≥ 2 seeds per dose")
    else:
        zero = y[x == doses[0]]
        p = [float(A.welch_t(y[x == dd], zero).p_value) for dd in doses[1:]]
        adjusted, _ = A.adjust_pvalues(p, method="holm")
        hits = [float(dd) for dd, pa in zip(doses[1:], adjusted, strict=True) if pa <= alpha]
        smallest = min(hits) if hits else None
    return DoseTrend(float(res.slope), float(res.slope - q * res.stderr),
                     float(res.slope + q * res.stderr), float(res.pvalue), df, int(x.size),
                     int(doses.size), smallest, note)
