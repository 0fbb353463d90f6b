"""The scenario grid every offered method is calibrated on (issue 13), and its vectorised engine.

Scenarios (logit scale, questions crossed with seeds and shared by every arm)::

    logit p[arm, seed, q] = b_arm + u_seed + v_q,  u ~ N(0, sd_arm²), v ~ N(0, 0.8²)

* **null** — the two arms identical in distribution (no transfer means treated students are
  drawn like control students): control rate 0.1 % … 90 %, between-seed SD 0.1–1.0,
  seeds 2v2, 3v3, 5v5, 10v10, 3v5, 2v10 (treated v control), 20 or 200 answers per
  question, 10 or 100 questions;
* **effect** — the same designs plus a treated shift of +0.3, +1.4 or +4.5 logits from a
  1 % or 12 % control rate, with the treated between-seed SD 1× or 3× the control's
  (the transfer varies from student to student);
* **spread** — robustness, not bound: the same expected mean rate in both arms, but the
  treated seeds spread 3× more (a test of means should not reject; pooled variance does).

Every scenario runs ``n_sims`` simulated experiments at once (arrays with a leading
simulation axis); the treated-vs-base comparison uses a single unseeded model whose true
rate equals the treated arm's expected rate under the null (so the null is exact) and the
control's rate under an effect. A rate/coverage is a share of simulations; its Monte
Carlo SE is ``sqrt(r (1 − r) / n_sims)``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import expit, logit

from subliminal_stats.stats import arrays as A
from subliminal_stats.stats.simulation import (
    ArmSpec,
    expected_logit,
    simulate_cells,
    single_model_rates,
)

__all__ = ["FAST_METHODS", "GRID_RULES", "Scenario", "default_scenarios", "mean_rate_intercept",
           "run_scenario"]

#: Methods simulated on every scenario (vectorised over simulations).
FAST_METHODS = ("welch", "pooled-t", "welch-satterthwaite", "welch-hsu", "permutation",
                "cluster-t", "naive-cluster-z", "naive-pooled-z", "t-vs-single-model",
                "clustered-vs-single-model", "logit-t")

#: The bounds a method must keep in every cell to be called calibrated (nominal 5 %).
GRID_RULES = {"max_fpr": 0.065, "min_coverage": 0.935, "min_null_sims": 1000}

SEED_PAIRS = ((2, 2), (3, 3), (5, 5), (10, 10), (3, 5), (2, 10))  # (treated, control)


@dataclass(frozen=True)
class Scenario:
    """One cell of the grid (rates on the 0–1 scale, SDs and effect on the logit scale)."""

    kind: str  # "null", "effect" or "spread"
    seeds_treated: int
    seeds_control: int
    rate: float  # the control arm's expected mean per-seed rate
    seed_sd: float  # control arm's between-seed SD
    treated_sd: float
    effect: float  # treated − control shift of the intercept
    answers: int
    questions: int
    question_sd: float = 0.8

    @property
    def label(self) -> str:
        return (f"{self.kind} {self.seeds_treated}v{self.seeds_control} rate {100 * self.rate:g}% "
                f"sd {self.seed_sd:g}/{self.treated_sd:g} effect {self.effect:+g} "
                f"{self.questions}q x {self.answers}")

    def as_dict(self) -> dict:
        return asdict(self)


def mean_rate_intercept(rate: float, seed_sd: float, question_sd: float) -> float:
    """Intercept b with E[expit(b + u + v)] = rate for u ~ N(0, seed_sd²), v ~ N(0, question_sd²)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    scale = math.hypot(seed_sd, question_sd)
    b = float(logit(rate))
    for _ in range(60):
        p = expit(b + scale * nodes)
        f = float(p @ weights) - rate
        b -= f / max(float((p * (1 - p)) @ weights), 1e-12)
        if abs(f) < 1e-12:
            break
    return b


