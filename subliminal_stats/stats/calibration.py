"""Calibration by simulation: each method's false-positive rate and interval coverage.

:func:`calibrate` simulates many experiments of the user's design (see
:mod:`subliminal_stats.stats.simulation`) and runs every method on them:

* ``rejection_rate`` — share of simulations with p < α for "no difference";
  with ``effect=0`` this is the false-positive rate, otherwise the power;
* ``coverage`` — share of intervals containing the true difference (the
  difference of the arms' expected mean per-seed rates given the simulated
  questions, computed by quadrature).

The fast seed-level methods are vectorised over simulations; the bootstrap
loops over simulations (fewer resamples); the mixed models (if
``stats/mixed.py`` is installed) use ``n_sims_slow`` simulations.

Reproduce the stored standard-scenario table (``calibration_table.TABLE``) with::

    python -m subliminal_stats.stats.calibration --write-standard-table

and the scenario grid (``calibration_table.GRID_CSV``) with
``subliminal-stats calibrate --write-table``; :func:`calibrate_design` simulates a
user's own design (``subliminal-stats calibrate DATA``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A
from subliminal_stats.stats.simulation import (
    SimulatedCells,
    cells_frame,
    expected_logit,
    simulate_cells,
    single_model_rates,
)

#: Valid = simulated FPR at nominal 5 % at most this and coverage at least
#: ``CALIBRATED_MIN_COVERAGE`` (the band the issue sets for the default test).
CALIBRATED_MAX_FPR = 0.065
CALIBRATED_MIN_COVERAGE = 0.935

#: The scenario of docs/STATISTICS.md, used for the stored table.
STANDARD_SCENARIO = {
    "intercept": -2.0,
    "seed_sd": 0.4,
    "question_sd": 0.8,
    "n_questions": 50,
    "answers_per_question": 20,
}

FAST_METHODS_VS_CONTROL = (
    "pooled-t", "welch", "permutation", "bootstrap-percentile", "bootstrap-bca",
    "cluster-t", "naive-cluster-z", "naive-pooled-z",
)
FAST_METHODS_VS_BASE = ("t-vs-single-model", "clustered-vs-single-model",
                        "bootstrap-percentile", "bootstrap-bca", "naive-pooled-z")
MIXED_METHODS = ("lmm", "glmm-map", "gee-bias-reduced")


def matched_base_hits(sim: SimulatedCells, *, target: str, answers_per_question: int,
                      question_effects: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """One unseeded base model per simulation whose true rate equals ``target``'s.

    Solves, per simulation, ``mean_q expit(b + v_q) = true_mean[target]`` for the
    base intercept ``b`` (Newton), so the base comparison's null is exactly true.
    Returns hits (n_sims, 1, Q) and the base's true rate (n_sims,).
    """
    p = single_model_rates(sim.true_mean[target], question_effects)
    hits = rng.binomial(answers_per_question, p)[:, None, :].astype(np.int32)
    return hits, p.mean(axis=1)


def _batch_t_methods(t_rates, r_rates, truth, alternative, confidence_level, single_reference,
                     ref_hits=None, n=None):
    out = {}
    if single_reference:
        b_mean = ref_hits[:, 0, :].mean(axis=-1) / n
        var_b = A.single_model_variance(ref_hits[:, 0, :], n)
        out["t-vs-single-model"] = A.paired_vs_single(t_rates, b_mean, var_b,
                                                      alternative=alternative,
                                                      confidence_level=confidence_level)
        mean, se = A.clustered_mean_se(ref_hits[:, 0, :], n)
        out["clustered-vs-single-model"] = A.t_vs_noisy_constant(
            t_rates, mean, se, ref_hits.shape[-1] - 1, alternative=alternative,
            confidence_level=confidence_level)
        return out
    out["pooled-t"] = A.pooled_t(t_rates, r_rates, alternative=alternative,
                                 confidence_level=confidence_level)
    out["welch"] = A.welch_t(t_rates, r_rates, alternative=alternative,
                             confidence_level=confidence_level)
    return out


def _summarise(name, comparison, p, low, high, truth, alpha, n_sims, note=""):
    p = np.asarray(p, dtype=float)
    row = {
        "comparison": comparison,
        "method": name,
        "n_sims": int(n_sims),
        "rejection_rate": float(np.mean(p < alpha)),
        "coverage": math.nan,
        "mean_ci_width_pp": math.nan,
        "note": note,
    }
    if low is not None:
        low = np.asarray(low, dtype=float)
        high = np.asarray(high, dtype=float)
        row["coverage"] = float(np.mean((low <= truth) & (truth <= high)))
        width = high - low
        finite = np.isfinite(width)
        row["mean_ci_width_pp"] = float(100 * width[finite].mean()) if finite.any() else math.inf
    return row


def _bootstrap_batch(t_cells, r_cells, *, n_resamples, alternative, confidence_level, rng):
    """Percentile and BCa results for each simulation (loop; cells are rates)."""
    n_sims = t_cells.shape[0]
    out = {k: np.empty(n_sims) for k in ("p", "plo", "phi", "blo", "bhi")}
    for i in range(n_sims):
        reps, est, jk = bootstrap_difference(t_cells[i], r_cells[i], n_resamples=n_resamples,
                                             rng=rng)
        out["p"][i] = A.bootstrap_pvalue(reps, alternative=alternative)
        out["plo"][i], out["phi"][i] = A.bootstrap_interval(
            reps, est, confidence_level=confidence_level, alternative=alternative, kind="percentile")
        out["blo"][i], out["bhi"][i] = A.bootstrap_interval(
            reps, est, jk, confidence_level=confidence_level, alternative=alternative, kind="bca")
    return out


def bootstrap_difference(treated_rates, reference_rates, *, n_resamples, rng,
                         treated_reps=None, reference_reps=None):
    """Replicates, estimate and leave-one-cluster-out jackknife of mean(treated) − mean(reference).

    Arms are (seeds, questions) rate tables (NaN = not asked). The jackknife
    leaves out one seed at a time; for a one-seed arm, one question at a time.
    """
    t = np.asarray(treated_rates, dtype=float)
    r = np.asarray(reference_rates, dtype=float)
    if treated_reps is None:
        treated_reps = A.resample_arm_means(t, n_resamples=n_resamples, rng=rng)
    if reference_reps is None:
        reference_reps = A.resample_arm_means(r, n_resamples=n_resamples, rng=rng)
    t_seed = np.nanmean(t, axis=1)
    r_seed = np.nanmean(r, axis=1)
    estimate = t_seed.mean() - r_seed.mean()

    def leave_out(seed_rates, table):
        if len(seed_rates) >= 2:
            total = seed_rates.sum()
            return (total - seed_rates) / (len(seed_rates) - 1)
        row = table[0][np.isfinite(table[0])]
        if len(row) < 2:
            return np.array([row.mean()])
        return (row.sum() - row) / (len(row) - 1)

    jk_t = leave_out(t_seed, t) - r_seed.mean()
    jk_r = t_seed.mean() - leave_out(r_seed, r)
    return treated_reps - reference_reps, estimate, np.concatenate([jk_t, jk_r])


def calibrate(
    *,
    seeds_per_arm: int = 5,
    n_questions: int = 50,
    answers_per_question: int = 20,
    intercept: float = -2.0,
    seed_sd: float = 0.4,
    question_sd: float = 0.8,
    effect: float = 0.0,
    n_sims: int = 2000,
    n_sims_bootstrap: int | None = None,
    n_sims_slow: int = 50,
    resamples: int = 999,
    methods: Sequence[str] | None = None,
    include_base: bool = True,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    rng=0,
    progress: Callable[[str], None] | None = None,
    n_resamples: int | None = None,
    method: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Simulated rejection rate and interval coverage of each method for one design.

    Parameters
    ----------
    seeds_per_arm, n_questions, answers_per_question : int
        The design (equal seeds per student arm; one unseeded base model).
    intercept, seed_sd, question_sd : float
        Logit-scale control intercept and random-effect SDs.
    effect : float
        Treated shift on the logit scale (0 = null: rejection rate = FPR).
    n_sims : int
        Simulations for the vectorised seed-level methods.
    n_sims_bootstrap : int, optional
        Simulations for the bootstrap (default ``min(n_sims, 1000)``).
    n_sims_slow : int
        Simulations for the mixed models (each is a model fit).
    resamples : int
        Bootstrap resamples per simulation (``n_resamples``: its former name).
    methods, method : sequence of str, optional
        Restrict to these methods (default: all); registry names or their aliases
        (``glmm`` → ``glmm-map``).
    include_base : bool
        Also calibrate treated vs a single base model (with the base's true rate
        set equal to the treated arm's, so that the null is exactly true).
    alpha : float
        Nominal level; intervals are at ``1 − alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per (comparison, method): ``comparison, method, n_sims,
        rejection_rate, coverage, mean_ci_width_pp, calibrated, note``.
    """
    A.check_alternative(alternative)
    if n_resamples is not None:
        resamples = n_resamples
    n_resamples = resamples
    rng = np.random.default_rng(rng)
    confidence_level = 1 - alpha
    say = progress or (lambda message: None)
    chosen = methods if methods is not None else method
    if isinstance(chosen, str):
        chosen = [m.strip() for m in chosen.split(",") if m.strip()]
    aliases = {"glmm": "glmm-map", "gee": "gee-bias-reduced"}
    wanted = {aliases.get(m, m) for m in chosen} if chosen else None

    def use(name):
        return wanted is None or name in wanted

    question_rng = np.random.default_rng(rng.integers(2**63))
    sim = simulate_cells(n_sims=n_sims, seeds_per_arm=seeds_per_arm, n_questions=n_questions,
                         answers_per_question=answers_per_question, intercept=intercept,
                         effect=effect, seed_sd=seed_sd, question_sd=question_sd, rng=question_rng)
    n = answers_per_question
    t_rates = sim.seed_rates("treated")
    c_rates = sim.seed_rates("control")
    truth_c = sim.true_mean["treated"] - sim.true_mean["control"]
    rows = []

    say("seed-level t tests and permutation")
    res = _batch_t_methods(t_rates, c_rates, truth_c, alternative, confidence_level, False)
    for name in ("pooled-t", "welch"):
        if use(name):
            rows.append(_summarise(name, "vs control", res[name].p_value, res[name].ci_low,
                                   res[name].ci_high, truth_c, alpha, n_sims))
    if use("permutation"):
        p = A.permutation_pvalues_batch(t_rates, c_rates, alternative=alternative, rng=rng)
        masks_total = math.comb(2 * seeds_per_arm, seeds_per_arm)
        note = ""
        if masks_total <= 20_000:
            min_p = (2 if alternative == "two-sided" else 1) / masks_total
            if min_p >= alpha:
                note = f"cannot reach α: smallest p = {min_p:.3g}"
        rows.append(_summarise("permutation", "vs control", p, None, None, truth_c, alpha, n_sims,
                               note or "p-value only (interval not simulated)"))
    # Seed-clustered SE of the pooled proportion (reference and naive variants).
    th = sim.hits["treated"].sum(axis=-1)
    ch = sim.hits["control"].sum(axis=-1)
    seed_n = np.full(th.shape, n * n_questions, dtype=float)
    if use("logit-t"):
        # Its estimand: the shift of the students' mean log-odds (no random draws here, so
        # the other methods' numbers do not depend on whether it is asked for).
        v = sim.question_effects
        truth_l = (expected_logit(intercept + effect, v, seed_sd)
                   - expected_logit(intercept, v, seed_sd))
        r = A.logit_t(th, seed_n, ch, seed_n, alternative=alternative,
                      confidence_level=confidence_level)
        rows.append(_summarise("logit-t", "vs control", r.p_value, r.ci_low, r.ci_high, truth_l,
                               alpha, n_sims, "the default: t on per-seed log-odds, Hsu df; "
                               "coverage of the log-odds shift"))
        rows[-1]["mean_ci_width_pp"] = math.nan  # its interval is on the log-odds scale
    diff, se = A.cluster_se_difference(th, seed_n, ch, seed_n)
    if use("cluster-t"):
        r = A.t_inference(diff, se, 2 * seeds_per_arm - 2, alternative=alternative,
                          confidence_level=confidence_level)
        rows.append(_summarise("cluster-t", "vs control", r.p_value, r.ci_low, r.ci_high, truth_c,
                               alpha, n_sims, "seed-clustered SE, t on 2G−2 df"))
    if use("naive-cluster-z"):
        r = A.t_inference(diff, se, np.inf, alternative=alternative,
                          confidence_level=confidence_level)
        rows.append(_summarise("naive-cluster-z", "vs control", r.p_value, r.ci_low, r.ci_high,
                               truth_c, alpha, n_sims, "NAIVE: seed-clustered SE with z"))
    if use("naive-pooled-z"):
        p = A.naive_pooled_z(th.sum(-1), seed_n.sum(-1), ch.sum(-1), seed_n.sum(-1),
                             alternative=alternative)
        rows.append(_summarise("naive-pooled-z", "vs control", p, None, None, truth_c, alpha,
                               n_sims, "NAIVE: every answer as independent"))

    nb = min(n_sims, 1000) if n_sims_bootstrap is None else min(n_sims_bootstrap, n_sims)
    if nb > 0 and (use("bootstrap-percentile") or use("bootstrap-bca")):
        say(f"hierarchical bootstrap ({nb} simulations × {n_resamples} resamples)")
        b = _bootstrap_batch(sim.rates("treated")[:nb], sim.rates("control")[:nb],
                             n_resamples=n_resamples, alternative=alternative,
                             confidence_level=confidence_level, rng=rng)
        note = f"{n_resamples} resamples; p by percentile inversion"
        if use("bootstrap-percentile"):
            rows.append(_summarise("bootstrap-percentile", "vs control", b["p"], b["plo"], b["phi"],
                                   truth_c[:nb], alpha, nb, note))
        if use("bootstrap-bca"):
            rows.append(_summarise("bootstrap-bca", "vs control", b["p"], b["blo"], b["bhi"],
                                   truth_c[:nb], alpha, nb, note))

    mixed = _mixed_functions()
    slow = [m for m in MIXED_METHODS if use(m)]
    if slow and n_sims_slow > 0:
        ns = min(n_sims_slow, n_sims)
        say(f"mixed models ({ns} simulations each)")
        for name in slow:
            ps, lows, highs = [], [], []
            for i in range(ns):
                cells = cells_frame(sim, i, labels=("control", "treated"))
                try:
                    with np.errstate(all="ignore"):
                        result = mixed[name](cells, trait="sim", treated="treated",
                                             control="control", alternative=alternative,
                                             confidence_level=confidence_level)
                    ps.append(result.p_value)
                    lows.append(result.ci_low)
                    highs.append(result.ci_high)
                except Exception:  # a failed fit counts as "no rejection, no coverage"
                    ps.append(math.nan)
                    lows.append(math.nan)
                    highs.append(math.nan)
            rows.append(_summarise(name, "vs control", np.nan_to_num(np.array(ps), nan=1.0),
                                   lows, highs, truth_c[:ns], alpha, ns, f"{ns} model fits"))

    if include_base:
        say("treated vs a single base model")
        # The base's true rate is set to the treated arm's expected rate (exact null)
        # when effect = 0; with an effect the base sits at the control intercept.
        v = sim.question_effects
        if effect == 0:
            base_hits, base_truth = matched_base_hits(sim, target="treated", answers_per_question=n,
                                                      question_effects=v, rng=rng)
        else:
            p = expit(intercept + v)
            base_hits = rng.binomial(n, p)[:, None, :].astype(np.int32)
            base_truth = p.mean(axis=1)
        truth_b = sim.true_mean["treated"] - base_truth
        res = _batch_t_methods(t_rates, None, truth_b, alternative, confidence_level, True,
                               ref_hits=base_hits, n=n)
        if use("pooled-t") or use("welch") or use("t-vs-single-model"):
            r = res["t-vs-single-model"]
            rows.append(_summarise("t-vs-single-model", "vs base", r.p_value, r.ci_low,
                                   r.ci_high, truth_b, alpha, n_sims, "used by welch and "
                                   "pooled-t: question-paired, base binomial variance added"))
            r = res["clustered-vs-single-model"]
            rows.append(_summarise("clustered-vs-single-model", "vs base", r.p_value, r.ci_low,
                                   r.ci_high, truth_b, alpha, n_sims, "former base comparison: "
                                   "question-clustered SE of the base (not offered)"))
        if use("naive-pooled-z"):
            p = A.naive_pooled_z(th.sum(-1), seed_n.sum(-1), base_hits.sum(axis=(1, 2)),
                                 float(n * n_questions), alternative=alternative)
            rows.append(_summarise("naive-pooled-z", "vs base", p, None, None, truth_b, alpha,
                                   n_sims, "NAIVE: every answer as independent"))
        if nb > 0 and (use("bootstrap-percentile") or use("bootstrap-bca")):
            b = _bootstrap_batch(sim.rates("treated")[:nb], base_hits[:nb] / n,
                                 n_resamples=n_resamples, alternative=alternative,
                                 confidence_level=confidence_level, rng=rng)
            note = f"{n_resamples} resamples; base: questions resampled"
            if use("bootstrap-percentile"):
                rows.append(_summarise("bootstrap-percentile", "vs base", b["p"], b["plo"],
                                       b["phi"], truth_b[:nb], alpha, nb, note))
            if use("bootstrap-bca"):
                rows.append(_summarise("bootstrap-bca", "vs base", b["p"], b["blo"], b["bhi"],
                                       truth_b[:nb], alpha, nb, note))

    out = pd.DataFrame(rows)
    if len(out):
        if effect == 0:
            fpr_ok = out["rejection_rate"] <= CALIBRATED_MAX_FPR
        else:
            fpr_ok = pd.Series(True, index=out.index)
        cov_ok = out["coverage"].isna() | (out["coverage"] >= CALIBRATED_MIN_COVERAGE)
        # "Calibrated" needs >= 1,000 simulations (else the row says "unknown (n simulations)").
        out["calibrated"] = fpr_ok & cov_ok & (out["n_sims"] >= 1000)
        out.loc[out["method"].str.startswith("naive"), "calibrated"] = False
        out["calibration"] = [
            (f"unknown ({n} simulations)" if n < 1000 and not m.startswith("naive")
             else ("yes" if c else "NO")) for m, n, c in zip(out["method"], out["n_sims"],
                                                             out["calibrated"], strict=True)]
    return out


