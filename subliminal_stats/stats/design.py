"""The user's own design: estimated from their table, simulated, and each method's calibration for it.

:func:`estimate_design` reads two arms (seeds per arm, each arm's between-seed SD on the
logit scale, the question SD, answers per question, the rates);
:func:`design_calibration` simulates that design on the grid's engine
(:func:`~subliminal_stats.stats.grid.run_scenario`): nulls with both arms drawn like the
control and like the treated students (the false-positive rate quoted is the worse of the
two), and the estimated effect with each arm's own spread (for coverage). 1,000 simulations
per scenario (the least that may be called calibrated) keep it under a second for designs of up to 10 seeds × 100 questions.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields, replace

import numpy as np
from scipy.special import expit, logit

from subliminal_stats.stats.cells import ArmData
from subliminal_stats.stats.grid import GRID_RULES, Scenario, mean_rate_intercept, run_scenario

__all__ = ["DESIGN_METHODS", "DESIGN_SIMULATION_LIMIT", "SPREAD_NOTE", "Design",
           "design_calibration", "grid_calibrations",
           "estimate_design", "grid_calibration", "spread_warning"]

#: With more designs than this in one call (e.g. hundreds of traits), ``calibration="auto"``
#: reads the nearest cells of the shipped grid instead of simulating each design (~1 s each).
DESIGN_SIMULATION_LIMIT = 4

#: Methods the design simulation covers (the vectorised ones).
DESIGN_METHODS = ("welch", "welch-hsu", "pooled-t", "permutation", "t-vs-single-model", "logit-t")

_CLIP_RATE = (5e-4, 1 - 5e-4)


@dataclass(frozen=True)
class Design:
    """A two-arm design on the simulator's scale.

    ``reference_seeded=False`` marks a one-seed reference (the base model).
    Rates are proportions; SDs are on the logit scale; ``sd_*_pp`` are the observed
    per-seed SDs in percentage points.
    """

    seeds_treated: int
    seeds_reference: int
    questions: int
    answers: int
    rate_treated: float
    rate_reference: float
    sd_treated: float
    sd_reference: float
    question_sd: float
    reference_seeded: bool = True
    sd_treated_pp: float = math.nan
    sd_reference_pp: float = math.nan

    def describe(self) -> str:
        ref = (f"{self.seeds_reference} reference seeds, SD {self.sd_reference:.2g}"
               if self.reference_seeded else "a one-seed reference")
        return (f"{self.seeds_treated} treated seeds (logit SD {self.sd_treated:.2g}) vs {ref}; "
                f"{self.questions} questions (SD {self.question_sd:.2g}) x {self.answers} answers; "
                f"rates {100 * self.rate_treated:.3g} % vs {100 * self.rate_reference:.3g} %")

    def rounded(self) -> Design:
        """Rounded to two significant digits (a cache key: nearby designs calibrate alike)."""
        def r(x):
            return float(f"{x:.2g}") if x else 0.0

        def rate(x):  # rounded on the logit scale: 99.95 % must not become 100 %
            return float(np.clip(expit(round(float(logit(x)), 2)), *_CLIP_RATE))
        return replace(self, rate_treated=rate(self.rate_treated),
                       rate_reference=rate(self.rate_reference),
                       sd_treated=r(self.sd_treated), sd_reference=r(self.sd_reference),
                       question_sd=r(self.question_sd), sd_treated_pp=math.nan,
                       sd_reference_pp=math.nan)


def question_spread(hits: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Logit SD of question effects from pooled per-question counts, less binomial noise.

    ``hits``, ``n``: (..., seeds, questions), ``hits`` NaN where ``n`` is 0; vectorised over
    the leading axes (one arm each). Questions nobody answered are left out; fewer than two
    answered questions give 0.
    """
    h = np.nansum(hits, axis=-2)
    nn = n.sum(axis=-2)
    keep = nn > 0
    count = keep.sum(axis=-1)
    p = (h + 0.5) / (nn + 1.0)
    el = np.log(p / (1 - p))
    with np.errstate(invalid="ignore", divide="ignore"):
        # np.var's own steps over the answered questions (sum, divide, square, sum).
        mean = np.where(keep, el, 0.0).sum(axis=-1, keepdims=True) / count[..., None]
        dev = np.where(keep, el - mean, 0.0)
        var = (dev * dev).sum(axis=-1) / (count - 1)
        noise = np.where(keep, 1.0 / ((nn + 1.0) * p * (1 - p)), 0.0).sum(axis=-1) / count
        sd = np.clip(np.sqrt(np.maximum(var - noise, 0.0)), 0.0, 3.0)
    return np.where(count >= 2, sd, 0.0)


