"""Statistics commands: ``test``, ``plan`` and ``calibrate``."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from subliminal_stats.cli._app import app, err_console
from subliminal_stats.cli._app import console as _terminal_console
from subliminal_stats.data.jsonl import write_json
from subliminal_stats.errors import InputError


def _out() -> Console:
    """The shared console on a terminal; a wide one when piped (tables stay readable in files)."""
    if _terminal_console.is_terminal:
        return _terminal_console
    return Console(width=160, highlight=False)


def _fmt(x, digits=3, pp=False, decimals=1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}" if not pp else f"{x:.{decimals}f}"


def _pp_decimals(lows, highs, values=()) -> int:
    """Decimals for percentages so that the narrowest finite interval shows two digits.

    One decimal for trait rates; more for a small score such as the probe (≈ 0.2 %),
    whose intervals would otherwise print as [0.0, 0.0]. One-sided intervals (an
    infinite end) fall back on the size of ``values`` (the estimates).
    """
    scales = [abs(h - lo) for lo, h in zip(lows, highs, strict=True)
              if math.isfinite(lo) and math.isfinite(h) and h != lo]
    if not scales:
        scales = [abs(v) for v in values if math.isfinite(v) and v != 0]
    if not scales:
        return 1
    return int(min(6, max(1, 1 - math.floor(math.log10(min(scales))))))


def _p(x) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _verdict(r) -> str:
    p = r.p_value if math.isnan(r.p_adjusted) else r.p_adjusted
    if math.isnan(p):
        return "n/a"
    if r.significant:
        return "transfer" if r.estimate > 0 else "lower"
    return "no evidence"


@app.command(
    "test",
    help=(
        "Did the trait transfer? Test treated vs control (and vs base) per trait on per-seed "
        "rates, with intervals in percentage points and p-values adjusted across traits.\n\n"
        "Example: subliminal-stats test data/examples/owl_example.csv --trait owl --json out.json"
    ),
)
def test_cmd(
    data: Annotated[list[Path], typer.Argument(help="Responses table(s): .csv, .parquet or .jsonl.")],
    trait: Annotated[Optional[list[str]], typer.Option(help="Trait to test (repeatable; default: all).")] = None,
    treated: Annotated[str, typer.Option(help="Condition label of the treated students.")] = "treated",
    control: Annotated[str, typer.Option(help="Condition label of the control students.")] = "control",
    base: Annotated[Optional[str], typer.Option(help="Condition label of the base model (default: 'base' if present).")] = None,
    method: Annotated[str, typer.Option(help="pooled-t (default, calibrated), welch, permutation, bootstrap-bca, bootstrap-percentile, lmm, glmm, gee, a comma list, or all.")] = "pooled-t",
    alternative: Annotated[str, typer.Option(help="two-sided or greater (treated > reference).")] = "two-sided",
    confidence_level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    adjust: Annotated[str, typer.Option(help="Multiplicity adjustment across traits: holm, bh or none.")] = "holm",
    alpha: Annotated[float, typer.Option(help="Significance level applied to the adjusted p.")] = 0.05,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 10_000,
    rng: Annotated[int, typer.Option("--rng", help="Random seed for bootstrap / Monte Carlo permutations.")] = 0,
    experiment: Annotated[Optional[str], typer.Option(help="Use only the rows of this experiment.")] = None,
    metric: Annotated[str, typer.Option(help="What to test: hit (sampled answers) or a score column in [0, 1], e.g. prob (the probability probe).")] = "hit",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the results as a JSON list here.")] = None,
) -> None:
    from subliminal_stats.data.schema import read_responses, select
    from subliminal_stats.stats import compare_metric, summarize

    console = _out()
    if alternative not in ("two-sided", "greater"):
        raise InputError(f"--alternative must be 'two-sided' or 'greater', not {alternative!r}")
    if resamples < 100:
        raise InputError(f"--resamples must be at least 100, not {resamples}")
    from subliminal_stats.stats import cell_counts

    df = read_responses(data)
    if experiment is not None:
        df = select(df, experiment=experiment)
    if base is None and "base" in set(df["condition"]) and "base" not in (treated, control):
        base = "base"
    if trait:
        unknown = [t for t in trait if t not in set(df["trait"])]
        if unknown:
            raise InputError(f"unknown trait label {', '.join(map(repr, unknown))}: the data has "
                             f"{', '.join(sorted(map(str, df['trait'].unique())))}")
        df = df[df["trait"].isin(trait)]
    from subliminal_stats.stats.api import experiment_mixing_note

    mixing = experiment_mixing_note(df)
    # Reduce the answers once; the test and the summary below both work on cells.
    if metric == "hit":
        cells = cell_counts(df)
    else:
        from subliminal_stats.stats import score_cells

        cells = score_cells(df, metric)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with err_console.status("testing…"):
            results = compare_metric(df if metric != "hit" else cells, metric, treated=treated,
                                     control=control, base=base, method=method,
                                     alternative=alternative, confidence_level=confidence_level,
                                     adjust=adjust, alpha=alpha, n_resamples=resamples, rng=rng)
    conditions = [c for c in (base, control, treated) if c is not None]
    summary = summarize(cells[cells["condition"].isin(conditions)],
                        confidence_level=confidence_level)

    level = f"{100 * confidence_level:g}%"
    what = "Trait rate" if metric == "hit" else f"Mean {metric}"
    s_table = Table(title=f"{what} per arm (per-seed means)", title_justify="left")
    for col in ("trait", "condition", "seeds", "answers", "rate %", f"{level} CI %", "interval"):
        s_table.add_column(col, justify="right" if col in ("seeds", "answers", "rate %") else "left")
    places = _pp_decimals(100 * summary["ci_low"], 100 * summary["ci_high"])
    for row in summary.itertuples():
        s_table.add_row(row.trait, row.condition, str(row.n_seeds), str(row.n_answers),
                        _fmt(100 * row.mean, pp=True, decimals=places),
                        f"[{_fmt(100 * row.ci_low, pp=True, decimals=places)}, "
                        f"{_fmt(100 * row.ci_high, pp=True, decimals=places)}]",
                        row.interval)
    console.print(s_table)

    table = Table(title=f"Treated − reference ({alternative}; p adjusted: "
                        f"{results[0].adjust_method if results else adjust})", title_justify="left")
    for col in ("trait", "vs", "method", "diff pp", f"{level} CI pp", "p", "p adj", "seeds t/r",
                "odds ratio [CI]", "verdict"):
        table.add_column(col)
    notes = []
    places = _pp_decimals([r.ci_low_pp for r in results], [r.ci_high_pp for r in results],
                          [r.estimate_pp for r in results])
    for r in results:
        marker = "" if r.calibrated else " *"
        table.add_row(r.trait, r.control, r.method + marker,
                      _fmt(r.estimate_pp, pp=True, decimals=places),
                      f"[{_fmt(r.ci_low_pp, pp=True, decimals=places)}, "
                      f"{_fmt(r.ci_high_pp, pp=True, decimals=places)}]",
                      _p(r.p_value), _p(r.to_row()["p_adjusted"]),
                      f"{r.n_seeds_treated}/{r.n_seeds_control}",
                      f"{_fmt(r.odds_ratio)} [{_fmt(r.odds_ratio_ci_low)}, "
                      f"{_fmt(r.odds_ratio_ci_high)}]",
                      _verdict(r))
        for w in r.warnings:
            line = f"{r.trait} vs {r.control}, {r.method}: {w}"
            if line not in notes:
                notes.append(line)
    console.print(table)
    if any(not r.calibrated for r in results):
        console.print("* not calibrated in this design (see notes): descriptive only")
    if mixing:
        notes.append(mixing)
    if metric != "hit" and any(row.n_seeds == 1 for row in summary.itertuples()):
        notes.append(f"a one-seed arm's interval above is a Wilson interval that treats mean "
                     f"{metric} like a 0/1 rate over its rows: wider than the score's own spread")
    for w in caught:
        notes.append(str(w.message))
    for line in notes:
        console.print(f"note: {line}", soft_wrap=True, highlight=False, markup=False)
    if json_out is not None:
        write_json(json_out, [r.to_row() for r in results])
        err_console.print(f"wrote {len(results)} result(s) to {json_out}")


@app.command(
    "plan",
    help=(
        "Plan seeds: how many students per arm to detect an effect, or the smallest effect a "
        "number of seeds can detect, from the between-seed SD (given, or estimated from pilot "
        "data).\n\n"
        "Example: subliminal-stats plan --effect 10 --sd 5   |   "
        "subliminal-stats plan data/examples/owl_example.csv --seeds 5"
    ),
)
def plan_cmd(
    data: Annotated[Optional[list[Path]], typer.Argument(help="Pilot responses table(s) to estimate the between-seed SD.")] = None,
    effect: Annotated[Optional[float], typer.Option(help="Target difference in percentage points.")] = None,
    seeds: Annotated[Optional[int], typer.Option(help="Seeds per arm available (gives the detectable effect).")] = None,
    sd: Annotated[Optional[float], typer.Option(help="Between-seed SD of per-seed rates, in percentage points.")] = None,
    trait: Annotated[Optional[str], typer.Option(help="Trait of the pilot data to use (default: all).")] = None,
    power: Annotated[float, typer.Option(help="Target power.")] = 0.8,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    alternative: Annotated[str, typer.Option(help="two-sided or greater.")] = "two-sided",
    metric: Annotated[str, typer.Option(help="What the pilot seeds' rates are made of: hit (sampled answers) or a score column in [0, 1], e.g. prob (the probability probe).")] = "hit",
) -> None:
    from subliminal_stats.stats.power import (
        detectable_effect,
        estimate_between_seed_sd,
        seeds_needed,
    )

    console = _out()
    if effect is None and seeds is None:
        raise InputError("give --effect PP (seeds needed) or --seeds N (detectable effect), or both")
    if sd is None and not data:
        raise InputError("give the between-seed SD with --sd PP, or pilot data to estimate it")
    if sd is not None and data:
        raise InputError("give either --sd or pilot data, not both")
    if sd is not None:
        sd_prop, source = sd / 100, "given (--sd)"
    else:
        from subliminal_stats.data.schema import read_responses

        sd_prop, dof, where = estimate_between_seed_sd(read_responses(data), trait=trait,
                                                       metric=metric)
        source = f"estimated from pilot data ({dof} df; {where})"
    of = "per-seed rates" if metric == "hit" else f"per-seed mean {metric}"
    console.print(f"between-seed SD of {of}: {100 * sd_prop:.3g} pp — {source}",
                  soft_wrap=True, highlight=False)
    table = Table(title=f"Two-sample t on per-seed rates, {alternative}, α = {alpha:g}",
                  title_justify="left")
    for col in ("question", "effect pp", "Cohen's d", "seeds per arm", "power"):
        table.add_column(col)
    if effect is not None:
        plan = seeds_needed(effect=effect / 100, sd_between_seeds=sd_prop, power=power,
                            alpha=alpha, alternative=alternative)
        table.add_row("seeds needed", f"{effect:g}", f"{plan.effect_size_d:.2f}",
                      f"{plan.seeds_per_arm} (exact {plan.seeds_exact:.2f})", f"{plan.power:.3f}")
    if seeds is not None:
        plan = detectable_effect(seeds_per_arm=seeds, sd_between_seeds=sd_prop, power=power,
                                 alpha=alpha, alternative=alternative)
        table.add_row("detectable effect", f"{plan.effect_pp:.3g}", f"{plan.effect_size_d:.2f}",
                      str(seeds), f"{power:g}")
    console.print(table)
    console.print("seeds per arm are rounded up so that power is at least the target; the "
                  "default test (pooled t) matches this calculation", soft_wrap=True)


@app.command(
    "calibrate",
    help=(
        "Simulate your design and print each method's false-positive rate and interval "
        "coverage (hierarchical binomial model: logit intercept, seed SD, crossed question SD).\n\n"
        "Example: subliminal-stats calibrate --seeds-per-arm 3 --questions 50 --answers 20 "
        "--n-sims 2000"
    ),
)
def calibrate_cmd(
    seeds_per_arm: Annotated[int, typer.Option(help="Seeds (students) per arm.")] = 5,
    questions: Annotated[int, typer.Option(help="Evaluation questions (crossed with seeds).")] = 50,
    answers: Annotated[int, typer.Option(help="Answers per question per seed.")] = 20,
    intercept: Annotated[float, typer.Option(help="Logit of the control rate (−2 ≈ 12 %).")] = -2.0,
    seed_sd: Annotated[float, typer.Option(help="Between-seed SD on the logit scale.")] = 0.4,
    question_sd: Annotated[float, typer.Option(help="Between-question SD on the logit scale.")] = 0.8,
    effect: Annotated[float, typer.Option(help="Treated shift on the logit scale (0 = null: FPR).")] = 0.0,
    n_sims: Annotated[int, typer.Option(help="Simulations for the fast seed-level methods.")] = 2000,
    n_sims_bootstrap: Annotated[int, typer.Option(help="Simulations for the bootstrap.")] = 500,
    n_sims_slow: Annotated[int, typer.Option(help="Simulations for each mixed model (0 = skip).")] = 30,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples per simulation.")] = 999,
    alpha: Annotated[float, typer.Option(help="Nominal level.")] = 0.05,
    base: Annotated[bool, typer.Option(help="Also calibrate treated vs a single base model.")] = True,
    rng: Annotated[int, typer.Option("--rng", help="Random seed.")] = 0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the table as JSON here.")] = None,
) -> None:
    from subliminal_stats.stats.calibration import calibrate

    console = _out()
    if seeds_per_arm < 2:
        raise InputError(f"--seeds-per-arm must be at least 2, not {seeds_per_arm}")
    for name, value in (("--questions", questions), ("--answers", answers), ("--n-sims", n_sims)):
        if value < 1:
            raise InputError(f"{name} must be at least 1, not {value}")
    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1, not {alpha}")
    if seed_sd < 0 or question_sd < 0:
        raise InputError("--seed-sd and --question-sd must be ≥ 0")
    with err_console.status("simulating…") as status:
        frame = calibrate(seeds_per_arm=seeds_per_arm, n_questions=questions,
                          answers_per_question=answers, intercept=intercept, seed_sd=seed_sd,
                          question_sd=question_sd, effect=effect, n_sims=n_sims,
                          n_sims_bootstrap=n_sims_bootstrap, n_sims_slow=n_sims_slow,
                          n_resamples=resamples, include_base=base, alpha=alpha, rng=rng,
                          progress=lambda m: status.update(m))
    rate = "false-positive rate" if effect == 0 else "rejection rate (power)"
    table = Table(title=(f"{seeds_per_arm} seeds/arm, {questions} questions × {answers} answers, "
                         f"logit {intercept:g}, seed SD {seed_sd:g}, question SD {question_sd:g}, "
                         f"effect {effect:g} (logit)"), title_justify="left")
    for col in ("comparison", "method", "sims", rate, f"{100 * (1 - alpha):g}% coverage",
                "mean CI width pp", "calibrated", "note"):
        table.add_column(col)
    for row in frame.itertuples():
        table.add_row(row.comparison, row.method, str(row.n_sims),
                      f"{100 * row.rejection_rate:.1f}%",
                      "n/a" if math.isnan(row.coverage) else f"{100 * row.coverage:.1f}%",
                      _fmt(row.mean_ci_width_pp, pp=True), "yes" if row.calibrated else "NO",
                      row.note)
    console.print(table)
    se = math.sqrt(alpha * (1 - alpha) / n_sims)
    console.print(f"Monte Carlo SE of a {100 * alpha:g}% rate with {n_sims} sims: "
                  f"±{100 * se:.1f} points (fewer sims → wider).", soft_wrap=True)
    if json_out is not None:
        write_json(json_out, frame.to_dict(orient="records"))
        err_console.print(f"wrote {len(frame)} rows to {json_out}")
