"""Specificity: did the *target* move more than a panel of other targets scored on the same answers?

A transfer claim says the treated students prefer the target. Training on transformed
teacher data can instead shift many preferences at once (one public replication moved 11
of 18 animals, the target among the smallest). Score the same answers against a panel of
other targets (one trait label per target in the cells table, same seeds and questions) and
test, per seed, the contrast

    c_s = r_target,s − mean_{a in panel} r_a,s

between treated and control seeds (Welch, df capped as for the default test): the target's
lift over control minus the panel's average lift, a difference in differences on the rate
scale with the seed as the unit. Verdicts (:data:`SPECIFIC`, :data:`GENERAL_SHIFT`,
:data:`INCONCLUSIVE`):

* ``specific`` — the contrast is significantly above 0 (the target rose more than the panel);
* ``general shift`` — the target rose, the panel rose too, and the contrast is not above 0;
* ``inconclusive`` — anything else (e.g. the target rose, the panel did not clearly rise,
  and the contrast is not clearly positive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A
from subliminal_stats.stats.cells import cell_counts, seed_rates_from_cells

SPECIFIC = "specific"
GENERAL_SHIFT = "general shift"
INCONCLUSIVE = "inconclusive"

__all__ = ["GENERAL_SHIFT", "INCONCLUSIVE", "SPECIFIC", "Specificity", "specificity",
           "specificity_arrays", "target_matrix"]


@dataclass(frozen=True)
class Specificity:
    """The diagonal-lift test for one target against its panel (differences in proportions)."""

    target: str
    panel: tuple[str, ...]
    target_lift: float
    target_p: float
    panel_lift: float
    panel_p: float
    contrast: float
    contrast_ci_low: float
    contrast_ci_high: float
    contrast_p: float
    alpha: float
    verdict: str


def specificity_arrays(target_t, panel_t, target_c, panel_c, *, alpha: float = 0.05):
    """Vectorised core: per-seed rates (..., seeds) of the target and (..., panel, seeds) of the panel.

    Returns a dict of arrays (``target_p``, ``panel_p``, ``contrast``, ``contrast_p``,
    ``contrast_ci_low``/``high``, ``verdict`` codes 0 = inconclusive, 1 = general shift,
    2 = specific), vectorised over leading axes (simulations).
    """
    tt, tc = np.asarray(target_t, float), np.asarray(target_c, float)
    pt, pc = np.asarray(panel_t, float).mean(axis=-2), np.asarray(panel_c, float).mean(axis=-2)
    target = A.welch_t(tt, tc)
    panel = A.welch_t(pt, pc)
    contrast = A.welch_t(tt - pt, tc - pc, confidence_level=1 - alpha)
    up_t = (target.p_value <= alpha * (1 + 1e-9)) & (target.estimate > 0)
    up_p = (panel.p_value <= alpha * (1 + 1e-9)) & (panel.estimate > 0)
    up_c = (contrast.p_value <= alpha * (1 + 1e-9)) & (contrast.estimate > 0)
    code = np.where(up_c, 2, np.where(up_t & up_p, 1, 0))
    return {"target_lift": target.estimate, "target_p": target.p_value,
            "panel_lift": panel.estimate, "panel_p": panel.p_value,
            "contrast": contrast.estimate, "contrast_p": contrast.p_value,
            "contrast_ci_low": contrast.ci_low, "contrast_ci_high": contrast.ci_high,
            "verdict": code}


_WORDS = {0: INCONCLUSIVE, 1: GENERAL_SHIFT, 2: SPECIFIC}


def _rates(cells, trait, condition):
    sub = cells[(cells["trait"] == trait) & (cells["condition"] == condition)]
    if sub.empty:
        raise InputError(f"no answers scored for target {trait!r} in condition {condition!r}; "
                         "score the same answers against every panel target")
    return sub.set_index("seed")["rate"]


def specificity(df: pd.DataFrame, *, target: str, panel=None, treated: str = "treated",
                control: str = "control", alpha: float = 0.05) -> Specificity:
    """The diagonal-lift test of ``target`` against ``panel`` (default: every other trait).

    Parameters
    ----------
    df : DataFrame
        Responses or cells where each trait label is one target scored on the *same*
        answers (same seeds in every target).
    """
    cells = seed_rates_from_cells(cell_counts(df))
    panel = [t for t in (panel or pd.unique(cells["trait"])) if t != target]
    if not panel:
        raise InputError("the specificity test needs at least one other target in the panel")
    rt, rc = _rates(cells, target, treated), _rates(cells, target, control)
    pts = [_rates(cells, a, treated).reindex(rt.index) for a in panel]
    pcs = [_rates(cells, a, control).reindex(rc.index) for a in panel]
    if any(p.isna().any() for p in pts + pcs):
        raise InputError("every panel target must be scored for the same seeds as the target")
    if min(len(rt), len(rc)) < 2:
        raise InputError("the specificity test needs at least 2 seeds per arm")
    out = specificity_arrays(rt.to_numpy(), np.vstack([p.to_numpy() for p in pts]),
                             rc.to_numpy(), np.vstack([p.to_numpy() for p in pcs]), alpha=alpha)
    return Specificity(str(target), tuple(map(str, panel)), float(out["target_lift"]),
                       float(out["target_p"]), float(out["panel_lift"]), float(out["panel_p"]),
                       float(out["contrast"]), float(out["contrast_ci_low"]),
                       float(out["contrast_ci_high"]), float(out["contrast_p"]), float(alpha),
                       _WORDS[int(out["verdict"])])


def target_matrix(df: pd.DataFrame, *, control: str = "control") -> pd.DataFrame:
    """Trait × target lift matrix: rows = treated condition (students of a trait), columns =
    target scored, values = mean per-seed rate minus the control's (proportions).

    ``df`` holds conditions named after the trait their teacher carried and every target
    scored as a trait label; the diagonal is each trait's own lift.
    """
    rates = seed_rates_from_cells(cell_counts(df))
    means = rates.groupby(["condition", "trait"])["rate"].mean().unstack("trait")
    if control not in means.index:
        raise InputError(f"no control condition {control!r} in the table")
    lift = means.drop(index=control) - means.loc[control]
    lift.index.name, lift.columns.name = "students", "target"
    return lift
