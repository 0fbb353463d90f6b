"""The one wording of a verdict, used by the CLI, the JSON rows, the reports and the exports.

A verdict reads the multiplicity-adjusted p-value of a comparison (``p_adjusted``; the raw
p when nothing was adjusted) against ``alpha`` with ``p ≤ α`` — the same rule by which the
intervals are inverted, so a verdict never contradicts the interval it is printed with
(for the t methods the family-adjusted interval ``ci_low_adjusted``/``ci_high_adjusted``
excludes 0 exactly when the verdict is :data:`TRANSFER` or :data:`LOWER`).

Words
-----
:data:`TRANSFER`
    treated above the reference, adjusted p ≤ α.
:data:`LOWER`
    treated below the reference, adjusted p ≤ α (not a transfer of the trait).
:data:`NO_EVIDENCE`
    adjusted p > α although the design could have reached α: not evidence of absence
    (that needs an equivalence test).
:data:`CANNOT_REACH`
    the smallest p the design can produce is above α (e.g. exact permutation with 3 vs 3
    seeds: 0.10), so "not significant" says nothing.
:data:`NOT_AVAILABLE`
    no p-value (e.g. zero spread between seeds).
"""

from __future__ import annotations

import math

TRANSFER = "transfer"
LOWER = "lower"

#: How a result's calibration note starts when its method holds its level with room to spare
#: (simulated false-positive rate under 3.5 % for the design).
CONSERVATIVE_NOTE = "conservative here (loses power)"
NO_EVIDENCE = "no evidence"
CANNOT_REACH = "design cannot reach α"
NOT_AVAILABLE = "n/a"

#: Every verdict word, in the order a table legend lists them.
VERDICTS = (TRANSFER, LOWER, NO_EVIDENCE, CANNOT_REACH, NOT_AVAILABLE)

__all__ = ["CANNOT_REACH", "CONSERVATIVE_NOTE", "LOWER", "NOT_AVAILABLE", "NO_EVIDENCE", "TRANSFER", "VERDICTS",
           "format_p", "rejects", "verdict", "verdict_of"]


def format_p(p: float | None) -> str:
    """A p-value as ``test`` prints it: three decimals, ``<0.001`` below, ``n/a`` for none."""
    if p is None or math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def rejects(p: float, alpha: float) -> bool:
    """``p ≤ α`` (with a relative tolerance of 1e-9 for p-values such as 1/20 computed in floats)."""
    return bool(math.isfinite(p) and p <= alpha * (1 + 1e-9))


def verdict_of(*, p: float, estimate: float, alpha: float, min_p: float = math.nan) -> str:
    """The verdict word for one comparison.

    Parameters
    ----------
    p : float
        The (multiplicity-adjusted) p-value.
    estimate : float
        treated − reference; its sign separates :data:`TRANSFER` from :data:`LOWER`.
    alpha : float
    min_p : float, optional
        The smallest p the design can give (exact permutation); NaN when unbounded.
    """
    if not math.isfinite(p):
        return NOT_AVAILABLE
    if rejects(p, alpha):
        return TRANSFER if estimate > 0 else LOWER
    if math.isfinite(min_p) and not rejects(min_p, alpha):
        return CANNOT_REACH
    return NO_EVIDENCE


def verdict(result) -> str:
    """The verdict of a :class:`~subliminal_stats.stats.results.ComparisonResult`."""
    p = result.p_value if math.isnan(result.p_adjusted) else result.p_adjusted
    min_p = getattr(result, "min_p_adjusted", math.nan)
    if math.isnan(min_p):
        min_p = getattr(result, "min_p", math.nan)
    return verdict_of(p=p, estimate=result.estimate, alpha=result.alpha, min_p=min_p)
