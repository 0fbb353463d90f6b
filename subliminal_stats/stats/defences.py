"""Defences and doses on per-seed rates: efficacy with a Fieller interval, TOST, a dose trend.

* :func:`efficacy` — share of the undefended effect a defence removes,
  ``E = (U − D) / (U − R)`` (U undefended, D defended, R the reference: control students or
  the base model), with Fieller's interval on Hsu's df (calibrated over the scenario grid;
  it is unbounded — "cannot tell" — when the undefended effect itself is not clearly
  non-zero, and says so);
* :func:`tost` — "blocked to within δ pp of the reference": two one-sided tests on per-seed
  rates, by default with the higher arm's spread scaled to its mean under each null and
  Hsu's df (plain Welch TOST is far from calibrated when δ is large against the rates).
  Never "no transfer" from a non-significant difference;
* :func:`dose_trend` — the slope of per-seed rates on a numeric dose (OLS, t on
  ``seeds − 2`` df) and, when doses have ≥ 2 seeds, the smallest dose whose difference from
  dose 0 the default test detects (Holm over doses).

The seed is the unit: every input is one arm's per-seed rates (0–1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A

__all__ = ["DEFAULT_EFFICACY_METHOD", "DEFAULT_TOST_METHOD", "EFFICACY_METHODS", "TOST_METHODS",
           "DoseTrend", "Efficacy", "Equivalence", "FiellerBatch", "dose_trend", "efficacy",
           "fieller_batch", "tost", "tost_batch"]


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
    method: str = "fieller-hsu"


#: Interval methods for :func:`efficacy` (the df rule of :func:`fieller_batch`), default
#: first. Over the scenario grid (1,944 cells, 1,000 simulations each;
#: :mod:`~subliminal_stats.stats.defences_calibration`) ``fieller-hsu`` covers the true
#: efficacy ≥ 94.6 % in every cell; ``fieller`` (capped Welch df) falls to 91.4 % at 3 seeds
#: with a large effect, so it is offered but not calibrated.
EFFICACY_METHODS = ("fieller-hsu", "fieller")
DEFAULT_EFFICACY_METHOD = "fieller-hsu"

UNBOUNDED_NOTE = ("cannot tell: the undefended effect is not clearly above the reference at "
                  "this level, so the share removed is unbounded (any efficacy is compatible "
                  "with the data)")


@dataclass(frozen=True)
class FiellerBatch:
    """Vectorised Fieller results (arrays over the leading axes of the inputs)."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: np.ndarray
    bounded: np.ndarray
    undefended_effect: np.ndarray
    defended_effect: np.ndarray


def _reference_moments(r, reference_var, ndim):
    """Mean, variance of the mean and df of the reference arm (seeded or one model).

    ``ndim`` is that of the seeded arms: a reference with as many axes has a seeds axis.
    """
    r = np.asarray(r, dtype=float)
    if reference_var is None:
        if r.ndim == 0 or r.shape[-1] < 2:
            raise InputError("a one-value reference (the base model) needs reference_var")
        g = r.shape[-1]
        return r.mean(axis=-1), r.var(axis=-1, ddof=1) / g, float(g - 1), g
    mean = r.mean(axis=-1) if r.ndim == ndim else r
    return mean, np.asarray(reference_var, dtype=float), math.inf, None