def _mixed_functions() -> dict:
    """The mixed-model comparisons, by the name :func:`calibrate` gives their rows."""
    from subliminal_stats.stats import mixed

    return dict(mixed.COMPARISONS)


# --------------------------------------------------------------------------- stored table


def lookup(method: str, comparison: str, seeds_per_arm: float):
    """Stored standard-scenario row for the nearest simulated seeds-per-arm (or None)."""
    from subliminal_stats.stats.calibration_table import TABLE

    sizes = sorted({g for (m, c, g) in TABLE if m == method and c == comparison})
    if not sizes:
        return None
    nearest = min(sizes, key=lambda g: (abs(g - seeds_per_arm), g))
    rejection, coverage, n_sims = TABLE[(method, comparison, nearest)]
    return {"seeds_per_arm": nearest, "fpr": rejection, "coverage": coverage, "n_sims": n_sims}


def write_table(path=None, *, n_sims: int = 1000, rng: int = 20261201, progress=None,
                scenarios=None):
    """Simulate the scenario grid and store it as ``GRID_CSV`` in ``calibration_table.py``.

    The other tables of the module (``TABLE``, ``MIXED_FPR``) are kept as they are. With
    ``path``, a copy of the module with the new grid is written there instead;
    ``scenarios`` (default: the whole grid) restricts it, e.g. for a quick check.

    Returns
    -------
    (path written, :func:`~subliminal_stats.stats.grid.grid_summary` of the new grid)
    """
    from pathlib import Path

    from subliminal_stats.data.outputs import atomic_write
    from subliminal_stats.stats.grid import GRID_COLUMNS, grid_summary, run_grid

    frame = run_grid(scenarios, n_sims=n_sims, rng=rng, progress=progress)
    module = Path(__file__).with_name("calibration_table.py")
    text = module.read_text(encoding="utf-8")
    marker = "#: The scenario grid"
    head = text[: text.index(marker)] if marker in text else text.rstrip() + "\n\n"
    body = frame[list(GRID_COLUMNS)].to_csv(index=False, float_format="%.6g",
                                              lineterminator="\n")
    block = (f"{marker} (:mod:`subliminal_stats.stats.grid`), {n_sims} simulations per "
             f"cell, rng={rng},\n#: written by `subliminal-stats calibrate --write-table`; "
             "read it with grid.grid_frame().\n"
             f'GRID_CSV = """\\\n{body}"""\n')
    target = Path(path) if path else module
    atomic_write(target, head + block)
    return str(target), grid_summary(frame)


