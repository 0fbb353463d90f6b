"""Calibration of the defence statistics over the scenario grid: efficacy intervals and TOST.

The same hierarchical model as :mod:`~subliminal_stats.stats.grid` (logit scale, questions
crossed with seeds and shared by every arm, ``v ~ N(0, 0.8²)``)::

    logit p[arm, seed, q] = b_arm + u_seed + v_q,  u ~ N(0, sd_arm²)

**Efficacy** (:class:`EfficacyScenario`): three arms — the reference (control students,
``b_R`` giving the cell's mean rate, SD ``seed_sd``), the undefended students
(``b_U = b_R + effect``, SD ``treated_sd``: the transfer varies by student) and the defended
students with a fraction ``f`` ∈ {0, ½, 1} of the effect remaining. ``f = 0`` draws the
defended arm exactly like the reference and ``f = 1`` exactly like the undefended arm, so
the true efficacy is exactly 1 and 0. For ``f = ½`` the defended arm's logit SD is halfway
between the two, and its intercept is solved (Gauss–Hermite quadrature over seeds and
questions) so that its expected mean per-seed rate is halfway between the two arms'.

The **true efficacy** is defined on the estimator's scale — mean per-seed rates — and given
the simulation's questions (the estimand of a study that asks these questions):
``θ = (m_U − m_D) / (m_U − m_R)`` with ``m_arm = E_u[mean_q expit(b_arm + u + v_q)]``,
computed per simulation by 20-node Gauss–Hermite quadrature over the seed distribution: it is
exactly ``1 − f`` for ``f`` ∈ {0, 1} and within about ±0.05 of ½ for ``f = ½``. Coverage is
the share of simulations whose 95 % interval contains that simulation's θ; an unbounded
interval ("cannot tell") contains every θ and is counted as covering, and its share is
reported beside the coverage (``unbounded``) with the coverage of the bounded intervals
alone (``coverage_bounded``, a conditional figure, not a guarantee).

**TOST** (:class:`TostScenario`): a defended arm and the reference. ``kind="margin"``: the
true difference of the arms' mean per-seed rates (given the questions) is exactly the
margin δ — the boundary of "not equivalent" — so every "equivalent" is false; the upper arm's
intercept is solved per simulation (Newton on the quadrature) so that its true mean is the
lower arm's plus δ. ``side="above"``: the defended arm is δ above the reference;
``"below"``: δ below (the defended arm at the cell's rate, which covers rare rates from the
defended side). δ is the rate difference that a logit shift ``shift`` makes at the cell's
rate (so margins range from a fraction of a point at 0.1 % to tens of points).
``kind="equal"``: the defended arm's true mean equals the reference's (with its own spread):
the rate of "equivalent" is the power. Rate 90 % is not simulated: the model is symmetric
under p → 1 − p, and so is TOST, so 90 % is the mirror of 10 %.

Each scenario has its own random stream ``[rng, part, index]`` so any cell reruns alone
(:func:`rerun_cell`); a rate is a share of ``n_sims`` simulations with Monte Carlo SE
``sqrt(r (1 − r) / n_sims)``. Parts ``efficacy`` and ``tost`` take the control students as
the reference; ``efficacy-base`` and ``tost-base`` one unseeded base model (its binomial
sampling variance, ``reference_var``), one cell per defended seed count.

Results of the shipped table (1,000 simulations per cell, rng 20261202; efficacy 313 s,
TOST 484 s on one shared core):

* **efficacy**, 648 designs × f ∈ {0, ½, 1} = 1,944 cells: ``fieller-hsu`` (default)
  covers ≥ 94.6 % ± 0.7 in every cell (worst: 2/2/2 seeds, 0.1 %, f = ½) — calibrated;
  ``fieller`` (capped Welch df) 91.4 % ± 0.9 at 3/3/5 seeds, 12 %, effect +4.5, f = ½ (8
  cells below 93.5 %) — not calibrated. The price of few seeds is "cannot tell": the
  interval is unbounded in a median 95 % of simulations at 2 seeds per arm, 89 % at 3,
  69 % at 5 and 23 % at 10 (``fieller-hsu``).
* **TOST**, 2,128 margin cells: ``tost-null-spread`` (default) claims "equivalent" at the
  margin ≤ 6.3 % ± 0.8 in every cell (worst: defended 3 seeds at 50 % with logit SD 3, δ
  39.6 pp below the reference) — calibrated; plain ``tost-welch`` up to 61.3 % ± 1.5 (21 %
  of cells above 6.5 %) and ``tost-hsu`` up to 57.2 % (14 %): rare rates and wide spreads
  make a defended arm at the margin look equivalent. Power (true difference 0) of the
  default (equal spreads): at δ = 20.7 pp from a 12 % reference 35 % at 3 v 3 seeds, 45 % at
  3 v 5, 89 % at 5 v 5, 100 % at 10 v 10 (8 % with 2 seeds); at δ = 2.9 pp from 1 %
  4–18 % (3–10 seeds); margins of a few seed SDs (the 0.3-logit shifts) are out of reach
  at these seed counts (≤ 4 %). Plain Welch TOST has more power only because it is not
  calibrated.
* **against the base model** (part ``*-base``; 1 min 49 s and 3 min 47 s): efficacy
  ``fieller-hsu`` is **not calibrated** — 10 of 1,296 cells below 93.5 %, worst 86.5 % ± 1.1
  (10/10 seeds, 1 %, logit SD 1, effect +4.5, f = 0: students spread around a base that does
  not); ``tost-null-spread`` ≤ 6.5 % in 1,061 of 1,064 margin cells, worst 8.4 % ± 0.9 (3
  seeds at 50 % with logit SD 3, δ 39.6 pp) — not calibrated in that corner; plain
  ``tost-welch`` up to 69.2 %.

The shipped table (:data:`TABLE_CSV` in ``defences_calibration_table.py``) is rebuilt by
:func:`write_table` (``python -m subliminal_stats.stats.defences_calibration --write-table``)
and read by :func:`table_frame`; :func:`summary` gives the worst cells.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import expit

from subliminal_stats.stats.arrays import single_model_variance
from subliminal_stats.stats.defences import (
    EFFICACY_METHODS,
    TOST_METHODS,
    fieller_batch,
    tost_batch,
)
from subliminal_stats.stats.grid import SEED_PAIRS, mean_rate_intercept
from subliminal_stats.stats.simulation import ArmSpec, simulate_cells

__all__ = ["EFFICACY_RULES", "TOST_RULES", "EfficacyScenario", "TostScenario", "at_seeds",
           "build_table",
           "efficacy_scenarios", "failing_cells", "rerun_cell", "run_efficacy_scenario",
           "run_tost_scenario", "summary", "table_frame", "tost_scenarios", "write_table"]

#: Efficacy intervals: coverage of the true efficacy ≥ 95 % − 1.5 points in every cell.
EFFICACY_RULES = {"min_coverage": 0.935, "min_sims": 1000}
#: TOST: false-"equivalent" rate at the margin ≤ α + 1.5 points in every cell (α = 5 %).
TOST_RULES = {"max_false_equivalence": 0.065, "min_sims": 1000}

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(20)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


#: Upper arms whose true mean would pass this (the lower arm's questions were easy and the
#: margin is wide) cannot sit at the margin: those question sets are skipped.
_MAX_TARGET = 1 - 1e-6


def _marginal_rate(intercept: float, seed_sd: float, question_sd: float) -> float:
    """E[expit(b + u + v)] over seeds and questions (the arm's expected mean per-seed rate)."""
    return float(expit(intercept + math.hypot(seed_sd, question_sd) * _NODES) @ _WEIGHTS)


def _conditional_rate(intercept, v, seed_sd):
    """E_u[mean_q expit(b + u + v_q)] given the questions ``v`` (n_sims, Q); b scalar or (n_sims,)."""
    b = np.asarray(intercept, dtype=float)
    b = b[:, None, None] if b.ndim else b
    eta = b + v[..., None] + seed_sd * _NODES  # (n_sims, Q, nodes)
    p = expit(eta)
    return (p @ _WEIGHTS).mean(axis=-1), ((p * (1 - p)) @ _WEIGHTS).mean(axis=-1)


def _solve_intercepts(target, v, seed_sd, start):
    """Per-simulation intercepts b with E_u[mean_q expit(b + u + v_q)] = target (Newton)."""
    # Newton on the logit of the mean: nearly linear in b in both tails (rare rates), so a
    # few steps reach 1e-10 where Newton on the mean itself crawls.
    b = np.full(target.shape, float(start))
    goal = np.log(target) - np.log1p(-target)
    for _ in range(30):
        m, slope = _conditional_rate(b, v, seed_sd)
        gap = np.log(m) - np.log1p(-m) - goal
        b = b - np.clip(gap * m * (1 - m) / np.maximum(slope, 1e-300), -3.0, 3.0)
        if np.max(np.abs(gap)) < 1e-9:
            break
    return b


def _arm_hits(rng, intercept, v, n_seeds, seed_sd, answers):
    """Hits (n_sims, seeds, Q) of one arm given questions ``v`` and per-simulation intercepts."""
    b = np.asarray(intercept, dtype=float)
    b = b[:, None, None] if b.ndim else b
    u = rng.normal(0.0, seed_sd, size=(v.shape[0], n_seeds, 1)) if seed_sd > 0 else 0.0
    return rng.binomial(answers, expit(b + u + v[:, None, :])).astype(np.int32)


# --------------------------------------------------------------------------- efficacy


@dataclass(frozen=True)
class EfficacyScenario:
    """One efficacy design (rates 0–1; SDs and effect on the logit scale)."""

    seeds_undefended: int
    seeds_defended: int
    seeds_reference: int
    rate: float  # the reference arm's expected mean per-seed rate
    seed_sd: float  # reference arm's between-seed SD
    treated_sd: float  # undefended arm's between-seed SD
    effect: float  # undefended − reference intercept shift
    answers: int
    questions: int
    question_sd: float = 0.8

    @property
    def label(self) -> str:
        return (f"efficacy {self.seeds_undefended}/{self.seeds_defended}/{self.seeds_reference} "
                f"rate {100 * self.rate:g}% sd {self.seed_sd:g}/{self.treated_sd:g} "
                f"effect {self.effect:+g} {self.questions}q x {self.answers}")

    def as_dict(self) -> dict:
        return asdict(self)


REMAINING = (0.0, 0.5, 1.0)


def efficacy_scenarios() -> list[EfficacyScenario]:
    """The grid's effect designs (seeds: undefended = defended = the grid's treated count),
    plus the rare rate 0.1 %: 648 designs, each run at f = 0, ½, 1."""
    out = []
    for (gt, gc), sd, ratio, rate, effect, (answers, questions) in itertools.product(
            SEED_PAIRS, (0.1, 0.4, 1.0), (1, 3), (0.001, 0.01, 0.12), (0.3, 1.4, 4.5),
            ((20, 10), (200, 100))):
        out.append(EfficacyScenario(gt, gt, gc, rate, sd, ratio * sd, effect, answers,
                                    questions))
    return out


def run_efficacy_scenario(sc: EfficacyScenario, *, n_sims: int = 1000, rng=None,
                          confidence_level: float = 0.95, methods=EFFICACY_METHODS,
                          reference: str = "control") -> list[dict]:
    """Coverage of the efficacy interval at f = 0, ½, 1 for ``methods`` in one design.

    ``reference="base"`` replaces the reference students by one unseeded base model at the
    control intercept (its sampling variance from
    :func:`~subliminal_stats.stats.arrays.single_model_variance`); the truth is then
    computed by quadrature for every f (the base is not distributed like control students).

    Returns one dict per (f, method): the scenario's fields, ``remaining`` (f),
    ``true_efficacy`` (mean over simulations of the per-simulation truth), ``method``,
    ``n_sims``, ``coverage``, ``unbounded`` (share "cannot tell"), ``coverage_bounded``.
    """
    if reference not in ("control", "base"):
        raise ValueError(f"reference must be 'control' or 'base', not {reference!r}")
    rng = np.random.default_rng(rng)
    qsd = sc.question_sd
    b_r = mean_rate_intercept(sc.rate, sc.seed_sd, qsd)
    b_u = b_r + sc.effect
    m_r = sc.rate
    m_u = _marginal_rate(b_u, sc.treated_sd, qsd)
    sd_half = 0.5 * (sc.seed_sd + sc.treated_sd)
    b_half = mean_rate_intercept(0.5 * (m_r + m_u), sd_half, qsd)
    ref_arm = (ArmSpec("reference", b_r, sc.seeds_reference, seed_sd=sc.seed_sd)
               if reference == "control" else ArmSpec("reference", b_r, 1, seeded=False))
    arms = (ref_arm,
            ArmSpec("undefended", b_u, sc.seeds_undefended, seed_sd=sc.treated_sd),
            ArmSpec("f0", b_r, sc.seeds_defended, seed_sd=sc.seed_sd),
            ArmSpec("f0.5", b_half, sc.seeds_defended, seed_sd=sd_half),
            ArmSpec("f1", b_u, sc.seeds_defended, seed_sd=sc.treated_sd))
    sim = simulate_cells(n_sims=n_sims, arms=arms, n_questions=sc.questions,
                         answers_per_question=sc.answers, question_sd=qsd, rng=rng, truth=False)
    u, r = sim.seed_rates("undefended"), sim.seed_rates("reference")
    v = sim.question_effects
    # Truth by quadrature for the three arms it needs (f = 0 and 1 are exact by construction).
    tu = _conditional_rate(b_u, v, sc.treated_sd)[0]
    tr = _conditional_rate(b_r, v, sc.seed_sd)[0]
    t_half = _conditional_rate(b_half, v, sd_half)[0]
    ref_kw = {}
    if reference == "base":
        hits = sim.hits["reference"][:, 0, :]
        r = hits.mean(axis=-1) / sc.answers
        ref_kw["reference_var"] = single_model_variance(hits, sc.answers)
        t_base = expit(b_r + v).mean(axis=-1)
    base = dict(sc.as_dict(), n_sims=int(n_sims))
    rows = []
    for f in REMAINING:
        label = f"f{f:g}"
        d = sim.seed_rates(label)
        if f == 1.0:
            truth = np.zeros(n_sims)
        elif reference == "base":
            truth = (tu - (tr if f == 0.0 else t_half)) / (tu - t_base)
        elif f == 0.0:
            truth = np.ones(n_sims)
        else:
            truth = (tu - t_half) / (tu - tr)
        for method in methods:
            res = fieller_batch(u, d, r, confidence_level=confidence_level, method=method,
                                **ref_kw)
            cover = (res.ci_low <= truth) & (truth <= res.ci_high)
            bounded = res.bounded
            rows.append(dict(base, remaining=f, true_efficacy=float(truth.mean()), method=method,
                             coverage=float(cover.mean()),
                             unbounded=float(1 - bounded.mean()),
                             coverage_bounded=(float(cover[bounded].mean()) if bounded.any()
                                               else math.nan)))
    return rows


# --------------------------------------------------------------------------- TOST


@dataclass(frozen=True)
class TostScenario:
    """One TOST design. ``rate`` is the lower arm's expected mean rate; δ comes from ``shift``."""

    kind: str  # "margin" (true difference = ±δ) or "equal" (true difference 0: power)
    side: str  # "above" / "below": the defended arm above / below the reference
    seeds_defended: int
    seeds_reference: int
    rate: float
    seed_sd: float  # the reference's between-seed SD
    defended_sd: float
    shift: float  # the logit shift whose rate difference at `rate` is the margin δ
    answers: int
    questions: int
    question_sd: float = 0.8

    @property
    def label(self) -> str:
        return (f"tost {self.kind} {self.side} {self.seeds_defended}v{self.seeds_reference} "
                f"rate {100 * self.rate:g}% sd {self.defended_sd:g}/{self.seed_sd:g} "
                f"shift {self.shift:g} {self.questions}q x {self.answers}")

    def as_dict(self) -> dict:
        return asdict(self)

    def margin(self) -> float:
        """δ: the rate difference a logit shift makes at this rate (the lower arm's spread)."""
        qsd = self.question_sd
        low_sd = self.defended_sd if (self.kind, self.side) == ("margin", "below") \
            else self.seed_sd
        b_low = mean_rate_intercept(self.rate, low_sd, qsd)
        return _marginal_rate(b_low + self.shift, low_sd, qsd) - self.rate


def tost_scenarios() -> list[TostScenario]:
    """Margin cells on both sides and equal-mean (power) cells: seed pairs of the grid in both
    orders, reference SD 0.1–1.0, defended SD 1× or 3× it, rates 0.1 %–50 %, shifts 0.3, 1.4,
    4.5 (cells whose upper rate would pass 90 % left out), two designs: 2,896 scenarios."""
    return list(_tost_scenarios())


@functools.lru_cache(maxsize=1)
def _tost_scenarios() -> tuple:
    # Each margin needs a quadrature: ~3 s for the grid, so it is built once per process.
    pairs = tuple(dict.fromkeys(SEED_PAIRS + tuple((c, t) for t, c in SEED_PAIRS)))
    out = []
    for (kind, side), (gd, gr), sd, ratio, rate, shift, (answers, questions) in \
            itertools.product((("margin", "above"), ("margin", "below"), ("equal", "above")),
                              pairs, (0.1, 0.4, 1.0), (1, 3), (0.001, 0.01, 0.12, 0.5),
                              (0.3, 1.4, 4.5), ((20, 10), (200, 100))):
        sc = TostScenario(kind, side, gd, gr, rate, sd, ratio * sd, shift, answers, questions)
        if kind == "equal" and shift == 4.5:  # power is not bound: two margins suffice
            continue
        if rate + sc.margin() <= 0.9:
            out.append(sc)
    return tuple(out)


def run_tost_scenario(sc: TostScenario, *, n_sims: int = 1000, rng=None,
                      alpha: float = 0.05, methods=TOST_METHODS,
                      reference: str = "control") -> list[dict]:
    """Rate of "equivalent" in one TOST design (false for ``margin``, power for ``equal``).

    Returns one dict per method: the scenario's fields, ``method``, ``margin``, ``n_sims``
    (simulations used),
    ``dropped`` (how many of the ``n_sims`` could not be filled from twice as many question
    sets because the lower arm left no room for the margin below 100 %; 0 in the grid),
    ``equivalent_rate``, ``undefined`` (zero spread in every seed: never "equivalent").
    """
    if reference not in ("control", "base"):
        raise ValueError(f"reference must be 'control' or 'base', not {reference!r}")
    rng = np.random.default_rng(rng)
    qsd = sc.question_sd
    delta = sc.margin()
    # Against the base the reference is one unseeded model (seed SD 0, one "seed").
    ref_sd = sc.seed_sd if reference == "control" else 0.0
    ref_seeds = sc.seeds_reference if reference == "control" else 1
    # Twice the questions sets needed: a set whose lower arm leaves no room for the margin
    # below 100 % is skipped, and the first n_sims feasible ones are used.
    v = rng.normal(0.0, qsd, size=(2 * n_sims, sc.questions))
    if sc.kind == "equal":
        b_r = mean_rate_intercept(sc.rate, ref_sd, qsd)
        v = v[:n_sims]
        m_r, _ = _conditional_rate(b_r, v, ref_sd)
        b_d = _solve_intercepts(m_r, v, sc.defended_sd,
                                mean_rate_intercept(sc.rate, sc.defended_sd, qsd))
    else:
        low_sd, up_sd = ((ref_sd, sc.defended_sd) if sc.side == "above"
                         else (sc.defended_sd, ref_sd))
        b_low = mean_rate_intercept(sc.rate, low_sd, qsd)
        m_low, _ = _conditional_rate(b_low, v, low_sd)
        feasible = np.flatnonzero(m_low + delta < _MAX_TARGET)[:n_sims]
        v, m_low = v[feasible], m_low[feasible]
        b_up = _solve_intercepts(m_low + delta, v, up_sd,
                                 mean_rate_intercept(min(sc.rate + delta, 0.99), up_sd, qsd))
        b_r, b_d = (b_low, b_up) if sc.side == "above" else (b_up, b_low)
    dropped = n_sims - v.shape[0]
    d = _arm_hits(rng, b_d, v, sc.seeds_defended, sc.defended_sd, sc.answers)
    r = _arm_hits(rng, b_r, v, ref_seeds, ref_sd, sc.answers)
    d_rates = d.mean(axis=-1) / sc.answers
    r_rates = r.mean(axis=-1) / sc.answers
    ref_kw = {}
    if reference == "base":
        ref_kw["reference_var"] = single_model_variance(r[:, 0, :], sc.answers)
        r_rates = r_rates[:, 0]
    rows = []
    for method in methods:
        p, equivalent, _ = tost_batch(d_rates, r_rates, margin=delta, alpha=alpha,
                                      method=method, **ref_kw)
        rows.append(dict(sc.as_dict(), method=method, margin=float(delta),
                         n_sims=int(v.shape[0]), dropped=int(dropped),
                         equivalent_rate=float(np.mean(equivalent)),
                         undefined=float(np.mean(~np.isfinite(p)))))
    return rows


# --------------------------------------------------------------------------- the table

#: Columns of the stored table; ``part`` is "efficacy" or "tost".
TABLE_COLUMNS = ("part", "method", "kind", "side", "seeds_undefended", "seeds_defended",
                 "seeds_reference", "rate", "seed_sd", "treated_sd", "defended_sd", "effect",
                 "shift", "remaining", "margin", "answers", "questions", "n_sims", "dropped",
                 "true_efficacy", "coverage", "unbounded", "coverage_bounded",
                 "equivalent_rate")


#: The table's parts; the index is the part's tag in each cell's random stream.
PARTS = ("efficacy", "tost", "efficacy-base", "tost-base")


def _base_cell(sc) -> bool:
    """Against the base the reference's seed count is moot: one cell per defended seed count."""
    if isinstance(sc, EfficacyScenario):
        return sc.seeds_reference == sc.seeds_undefended
    return sc.seeds_reference == sc.seeds_defended


def build_table(*, n_sims: int = 1000, rng: int = 20261202, efficacy=None, tost=None,
                progress=None, parts=None):
    """Simulate the efficacy and TOST grids (defaults: the whole of both; ``[]`` skips one)
    → one tidy frame."""
    import pandas as pd

    efficacy = efficacy_scenarios() if efficacy is None else list(efficacy)
    tost = tost_scenarios() if tost is None else list(tost)
    parts = [p for p in PARTS if p in parts] if parts is not None else list(PARTS)
    rows = []
    for part in parts:
        is_eff = part.startswith("efficacy")
        reference = "base" if part.endswith("-base") else "control"
        scenarios = efficacy if is_eff else tost
        runner = run_efficacy_scenario if is_eff else run_tost_scenario
        for i, sc in enumerate(scenarios):
            if reference == "base" and not _base_cell(sc):
                continue
            for row in runner(sc, n_sims=n_sims, rng=[rng, PARTS.index(part), i],
                              reference=reference):
                rows.append(dict(row, part=part, **({"kind": "effect"} if is_eff else {})))
            if progress and (i + 1) % 200 == 0:
                progress(f"{part} {i + 1}/{len(scenarios)}")
    frame = pd.DataFrame(rows)
    for col in TABLE_COLUMNS:
        if col not in frame:
            frame[col] = math.nan
    return frame[list(TABLE_COLUMNS)]


def write_table(path=None, *, n_sims: int = 1000, rng: int = 20261202, progress=None,
                part: str = "all"):
    """Rebuild the table and write it as ``defences_calibration_table.py`` (or ``path``).

    ``part="efficacy"`` or ``"tost"`` rebuilds that part only and keeps the other part's
    rows of the shipped table. Returns ``(path written, summary(frame))``.
    """
    from pathlib import Path

    import pandas as pd

    from subliminal_stats.data.outputs import atomic_write

    if n_sims < 1000:
        raise ValueError(f"the shipped table needs ≥ 1,000 simulations per cell, not {n_sims}")
    if part != "all" and part not in PARTS:
        raise ValueError(f"part must be 'all' or one of {', '.join(PARTS)}, not {part!r}")
    frame = build_table(n_sims=n_sims, rng=rng, progress=progress,
                        parts=None if part == "all" else (part,))
    if part != "all":
        old = table_frame()
        keep = old[old["part"] != part] if len(old) else old
        frame = pd.concat([keep, frame], ignore_index=True)[list(TABLE_COLUMNS)]
    body = frame.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    text = ('"""Calibration of efficacy intervals and TOST over the scenario grid (generated).\n\n'
            "Written by ``python -m subliminal_stats.stats.defences_calibration --write-table``"
            f" ({n_sims} simulations per cell, rng={rng}); read it with\n"
            ":func:`subliminal_stats.stats.defences_calibration.table_frame`. Do not edit.\n"
            '"""\n\n'
            f"N_SIMS = {n_sims}\nRNG = {rng}\n\n"
            f'TABLE_CSV = """\\\n{body}"""\n')
    target = Path(path) if path else Path(__file__).with_name("defences_calibration_table.py")
    atomic_write(target, text)
    return str(target), summary(frame)


def table_frame():
    """The shipped table as a DataFrame (empty when not generated yet)."""
    import io

    import pandas as pd

    try:
        from subliminal_stats.stats.defences_calibration_table import TABLE_CSV
    except ImportError:  # not generated yet
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    return pd.read_csv(io.StringIO(TABLE_CSV), keep_default_na=False, na_values=[""])


def _mc(rate: float, n: float) -> float:
    return math.sqrt(rate * (1 - rate) / n)


def _efficacy_label(row) -> str:
    return (f"{int(row['seeds_undefended'])}/{int(row['seeds_defended'])}/"
            f"{int(row['seeds_reference'])} seeds rate {100 * row['rate']:g}% "
            f"sd {row['seed_sd']:g}/{row['treated_sd']:g} effect {row['effect']:+g} "
            f"f {row['remaining']:g} {int(row['questions'])}q x {int(row['answers'])}")


def _tost_label(row) -> str:
    return (f"{row['kind']} {row['side']} {int(row['seeds_defended'])}v"
            f"{int(row['seeds_reference'])} rate {100 * row['rate']:g}% "
            f"sd {row['defended_sd']:g}/{row['seed_sd']:g} δ {100 * row['margin']:.3g} pp "
            f"{int(row['questions'])}q x {int(row['answers'])}")


def summary(frame=None, *, where=None):
    """Worst cells per method, with Monte Carlo SEs, and whether the rules hold everywhere.

    Parameters
    ----------
    frame : DataFrame, optional
        A table from :func:`build_table` (default: the shipped one).
    where : callable, optional
        A row filter ``frame -> bool Series`` (e.g. the cells where the default test is
        calibrated), to summarise a region.

    Returns
    -------
    pandas.DataFrame
        ``part, method, cells, min_sims, worst, worst_mc_se, worst_cell, share_failing,
        calibrated`` — ``worst`` is the lowest coverage (efficacy) or the highest
        false-"equivalent" rate (TOST margin cells); for TOST also ``median_power``.
    """
    import pandas as pd

    frame = table_frame() if frame is None else frame
    if where is not None:
        frame = frame[where(frame)]
    out = []
    for (part, method), g in frame[frame["part"].str.startswith("efficacy")].groupby(
            ["part", "method"], sort=False):
        w = g.loc[g["coverage"].idxmin()]
        fail = g["coverage"] < EFFICACY_RULES["min_coverage"]
        out.append({"part": part, "method": method, "cells": len(g),
                    "min_sims": int(g["n_sims"].min()), "worst": float(w["coverage"]),
                    "worst_mc_se": _mc(w["coverage"], w["n_sims"]),
                    "worst_cell": _efficacy_label(w), "share_failing": float(fail.mean()),
                    "median_unbounded": float(g["unbounded"].median()),
                    "calibrated": bool(not fail.any() and g["n_sims"].min()
                                       >= EFFICACY_RULES["min_sims"])})
    tost = frame[frame["part"].str.startswith("tost")]
    for (part, method), g in tost.groupby(["part", "method"], sort=False):
        m = g[g["kind"] == "margin"]
        if not len(m):
            continue
        w = m.loc[m["equivalent_rate"].idxmax()]
        fail = m["equivalent_rate"] > TOST_RULES["max_false_equivalence"]
        power = g[g["kind"] == "equal"]["equivalent_rate"]
        out.append({"part": part, "method": method, "cells": len(m),
                    "min_sims": int(m["n_sims"].min()), "worst": float(w["equivalent_rate"]),
                    "worst_mc_se": _mc(w["equivalent_rate"], w["n_sims"]),
                    "worst_cell": _tost_label(w), "share_failing": float(fail.mean()),
                    "median_power": float(power.median()) if len(power) else math.nan,
                    "calibrated": bool(not fail.any() and m["n_sims"].min()
                                       >= TOST_RULES["min_sims"])})
    return pd.DataFrame(out)


def failing_cells(frame=None):
    """The cells outside the rules (efficacy coverage < 93.5 %, TOST margin rate > 6.5 %)."""
    frame = table_frame() if frame is None else frame
    eff = (frame["part"].str.startswith("efficacy")
           & (frame["coverage"] < EFFICACY_RULES["min_coverage"]))
    tost = (frame["part"].str.startswith("tost") & (frame["kind"] == "margin")
            & (frame["equivalent_rate"] > TOST_RULES["max_false_equivalence"]))
    return frame[eff | tost].reset_index(drop=True)


def at_seeds(part: str, method: str, seeds: tuple, frame=None) -> dict:
    """The worst cell of the shipped grid at the grid seed counts nearest to ``seeds``.

    ``seeds`` is ``(undefended, defended, reference)`` for ``part="efficacy"`` and
    ``(defended, reference)`` for ``"tost"``. Returns ``seeds_used`` (the nearest grid
    counts, by squared log distance), ``cells``, ``worst`` (lowest coverage / highest false-
    "equivalent" rate) with ``worst_mc_se`` and ``worst_cell``, ``calibrated`` (the rule holds
    in every cell there) and, for efficacy, ``median_unbounded`` (the share of "cannot tell").
    For printing beside a result: "calibrated at these seeds" or the rate that says it is not.
    """
    frame = table_frame() if frame is None else frame
    g = frame[(frame["part"] == part) & (frame["method"] == method)]
    if part.startswith("efficacy"):
        cols = ["seeds_undefended", "seeds_defended", "seeds_reference"]
    else:
        cols = ["seeds_defended", "seeds_reference"]
        g = g[g["kind"] == "margin"]
    if not len(g) or len(seeds) != len(cols):
        raise ValueError(f"no {part} cells for method {method!r} with {len(cols)} seed counts")
    grid = g[cols].drop_duplicates().to_numpy(dtype=float)
    want = np.log(np.asarray(seeds, dtype=float))
    best = grid[np.argmin(((np.log(grid) - want) ** 2).sum(axis=1))]
    cell = g[(g[cols].to_numpy(dtype=float) == best).all(axis=1)]
    if part.startswith("efficacy"):
        w = cell.loc[cell["coverage"].idxmin()]
        worst, ok = float(w["coverage"]), bool((cell["coverage"]
                                                 >= EFFICACY_RULES["min_coverage"]).all())
        label, extra = _efficacy_label(w), {"median_unbounded": float(cell["unbounded"].median())}
    else:
        w = cell.loc[cell["equivalent_rate"].idxmax()]
        worst = float(w["equivalent_rate"])
        ok = bool((cell["equivalent_rate"] <= TOST_RULES["max_false_equivalence"]).all())
        label, extra = _tost_label(w), {}
    return dict(seeds_used=tuple(int(x) for x in best), cells=len(cell), worst=worst,
                worst_mc_se=_mc(worst, w["n_sims"]), worst_cell=label, calibrated=ok, **extra)


def _scenario_key(sc) -> tuple:
    d = sc.as_dict()
    return tuple(sorted((k, round(float(v), 9) if not isinstance(v, str) else v)
                        for k, v in d.items()))


def rerun_cell(row, *, n_sims: int | None = None, rng: int = 20261202) -> dict:
    """Rerun the table cell of ``row`` (a row of :func:`table_frame`) on its own stream.

    With the table's ``n_sims`` and ``rng`` it reproduces the stored numbers exactly; another
    ``rng`` gives an independent replicate of the cell. Returns the new row of the same method
    (and f, for efficacy).
    """
    row = dict(row)
    part = row["part"]
    tag = PARTS.index(part)
    if part.startswith("efficacy"):
        fields = EfficacyScenario.__dataclass_fields__
        scenarios, runner = efficacy_scenarios(), run_efficacy_scenario
    else:
        fields = TostScenario.__dataclass_fields__
        scenarios, runner = tost_scenarios(), run_tost_scenario
    kwargs = {k: (int(row[k]) if fields[k].type == "int" else
                  (str(row[k]) if fields[k].type == "str" else float(row[k])))
              for k in fields if k in row}  # question_sd: not stored, the default 0.8
    key = _scenario_key(type(scenarios[0])(**kwargs))
    index = next(i for i, sc in enumerate(scenarios) if _scenario_key(sc) == key)
    dropped = row.get("dropped", 0)
    dropped = 0 if dropped is None or dropped != dropped else int(dropped)  # NaN: efficacy
    n = int(row["n_sims"]) + dropped if n_sims is None else n_sims
    out = runner(scenarios[index], n_sims=n, rng=[rng, tag, index], methods=(row["method"],),
                 reference="base" if part.endswith("-base") else "control")
    if part.startswith("efficacy"):
        out = [r for r in out if r["remaining"] == float(row["remaining"])]
    return out[0]


def _main(argv=None) -> int:
    import argparse
    import sys
    import time

    parser = argparse.ArgumentParser(
        prog="python -m subliminal_stats.stats.defences_calibration",
        description="Rebuild (--write-table) or print the defences calibration table.")
    parser.add_argument("--write-table", action="store_true",
                        help="simulate the whole grid and write defences_calibration_table.py")
    parser.add_argument("--n-sims", type=int, default=1000)
    parser.add_argument("--rng", type=int, default=20261202)
    parser.add_argument("--part", choices=("all",) + PARTS, default="all",
                        help="rebuild one part only (the other part's rows are kept)")
    args = parser.parse_args(argv)
    if args.write_table:
        t0 = time.perf_counter()
        path, s = write_table(n_sims=args.n_sims, rng=args.rng, part=args.part,
                              progress=lambda m: print(m, file=sys.stderr, flush=True))
        print(f"wrote {path} in {time.perf_counter() - t0:.0f} s")
    else:
        s = summary()
    with __import__("pandas").option_context("display.width", 200, "display.max_colwidth", 90,
                                             "display.max_columns", 20):
        print(s.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
