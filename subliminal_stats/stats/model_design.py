"""What the mixed models share: the validated cells of two arms and inference on one coefficient.

Every model here compares a treated arm with a control arm from per-cell counts (one
row per condition × seed × question with ``hits`` out of ``n`` answers). The seed — one
trained student — is the unit of replication: seeds are nested in their condition (seed
``"0"`` of the control arm is not seed ``"0"`` of the treated arm), questions are crossed
with seeds and shared by both arms. The models themselves live in
:mod:`~subliminal_stats.stats.lmm`, :mod:`~subliminal_stats.stats.glmm` and
:mod:`~subliminal_stats.stats.gee`; their simulated false-positive rates in
:mod:`~subliminal_stats.stats.calibration_table` (``MIXED_FPR``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from subliminal_stats.errors import InputError
from subliminal_stats.stats.calibration_table import MIXED_FPR
from subliminal_stats.stats.results import ComparisonResult

#: Why a model cannot be fitted when every cell has the same rate.
NO_VARIATION = ("the data have no usable variation between cells (e.g. every cell has the same "
                "rate), so use the default seed-level test")

REQUIRED_COLUMNS = ("condition", "seed", "question", "hits", "n")

#: A method counts as calibrated in a design when its simulated two-sided FPR
#: at nominal 5 % is at most this (the tolerance the issue sets for the default test).
CALIBRATED_MAX_FPR = 0.065


@dataclass(frozen=True)
class ModelDesign:
    """Validated cells of the two arms, ready for model fitting."""

    frame: pd.DataFrame  # condition, seed, seed_key, question, hits, n, rate, treated
    n_seeds_treated: int
    n_seeds_control: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def df_between_seeds(self) -> int:
        return self.n_seeds_treated + self.n_seeds_control - 2


def prepare_cells(
    cells: pd.DataFrame, *, trait: str | None, treated: str, control: str
) -> ModelDesign:
    """Check the cells table and keep the treated and control rows."""
    if not isinstance(cells, pd.DataFrame):
        raise InputError(
            f"cells must be a pandas DataFrame with columns {', '.join(REQUIRED_COLUMNS)}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in cells.columns]
    if missing:
        raise InputError(
            f"cells table lacks column(s) {', '.join(missing)}; expected one row per "
            f"(condition, seed, question) with columns {', '.join(REQUIRED_COLUMNS)}"
        )
    if str(treated) == str(control):
        raise InputError(f"treated and control are both {treated!r}; name two different conditions")
    frame = cells
    if trait is not None and "trait" in frame.columns:
        frame = frame[frame["trait"].astype(str) == str(trait)]
    frame = frame[frame["condition"].astype(str).isin([str(treated), str(control)])].copy()
    frame["condition"] = frame["condition"].astype(str)
    for label in (treated, control):
        if not (frame["condition"] == str(label)).any():
            where = (
                f" for trait {trait!r}" if trait is not None and "trait" in cells.columns else ""
            )
            raise InputError(
                f"condition {label!r} has no rows{where}; check the --treated/--control labels "
                f"against the conditions in the data"
            )
    for col in ("hits", "n"):
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any():
            row = frame.index[values.isna()][0]
            raise InputError(
                f"column {col!r} has a missing or non-numeric value at row {row}; give counts"
            )
        frame[col] = values
    bad = (
        (frame["n"] <= 0)
        | (frame["hits"] < 0)
        | (frame["hits"] > frame["n"])
        | (frame["hits"] % 1 != 0)
        | (frame["n"] % 1 != 0)
    )
    if bad.any():
        row = frame.index[bad][0]
        raise InputError(
            f"row {row} has hits={frame.loc[row, 'hits']} and n={frame.loc[row, 'n']}; "
            f"need whole counts with 0 <= hits <= n and n >= 1"
        )
    frame["seed"] = frame["seed"].astype(str)
    frame["question"] = frame["question"].astype(str)
    # Repeated rows of one cell are pooled: they are answers to the same question by the same seed.
    frame = frame.groupby(["condition", "seed", "question"], as_index=False, sort=True)[
        ["hits", "n"]
    ].sum()
    frame["treated"] = (frame["condition"] == str(treated)).astype(float)
    # Seeds are nested in condition: the same seed label in two arms is two different students.
    frame["seed_key"] = frame["condition"] + "/" + frame["seed"]
    frame["rate"] = frame["hits"] / frame["n"]

    seeds = frame.groupby("condition")["seed"].nunique()
    n_treated, n_control = int(seeds[str(treated)]), int(seeds[str(control)])
    for label, count in ((treated, n_treated), (control, n_control)):
        if count < 2:
            raise InputError(
                f"condition {label!r} has {count} seed; a mixed model over seeds needs at least 2 "
                f"seeds per arm (compare against a single base model with the base-model test instead)"
            )
    total_hits, total_n = frame["hits"].sum(), frame["n"].sum()
    if total_hits == 0 or total_hits == total_n:
        what = "no hits" if total_hits == 0 else "only hits"
        raise InputError(
            f"{what} in both {treated!r} and {control!r}: the rates do not vary, so no model can "
            f"estimate a difference; report the raw counts instead"
        )
    notes = []
    per_seed = frame.groupby("seed_key")["question"].apply(frozenset)
    if per_seed.nunique() > 1:
        notes.append(
            "seeds were not asked the same questions (unbalanced design): the model uses every "
            "cell, but the t degrees of freedom are approximate"
        )
    return ModelDesign(
        frame=frame, n_seeds_treated=n_treated, n_seeds_control=n_control, notes=tuple(notes)
    )


def prepare_log_odds_cells(cells, *, trait, treated, control) -> ModelDesign:
    """:func:`prepare_cells` for the log-odds models (GLMM, GEE): an arm whose answers are
    all misses or all hits is an :class:`InputError` (its log-odds are infinite)."""
    design = prepare_cells(cells, trait=trait, treated=treated, control=control)
    problem = arm_without_variation(design)
    if problem:
        raise InputError(
            f"{problem}: the log-odds difference is infinite; use the LMM or Welch test instead"
        )
    return design


def arm_without_variation(design: ModelDesign) -> str | None:
    """Name an arm whose answers are all misses or all hits (log-odds undefined)."""
    totals = design.frame.groupby("condition")[["hits", "n"]].sum()
    for label, row in totals.iterrows():
        if row["hits"] == 0 or row["hits"] == row["n"]:
            return f"{label!r} has {'no hits' if row['hits'] == 0 else 'only hits'}"
    return None




def coefficient_t(
    estimate: float, se: float, df: float, *, alternative: str, confidence_level: float
) -> tuple[float, float, float, float]:
    """t statistic, p-value and interval for one coefficient (scipy conventions).

    One-sided alternatives give one-sided intervals with an infinite side.
    """
    # A standard error at rounding level means the cells carry no variation to fit.
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 1e-10):
        raise InputError(
            f"the model fit gave estimate {estimate:.4g} with standard error {se:.4g}; "
            + NO_VARIATION
        )
    statistic = estimate / se
    dist = stats.t(df) if np.isfinite(df) else stats.norm()
    if alternative == "two-sided":
        p = 2.0 * dist.sf(abs(statistic))
        q = dist.ppf(0.5 + confidence_level / 2.0)
        low, high = estimate - q * se, estimate + q * se
    elif alternative == "greater":
        p = dist.sf(statistic)
        low, high = estimate - dist.ppf(confidence_level) * se, math.inf
    else:  # less
        p = dist.cdf(statistic)
        low, high = -math.inf, estimate + dist.ppf(confidence_level) * se
    return float(statistic), float(min(1.0, p)), float(low), float(high)




def check_options(alternative: str, confidence_level: float) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise InputError(
            f"alternative must be 'two-sided', 'greater' or 'less', not {alternative!r}"
        )
    if not 0.0 < confidence_level < 1.0:
        raise InputError(
            f"confidence_level must be between 0 and 1 (e.g. 0.95), not {confidence_level}"
        )


def fpr_lookup(method: str, seeds_per_arm: float, alternative: str) -> tuple[float, float, str]:
    """Simulated FPR of ``method`` in the nearest simulated design.

    Returns the FPR for ``alternative`` (NaN for "less", which was not simulated),
    the FPR used to judge calibration (the two-sided one when the first is NaN)
    and a sentence quoting it.
    """
    sizes = sorted({g for (m, g) in MIXED_FPR if m == method})
    if not sizes:
        return math.nan, math.nan, "its false-positive rate has not been simulated"
    nearest = min(sizes, key=lambda g: (abs(g - seeds_per_arm), g))
    two_sided, greater, n_sims = MIXED_FPR[(method, nearest)]
    fpr = {"two-sided": two_sided, "greater": greater}.get(alternative, math.nan)
    judged = two_sided if math.isnan(fpr) else fpr
    kind = {"two-sided": "two-sided", "greater": "one-sided"}.get(
        alternative, "two-sided (one-sided 'less' not simulated)"
    )
    where = (
        f"{nearest} seeds/arm"
        if nearest == seeds_per_arm
        else f"{nearest} seeds/arm, the nearest simulated design to {seeds_per_arm:g}"
    )
    sentence = (
        f"simulated {kind} false-positive rate at nominal 5% is {100 * judged:.1f}% "
        f"({n_sims} null simulations, {where}, logit −2, seed SD 0.4, question SD 0.8, "
        f"50 questions × 20 answers)"
    )
    return fpr, judged, sentence


def mixed_calibration(method: str, design: ModelDesign, alternative: str) -> tuple[float, bool, list[str]]:
    """``simulated_fpr``, ``calibrated`` and caveats for a frequentist method."""
    seeds_per_arm = (design.n_seeds_treated + design.n_seeds_control) / 2
    fpr, judged, sentence = fpr_lookup(method, seeds_per_arm, alternative)
    if math.isnan(judged):
        return fpr, True, [sentence]
    calibrated = judged <= CALIBRATED_MAX_FPR
    prefix = (
        "over-rejects: "
        if not calibrated
        else "conservative (loses power): "
        if judged < 0.035
        else ""
    )
    # Quote the figure when it is a caveat, or when the alternative was not simulated.
    notes = [prefix + sentence] if prefix or math.isnan(fpr) else []
    return fpr, calibrated, notes




def captured_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """Turn statsmodels warnings into short plain sentences (deduplicated)."""
    out: list[str] = []
    for w in caught:
        text = " ".join(str(w.message).split())
        if "boundary of the parameter space" in text:
            # MixedLM flags any variance below an absolute 0.01, which every
            # rate-scale variance is; boundaries are checked on the estimates instead.
            continue
        if "converge" in text.lower():
            text = f"the optimiser did not converge ({text[:80]}); treat the numbers as unreliable"
        else:
            text = f"{w.category.__name__}: {text[:100]}"
        if text not in out:
            out.append(text)
    return out




def log_odds_result(method, fit, low, high, *, p, statistic, df, design, trait, treated, control,
                     alternative, confidence_level, calibrated, fpr, notes, detail) -> ComparisonResult:
    """A result from a fit on the log-odds scale: the effect and its bounds ``low``/``high``
    (log odds ratio) become percentage-point differences and an odds ratio."""
    return ComparisonResult(
        trait=str(trait),
        treated=str(treated),
        control=str(control),
        method=method,
        estimate=fit.difference_at_effect(fit.effect),
        ci_low=fit.difference_at_effect(low) if np.isfinite(low) else -math.inf,
        ci_high=fit.difference_at_effect(high) if np.isfinite(high) else math.inf,
        p_value=p,
        n_seeds_treated=design.n_seeds_treated,
        n_seeds_control=design.n_seeds_control,
        alternative=alternative,
        confidence_level=confidence_level,
        statistic=statistic,
        df=float(df),
        odds_ratio=float(math.exp(fit.effect)),
        odds_ratio_ci_low=float(math.exp(low)) if np.isfinite(low) else 0.0,
        odds_ratio_ci_high=float(math.exp(high)) if np.isfinite(high) else math.inf,
        calibrated=calibrated,
        simulated_fpr=fpr,
        warnings=tuple(notes),
        method_detail=(detail),
    )
