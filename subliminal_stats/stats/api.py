"""Public analysis functions on responses tables: summaries and comparisons.

The maths lives in :mod:`~subliminal_stats.stats.arrays`; this module turns
the responses table into per-arm arrays (:mod:`~subliminal_stats.stats.cells`),
runs the chosen methods, adds effect sizes, warnings, the simulated
false-positive rates and the multiplicity adjustment across traits.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A
from subliminal_stats.stats.cells import (
    ArmData,
    arm_data,
    arm_index,
    cell_counts,
    cells_for_models,
    score_cells,
    split_by_trait,
)
from subliminal_stats.stats.methods import DEFAULT_METHOD, METHODS, offered_methods, parse_methods
from subliminal_stats.stats.results import ComparisonResult

SEED_METHODS = tuple(m for m in offered_methods() if METHODS[m].kind == "seed")
MIXED_METHODS = tuple(m for m in offered_methods() if METHODS[m].kind == "model")

#: Description of every method :func:`compare` offers (from the registry).
METHOD_DESCRIPTIONS = {m: METHODS[m].description for m in offered_methods()}


def mixed_functions() -> dict:
    """Mixed-model comparison functions by the method name they print."""
    from subliminal_stats.stats.mixed import COMPARISONS

    return dict(COMPARISONS)


def available_methods() -> tuple[str, ...]:
    """Every method :func:`compare` runs against seeded arms (the registry's names)."""
    return offered_methods()


# --------------------------------------------------------------------------- summaries


#: Fewer comparisons (or arms, for :func:`summarize`) than this run one at a time: the
#: vectorised pass over stacked arms gives the same numbers, but its set-up is not worth it.
BATCH_MIN_COMPARISONS = 8


def summarize(df: pd.DataFrame, *, confidence_level: float = 0.95) -> pd.DataFrame:
    """Trait rate per (trait, condition) with an interval and the variance split.

    Several seeds: mean of per-seed rates with a t interval over seeds.
    One seed (the base model): the seed's rate with a question-clustered SE and
    a Wilson interval on the effective number of answers.

    Parameters
    ----------
    df : pandas.DataFrame
        Responses table (or cell counts).
    confidence_level : float

    Returns
    -------
    pandas.DataFrame
        ``trait, condition, n_seeds, n_questions, n_answers, mean, ci_low, ci_high,
        interval, se, sd_between_seeds, var_seed, var_question, var_within,
        var_seed_question, note`` — proportions (0–1); variances on the
        per-answer proportion scale (see :func:`arrays.variance_components`).
    """
    confidence_level = _check_level(confidence_level)
    cells = cell_counts(df)
    rows = {}
    # Arms whose every seed answered every question of the trait (most, in a designed study):
    # one vectorised pass per shape; the others one at a time below.
    index = arm_index(cells) if len(cells) else None
    if index is not None and len(index.keys) < BATCH_MIN_COMPARISONS:
        index = replace(index, stacks=(), where={})  # a few arms: one at a time
    for stack in (index.stacks if index is not None else ()):
        if stack.hits.shape[-2] < 2:
            continue
        seed_rates = stack.seed_rates
        mean, se, low, high = A.t_interval_mean(seed_rates, confidence_level=confidence_level)
        sd = np.std(seed_rates, axis=-1, ddof=1)
        comps = A.variance_components(stack.rates, stack.n.reshape(len(stack.n), -1).mean(axis=-1))
        n_answers = stack.n.reshape(len(stack.n), -1).sum(axis=-1)
        for k, position in enumerate(stack.arms):
            trait, condition = index.keys[position]
            notes = [_zero_spread_note(float(mean[k]))] if float(sd[k]) == 0 else []
            rows[(trait, condition)] = _summary_dict(
                trait, condition, stack.hits.shape[-2], stack.hits.shape[-1], int(n_answers[k]),
                (mean[k], low[k], high[k], se[k]), "t over seeds", float(sd[k]),
                {key: float(v[k]) for key, v in comps.items()}, notes)
    keys = index.keys if index is not None else ()
    missing = [key for key in keys if key not in rows]
    if missing:
        by_trait = split_by_trait(cells)
        for trait, condition in missing:
            arm = arm_data(by_trait[trait], trait=trait, condition=condition)
            rows[(trait, condition)] = _summary_row(trait, condition, arm, confidence_level)
    return pd.DataFrame([rows[key] for key in keys])


def _zero_spread_note(mean: float) -> str:
    return (f"every seed has rate {100 * mean:.3g} %: zero spread between seeds, so the t "
            "interval has zero width (not a precise estimate)")


def _summary_row(trait, condition, arm: ArmData, confidence_level: float) -> dict:
    """One row of :func:`summarize` for one arm (any arm: one seed, unbalanced, …)."""
    asked = arm.asked.any(axis=0)
    seed_rates = arm.seed_rates
    notes = []
    if arm.n_seeds >= 2:
        mean, se, low, high = A.t_interval_mean(seed_rates, confidence_level=confidence_level)
        interval = "t over seeds"
        sd = float(np.std(seed_rates, ddof=1))
        if sd == 0:
            notes.append(_zero_spread_note(float(mean)))
    else:
        mean, se = A.clustered_mean_se(arm.hits[0, asked], arm.n[0, asked])
        low, high, n_eff = A.wilson_interval(mean, se, arm.n_answers,
                                             confidence_level=confidence_level)
        interval = "Wilson (question-clustered SE)"
        sd = math.nan
        if not se > 0:
            notes.append(f"all answers score {int(round(mean))}: the question-clustered SE "
                         "is 0, so the Wilson interval uses all answers (no design effect)")
    if not arm.balanced:
        notes.append("seeds answered different questions: each seed's rate averages its own "
                     "questions; variance split uses the questions every seed answered")
    complete = arm.asked.all(axis=0)
    if complete.sum() >= 1:
        # C order: the batched pass reduces C-ordered stacks, and a sum's last digit follows
        # the order it runs in (boolean indexing may hand back another layout).
        comps = A.variance_components(np.ascontiguousarray(arm.rates[:, complete]),
                                      arm.n[:, complete].mean())
    else:
        comps = dict.fromkeys(("var_seed", "var_question", "var_seed_question",
                               "var_within"), math.nan)
    return _summary_dict(trait, condition, arm.n_seeds, int(asked.sum()), arm.n_answers,
                         (mean, low, high, se), interval, sd, comps, notes)


def _summary_dict(trait, condition, n_seeds, n_questions, n_answers, interval_numbers, interval,
                  sd, comps, notes) -> dict:
    """One row of :func:`summarize` (``interval_numbers``: mean, low, high, se)."""
    mean, low, high, se = (float(x) for x in interval_numbers)
    return {
        "trait": trait, "condition": condition, "n_seeds": n_seeds,
        "n_questions": n_questions, "n_answers": n_answers,
        "mean": mean, "ci_low": low, "ci_high": high,
        "interval": interval, "se": se, "sd_between_seeds": sd,
        "var_seed": comps["var_seed"], "var_question": comps["var_question"],
        "var_within": comps["var_within"], "var_seed_question": comps["var_seed_question"],
        "note": "; ".join(notes),
    }


# --------------------------------------------------------------------------- comparisons


def _check_level(confidence_level):
    try:
        return A.check_confidence_level(confidence_level)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _check_label(cells: pd.DataFrame, label: str, role: str) -> None:
    present = pd.unique(cells["condition"])
    if label not in set(present):
        raise InputError(f"unknown condition label {label!r} for {role}: the data has "
                         f"{', '.join(map(repr, sorted(map(str, present))))} (use --{role} LABEL)")


def _stored_note(method: str, comparison: str, seeds: float):
    """(FPR, coverage, n sims, sentence) of ``method`` in the standard scenario (nearest seeds)."""
    from subliminal_stats.stats.calibration import lookup

    row = lookup(method, comparison, seeds)
    if row is None:
        return math.nan, math.nan, 0, ""
    where = f"{row['seeds_per_arm']} seeds/arm" + (
        "" if row["seeds_per_arm"] == seeds else f", nearest to {seeds:g}")
    coverage = ("" if math.isnan(row["coverage"])
                else f" and 95% coverage {100 * row['coverage']:.1f}%")
    sentence = (f"simulated FPR {100 * row['fpr']:.1f}%{coverage} ({row['n_sims']} sims, "
                f"standard scenario only, {where}; run `subliminal-stats calibrate DATA` for "
                "your design)")
    return row["fpr"], row["coverage"], row["n_sims"], sentence


def _zero_spread_warning(estimate: float) -> str:
    return ("every seed in each arm has the same rate: zero spread between seeds, so the "
            f"t test is undefined (difference {100 * estimate:.3g} pp in every seed); "
            "p-value and interval are n/a")


def _odds_ratio(treated: ArmData, reference: ArmData, *, alternative, confidence_level):
    """The typical student's odds ratio with its interval (the log-odds t, :func:`_logit_comparison`).

    Every method's row carries it, so the calibrated log-odds interval sits beside every
    rate-scale interval.
    """
    r = _logit_comparison("", treated, reference, alternative=alternative,
                          confidence_level=confidence_level, alpha=0.05)
    return r.odds_ratio, r.odds_ratio_ci_low, r.odds_ratio_ci_high


def _paired_single(seeded: ArmData, single: ArmData, *, alternative, confidence_level):
    """Question-paired t of a seeded arm against a one-seed arm (:func:`arrays.paired_vs_single`)."""
    b_n = single.n[0]
    common = seeded.asked & (b_n > 0)[None, :]
    k = common.sum(axis=1)
    if (k == 0).any():
        raise InputError(f"a seed of {seeded.label!r} shares no question with {single.label!r}: "
                         "the paired comparison needs the same questions in both")
    b = np.where(b_n > 0, np.nan_to_num(single.hits[0]) / np.where(b_n > 0, b_n, 1), 0.0)
    r = np.where(common, np.nan_to_num(seeded.rates), 0.0)
    d = ((r - b[None, :]) * common).sum(axis=1) / k
    weights = (common / k[:, None]).mean(axis=0)
    var_b = A.single_model_variance(np.where(b_n > 0, np.nan_to_num(single.hits[0]), 0.0), b_n,
                                    weights=weights)
    return A.paired_vs_single(d, 0.0, var_b, alternative=alternative,
                              confidence_level=confidence_level)


def _t_comparison(method, trait, treated: ArmData, reference: ArmData, *, alternative,
                  confidence_level, alpha, comparison):
    notes = []
    if treated.n_seeds >= 2 and reference.n_seeds >= 2:
        if method == "pooled-t":
            res = A.pooled_t(treated.seed_rates, reference.seed_rates, alternative=alternative,
                             confidence_level=confidence_level)
            detail = "Student t (pooled variance) on per-seed rates, df = n1 + n2 - 2"
        else:
            rule = "hsu" if method == "welch-hsu" else "capped"
            res = A.welch_t(treated.seed_rates, reference.seed_rates, alternative=alternative,
                            confidence_level=confidence_level, df_rule=rule)
            detail = ("Welch t on per-seed rates, Hsu's df = min(n1, n2) - 1" if rule == "hsu"
                      else "Welch t on per-seed rates, Satterthwaite df (at most "
                           "2 (min seeds - 1))")
        name = method
    else:
        seeded, single = (treated, reference) if treated.n_seeds >= 2 else (reference, treated)
        flip = seeded is reference
        alt = alternative
        if flip:
            alt = {"greater": "less", "less": "greater"}.get(alternative, alternative)
        res = _paired_single(seeded, single, alternative=alt, confidence_level=confidence_level)
        if flip:
            res = A.TTest(-res.estimate, res.se, res.df, -res.statistic, res.p_value,
                          -res.ci_high, -res.ci_low)
        name = "t-vs-single-model"
        detail = (f"question-paired t of per-seed rates vs single-seed {single.label!r}: "
                  "per-seed differences on shared questions plus its binomial variance, "
                  "Satterthwaite df")
        notes.append(f"{single.label!r} has one seed: treated as a noisy constant, compared "
                     "question by question (question effects cancel; its binomial sampling "
                     "variance is added)")
    estimate = float(res.estimate)
    if not float(res.se) > 0:
        notes.append(_zero_spread_warning(estimate))
    return ComparisonResult(
        trait=trait, treated=treated.label, control=reference.label, method=name,
        method_detail=detail, estimate=estimate, ci_low=float(res.ci_low), ci_high=float(res.ci_high),
        p_value=float(res.p_value), n_seeds_treated=treated.n_seeds,
        n_seeds_control=reference.n_seeds, alternative=alternative,
        confidence_level=confidence_level, statistic=float(res.statistic), df=float(res.df),
        alpha=alpha, warnings=tuple(notes),
    )


def _logit_counts(seeded: ArmData, single: ArmData | None):
    """Per-seed pooled counts (and a one-seed arm's, on the questions it shares with them)."""
    if single is None:
        return seeded.seed_hits(), seeded.seed_n(), None, None
    b_n = single.n[0]
    common = seeded.asked & (b_n > 0)[None, :]
    if (common.sum(axis=1) == 0).any():
        raise InputError(f"a seed of {seeded.label!r} shares no question with {single.label!r}: "
                         "the paired comparison needs the same questions in both")
    hits = np.where(common, np.nan_to_num(seeded.hits), 0.0).sum(axis=1)
    n = np.where(common, seeded.n, 0).sum(axis=1)
    asked_any = common.any(axis=0)
    b_hits = float(np.nan_to_num(single.hits[0])[asked_any].sum())
    return hits, n, b_hits, float(b_n[asked_any].sum())


def _logit_comparison(trait, treated: ArmData, reference: ArmData, *, alternative,
                      confidence_level, alpha):
    """The log-odds t (:func:`arrays.logit_t`), its interval read in pp at the reference's rate."""
    notes = []
    if treated.n_seeds >= 2 and reference.n_seeds >= 2:
        ht, nt, _, _ = _logit_counts(treated, None)
        hr, nr, _, _ = _logit_counts(reference, None)
        res = A.logit_t(ht, nt, hr, nr, alternative=alternative,
                        confidence_level=confidence_level)
        ref_logit = float(A.empirical_logit(hr, nr).mean())
        detail = _LOGIT_DETAIL
    else:
        seeded, single = (treated, reference) if treated.n_seeds >= 2 else (reference, treated)
        flip = seeded is reference
        alt = {"greater": "less", "less": "greater"}.get(alternative, alternative) if flip \
            else alternative
        hs, ns, hb, nb = _logit_counts(seeded, single)
        res = A.logit_t_vs_single(hs, ns, hb, nb, alternative=alt,
                                  confidence_level=confidence_level)
        if flip:
            res = A.TTest(-res.estimate, res.se, res.df, -res.statistic, res.p_value,
                          -res.ci_high, -res.ci_low)
            ref_logit = float(A.empirical_logit(hs, ns).mean())
        else:
            ref_logit = float(A.empirical_logit(hb, nb))
        detail = _single_detail(single.label)
        notes.append(_single_note(single.label))
    return _logit_result(trait, treated, reference, res, ref_logit, detail, notes,
                         alternative=alternative, confidence_level=confidence_level, alpha=alpha)


_LOGIT_DETAIL = ("t on per-seed log-odds, each arm's variance (at least its binomial variance), "
                 "Hsu's df = min(n1, n2) - 1")


def _single_detail(label) -> str:
    return (f"t on per-seed log-odds vs single-seed {label!r} on the shared questions, plus its "
            "binomial variance, df = seeds - 1")


def _single_note(label) -> str:
    return (f"{label!r} has one seed: compared as the typical student (its log-odds against "
            "the seeds' mean), its binomial variance added")


def _logit_result(trait, treated: ArmData, reference: ArmData, res, ref_logit: float, detail,
                  notes, *, alternative, confidence_level, alpha) -> ComparisonResult:
    """A :class:`ComparisonResult` of the log-odds t (``res``: one comparison's numbers)."""
    shift, low, high = float(res.estimate), float(res.ci_low), float(res.ci_high)
    base_rate = _expit(ref_logit)

    def pp(x):
        return _shift_as_pp(x, base_rate)

    return ComparisonResult(
        trait=trait, treated=treated.label, control=reference.label, method="logit-t",
        method_detail=detail + "; estimate = the typical student's odds ratio, shown in pp "
        f"at the reference's typical rate {100 * base_rate:.3g} %",
        estimate=pp(shift), ci_low=pp(low), ci_high=pp(high), p_value=float(res.p_value),
        n_seeds_treated=treated.n_seeds, n_seeds_control=reference.n_seeds,
        alternative=alternative, confidence_level=confidence_level,
        statistic=float(res.statistic), df=float(res.df), alpha=alpha,
        odds_ratio=math.exp(shift), odds_ratio_ci_low=_exp(low), odds_ratio_ci_high=_exp(high),
        warnings=tuple(notes), reference_rate=base_rate,
    )


def _logit_batch(index, jobs, *, alternative, confidence_level):
    """The log-odds t and the design of many regular comparisons at once (issue 19).

    ``jobs``: (trait, treated label, reference label), every arm in ``index`` (stacked) and the
    treated arm seeded. Returns ``{job: (TTest of one comparison, reference logit, Design)}``:
    the numbers :func:`_logit_comparison` and :func:`design.estimate_design` give for the same
    arms, computed over stacks (the same array functions, vectorised over comparisons).
    """
    from subliminal_stats.stats.design import arm_spread, design_of

    per_stack = {}

    def stack_data(s):
        if s not in per_stack:
            st = index.stacks[s]
            per_stack[s] = (np.nansum(st.hits, axis=-1), st.n.sum(axis=-1),
                            arm_spread(st.rates, st.hits, st.n))
        return per_stack[s]

    groups: dict = {}
    for job in jobs:
        (st, kt), (sr, kr) = index.where[job[:2]], index.where[(job[0], job[2])]
        groups.setdefault((st, sr), []).append((job, kt, kr))
    out = {}
    for (st, sr), members in groups.items():
        kt = np.array([m[1] for m in members])
        kr = np.array([m[2] for m in members])
        ht, nt, spread_t = stack_data(st)
        hr, nr, spread_r = stack_data(sr)
        if hr.shape[-1] >= 2:
            res = A.logit_t(ht[kt], nt[kt], hr[kr], nr[kr], alternative=alternative,
                            confidence_level=confidence_level)
            ref_logit = A.empirical_logit(hr[kr], nr[kr]).mean(axis=-1)
        else:
            res = A.logit_t_vs_single(ht[kt], nt[kt], hr[kr, 0], nr[kr, 0],
                                      alternative=alternative, confidence_level=confidence_level)
            ref_logit = A.empirical_logit(hr[kr, 0], nr[kr, 0])
        fields = [np.broadcast_to(getattr(res, f), kt.shape) for f in A.TTest.__dataclass_fields__]
        for i, (job, a, b) in enumerate(members):
            one = A.TTest(*(float(f[i]) for f in fields))
            out[job] = (one, float(ref_logit[i]), design_of(spread_t.row(a), spread_r.row(b)))
    return out


def _shift_as_pp(shift: float, reference_rate: float) -> float:
    """A log-odds shift read as a rate difference at ``reference_rate`` (open ends stay open)."""
    if math.isnan(shift) or math.isinf(shift):  # one-sided: (−inf, high] as for every method
        return shift
    ref = math.log(reference_rate / (1 - reference_rate))
    return _expit(ref + shift) - reference_rate


def _expit(x: float) -> float:
    if x == math.inf:
        return 1.0
    if x == -math.inf:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _exp(x: float) -> float:
    return math.inf if x == math.inf else (0.0 if x == -math.inf else math.exp(x))


def _permutation_comparison(trait, treated: ArmData, reference: ArmData, *, alternative,
                            confidence_level, alpha, rng):
    res = A.permutation_test(treated.seed_rates, reference.seed_rates, alternative=alternative,
                             confidence_level=confidence_level, rng=rng)
    notes = []
    kind = "exact" if res.exhaustive else "Monte Carlo"
    from subliminal_stats.stats.verdicts import rejects

    side = "two-sided " if alternative == "two-sided" else ""
    if res.exhaustive and not rejects(res.min_p, alpha):
        notes.append(
            f"{treated.n_seeds} vs {reference.n_seeds} seeds: the smallest attainable {side}p is "
            f"{res.min_p:.3g} ({res.n_relabellings} relabellings), so p ≤ {alpha:g} is "
            "impossible: the design cannot reach α and 'not significant' is not evidence "
            "against transfer; the interval is unbounded")
    elif res.exhaustive and res.min_p > alpha / 2:
        notes.append(
            f"{treated.n_seeds} vs {reference.n_seeds} seeds: the smallest attainable {side}p is "
            f"{res.min_p:.3g} ({res.n_relabellings} relabellings): only the most extreme "
            f"labelling reaches α = {alpha:g}")
    return ComparisonResult(
        trait=trait, treated=treated.label, control=reference.label,
        method="permutation",
        method_detail=f"permutation of seed labels ({kind}, {res.n_relabellings} relabellings)",
        estimate=res.estimate, ci_low=res.ci_low, ci_high=res.ci_high, p_value=res.p_value,
        n_seeds_treated=treated.n_seeds, n_seeds_control=reference.n_seeds,
        alternative=alternative, confidence_level=confidence_level, statistic=res.estimate,
        alpha=alpha, warnings=tuple(notes), min_p=res.min_p if res.exhaustive else math.nan,
    )


def _bootstrap_comparison(method, trait, treated: ArmData, reference: ArmData, reps_cache, *,
                          alternative, confidence_level, alpha, n_resamples, rng):
    from subliminal_stats.stats.calibration import bootstrap_difference

    def reps(arm):
        key = (trait, arm.label)
        if key not in reps_cache:
            reps_cache[key] = A.resample_arm_means(arm.rates, n_resamples=n_resamples, rng=rng)
        return reps_cache[key]

    diff, estimate, jk = bootstrap_difference(treated.rates, reference.rates,
                                              n_resamples=n_resamples, rng=rng,
                                              treated_reps=reps(treated),
                                              reference_reps=reps(reference))
    kind = "bca" if method == "bootstrap-bca" else "percentile"
    low, high = A.bootstrap_interval(diff, estimate, jk, confidence_level=confidence_level,
                                     alternative=alternative, kind=kind)
    p = A.bootstrap_pvalue(diff, alternative=alternative)
    label = "BCa" if kind == "bca" else "percentile"
    # Whether it under-covers in this design is added by _decorate from the stored table.
    notes = ["p-value by inverting the percentile interval at 0"]
    if min(treated.n_seeds, reference.n_seeds) == 1:
        notes.append("one-seed arm: only its questions are resampled")
    return ComparisonResult(
        trait=trait, treated=treated.label, control=reference.label,
        method=method,
        method_detail=f"two-level bootstrap (seeds, then questions), {label}, "
                      f"{n_resamples} resamples",
        estimate=float(estimate), ci_low=low, ci_high=high, p_value=p,
        n_seeds_treated=treated.n_seeds, n_seeds_control=reference.n_seeds,
        alternative=alternative, confidence_level=confidence_level, alpha=alpha,
        warnings=tuple(notes),
    )


def compare(
    df: pd.DataFrame,
    *,
    traits: Sequence[str] | str | None = None,
    treated: str | Sequence[str] = "treated",
    control: str = "control",
    base: str | None = None,
    method: str | Sequence[str] = DEFAULT_METHOD,
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
    adjust: str = "holm",
    alpha: float = 0.05,
    resamples: int = 10_000,
    rng=None,
    n_resamples: int | None = None,
    calibration: str = "auto",
) -> list[ComparisonResult]:
    """Did the trait transfer? Treated vs control (and vs base) per trait, seed by seed.

    Parameters
    ----------
    df : pandas.DataFrame
        Responses table (one row per answer) or cell counts (``hits``, ``n``).
    traits : str or sequence of str, optional
        Traits to test (default: every trait in the table). Each must have
        answers for ``treated`` and ``control``.
    treated : str or sequence of str
        Condition label(s) of the treated arm(s). Several labels compare each with the one
        control (and base); the multiplicity family then spans traits × treated arms.
    control : str
        Condition label of the control students.
    base : str, optional
        Label of the base model; adds treated vs base (one seed: compared on the same
        questions, its binomial variance added).
    method : str or sequence of str
        A name of :data:`~subliminal_stats.stats.methods.METHODS` — ``"logit-t"`` (default,
        the typical student's odds ratio, calibrated in every cell of the grid), ``"welch"``
        (the mean rate difference), ``"pooled-t"``, ``"permutation"``, ``"bootstrap-bca"``,
        ``"bootstrap-percentile"``, ``"lmm"``, ``"glmm-map"``, ``"gee-bias-reduced"``
        (``glmm``/``gee`` still accepted) — a comma-separated list, or ``"all"``.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"``: treated > reference.
    confidence_level : float
    adjust : {"holm", "bh", "none"}
        Multiplicity adjustment across traits, within each (reference, method).
    alpha : float
        Level for ``significant`` and the verdict (adjusted p ≤ α).
    resamples : int
        Bootstrap resamples (the ``--resamples`` flag). ``n_resamples`` is its former name,
        still accepted.
    rng : seed or numpy Generator
    calibration : {"auto", "design", "grid"}
        How each result's calibration *for this design* is found: ``"design"`` simulates
        the design estimated from the data (1,000 simulations per scenario, ~1 s per
        distinct design); ``"grid"`` reads the nearest cells of the shipped scenario grid
        (no simulation); ``"auto"`` simulates when a call has at most
        :data:`~subliminal_stats.stats.design.DESIGN_SIMULATION_LIMIT` trait × arm
        comparisons and reads the grid beyond that (hundreds of traits stay fast).

    Returns
    -------
    list of ComparisonResult
        Ordered by trait, then reference (control, base), then method.

    Raises
    ------
    InputError
        Unknown label, trait without one of the arms, both arms with one seed, bad options.

    Notes
    -----
    *Why the log-odds t by default.* Real treated arms spread far more than control arms
    (the transfer itself varies from student to student: 7 pp vs 0.13 pp in a public
    Qwen2.5-7B replication), and when a few students pick the trait up a thousandfold more
    than others no t interval for the *mean* rate covers with a few seeds (Welch: 61 % at
    worst on the scenario grid, :mod:`~subliminal_stats.stats.grid`). ``logit-t`` estimates
    the typical student's odds ratio instead — each seed's empirical log-odds, each arm's
    variance floored at its binomial variance, Hsu's df — and keeps its false-positive rate
    ≤ 6.5 % and its 95 % coverage ≥ 93.5 % in every cell of the grid (worst 4.55 % and
    94.35 % vs control at 2,000 simulations per cell); its estimate and interval are shown in
    pp at the reference arm's typical rate. It is conservative at small designs (standard
    scenario: simulated FPR 0 / 1.0 / 2.1 / 3.9 % at 2 / 3 / 5 / 10 seeds per arm).
    ``welch`` stays the method for the mean rate difference. Each result carries the
    simulated calibration of its method *for this design* (``calibration``,
    ``simulated_fpr``, ``simulated_coverage``). Reproduce the grid with
    ``subliminal-stats calibrate --write-table``.

    *Many traits.* With the default test and at least :data:`BATCH_MIN_COMPARISONS`
    comparisons read against the grid, the arms whose every seed answered every question are
    computed in one vectorised pass (the same numbers as one at a time, to the last digit:
    ``tests/stats/test_batched.py``); 10,000 traits take seconds.

    *Fallbacks.* One seed in one arm (the base model): the log-odds t compares the seeds'
    mean log-odds with that model's, its binomial variance added (df = seeds − 1); the
    rate-scale t methods compare it question by question, its binomial variance added
    (Satterthwaite df). One seed in both arms: refused. Zero spread between seeds
    (e.g. every answer 0): p and interval are NaN with a warning saying why.
    Seeds that answered different questions: each seed's rate averages its own
    questions, with a warning. Permutation is not offered against a one-seed arm.
    """
    if n_resamples is not None:
        resamples = n_resamples
    if alternative not in A.ALTERNATIVES:
        raise InputError(f"alternative must be 'two-sided', 'greater' or 'less', not {alternative!r}")
    if not 100 <= int(resamples) <= 1_000_000:
        raise InputError(f"resamples must be between 100 and 1,000,000, not {resamples}")
    confidence_level = _check_level(confidence_level)
    if adjust not in A.ADJUST_METHODS:
        raise InputError(f"adjust must be 'holm', 'bh' or 'none', not {adjust!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, not {alpha}")
    methods = parse_methods(method)
    if calibration not in ("auto", "design", "grid"):
        raise InputError(f"calibration must be 'auto', 'design' or 'grid', not {calibration!r}")
    rng = np.random.default_rng(rng)
    mixing = experiment_mixing_note(df)
    if mixing:
        warnings.warn(mixing, stacklevel=2)
    cells = cell_counts(df)
    treated_labels = [treated] if isinstance(treated, str) else list(dict.fromkeys(treated))
    if not treated_labels:
        raise InputError("name at least one treated arm (--treated LABEL)")
    for label in treated_labels:
        if label == control:
            raise InputError(f"--treated and --control are both {label!r}; name two different "
                             "arms")
        _check_label(cells, label, "treated")
    _check_label(cells, control, "control")
    if base is not None:
        _check_label(cells, base, "base")
        if base in (*treated_labels, control):
            raise InputError(f"--base {base!r} is also the treated or control arm")
    all_traits = list(pd.unique(cells["trait"]))
    if traits is None:
        traits = all_traits
    elif isinstance(traits, str):
        traits = [traits]
    known = set(all_traits)
    unknown = [t for t in traits if t not in known]
    if unknown:
        raise InputError(f"unknown trait label {', '.join(map(repr, unknown))}: the data has "
                         f"{', '.join(map(repr, sorted(map(str, all_traits))))}")
    # The mixed models (statsmodels, scipy.optimize) load only when one is asked for.
    mixed = mixed_functions() if any(METHODS[m].kind == "model" for m in methods) else {}

    results: list[ComparisonResult] = []
    families: list[tuple] = []
    if calibration == "auto":
        from subliminal_stats.stats.design import DESIGN_SIMULATION_LIMIT

        n_designs = len(traits) * len(treated_labels) * (1 + (base is not None))
        calibration = "design" if n_designs <= DESIGN_SIMULATION_LIMIT else "grid"
    # Many traits with the default test: the regular ones (every seed answered every question)
    # go through one vectorised pass; the rest, and every other method, one trait at a time.
    batch = (_batchable(cells, traits, treated_labels, control, base, alternative=alternative,
                        confidence_level=confidence_level)
             if list(methods) == ["logit-t"] and calibration == "grid"
             and len(traits) * len(treated_labels) >= BATCH_MIN_COMPARISONS else {})
    split: dict = {}
    for trait, treated_label in ((t, lab) for t in traits for lab in treated_labels):
        ready = batch.get((trait, treated_label))
        if ready is not None:
            for comparison, arm_t, ref, (res, ref_logit, design, table) in ready:
                single = ref.n_seeds < 2
                result = _logit_result(
                    trait, arm_t, ref, res, ref_logit,
                    _single_detail(ref.label) if single else _LOGIT_DETAIL,
                    [_single_note(ref.label)] if single else [], alternative=alternative,
                    confidence_level=confidence_level, alpha=alpha)
                # Stacked arms answered the same questions, every seed all of them: of the
                # common warnings only the seed count's can apply.
                result = _decorate(result, "logit-t", comparison, arm_t, ref,
                                   _seed_count_notes(arm_t.n_seeds, ref.n_seeds),
                                   alternative=alternative, confidence_level=confidence_level,
                                   calibration=calibration, design=design, table=table)
                results.append(result)
                families.append((comparison, result.method))
            continue
        if not split:
            split.update(split_by_trait(cells))
        tcells = split[trait]
        questions = tcells.questions
        arm_t = arm_data(tcells, trait=trait, condition=treated_label, questions=questions)
        arm_c = arm_data(tcells, trait=trait, condition=control, questions=questions)
        references = [arm_c]
        if base is not None:
            has_base = bool((tcells.condition == base).any())
            if has_base:
                references.append(arm_data(tcells, trait=trait, condition=base,
                                           questions=questions))
            else:
                warnings.warn(f"trait {trait!r} has no answers for base {base!r}: "
                              "treated vs base skipped for it", stacklevel=2)
        reps_cache: dict = {}
        for ref in references:
            comparison = "vs base" if ref is not arm_c else "vs control"
            if arm_t.n_seeds < 2 and ref.n_seeds < 2:
                raise InputError(
                    f"trait {trait!r}: {arm_t.label!r} and {ref.label!r} have one seed each; "
                    "the seed is the unit of replication, so a test needs at least 2 seeds in "
                    "one arm (and 2 in each for the default test): train more students")
            common = _common_warnings(arm_t, ref)
            for m in methods:
                t_methods = [x for x in methods if x in ("welch", "welch-hsu", "pooled-t")]
                if m in t_methods and m != t_methods[0] and min(arm_t.n_seeds, ref.n_seeds) < 2:
                    continue  # against a one-seed arm the t methods are the same test
                result = _run_method(m, trait, arm_t, ref, reps_cache, mixed, tcells,
                                     alternative=alternative, confidence_level=confidence_level,
                                     alpha=alpha, n_resamples=resamples, rng=rng)
                if result is None:
                    continue
                result = _decorate(result, m, comparison, arm_t, ref, common,
                                   alternative=alternative, confidence_level=confidence_level,
                                   calibration=calibration)
                results.append(result)
                families.append((comparison, result.method))
    return _adjust(results, families, adjust)


def _batchable(cells, traits, treated_labels, control, base, *, alternative,
               confidence_level) -> dict:
    """``{(trait, treated): [(comparison, treated arm, reference arm, numbers), …]}`` for the
    comparisons :func:`_logit_batch` can take: treated and reference arms regular (stacked),
    both seeded against the control, the base (when named) present for the trait."""
    from subliminal_stats.stats.design import grid_calibrations

    index = arm_index(cells)
    plans, jobs = {}, []
    for trait in traits:
        for label in treated_labels:
            arm_t, arm_c = index.arm(trait, label), index.arm(trait, control)
            if arm_t is None or arm_c is None or arm_t.n_seeds < 2 or arm_c.n_seeds < 2:
                continue
            refs = [("vs control", arm_c)]
            if base is not None:
                arm_b = index.arm(trait, base)
                if arm_b is None:
                    continue
                refs.append(("vs base", arm_b))
            plans[(trait, label)] = (arm_t, refs)
            jobs += [(trait, label, ref.label) for _, ref in refs]
    numbers = _logit_batch(index, jobs, alternative=alternative,
                           confidence_level=confidence_level)
    tables = dict(zip(jobs, grid_calibrations([numbers[j][2] for j in jobs],
                                              alternative=alternative,
                                              alpha=round(1 - confidence_level, 10)),
                      strict=True))
    return {key: [(comparison, arm_t, ref, (*numbers[(*key, ref.label)],
                                            tables[(*key, ref.label)]))
                  for comparison, ref in refs]
            for key, (arm_t, refs) in plans.items()}


def compare_metric(df: pd.DataFrame, metric: str = "hit", *,
                   method: str | Sequence[str] = DEFAULT_METHOD, **options) -> list[ComparisonResult]:
    """:func:`compare` on sampled hits or on a score column in [0, 1] (e.g. the probe ``prob``).

    ``df`` is a responses table with the score column, or the score's cells as
    :func:`subliminal_stats.data.read_cells` returns them with ``metric=`` (``hits`` = the
    score's sum per cell).

    For a score, each seed's rate is its mean score (questions weighted equally),
    only the seed-level methods in :data:`~subliminal_stats.stats.cells.SCORE_METHODS`
    apply (``"all"`` means those), and the odds ratios, which assume 0/1 answers,
    are left out (NaN). ``options`` go to :func:`compare`.

    Examples
    --------
    >>> from subliminal_stats.stats import simulate_responses
    >>> df = simulate_responses(seeds_per_arm=3, n_questions=5, answers_per_question=4, rng=1)
    >>> df["prob"] = df["hit"] * 0.5
    >>> [r.method for r in compare_metric(df, "prob", method="all")][:2]
    ['welch', 'pooled-t']
    """
    if metric == "hit":
        return compare(df, method=method, **options)
    from subliminal_stats.stats.cells import SCORE_METHODS
    from subliminal_stats.stats.methods import default_method

    if method == DEFAULT_METHOD:  # the log-odds t needs 0/1 answers: a score's default is welch
        method = default_method(metric)
    chosen = parse_methods(method, scores_only=True)
    given = [m.strip() for m in method.split(",") if m.strip()] if isinstance(method, str) \
        else [str(m) for m in method]
    bad = [g for g in given if g != "all" and parse_methods(g)[0] not in SCORE_METHODS]
    if bad:
        raise InputError(f"--method {bad[0]} needs 0/1 answers; a score like {metric!r} is "
                         f"tested with {', '.join(SCORE_METHODS)}")
    # Score cells already (``data.read_cells(metric=...)`` on a counts table with METRIC_sum):
    # ``hits`` is the score's sum per cell; otherwise reduce the answer rows here.
    ready = metric not in df.columns and {"hits", "n"}.issubset(df.columns)
    results = compare(df if ready else score_cells(df, metric), method=chosen, **options)
    nan = float("nan")
    return [replace(r, odds_ratio=nan, odds_ratio_ci_low=nan, odds_ratio_ci_high=nan,
                    method_detail=f"{r.method_detail} on mean {metric}") for r in results]


def experiment_mixing_note(df: pd.DataFrame) -> str:
    """A warning sentence when a responses table holds several experiments ("" otherwise)."""
    if "experiment" not in df.columns or "hit" not in df.columns:
        return ""
    experiments = pd.unique(df["experiment"])
    if len(experiments) <= 1:
        return ""
    return (f"the table holds {len(experiments)} experiments "
            f"({', '.join(map(repr, map(str, experiments[:4])))}); answers with the same trait, "
            "condition and seed labels are pooled across them — select one experiment "
            "(--experiment) if they are different runs")


def _common_warnings(arm_t: ArmData, ref: ArmData) -> list[str]:
    notes = []
    for arm in (arm_t, ref):
        if not arm.balanced:
            k = arm.asked.sum(axis=1)
            notes.append(f"{arm.label!r} seeds answered different questions ({k.min()}–{k.max()} "
                         "of the trait's questions): each seed's rate averages its own questions")
    asked_t = arm_t.asked.any(axis=0)
    asked_r = ref.asked.any(axis=0)
    if not np.array_equal(asked_t, asked_r):
        notes.append(f"{arm_t.label!r} and {ref.label!r} were asked different question sets "
                     f"({int(asked_t.sum())} vs {int(asked_r.sum())}); the difference mixes "
                     "arm and question effects")
    return notes + _seed_count_notes(arm_t.n_seeds, ref.n_seeds)


def _seed_count_notes(n_treated: int, n_reference: int) -> list[str]:
    if 1 < min(n_treated, n_reference) < 3:
        return ["only 2 seeds in an arm: the test has very little power"]
    return []


def _run_method(m, trait, arm_t, ref, reps_cache, mixed, cells, *, alternative, confidence_level,
                alpha, n_resamples, rng):
    single = min(arm_t.n_seeds, ref.n_seeds) < 2
    if m in ("pooled-t", "welch", "welch-hsu"):
        return _t_comparison(m, trait, arm_t, ref, alternative=alternative,
                             confidence_level=confidence_level, alpha=alpha,
                             comparison=None)
    if m == "logit-t":
        return _logit_comparison(trait, arm_t, ref, alternative=alternative,
                                 confidence_level=confidence_level, alpha=alpha)
    if m == "permutation":
        if single:
            warnings.warn(f"trait {trait!r}: permutation of seed labels is not offered against "
                          f"the one-seed arm {ref.label if ref.n_seeds < 2 else arm_t.label!r}",
                          stacklevel=3)
            return None
        return _permutation_comparison(trait, arm_t, ref, alternative=alternative,
                                       confidence_level=confidence_level, alpha=alpha, rng=rng)
    if m.startswith("bootstrap"):
        return _bootstrap_comparison(m, trait, arm_t, ref, reps_cache, alternative=alternative,
                                     confidence_level=confidence_level, alpha=alpha,
                                     n_resamples=n_resamples, rng=rng)
    fn = mixed[m]
    model_cells = cells_for_models(cells, trait=trait, conditions=(arm_t.label, ref.label))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(model_cells, trait=trait, treated=arm_t.label, control=ref.label,
                      alternative=alternative, confidence_level=confidence_level)
    except InputError as exc:
        if single:
            warnings.warn(f"trait {trait!r}: {m} not offered against {ref.label!r}: {exc}",
                          stacklevel=3)
            return None
        raise


def _decorate(result: ComparisonResult, m, comparison, arm_t, ref, common, *, alternative,
              confidence_level, calibration="design", design=None,
              table=None) -> ComparisonResult:
    """Add the odds ratio, this design's simulated calibration and the common warnings.

    ``design``: the arms' :class:`~subliminal_stats.stats.design.Design` when already
    estimated (the batched path), else estimated here; ``table`` likewise its calibration.
    """
    from subliminal_stats.stats.design import (
        design_calibration,
        estimate_design,
        grid_calibration,
        spread_warning,
    )

    updates = {"alpha": result.alpha}
    notes = list(result.warnings) + [w for w in common if w not in result.warnings]
    if math.isnan(result.odds_ratio):
        try:
            orr, lo, hi = _odds_ratio(arm_t, ref, alternative=alternative,
                                      confidence_level=confidence_level)
            updates.update(odds_ratio=orr, odds_ratio_ci_low=lo, odds_ratio_ci_high=hi)
        except (ValueError, ZeroDivisionError, InputError):
            pass
    name = result.method
    seeded_t = arm_t if arm_t.n_seeds >= 2 else ref
    single = min(arm_t.n_seeds, ref.n_seeds) < 2
    if name in ("welch", "welch-hsu", "pooled-t", "permutation", "t-vs-single-model", "logit-t"):
        if design is None:
            design = estimate_design(seeded_t, ref if seeded_t is arm_t else arm_t)
        level = round(1 - confidence_level, 10)
        if table is None:
            table = (grid_calibration(design, alternative=alternative, alpha=level)
                     if calibration == "grid"
                     else design_calibration(design, alternative=alternative, alpha=level))
        row = table.get(name)
        if row is not None:
            cov = ("" if math.isnan(row["coverage"])
                   else f", {100 * confidence_level:g}% coverage {100 * row['coverage']:.1f}%")
            from_grid = row.get("source") == "grid"
            source = f"; {row['label']}, not simulated for this design" if from_grid else ""
            where = "by the nearest grid cells" if from_grid else "for this design"
            sentence = (f"for this design ({design.describe()}): simulated FPR "
                        f"{100 * row['fpr']:.1f}%{cov} ({row['n_sims']} sims per scenario, "
                        f"{row['scenarios']} scenarios{source})")
            updates.update(simulated_fpr=row["fpr"], simulated_coverage=row["coverage"],
                           calibration_sims=row["n_sims"], calibrated=row["calibrated"])
            if row["status"] == "borderline":
                updates["calibration"] = f"borderline {where}"
                notes.append("borderline for this design (a bound missed by less than two "
                             "Monte Carlo SEs): " + sentence)
            elif not row["calibrated"]:
                updates["calibration"] = f"NOT CALIBRATED {where}"
                notes.append("NOT CALIBRATED for this design: " + sentence)
                if single:
                    notes.append("no method holds its level against a one-seed model in this "
                                 "design: train more seeds (see `subliminal-stats plan`)")
            else:
                updates["calibration"] = f"calibrated {where}"
                if row["fpr"] < 0.035:
                    from subliminal_stats.stats.verdicts import CONSERVATIVE_NOTE

                    notes.append(f"{CONSERVATIVE_NOTE}: " + sentence)
                elif m != DEFAULT_METHOD or single:
                    notes.append(sentence)
        else:
            # The shipped grid covers two-sided tests at α = 0.05 only.
            updates.update(calibrated=False, simulated_fpr=math.nan,
                           simulated_coverage=math.nan,
                           calibration="unknown (not simulated for this design)")
            notes.append("calibration unknown for this design: the shipped grid covers "
                         "two-sided tests at α = 0.05; rerun with fewer traits or "
                         "`subliminal-stats calibrate DATA` to simulate it")
        if not single:
            warn = spread_warning(design)
            if warn and warn not in notes:
                notes.append(warn)
    elif name.startswith("bootstrap"):
        seeds = arm_t.n_seeds if ref.n_seeds < 2 else min(arm_t.n_seeds, ref.n_seeds)
        fpr, coverage, n_sims, sentence = _stored_note(name, comparison, seeds)
        updates["calibrated"] = False
        if not math.isnan(fpr):
            updates.update(simulated_fpr=fpr, simulated_coverage=coverage,
                           calibration_sims=n_sims)
            from subliminal_stats.stats.calibration import (
                CALIBRATED_MAX_FPR,
                CALIBRATED_MIN_COVERAGE,
            )
            failed = fpr > CALIBRATED_MAX_FPR or (not math.isnan(coverage)
                                                  and coverage < CALIBRATED_MIN_COVERAGE)
            if failed:
                updates["calibration"] = "NOT CALIBRATED"
                notes.append("NOT CALIBRATED here: " + sentence)
            else:
                updates["calibration"] = f"unknown ({n_sims} simulations, one scenario)"
                notes.append(f"calibration unknown for this design: {sentence}")
    elif not result.calibrated or not math.isnan(result.simulated_fpr):
        # Mixed models: 1,000 nulls in one scenario at most, never over the grid.
        from subliminal_stats.stats.calibration_table import MIXED_FPR

        n_sims = max((n for (mm, _), (_, _, n) in MIXED_FPR.items() if mm == name), default=0)
        if result.calibrated:
            updates["calibration"] = f"unknown ({n_sims} simulations, one scenario)"
            updates["calibrated"] = False
        else:
            updates["calibration"] = "NOT CALIBRATED"
    updates["warnings"] = tuple(notes)
    return replace(result, **updates)


def _adjust(results: list[ComparisonResult], family_keys, adjust: str) -> list:
    """Adjust p across traits within each (comparison, method) family, and name the family.

    For the t methods the interval is also given at the family-adjusted level
    ``1 − α · p / p_adj`` (Bonferroni's ``1 − α/m`` when Holm multiplies by m): it excludes
    0 exactly when the adjusted p is at most α, so the verdict never contradicts it.
    """
    from subliminal_stats.stats.verdicts import rejects

    families: dict = {}
    for i, key in enumerate(family_keys):
        families.setdefault(key, []).append(i)
    out = list(results)
    for (comparison, method), idx in families.items():
        p = [results[i].p_value for i in idx]
        adjusted, label = A.adjust_pvalues(p, method=adjust)
        n_tests = int(np.isfinite(p).sum())
        traits = list(dict.fromkeys(results[i].trait for i in idx))
        arms = list(dict.fromkeys(results[i].treated for i in idx))
        if len(arms) == 1:
            name = label if adjust == "none" else f"{label} across {n_tests} trait(s)"
            members = f"traits {', '.join(map(str, traits))} × treated {arms[0]!r}"
        else:
            name = label if adjust == "none" else f"{label} across {n_tests} comparison(s)"
            members = (f"traits {', '.join(map(str, traits))} × treated arms "
                       f"{', '.join(map(repr, arms))}")
        family = (f"{label} over {n_tests} test(s): {members} × {comparison} × {method}"
                  if adjust != "none" else f"none (each test alone: {comparison}, {method})")
        pending = []  # (i, estimate, se, df, level, log-odds?) of the intervals to redo
        updates = {}
        for i, pa in zip(idx, adjusted, strict=True):
            r = results[i]
            upd = {"p_adjusted": float(pa), "adjust_method": name, "family": family}
            if math.isfinite(r.min_p):
                upd["min_p_adjusted"] = (min(1.0, r.min_p * n_tests) if adjust == "holm"
                                         else r.min_p)
            unadjusted = not (math.isfinite(pa) and pa > r.p_value)
            ratio = pa / r.p_value if math.isfinite(pa) and pa > 0 and r.p_value > 0 else 1.0
            level = 1 - (1 - r.confidence_level) / max(ratio, 1.0)
            if unadjusted:
                upd.update(ci_low_adjusted=r.ci_low, ci_high_adjusted=r.ci_high)
            elif r.method in ("welch", "welch-hsu", "pooled-t", "t-vs-single-model") \
                    and math.isfinite(r.df) \
                    and math.isfinite(r.statistic) and r.p_value > 0:
                pending.append((i, r.estimate, r.estimate / r.statistic if r.statistic else 0.0,
                                r.df, level, False))
            elif r.method == "logit-t" and math.isfinite(r.df) and math.isfinite(r.statistic) \
                    and r.statistic != 0 and r.p_value > 0:
                shift = math.log(r.odds_ratio)
                pending.append((i, shift, shift / r.statistic, r.df, level, True))
            updates[i] = upd
        # The family-level intervals in one vectorised call per sidedness (thousands of traits).
        for alternative in dict.fromkeys(results[j[0]].alternative for j in pending):
            rows = [j for j in pending if results[j[0]].alternative == alternative]
            est, se, df, level = (np.array([j[k] for j in rows]) for k in (1, 2, 3, 4))
            res = A.t_inference(est, se, df, alternative=alternative, confidence_level=level)
            for k, (i, *_, log_odds) in enumerate(rows):
                low, high = float(res.ci_low[k]), float(res.ci_high[k])
                if log_odds:
                    ref = results[i].reference_rate
                    low, high = _shift_as_pp(low, ref), _shift_as_pp(high, ref)
                updates[i].update(ci_low_adjusted=low, ci_high_adjusted=high)
        for i, upd in updates.items():
            r, pa = results[i], upd["p_adjusted"]
            low, high = upd.get("ci_low_adjusted", r.ci_low_adjusted), \
                upd.get("ci_high_adjusted", r.ci_high_adjusted)
            if math.isfinite(low) or math.isfinite(high):
                excludes = low > 0 or high < 0
                if excludes != rejects(pa, r.alpha) and r.alternative == "two-sided":
                    upd["warnings"] = r.warnings + (
                        "the interval and the adjusted p disagree at the boundary: the verdict "
                        "follows the p-value",)
            out[i] = replace(r, **upd)
    return out


def results_frame(results: Sequence[ComparisonResult]) -> pd.DataFrame:
    """Tidy DataFrame, one row per result (``ComparisonResult.to_row()``)."""
    from subliminal_stats.stats.results import ROW_KEYS

    rows = [r.to_row() for r in results]
    if not rows:
        return pd.DataFrame(columns=list(ROW_KEYS))
    return pd.DataFrame(rows)