def calibrate_design(df: pd.DataFrame, *, treated: str = "treated", control: str = "control",
                     base: str | None = None, n_sims: int = 2000, alpha: float = 0.05,
                     alternative: str = "two-sided", rng=0):
    """Simulate the user's own design, trait by trait (``calibrate DATA``).

    For treated vs control: nulls with both arms drawn like the control and like the
    treated students, the "same mean, different spread" robustness row, and the estimated
    effect with each arm's own spread (coverage). For treated vs base: the null (base rate
    equal to the treated arm's) and the estimated effect.

    Returns
    -------
    (frame, descriptions)
        One row per (trait, comparison, scenario, method) with ``rejection_rate``,
        ``coverage``, ``n_sims`` and ``calibrated`` ("yes" / "NO" / "unknown (n simulations)");
        one sentence per estimated design.
    """
    from subliminal_stats.stats.cells import arm_data, cell_counts, split_by_trait
    from subliminal_stats.stats.design import estimate_design
    from subliminal_stats.stats.grid import Scenario, mean_rate_intercept, run_scenario

    cells = cell_counts(df)
    rows, lines = [], []
    for trait, tcells in split_by_trait(cells).items():
        arm_t = arm_data(tcells, trait=trait, condition=treated)
        refs = [("vs control", arm_data(tcells, trait=trait, condition=control))]
        if base is not None and (tcells.condition == base).any():
            refs.append(("vs base", arm_data(tcells, trait=trait, condition=base)))
        if arm_t.n_seeds < 2:
            raise InputError(f"trait {trait!r}: {treated!r} has {arm_t.n_seeds} seed; a design "
                             "to calibrate needs at least 2 treated seeds")
        for comparison, ref in refs:
            d = estimate_design(arm_t, ref)
            lines.append(f"{trait} {comparison}: {d.describe()}")
            b_t = mean_rate_intercept(d.rate_treated, d.sd_treated, d.question_sd)
            if comparison == "vs control":
                b_r = mean_rate_intercept(d.rate_reference, d.sd_reference, d.question_sd)
                scen = [("null (arms like control)", Scenario(
                            "null", d.seeds_treated, d.seeds_reference, d.rate_reference,
                            d.sd_reference, d.sd_reference, 0.0, d.answers, d.questions,
                            d.question_sd)),
                        ("null (arms like treated)", Scenario(
                            "null", d.seeds_treated, d.seeds_reference, d.rate_treated,
                            d.sd_treated, d.sd_treated, 0.0, d.answers, d.questions,
                            d.question_sd)),
                        ("spread (same mean)", Scenario(
                            "spread", d.seeds_treated, d.seeds_reference, d.rate_reference,
                            d.sd_reference, d.sd_treated, 0.0, d.answers, d.questions,
                            d.question_sd)),
                        ("effect (as estimated)", Scenario(
                            "effect", d.seeds_treated, d.seeds_reference, d.rate_reference,
                            d.sd_reference, d.sd_treated, b_t - b_r, d.answers, d.questions,
                            d.question_sd))]
                methods = ("logit-t", "welch", "pooled-t", "permutation", "cluster-t",
                           "naive-cluster-z", "naive-pooled-z")
            else:
                b_r = mean_rate_intercept(d.rate_reference, 0.0, d.question_sd)
                scen = [("null (base = treated rate)", Scenario(
                            "null", d.seeds_treated, 2, d.rate_treated, 0.0, d.sd_treated, 0.0,
                            d.answers, d.questions, d.question_sd)),
                        ("effect (as estimated)", Scenario(
                            "effect", d.seeds_treated, 2, d.rate_reference, 0.0, d.sd_treated,
                            b_t - b_r, d.answers, d.questions, d.question_sd))]
                methods = ("logit-t", "t-vs-single-model", "clustered-vs-single-model")
            for k, (name, sc) in enumerate(scen):
                for r in run_scenario(sc, n_sims=n_sims, rng=[int(rng), len(rows), k],
                                      alpha=alpha, alternative=alternative, methods=methods):
                    if r["comparison"] != comparison:
                        continue
                    rows.append({"trait": trait, "comparison": comparison, "scenario": name,
                                 "method": r["method"], "n_sims": r["n_sims"],
                                 "rejection_rate": r["rejection_rate"], "coverage": r["coverage"],
                                 "kind": sc.kind})
    frame = pd.DataFrame(rows)
    if len(frame):
        word = []
        for (t, c, m), g in frame.groupby(["trait", "comparison", "method"], sort=False):
            null = g[g["kind"] == "null"]
            eff = g[g["kind"] == "effect"]["coverage"].dropna()
            if m.startswith("naive"):
                w = "NO"
            elif g["n_sims"].min() < 1000:
                w = f"unknown ({int(g['n_sims'].min())} simulations)"
            else:
                ok = null["rejection_rate"].max() <= CALIBRATED_MAX_FPR and (
                    len(eff) == 0 or eff.min() >= CALIBRATED_MIN_COVERAGE)
                w = "yes" if ok else "NO"
            word.append(((t, c, m), w))
        lookup_word = dict(word)
        frame["calibrated"] = [lookup_word[(t, c, m)] for t, c, m in
                               zip(frame["trait"], frame["comparison"], frame["method"],
                                   strict=True)]
    return frame, lines