def seed_spread(rates: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(logit-scale between-seed SD, observed per-seed SD in pp) of seeded arms.

    ``rates``, ``n``: (..., seeds, questions), ``rates`` NaN where ``n`` is 0; vectorised over
    the leading axes. The observed variance of the per-seed rates less its binomial part,
    read on the logit scale at the arm's mean question rate.
    """
    r = np.nanmean(rates, axis=-1)
    if r.shape[-1] < 2:
        return np.zeros(r.shape[:-1]), np.full(r.shape[:-1], math.nan)
    var_obs = np.var(r, axis=-1, ddof=1)
    q_rate = np.nanmean(rates, axis=-2)
    k = np.maximum((n > 0).sum(axis=-1), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_var = np.where(n > 0, q_rate[..., None, :] * (1 - q_rate[..., None, :]) /
                            np.where(n > 0, n, 1), 0.0)
    var_binomial = np.mean(cell_var.sum(axis=-1) / k**2, axis=-1)
    clipped = np.clip(q_rate, *_CLIP_RATE)
    slope = np.nanmean(clipped * (1 - clipped), axis=-1)
    excess = np.maximum(var_obs - var_binomial, 0.0)
    sd = np.clip(np.sqrt(excess) / np.maximum(slope, 1e-6), 0.0, 3.0)
    return sd, 100 * np.sqrt(var_obs)


@dataclass(frozen=True)
class ArmSpread:
    """What a :class:`Design` reads from one arm (floats, or arrays over stacked arms)."""

    n_seeds: int
    n_questions: object
    seed_sd: object
    seed_sd_pp: object
    question_sd: object
    answers: object        # median answers per answered cell, rounded, at least 1
    rate: object           # mean per-seed rate, clipped

    def row(self, k) -> ArmSpread:
        """Entry ``k`` of stacked spreads."""
        return ArmSpread(self.n_seeds, *(np.asarray(getattr(self, f.name))[k]
                                         for f in fields(self)[1:]))


def arm_spread(rates: np.ndarray, hits: np.ndarray, n: np.ndarray) -> ArmSpread:
    """:class:`ArmSpread` of arms (..., seeds, questions): ``rates`` and ``hits`` NaN and ``n``
    0 where a seed was not asked a question; vectorised over the leading axes (one arm each)."""
    seeded = rates.shape[-2] >= 2
    sd, pp = seed_spread(rates, n) if seeded else (np.zeros(rates.shape[:-2]),
                                                  np.full(rates.shape[:-2], math.nan))
    flat = n.reshape(*n.shape[:-2], -1)
    # Median answers over the answered cells (every cell, in a stack of regular arms).
    median = (np.median(flat, axis=-1) if np.all(flat > 0)
              else np.nanmedian(np.where(flat > 0, flat, np.nan), axis=-1))
    answers = np.array([int(max(1, round(float(m)))) for m in np.ravel(median)]
                       ).reshape(median.shape)
    rate = np.clip(np.mean(np.nanmean(rates, axis=-1), axis=-1), *_CLIP_RATE)
    n_questions = (n > 0).any(axis=-2).sum(axis=-1)
    return ArmSpread(rates.shape[-2], n_questions, sd, pp, question_spread(hits, n), answers,
                     rate)


def design_of(treated: ArmSpread, reference: ArmSpread) -> Design:
    """The :class:`Design` of treated vs reference (one arm each: :meth:`ArmSpread.row`)."""
    seeded = reference.n_seeds >= 2
    sd_r, sd_r_pp = ((float(reference.seed_sd), float(reference.seed_sd_pp))
                     if seeded else (0.0, math.nan))
    qsd = float(reference.question_sd if seeded else treated.question_sd)
    return Design(treated.n_seeds, reference.n_seeds, max(2, int(treated.n_questions)),
                  int(treated.answers), float(treated.rate), float(reference.rate),
                  float(treated.seed_sd), sd_r, qsd, seeded, float(treated.seed_sd_pp), sd_r_pp)


def estimate_design(treated: ArmData, reference: ArmData) -> Design:
    """The simulator's parameters for two arms of the user's data (see :class:`Design`)."""
    return design_of(*(arm_spread(arm.rates, arm.hits, arm.n) for arm in (treated, reference)))


@functools.lru_cache(maxsize=256)
def _calibrate_rounded(design: Design, alternative: str, alpha: float, n_sims: int,
                       rng: int) -> dict:
    rows = []
    b_t = mean_rate_intercept(design.rate_treated, design.sd_treated, design.question_sd)
    if design.reference_seeded:
        b_r = mean_rate_intercept(design.rate_reference, design.sd_reference, design.question_sd)
        nulls = [Scenario("null", design.seeds_treated, design.seeds_reference,
                          design.rate_reference, sd, sd, 0.0, design.answers, design.questions,
                          design.question_sd)
                 for sd in sorted({design.sd_reference, design.sd_treated})]
        effect = Scenario("effect", design.seeds_treated, design.seeds_reference,
                          design.rate_reference, design.sd_reference, design.sd_treated,
                          b_t - b_r, design.answers, design.questions, design.question_sd)
        methods = ("welch", "welch-hsu", "pooled-t", "permutation", "logit-t")
    else:
        b_r = mean_rate_intercept(design.rate_reference, 0.0, design.question_sd)
        nulls = [Scenario("null", design.seeds_treated, 2, design.rate_treated, 0.0,
                          design.sd_treated, 0.0, design.answers, design.questions,
                          design.question_sd)]
        effect = Scenario("effect", design.seeds_treated, 2, design.rate_reference, 0.0,
                          design.sd_treated, b_t - b_r, design.answers, design.questions,
                          design.question_sd)
        methods = ("t-vs-single-model", "logit-t")
    for i, sc in enumerate([*nulls, effect]):
        rows += run_scenario(sc, n_sims=n_sims, rng=[rng, i], alpha=alpha,
                             alternative=alternative, methods=methods)
    out = {}
    comparison = "vs control" if design.reference_seeded else "vs base"
    rows = [r for r in rows if r["comparison"] == comparison]
    for m in methods:
        null_rows = [r for r in rows if r["method"] == m and r["kind"] == "null"]
        eff = [r for r in rows if r["method"] == m and r["kind"] == "effect"]
        fpr = max(r["rejection_rate"] for r in null_rows)
        cov = eff[0]["coverage"] if eff else math.nan
        null_cov = min(r["coverage"] for r in null_rows)
        if not math.isnan(null_cov):
            cov = min(cov, null_cov) if not math.isnan(cov) else null_cov
        out[m] = {"fpr": fpr, "coverage": cov, "n_sims": n_sims, "scenarios": len(null_rows) + 1}
    return out


def design_calibration(design: Design, *, alternative: str = "two-sided", alpha: float = 0.05,
                       n_sims: int = 1000, rng: int = 20261201) -> dict:
    """Simulated false-positive rate and coverage of the fast methods for ``design``.

    Returns
    -------
    dict
        method → ``{"fpr", "coverage", "n_sims", "scenarios", "calibrated"}`` where the
        FPR is the worst over the null scenarios and the coverage the worst over the
        null and the estimated-effect scenarios; ``calibrated`` applies the grid's bounds
        (:data:`~subliminal_stats.stats.grid.GRID_RULES`) with ``n_sims ≥ 1000``; ``status``
        is ``"calibrated"``, ``"borderline"`` (a bound missed by less than two Monte Carlo
        SEs) or ``"NOT CALIBRATED"``.
    """
    raw = _calibrate_rounded(design.rounded(), alternative, float(alpha), int(n_sims), int(rng))
    out = {}
    for m, row in raw.items():
        n = row["n_sims"]
        fpr, cov = row["fpr"], row["coverage"]
        ok = (n >= GRID_RULES["min_null_sims"] and fpr <= GRID_RULES["max_fpr"]
              and (math.isnan(cov) or cov >= GRID_RULES["min_coverage"]))
        # Beyond two Monte Carlo SEs of a bound: clearly failed; inside them: borderline.
        se_f = math.sqrt(GRID_RULES["max_fpr"] * (1 - GRID_RULES["max_fpr"]) / n)
        se_c = math.sqrt(GRID_RULES["min_coverage"] * (1 - GRID_RULES["min_coverage"]) / n)
        failed = fpr > GRID_RULES["max_fpr"] + 2 * se_f or (
            not math.isnan(cov) and cov < GRID_RULES["min_coverage"] - 2 * se_c)
        status = "calibrated" if ok else ("NOT CALIBRATED" if failed else "borderline")
        out[m] = dict(row, calibrated=bool(ok), status=status)
    return out


@functools.lru_cache(maxsize=1)
def _grid():
    from subliminal_stats.stats.grid import grid_frame

    return grid_frame()


@functools.lru_cache(maxsize=8)
def _grid_pairs(comparison: str) -> tuple:
    """The (treated, control) seed pairs the shipped grid has for ``comparison``."""
    frame = _grid()
    g = frame[frame["comparison"] == comparison]
    return tuple(sorted({(int(a), int(b)) for a, b in zip(g["seeds_treated"], g["seeds_control"],
                                                          strict=True)}))


@functools.lru_cache(maxsize=64)
def _grid_entry(comparison: str, pair: tuple) -> dict:
    """One (comparison, seed pair) of the shipped grid, indexed once: hundreds of traits look it
    up, and most studies use one or two seed pairs, so only those are built."""
    frame = _grid()
    cell = frame[(frame["comparison"] == comparison) & (frame["seeds_treated"] == pair[0])
                 & (frame["seeds_control"] == pair[1])]
    null, effect = cell[cell["kind"] == "null"], cell[cell["kind"] == "effect"]
    effect = effect.assign(sd_ratio=effect["treated_sd"] / effect["seed_sd"])
    return {
        "null": null, "effect": effect,
        "null_logit_rates": logit(np.sort(null["rate"].unique())),
        "null_rates": np.sort(null["rate"].unique()),
        "answers": np.sort(null["answers"].unique()),
        "questions": np.sort(null["questions"].unique()),
        "seed_sd": np.sort(null["seed_sd"].unique()),
        "effect_seed_sd": np.sort(effect["seed_sd"].unique()),
        "effect_sd_ratio": np.sort(effect["sd_ratio"].unique()),
        # (seed SD, SD ratio) → {rate: sorted effects}, for exact nearest-cell picks
        "effect_cells": {
            (float(sd), float(r)): {float(rate): np.sort(sub["effect"].unique())
                                    for rate, sub in grp.groupby("rate")}
            for (sd, r), grp in effect.groupby(["seed_sd", "sd_ratio"])},
    }


@functools.lru_cache(maxsize=4096)
def _grid_cells(comparison: str, pair: tuple, near_rate: float, answers: float, questions: float,
                sds: tuple, eff_sd: float, eff_ratio: float, eff_rate: float, eff_shift: float) -> tuple:
    """(label, method rows) for one choice of nearest cells; designs that round alike share it."""
    entry = _grid_entry(comparison, pair)
    null, effect = entry["null"], entry["effect"]
    null = null[(null["rate"] == near_rate) & (null["answers"] == answers)
                & (null["questions"] == questions) & (null["seed_sd"].isin(sds))]
    effect = effect[(effect["seed_sd"] == eff_sd) & np.isclose(effect["sd_ratio"], eff_ratio)
                    & (effect["rate"] == eff_rate) & (effect["effect"] == eff_shift)]
    label = (f"nearest shipped grid cells: {pair[0]}v{pair[1]} seeds, rate {100 * near_rate:g} %, "
             f"{questions:g}q x {answers:g}, seed SD {'/'.join(f'{x:g}' for x in sorted(sds))}")
    rows = []
    for m in DESIGN_METHODS:
        nm, em = null[null["method"] == m], effect[effect["method"] == m]
        if nm.empty:
            continue
        rows.append((m, int(nm["n_sims"].min()), float(nm["rejection_rate"].max()),
                     float(em["coverage"].min()) if len(em) else math.nan, len(nm) + len(em)))
    return label, tuple(rows)


def grid_calibration(design: Design, *, alternative: str = "two-sided",
                     alpha: float = 0.05) -> dict:
    """The fast methods' calibration for ``design`` read from the nearest shipped grid cells.

    No simulation: the worst false-positive rate over the null cells nearest to the design
    (its seed counts, rate on the logit scale, answers and questions on the log scale, and
    each arm's between-seed SD), and the worst coverage over the nearest effect cells. Same
    keys as :func:`design_calibration`, plus ``source = "grid"`` and the cells' ``label``.
    The grid was simulated two-sided at α = 0.05; other settings return ``{}`` (unknown).
    """
    return grid_calibrations([design], alternative=alternative, alpha=alpha)[0]


def _nearest_index(values: np.ndarray, targets: np.ndarray, *, log: bool = False) -> np.ndarray:
    """Per target, the index of the nearest of ``values`` (first on ties), vectorised."""
    if log:
        distance = np.abs(np.log(values)[None, :] - np.log(np.maximum(targets, 1e-9))[:, None])
    else:
        distance = np.abs(values[None, :] - targets[:, None])
    return np.argmin(distance, axis=1)


def grid_calibrations(designs, *, alternative: str = "two-sided", alpha: float = 0.05) -> list:
    """:func:`grid_calibration` of many designs at once (one entry each, same order).

    The nearest-cell picks are made for all designs of one seed pair together; designs that
    pick the same cells share one table (read-only: callers only read it).
    """
    designs = list(designs)
    out: list = [{} for _ in designs]
    if not designs or _grid().empty or alternative != "two-sided" or abs(alpha - 0.05) > 1e-9:
        return out
    groups: dict = {}
    for i, d in enumerate(designs):
        comparison = "vs control" if d.reference_seeded else "vs base"
        pairs = _grid_pairs(comparison)
        if not pairs:
            continue
        ref_seeds = d.seeds_reference if d.reference_seeded else 2
        pair = min(pairs, key=lambda ab, t=d.seeds_treated, r=ref_seeds:
                   (math.log(ab[0] / t)) ** 2 + (math.log(ab[1] / r)) ** 2)
        groups.setdefault((comparison, pair), []).append(i)
    for (comparison, pair), members in groups.items():
        entry = _grid_entry(comparison, pair)
        ds = [designs[i] for i in members]
        seeded = np.array([d.reference_seeded for d in ds])
        sd_ref = np.array([d.sd_reference for d in ds])
        sd_tr = np.array([d.sd_treated for d in ds])
        rate = logit(np.clip(np.array([d.rate_reference for d in ds]), *_CLIP_RATE))
        near_rate = entry["null_rates"][_nearest_index(entry["null_logit_rates"], rate)]
        answers = entry["answers"][_nearest_index(entry["answers"],
                                                  np.array([float(d.answers) for d in ds]),
                                                  log=True)]
        questions = entry["questions"][_nearest_index(entry["questions"],
                                                      np.array([float(d.questions) for d in ds]),
                                                      log=True)]
        near_ref = entry["seed_sd"][_nearest_index(entry["seed_sd"], sd_ref)]
        near_tr = entry["seed_sd"][_nearest_index(entry["seed_sd"], sd_tr)]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(seeded & (sd_ref > 0), sd_tr / np.where(sd_ref > 0, sd_ref, 1.0),
                             1.0)
        if len(entry["effect_seed_sd"]):
            eff_sd = entry["effect_seed_sd"][_nearest_index(entry["effect_seed_sd"],
                                                            np.where(seeded, sd_ref, sd_tr))]
        else:
            eff_sd = np.full(len(ds), math.nan)
        if len(entry["effect_sd_ratio"]):
            eff_ratio = entry["effect_sd_ratio"][_nearest_index(entry["effect_sd_ratio"], ratio,
                                                                log=True)]
        else:
            eff_ratio = np.full(len(ds), math.nan)
        shift = np.abs(logit(np.clip(np.array([d.rate_treated for d in ds]), *_CLIP_RATE)) - rate)
        for k, i in enumerate(members):
            d = ds[k]
            sds = {float(x) for x, use in ((near_ref[k], bool(seeded[k]) or d.sd_reference > 0),
                                           (near_tr[k], bool(seeded[k]) or d.sd_treated > 0))
                   if use} or {float(entry["seed_sd"].min())}
            eff_rate = eff_shift = math.nan
            cells = next((v for (sd, r), v in entry["effect_cells"].items()
                          if sd == eff_sd[k] and math.isclose(r, eff_ratio[k], rel_tol=1e-9)), {})
            if cells:
                rates = np.array(sorted(cells))
                eff_rate = float(rates[_nearest_index(logit(rates), rate[k:k + 1])[0]])
                eff_shift = float(cells[eff_rate][_nearest_index(cells[eff_rate],
                                                                 shift[k:k + 1])[0]])
            # Every continuous input is snapped to a grid value first, so designs that pick the
            # same cells (hundreds of traits) share one cached table.
            out[i] = _grid_table(comparison, pair, float(near_rate[k]), float(answers[k]),
                                 float(questions[k]), tuple(sorted(sds)), float(eff_sd[k]),
                                 float(eff_ratio[k]), eff_rate, eff_shift)
    return out


@functools.lru_cache(maxsize=4096)
def _grid_table(*cell_choice) -> dict:
    label, rows = _grid_cells(*cell_choice)
    out = {}
    for m, n, fpr, cov, scenarios in rows:
        ok = (n >= GRID_RULES["min_null_sims"] and fpr <= GRID_RULES["max_fpr"]
              and (math.isnan(cov) or cov >= GRID_RULES["min_coverage"]))
        out[m] = {"fpr": fpr, "coverage": cov, "n_sims": n, "scenarios": scenarios,
                  "calibrated": bool(ok), "status": "calibrated" if ok else "NOT CALIBRATED",
                  "source": "grid", "label": label}
    return out


#: How every :func:`spread_warning` sentence begins (the CLI counts them on many traits).
SPREAD_NOTE = "arm spreads differ"


def spread_warning(design: Design) -> str:
    """A sentence when the arms' spreads differ enough for pooled-variance methods to fail ("" if not)."""
    if not design.reference_seeded:
        return ""
    a, b = design.sd_treated_pp, design.sd_reference_pp
    if not (math.isfinite(a) and math.isfinite(b)):
        return ""
    if max(a, b) == 0:
        return ""
    if min(a, b) == 0:
        which = "treated" if a == 0 else "reference"
        return (f"{SPREAD_NOTE}: every {which} seed has the same rate (per-seed SD 0 pp) "
                f"while the other arm's spread {max(a, b):.3g} pp; pooled-variance methods "
                "(pooled-t, cluster-t) are not valid here — use logit-t (the default) or welch")
    ratio = max(a, b) / min(a, b)
    if ratio < 2:
        return ""
    return (f"{SPREAD_NOTE}: per-seed SD {a:.3g} pp (treated) vs {b:.3g} pp (reference), "
            f"{ratio:.3g}x; pooled-variance methods (pooled-t, cluster-t) are not valid here — "
            "use logit-t (the default) or welch")


def logit_rate(rate: float) -> float:
    """Clipped logit of a rate (a helper for readers of :class:`Design`)."""
    return float(logit(np.clip(rate, *_CLIP_RATE)))