def fieller_batch(undefended, defended, reference, *, confidence_level: float = 0.95,
                  reference_var=None, method: str = DEFAULT_EFFICACY_METHOD) -> FiellerBatch:
    """Fieller interval of ``(U − D) / (U − R)``, vectorised over leading axes.

    Parameters
    ----------
    undefended, defended : arrays (..., G)
        Per-seed rates (last axis = seeds).
    reference : array (..., G_r) or (..., 1)
        Per-seed rates of the reference (control students), or the base model's rate with
        ``reference_var`` its sampling variance.
    method : {"fieller-hsu", "fieller"}
        The df of the t quantile: ``"fieller-hsu"`` (default) Hsu's ``min seeds − 1``
        (conservative; calibrated over the grid); ``"fieller"`` the Welch–Satterthwaite df
        of ``N − θ̂M`` capped at ``2 (min seeds − 1)`` as the default test's (covers only
        91.4 % at 3 seeds per arm with a large effect).

    Notes
    -----
    With arm means ū, d̄, r̄ and variances of the means v_u, v_d, v_r, the numerator
    N = ū − d̄ and denominator M = ū − r̄ share v_u: cov(N, M) = v_u. Fieller's set is
    {θ : (N − θM)² ≤ q² (v_N − 2θ v_u + θ² v_M)}; it is an interval when
    M² > q² v_M (the undefended effect is significant at this level), else unbounded (the
    whole line, or two rays, reported as the whole line: "cannot tell").
    """
    if method not in EFFICACY_METHODS:
        raise InputError(f"efficacy method must be one of {', '.join(EFFICACY_METHODS)}, "
                         f"not {method!r}")
    level = A.check_confidence_level(confidence_level)
    u = np.asarray(undefended, dtype=float)
    d = np.asarray(defended, dtype=float)
    gu, gd = u.shape[-1], d.shape[-1]
    if gu < 2 or gd < 2:
        raise InputError("the undefended and defended arms need at least 2 seeds each")
    r_mean, vr, df_r, gr = _reference_moments(reference, reference_var, u.ndim)
    vu, vd = u.var(axis=-1, ddof=1) / gu, d.var(axis=-1, ddof=1) / gd
    n_ = u.mean(axis=-1) - d.mean(axis=-1)
    m_ = u.mean(axis=-1) - r_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(m_ != 0, n_ / np.where(m_ != 0, m_, 1.0), np.nan)
        th = np.where(np.isfinite(theta), theta, 0.0)
        p_u, p_d, p_r = vu * (1 - th) ** 2, vd, vr * th**2
        total = p_u + p_d + p_r
        denom = p_u**2 / (gu - 1) + p_d**2 / (gd - 1)
        if math.isfinite(df_r):
            denom = denom + p_r**2 / df_r
        seeds = [gu, gd] + ([gr] if gr is not None else [])
        cap = 2.0 * (min(seeds) - 1.0)
        df = np.where(denom > 0, total**2 / np.where(denom > 0, denom, 1.0), cap)
        df = np.minimum(df, cap)
        if method == "fieller-hsu":
            df = np.full_like(df, min(seeds) - 1.0)
        q = special.stdtrit(df, 0.5 + level / 2)
        q2 = q * q
        v_n, v_m, c = vu + vd, vu + vr, vu
        a = m_**2 - q2 * v_m
        b = -2 * (n_ * m_ - q2 * c)
        cc = n_**2 - q2 * v_n
        disc = b * b - 4 * a * cc
        bounded = (a > 0) & (disc >= 0)
        root = np.sqrt(np.where(bounded, disc, 0.0))
        two_a = np.where(bounded, 2 * a, 1.0)
        lo = np.where(bounded, (-b - root) / two_a, -np.inf)
        hi = np.where(bounded, (-b + root) / two_a, np.inf)
    return FiellerBatch(theta, lo, hi, df, bounded, m_, d.mean(axis=-1) - r_mean)


def efficacy(undefended, defended, reference, *, confidence_level: float = 0.95,
             reference_var: float | None = None,
             method: str = DEFAULT_EFFICACY_METHOD) -> Efficacy:
    """Efficacy ``(U − D) / (U − R)`` of a defence with Fieller's interval.

    Parameters
    ----------
    undefended, defended, reference : array-like
        Per-seed rates of each arm. ``reference`` may be one value (the base model) with
        ``reference_var`` its sampling variance
        (:func:`~subliminal_stats.stats.arrays.single_model_variance`).
    confidence_level : float
    method : {"fieller-hsu", "fieller"}
        See :func:`fieller_batch`. Where each is calibrated (coverage of the true efficacy
        over the scenario grid) is in
        :func:`subliminal_stats.stats.defences_calibration.summary`.

    Notes
    -----
    When the undefended effect is not significant at this level the interval is unbounded
    and ``bounded`` is False, with the note saying "cannot tell": the data are compatible
    with any efficacy. Never read such a result as "blocked".
    """
    u, d = _arm(undefended, "undefended"), _arm(defended, "defended")
    r = np.asarray(reference, dtype=float).ravel()
    if r.size < 2 and reference_var is None:
        raise InputError("a one-value reference (the base model) needs reference_var")
    if r.size < 1 or not np.isfinite(r).all():
        raise InputError("the reference needs at least one finite rate")
    res = fieller_batch(u, d, r if r.size >= 2 else r[:1],
                        confidence_level=confidence_level,
                        reference_var=None if r.size >= 2 else reference_var, method=method)
    bounded = bool(res.bounded)
    return Efficacy(float(res.estimate), float(res.ci_low), float(res.ci_high),
                    float(res.undefended_effect), float(res.defended_effect), float(res.df),
                    float(confidence_level), bounded, "" if bounded else UNBOUNDED_NOTE, method)


#: TOST variants, default first (see :func:`tost_batch`).
TOST_METHODS = ("tost-null-spread", "tost-welch", "tost-hsu")
DEFAULT_TOST_METHOD = "tost-null-spread"


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
    method: str = DEFAULT_TOST_METHOD
    note: str = ""

    @property
    def verdict(self) -> str:
        within = f"within ±{100 * self.margin:g} pp"
        return (f"blocked ({within} of the reference)" if self.equivalent
                else f"not shown to be blocked ({within} not established)")