def default_scenarios() -> list[Scenario]:
    """The shipped grid: 360 null, 432 effect and 24 spread scenarios."""
    out = []
    for (gt, gc), sd, rate, answers, questions in itertools.product(
            SEED_PAIRS, (0.1, 0.4, 1.0), (0.001, 0.01, 0.12, 0.5, 0.9), (20, 200), (10, 100)):
        out.append(Scenario("null", gt, gc, rate, sd, sd, 0.0, answers, questions))
    for (gt, gc), sd, ratio, rate, effect, (answers, questions) in itertools.product(
            SEED_PAIRS, (0.1, 0.4, 1.0), (1, 3), (0.01, 0.12), (0.3, 1.4, 4.5),
            ((20, 10), (200, 100))):
        out.append(Scenario("effect", gt, gc, rate, sd, ratio * sd, effect, answers, questions))
    for (gt, gc), sd, rate in itertools.product(SEED_PAIRS, (0.1, 0.4), (0.01, 0.12)):
        out.append(Scenario("spread", gt, gc, rate, sd, 3 * sd, 0.0, 50, 50))
    return out


def _summary(p, low, high, truth, alpha):
    p = np.asarray(p, dtype=float)
    row = {"rejection_rate": float(np.mean(p <= alpha * (1 + 1e-9))),
           "coverage": math.nan, "undefined": float(np.mean(~np.isfinite(p)))}
    if low is not None:
        low = np.asarray(low, dtype=float)
        high = np.asarray(high, dtype=float)
        # An undefined interval (zero spread in every seed) counts as not covering.
        row["coverage"] = float(np.mean((low <= truth) & (truth <= high)))
    return row