def write_standard_table(path=None, *, seeds=(2, 3, 4, 5, 6, 8, 10, 15, 20), n_sims=4000,
                n_sims_bootstrap=1000, rng=20261127) -> str:
    """Regenerate :data:`calibration_table.TABLE` (standard scenario, null, fast methods).

    Prints the ``TABLE = {...}`` block; paste it over the one in ``calibration_table.py``
    (the other tables there are kept), or pass ``path`` to write the block to a file.
    """
    from pathlib import Path

    lines = [
        '"""Generated by `python -m subliminal_stats.stats.calibration --write-table`; do not edit.',
        "",
        "Standard scenario of docs/STATISTICS.md (logit intercept -2, seed SD 0.4, question SD",
        f"0.8 crossed, 50 questions x 20 answers), null true, alpha = 0.05, two-sided; {n_sims}",
        f"simulations ({n_sims_bootstrap} for the bootstrap, 999 resamples each), rng={rng}.",
        "Key: (method, comparison, seeds per arm) -> (false-positive rate, 95 % CI coverage, n sims).",
        '"""',
        "",
        "TABLE = {",
    ]
    for g in seeds:
        t0 = time.time()
        frame = calibrate(seeds_per_arm=g, n_sims=n_sims, n_sims_bootstrap=n_sims_bootstrap,
                          n_sims_slow=0, rng=rng + g, **STANDARD_SCENARIO)
        for row in frame.itertuples():
            cov = "float('nan')" if math.isnan(row.coverage) else f"{row.coverage:.4f}"
            lines.append(f"    ({row.method!r}, {row.comparison!r}, {g}): "
                         f"({row.rejection_rate:.4f}, {cov}, {row.n_sims}),")
        print(f"seeds/arm {g}: {time.time() - t0:.1f} s", flush=True)
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if path is None:
        return text
    Path(path).write_text(text)
    return str(path)