def _one_sided_p(est, a, b, n_a, n_b, bound, upper, method):
    """p of one TOST half: H0 ``diff ≥ bound`` (upper) or ``diff ≤ bound``; a, b = var of means."""
    se = np.sqrt(a + b)
    # An unbounded null spread (a seed at 0) overflows here harmlessly: p is then 0.5 or 1.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        parts = a**2 / (n_a - 1) + (b**2 / (n_b - 1) if math.isfinite(n_b) else 0.0)
        df = np.where(parts > 0, (a + b) ** 2 / np.where(parts > 0, parts, 1.0), n_a - 1.0)
    small = min(n_a, n_b)
    if method == "tost-welch":
        df = np.minimum(df, 2.0 * (small - 1.0))
    else:  # Hsu's df: min seeds − 1 whatever the spreads
        df = np.full(np.shape(se), small - 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ok = se > 0
        z = (est - bound) / np.where(ok, se, 1.0)
        p = special.stdtr(df, z) if upper else special.stdtr(df, -z)
    return np.where(ok, p, np.nan), se, df


def _lognormal_var(x, mean):
    """Variance of the mean of lognormal seeds with ``x``'s log-scale SD and mean ``mean``.

    A seed at exactly 0 makes the log-scale SD unbounded (→ never "equivalent").
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s2 = np.log(np.maximum(x, 1e-12)).var(axis=-1, ddof=1)
        return mean**2 * np.expm1(s2) / x.shape[-1]


def tost_batch(defended, reference, *, margin, alpha: float = 0.05, reference_var=None,
               method: str = DEFAULT_TOST_METHOD):
    """Vectorised TOST (see :func:`tost`): ``(p_value, equivalent, TTest)`` arrays.

    Parameters
    ----------
    defended : array (..., G)
        Per-seed rates of the defended arm.
    reference : array (..., G_r) or (...)
        Per-seed rates of the reference (control), or the base model's rate with
        ``reference_var`` its sampling variance.
    method : {"tost-null-spread", "tost-welch", "tost-hsu"}
        ``"tost-welch"``: two one-sided Welch tests, df capped as the default test's;
        ``"tost-hsu"``: the same on Hsu's ``min seeds − 1`` df. Both claim "equivalent" far
        too often (up to 45 % at a nominal 5 %) when the margin is large against the rates:
        per-seed rates of a rare trait are right-skewed, so an arm whose true mean sits at
        the margin usually shows a low mean *and* a low spread.
        ``"tost-null-spread"`` (default): each one-sided test gives the arm that the null
        puts higher the spread it would have at its mean under that null — the larger of
        SD × max(1, null mean / observed mean) (a constant coefficient of variation, as
        logit-normal seeds of a rare trait have) and the SD of lognormal seeds with the
        arm's log-scale SD at that mean — and uses Hsu's df. A seed at exactly 0 makes the
        log-scale spread unbounded: never "equivalent" then (a defence that brings every
        seed to 0 needs a binomial bound, not this test). It is the calibrated one over the scenario grid
        (:mod:`~subliminal_stats.stats.defences_calibration`), at a cost in power when the
        margin is many times the rates (it will not call "equivalent" what few seeds cannot
        tell from a heavy right tail).

    Returns
    -------
    (p_value, equivalent, TTest)
        The TTest is the plain Welch comparison at the ``1 − 2α`` level (its interval is the
        one printed; with the default method "equivalent" can be stricter than that
        interval lying inside ``(−δ, δ)``).
    """
    if method not in TOST_METHODS:
        raise InputError(f"TOST method must be one of {', '.join(TOST_METHODS)}, not {method!r}")
    d = np.asarray(defended, dtype=float)
    r = np.asarray(reference, dtype=float)
    nd = d.shape[-1]
    md, vd = d.mean(axis=-1), d.var(axis=-1, ddof=1) / nd
    if reference_var is None:
        nr = r.shape[-1]
        mr, vr = r.mean(axis=-1), r.var(axis=-1, ddof=1) / nr
        res = A.welch_t(d, r, confidence_level=1 - 2 * alpha)
        binomial_ref = False
    else:
        mr = r.mean(axis=-1) if r.ndim == d.ndim else r
        vr, nr = np.asarray(reference_var, dtype=float), math.inf
        res = A.paired_vs_single(d, mr, vr, confidence_level=1 - 2 * alpha)
        binomial_ref = True
    margin = np.asarray(margin, dtype=float)
    est = md - mr
    if method in ("tost-welch", "tost-hsu") and not binomial_ref:
        se, df = res.se, res.df
        if method == "tost-hsu":
            df = np.full(np.shape(se), min(nd, nr) - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = se > 0
            s_ = np.where(ok, se, 1.0)
            p = np.maximum(special.stdtr(df, -(est + margin) / s_),  # H0: diff ≤ −δ
                           special.stdtr(df, (est - margin) / s_))  # H0: diff ≥ δ
            p = np.where(ok, p, np.nan)
        return p, np.where(ok, p <= alpha, False), res
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "tost-null-spread":
            # H0 diff ≥ δ puts the defended arm at mr + δ; H0 diff ≤ −δ the reference at md + δ.
            kd = np.where(md > 0, np.maximum(1.0, (mr + margin) / np.where(md > 0, md, 1.0)),
                          np.inf)
            kr = np.where(mr > 0, np.maximum(1.0, (md + margin) / np.where(mr > 0, mr, 1.0)),
                          np.inf)
            # A single model's sampling variance is binomial (∝ its rate), not seed spread.
            kr2 = kr if binomial_ref else kr**2
            vd_hi = np.where(np.isfinite(kd), vd * kd**2, np.inf)
            vr_hi = np.where(np.isfinite(kr2), vr * kr2, np.inf)
            # Floor: the variance of the mean of lognormal seeds with the arm's log-scale SD
            # at the null mean. The sample CV of 5–10 skewed seeds is itself biased low (the
            # CV scaling alone let 10.3 % through at a 0.1 % rate, SD 3× the reference's).
            vd_hi = np.maximum(vd_hi, _lognormal_var(d, np.maximum(md, mr + margin)))
            if not binomial_ref:
                vr_hi = np.maximum(vr_hi, _lognormal_var(r, np.maximum(mr, md + margin)))
            rule = "tost-hsu"
        else:
            vd_hi, vr_hi, rule = vd, vr, method
        p_high, _, _ = _one_sided_p(est, vd_hi, vr, nd, nr, margin, True, rule)
        p_low, _, _ = _one_sided_p(est, vd, vr_hi, nd, nr, -margin, False, rule)
        p = np.maximum(p_high, p_low)
        # An arm with zero observed mean cannot be scaled: never "equivalent" (p = 1).
        p = np.where(np.isinf(vd_hi) | np.isinf(vr_hi), 1.0, p)
    ok = np.isfinite(p)
    return p, np.where(ok, p <= alpha, False), res


def tost(defended, reference, *, margin: float, alpha: float = 0.05,
         reference_var: float | None = None,
         method: str = DEFAULT_TOST_METHOD) -> Equivalence:
    """Two one-sided tests: is the defended arm within ``±margin`` of the reference?

    ``margin`` is a proportion (0.02 = 2 pp), chosen by the user and printed. The two
    one-sided tests reject "difference ≤ −δ" and "difference ≥ δ"; ``p_value`` is the
    larger of the two, and ``equivalent`` holds when it is at most α. With
    ``method="tost-welch"`` that is exactly the ``1 − 2α`` Welch interval lying inside
    ``(−δ, δ)``; the default ``"tost-null-spread"`` is stricter (see :func:`tost_batch`:
    the plain version claims "equivalent" up to 45 % of the time at the margin when δ is
    large against the rates). The false-"equivalent" rate at the margin over the scenario
    grid is in :mod:`~subliminal_stats.stats.defences_calibration`.
    """
    if not margin > 0:
        raise InputError(f"the equivalence margin must be positive, not {margin}")
    d = _arm(defended, "defended")
    r = np.asarray(reference, dtype=float).ravel()
    if r.size < 2 and reference_var is None:
        raise InputError("a one-value reference (the base model) needs reference_var")
    p, eq, res = tost_batch(d, r if r.size >= 2 else float(r.mean()), margin=margin,
                            alpha=alpha, reference_var=None if r.size >= 2 else reference_var,
                            method=method)
    if not float(res.se) > 0:
        raise InputError("zero spread between seeds: equivalence cannot be tested")
    lo, hi = float(res.ci_low), float(res.ci_high)
    note = ""
    if not eq and -margin < lo and hi < margin:
        # Never let the verdict contradict the printed interval without saying why.
        note = (f"the {100 * (1 - 2 * alpha):g} % Welch interval lies inside ±{100 * margin:g} pp, "
                "but an arm's per-seed rates are too skewed (or a seed is at 0) to rule out a "
                "heavy right tail at the margin: not shown to be blocked (method "
                f"{method}; tost-welch would say blocked but is not calibrated here)")
    return Equivalence(float(res.estimate), float(margin), float(p), lo, hi, float(res.df),
                       float(alpha), bool(eq), method, note)


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