def run_scenario(sc: Scenario, *, n_sims: int = 1000, rng=None, alpha: float = 0.05,
                 alternative: str = "two-sided", methods=FAST_METHODS) -> list[dict]:
    """Rejection rate and interval coverage of ``methods`` in one scenario.

    Returns
    -------
    list of dict
        One per (comparison, method): the scenario's fields, ``comparison``, ``method``,
        ``n_sims``, ``rejection_rate`` (the false-positive rate when the scenario is a
        null), ``coverage`` of the ``1 − alpha`` interval (NaN for p-only methods),
        ``undefined`` (share of simulations without a p-value).
    """
    rng = np.random.default_rng(rng)
    level = 1 - alpha
    b_c = mean_rate_intercept(sc.rate, sc.seed_sd, sc.question_sd)
    if sc.kind == "spread":
        b_t = mean_rate_intercept(sc.rate, sc.treated_sd, sc.question_sd)
    else:
        b_t = b_c + sc.effect
    arms = (ArmSpec("control", b_c, sc.seeds_control, seed_sd=sc.seed_sd),
            ArmSpec("treated", b_t, sc.seeds_treated, seed_sd=sc.treated_sd))
    base_methods = set(methods) & {"t-vs-single-model", "clustered-vs-single-model"}
    # Identical arms: the true difference is exactly 0, and no quadrature is needed unless
    # the base model is matched to the treated arm's true rate.
    need_truth = sc.kind != "null" or bool(base_methods)
    sim = simulate_cells(n_sims=n_sims, arms=arms, n_questions=sc.questions,
                         answers_per_question=sc.answers, question_sd=sc.question_sd, rng=rng,
                         truth=need_truth)
    n = sc.answers
    t_rates, c_rates = sim.seed_rates("treated"), sim.seed_rates("control")
    if sc.kind == "null":
        truth = np.zeros(n_sims)
    else:
        truth = sim.true_mean["treated"] - sim.true_mean["control"]
    base = dict(sc.as_dict(), n_sims=int(n_sims))
    rows = []

    def add(comparison, method, p, low=None, high=None, truth_=truth):
        rows.append(dict(base, comparison=comparison, method=method,
                         **_summary(p, low, high, truth_, alpha)))

    want = set(methods)
    for name, fn in (("welch", A.welch_t), ("pooled-t", A.pooled_t),
                     ("welch-satterthwaite",
                      lambda x, y, **k: A.welch_t(x, y, df_rule="satterthwaite", **k)),
                     ("welch-hsu", lambda x, y, **k: A.welch_t(x, y, df_rule="hsu", **k))):
        if name in want:
            r = fn(t_rates, c_rates, alternative=alternative, confidence_level=level)
            add("vs control", name, r.p_value, r.ci_low, r.ci_high)
    if "permutation" in want:
        p = A.permutation_pvalues_batch(t_rates, c_rates, alternative=alternative, rng=rng)
        add("vs control", "permutation", p)
    th, ch = sim.hits["treated"].sum(axis=-1), sim.hits["control"].sum(axis=-1)
    nt = np.full(th.shape, float(n * sc.questions))
    nc = np.full(ch.shape, float(n * sc.questions))
    if want & {"cluster-t", "naive-cluster-z"}:
        diff, se = A.cluster_se_difference(th, nt, ch, nc)
        for name, dof in (("cluster-t", sc.seeds_treated + sc.seeds_control - 2.0),
                          ("naive-cluster-z", np.inf)):
            if name in want:
                r = A.t_inference(diff, se, dof, alternative=alternative, confidence_level=level)
                add("vs control", name, r.p_value, r.ci_low, r.ci_high)
    if "naive-pooled-z" in want:
        p = A.naive_pooled_z(th.sum(-1), nt.sum(-1), ch.sum(-1), nc.sum(-1),
                             alternative=alternative)
        add("vs control", "naive-pooled-z", p)

    if want & {"t-vs-single-model", "clustered-vs-single-model"} and sc.seeds_treated >= 2:
        v = sim.question_effects
        if sc.kind == "effect":
            pb = expit(b_c + v)
            base_hits = rng.binomial(n, pb).astype(np.int32)
            truth_b = sim.true_mean["treated"] - pb.mean(axis=1)
        else:
            # Under the null the base's true rate equals the treated arm's expected rate.
            pb = single_model_rates(sim.true_mean["treated"], v)
            base_hits = rng.binomial(n, pb).astype(np.int32)
            truth_b = np.zeros(n_sims)
        b_mean = base_hits.mean(axis=-1) / n
        if "t-vs-single-model" in want:
            var_b = A.single_model_variance(base_hits, n)
            r = A.paired_vs_single(t_rates, b_mean, var_b, alternative=alternative,
                                   confidence_level=level)
            add("vs base", "t-vs-single-model", r.p_value, r.ci_low, r.ci_high, truth_b)
        if "clustered-vs-single-model" in want:
            mean, se = A.clustered_mean_se(base_hits, n)
            r = A.t_vs_noisy_constant(t_rates, mean, se, sc.questions - 1,
                                      alternative=alternative, confidence_level=level)
            add("vs base", "clustered-vs-single-model", r.p_value, r.ci_low, r.ci_high, truth_b)

    # The log-odds t last, so that adding it left every other method's random draws as they were.
    if "logit-t" in want:
        v = sim.question_effects
        lt_true = expected_logit(b_t, v, sc.treated_sd)
        truth_l = (np.zeros(n_sims) if sc.kind == "null"
                   else lt_true - expected_logit(b_c, v, sc.seed_sd))
        r = A.logit_t(th, nt, ch, nc, alternative=alternative, confidence_level=level)
        add("vs control", "logit-t", r.p_value, r.ci_low, r.ci_high, truth_l)
        if sc.seeds_treated >= 2 and base_methods:
            if sc.kind == "effect":  # the untrained base sits where the control arm's centre is
                pb = expit(b_c + v)
                truth_b = lt_true - expected_logit(b_c, v, 0.0)
            else:  # null: the base is the typical treated student (its log-odds their mean)
                pb = single_model_rates(expit(lt_true), v)
                truth_b = np.zeros(n_sims)
            base_hits = rng.binomial(n, pb).astype(np.int32).sum(axis=-1)
            r = A.logit_t_vs_single(th, nt, base_hits, float(n * sc.questions),
                                    alternative=alternative, confidence_level=level)
            add("vs base", "logit-t", r.p_value, r.ci_low, r.ci_high, truth_b)
    return rows


#: Columns of the stored grid (:data:`~subliminal_stats.stats.calibration_table.GRID_CSV`).
GRID_COLUMNS = ("kind", "seeds_treated", "seeds_control", "rate", "seed_sd", "treated_sd",
                "effect", "answers", "questions", "comparison", "method", "n_sims",
                "rejection_rate", "coverage")


