"""Frozen result objects shared by every statistical method.

Every comparison method returns a :class:`ComparisonResult`; ``to_row()``
gives one tidy dict (pingouin-style) whose keys are a public interface used by
``subliminal-stats test --json``, the reports and the exports.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

Alternative = Literal["two-sided", "greater", "less"]

#: Keys every tidy row carries (``test --json`` guarantees these).
ROW_KEYS: tuple[str, ...] = (
    "trait",
    "treated",
    "control",
    "estimate_pp",
    "ci_low_pp",
    "ci_high_pp",
    "p_value",
    "p_adjusted",
    "method",
    "n_seeds_treated",
    "n_seeds_control",
    "significant",
    "verdict",
    "family",
    "warnings",
)


@dataclass(frozen=True)
class ConfidenceInterval:
    """An interval on the proportion scale (0–1)."""

    low: float
    high: float


@dataclass(frozen=True)
class ComparisonResult:
    """Treated vs a reference arm (control students or the base model).

    ``estimate``, ``ci_low`` and ``ci_high`` are differences of proportions
    (treated − reference, 0–1 scale); the ``*_pp`` properties give percentage points.

    Attributes
    ----------
    calibrated : bool
        False when simulation shows the method over-rejects or under-covers in
        this design; ``simulated_fpr`` then says by how much.
    warnings : tuple of str
        Plain-language caveats (e.g. "3 vs 3 seeds: smallest two-sided p is 0.10").
    """

    trait: str
    treated: str
    control: str
    method: str
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    n_seeds_treated: int
    n_seeds_control: int
    alternative: Alternative = "two-sided"
    confidence_level: float = 0.95
    statistic: float = math.nan
    df: float = math.nan
    p_adjusted: float = math.nan
    adjust_method: str = "none"
    alpha: float = 0.05
    odds_ratio: float = math.nan
    odds_ratio_ci_low: float = math.nan
    odds_ratio_ci_high: float = math.nan
    calibrated: bool = True
    simulated_fpr: float = math.nan
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: Longer description of ``method`` (e.g. the df rule, the resamples).
    method_detail: str = ""
    #: Simulated coverage of the interval and the simulations behind both figures.
    simulated_coverage: float = math.nan
    calibration_sims: int = 0
    #: "calibrated for this design", "NOT CALIBRATED…" or "unknown (n simulations…)".
    calibration: str = ""
    #: Smallest p the design can give (exact permutation), raw and after the adjustment.
    min_p: float = math.nan
    min_p_adjusted: float = math.nan
    #: The multiplicity family this p was adjusted in (which traits × comparison × method).
    family: str = ""
    #: The interval at the family-adjusted level (t methods): excludes 0 exactly when the
    #: verdict rejects; equal to the interval when nothing was adjusted.
    ci_low_adjusted: float = math.nan
    ci_high_adjusted: float = math.nan
    #: ``logit-t`` only: the reference's typical rate (expit of its seeds' mean log-odds), at
    #: which the log-odds shift and its interval are read as percentage points.
    reference_rate: float = math.nan

    @property
    def estimate_pp(self) -> float:
        return 100.0 * self.estimate

    @property
    def ci_low_pp(self) -> float:
        return 100.0 * self.ci_low

    @property
    def ci_high_pp(self) -> float:
        return 100.0 * self.ci_high

    @property
    def significant(self) -> bool:
        """p (adjusted when an adjustment was made) at most ``alpha`` (the verdicts' rule)."""
        from subliminal_stats.stats.verdicts import rejects

        p = self.p_value if math.isnan(self.p_adjusted) else self.p_adjusted
        return rejects(p, self.alpha)

    @property
    def verdict(self) -> str:
        """``transfer`` / ``lower`` / ``no evidence`` / ``design cannot reach α`` / ``n/a``."""
        from subliminal_stats.stats.verdicts import verdict

        return verdict(self)

    def confidence_interval(self) -> ConfidenceInterval:
        return ConfidenceInterval(self.ci_low, self.ci_high)

    def with_adjustment(self, p_adjusted: float, method: str) -> ComparisonResult:
        return replace(self, p_adjusted=float(p_adjusted), adjust_method=method)

    def to_row(self) -> dict:
        """One tidy row: the :data:`ROW_KEYS` first, then every other field."""
        row = {
            "trait": self.trait,
            "treated": self.treated,
            "control": self.control,
            "estimate_pp": self.estimate_pp,
            "ci_low_pp": self.ci_low_pp,
            "ci_high_pp": self.ci_high_pp,
            "p_value": self.p_value,
            "p_adjusted": self.p_value if math.isnan(self.p_adjusted) else self.p_adjusted,
            "method": self.method,
            "n_seeds_treated": self.n_seeds_treated,
            "n_seeds_control": self.n_seeds_control,
            "significant": self.significant,
            "verdict": self.verdict,
            "family": self.family,
            "warnings": list(self.warnings),
        }
        for key, value in asdict(self).items():
            if key not in row:
                row[key] = list(value) if isinstance(value, tuple) else value
        return row