# --------------------------------------------------------------------------- mixed models


def _mixed_null_p_values(cells: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Two-sided and 'greater' p of each mixed model (and its z variant) on one dataset."""
    from scipy import stats as st

    from subliminal_stats.stats.gee import fit_gee_design
    from subliminal_stats.stats.glmm import fit_glmm_design
    from subliminal_stats.stats.lmm import fit_lmm_design
    from subliminal_stats.stats.model_design import (
        arm_without_variation,
        coefficient_t,
        prepare_cells,
    )

    design = prepare_cells(cells, trait=None, treated="treated", control="control")
    df = design.df_between_seeds
    out: dict[str, tuple[float, float]] = {}
    fits = {"lmm": (fit_lmm_design, "effect_se")}
    if arm_without_variation(design) is None:
        fits["glmm-map"] = (fit_glmm_design, "effect_sd")
        fits["gee-bias-reduced"] = (fit_gee_design, "effect_se")
    for method, (fitter, se_name) in fits.items():
        fit = fitter(design)
        se = getattr(fit, se_name)
        for suffix, dof in (("", df), (" z", math.inf)):
            two = coefficient_t(fit.effect, se, dof, alternative="two-sided",
                                confidence_level=0.95)[1]
            one = coefficient_t(fit.effect, se, dof, alternative="greater",
                                confidence_level=0.95)[1]
            out[method + suffix] = (two, one)
        if method == "gee-bias-reduced":
            z = fit.effect / fit.effect_se_robust
            out["gee-robust z"] = (float(2 * st.norm.sf(abs(z))), float(st.norm.sf(z)))
    return out


def measure_mixed_fpr(*, n_sims: int, seeds_per_arm: int, alpha: float = 0.05, rng=None,
                      progress: bool = False) -> dict[str, tuple[float, float, int]]:
    """Rejection rates of every mixed model under the null on :data:`MIXED_DESIGN`.

    Fits all three models (plus their asymptotic-z variants) to each simulated dataset
    (the package's one simulator, :func:`~subliminal_stats.stats.simulation.simulate_cell_frame`).

    Returns
    -------
    dict
        method → (two-sided rejection rate, one-sided 'greater' rejection rate,
        number of datasets the method could be fitted to).
    """
    from subliminal_stats.stats.calibration_table import MIXED_DESIGN
    from subliminal_stats.stats.simulation import simulate_cell_frame

    rng = np.random.default_rng(rng)
    rejections: dict[str, list[tuple[bool, bool]]] = {}
    start = time.perf_counter()
    for i in range(n_sims):
        cells = simulate_cell_frame(seeds_per_arm, rng=rng, **MIXED_DESIGN)
        for method, (two, one) in _mixed_null_p_values(cells).items():
            rejections.setdefault(method, []).append((two < alpha, one < alpha))
        if progress and (i + 1) % max(1, n_sims // 10) == 0:
            print(f"  G={seeds_per_arm}: {i + 1}/{n_sims} sims, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    return {method: (float(np.mean([r[0] for r in rows])), float(np.mean([r[1] for r in rows])),
                     len(rows)) for method, rows in rejections.items()}


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-standard-table", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 10])
    parser.add_argument("--n-sims", type=int, default=2000)
    args = parser.parse_args()
    if args.write_standard_table:
        print(write_standard_table())
    else:
        for g in args.seeds:
            frame = calibrate(seeds_per_arm=g, n_sims=args.n_sims, n_sims_slow=0,
                              **STANDARD_SCENARIO)
            print(f"== {g} seeds per arm\n{frame.to_string(index=False)}")