def run_grid(scenarios=None, *, n_sims: int = 1000, rng: int = 20261201, alpha: float = 0.05,
             alternative: str = "two-sided", methods=FAST_METHODS, progress=None):
    """Every scenario of the grid (default :func:`default_scenarios`) → a tidy frame.

    Each scenario has its own random stream ``[rng, index]`` so any cell reruns alone.
    """
    import pandas as pd

    scenarios = default_scenarios() if scenarios is None else list(scenarios)
    rows = []
    for i, sc in enumerate(scenarios):
        rows += run_scenario(sc, n_sims=n_sims, rng=[rng, i], alpha=alpha,
                             alternative=alternative, methods=methods)
        if progress and (i + 1) % 50 == 0:
            progress(f"{i + 1}/{len(scenarios)} scenarios")
    return pd.DataFrame(rows)


def grid_frame():
    """The shipped grid table as a DataFrame (empty when not generated yet)."""
    import io

    import pandas as pd

    from subliminal_stats.stats.calibration_table import GRID_CSV

    if not GRID_CSV.strip():
        return pd.DataFrame(columns=list(GRID_COLUMNS))
    # "null" is a scenario kind here, not a missing value.
    return pd.read_csv(io.StringIO(GRID_CSV), keep_default_na=False, na_values=[""])


def grid_summary(frame, *, rules=GRID_RULES):
    """Per (comparison, method): worst null FPR, worst effect coverage, the spread row, the verdict.

    Returns
    -------
    pandas.DataFrame
        ``comparison, method, null_cells, min_sims, worst_fpr, worst_fpr_mc_se, worst_fpr_cell,
        worst_coverage, worst_coverage_mc_se, worst_coverage_cell, spread_worst_fpr,
        calibrated`` — ``calibrated`` applies ``rules`` in every null and effect cell.
    """
    import pandas as pd

    out = []
    for (comparison, method), g in frame.groupby(["comparison", "method"], sort=False):
        null = g[g["kind"] == "null"]
        eff = g[g["kind"] == "effect"]
        spread = g[g["kind"] == "spread"]

        def label(row):
            return (f"{row['kind']} {row['seeds_treated']}v{row['seeds_control']} rate "
                    f"{100 * row['rate']:g}% sd {row['seed_sd']:g}/{row['treated_sd']:g} "
                    f"effect {row['effect']:+g} {row['questions']}q x {row['answers']}")

        rec = {"comparison": comparison, "method": method, "null_cells": len(null),
               "effect_cells": len(eff), "min_sims": int(g["n_sims"].min())}
        if len(null):
            w = null.loc[null["rejection_rate"].idxmax()]
            rec.update(worst_fpr=float(w["rejection_rate"]),
                       worst_fpr_mc_se=math.sqrt(w["rejection_rate"] * (1 - w["rejection_rate"])
                                                 / w["n_sims"]),
                       worst_fpr_cell=label(w))
        cov = eff["coverage"].dropna()
        if len(cov):
            w = eff.loc[cov.idxmin()]
            rec.update(worst_coverage=float(w["coverage"]),
                       worst_coverage_mc_se=math.sqrt(w["coverage"] * (1 - w["coverage"])
                                                      / w["n_sims"]),
                       worst_coverage_cell=label(w))
        if len(spread):
            rec["spread_worst_fpr"] = float(spread["rejection_rate"].max())
        ok = (len(null) > 0 and rec["min_sims"] >= rules["min_null_sims"]
              and rec.get("worst_fpr", 1.0) <= rules["max_fpr"]
              and (len(cov) == 0 or rec.get("worst_coverage", 0.0) >= rules["min_coverage"]))
        rec["calibrated"] = bool(ok and not method.startswith("naive"))
        out.append(rec)
    return pd.DataFrame(out)


def close_rows(frame, method: str, *, comparison: str = "vs control", fpr_above: float = 0.055,
               coverage_below: float = 0.945):
    """Cells where ``method`` comes within 1 point of a bound (the rows where the choice is close)."""
    g = frame[(frame["method"] == method) & (frame["comparison"] == comparison)]
    near = ((g["kind"] == "null") & (g["rejection_rate"] > fpr_above)) | \
        ((g["kind"] == "effect") & (g["coverage"] < coverage_below))
    return g[near].reset_index(drop=True)
