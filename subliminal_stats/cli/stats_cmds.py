"""Statistics commands: ``test``, ``plan`` and ``calibrate``."""


import math
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from subliminal_stats.cli._app import app, emit_table, err_console
from subliminal_stats.cli._app import console as _terminal_console
from subliminal_stats.errors import InputError

_ALTERNATIVE_HELP = "two-sided, greater (treated > reference) or less (treated < reference)."
_JSON_HELP = "Write the results as JSON here ('-' = standard output; the tables then go to stderr)."
_ALTERNATIVES = ("two-sided", "greater", "less")


def _check_alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise InputError(f"--alternative must be two-sided, greater or less, not {alternative!r}")
    return alternative


def _json_target(json_out, inputs=()):
    """Check ``--json PATH`` before any work ('-' = stdout); returns it unchanged."""
    if json_out is None:
        return None
    from subliminal_stats.data.outputs import check_output_path, is_stdout

    if not is_stdout(json_out):
        check_output_path(json_out, inputs=list(inputs or []), what="--json output")
    return json_out


def _emit_json(json_out, data, what: str) -> None:
    """Strict JSON (NaN/inf → null) to ``json_out``, atomically, or to stdout for '-'."""
    import json
    import sys

    from subliminal_stats.data.jsonl import json_safe
    from subliminal_stats.data.outputs import atomic_write, is_stdout

    text = json.dumps(json_safe(data), indent=2, allow_nan=False, default=str) + "\n"
    if is_stdout(json_out):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        atomic_write(json_out, text)
        err_console.print(f"wrote {what} to {json_out}")


def _out(json_out=None) -> Console:
    """The shared console on a terminal; a wide one when piped (tables stay readable in files).

    With ``--json -`` the tables go to stderr so that stdout is only the JSON.
    """
    if json_out is not None and str(json_out) == "-":
        return Console(stderr=True, width=160, highlight=False)
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
    from subliminal_stats.stats.verdicts import format_p

    return format_p(x)


def _verdict(r) -> str:
    """The one wording of :mod:`subliminal_stats.stats.verdicts`."""
    return r.verdict


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
    treated: Annotated[Optional[list[str]], typer.Option(help="Condition label of the treated students (repeatable: several conditions against one control, adjusted as one family; default: treated).")] = None,
    control: Annotated[str, typer.Option(help="Condition label of the control students.")] = "control",
    base: Annotated[Optional[str], typer.Option(help="Condition label of the base model (default: 'base' if present).")] = None,
    method: Annotated[Optional[str], typer.Option(help="logit-t (default: the typical student's odds ratio, calibrated in every cell of the scenario grid; welch for a score), welch (the mean rate difference), pooled-t, permutation, bootstrap-bca, bootstrap-percentile, lmm, glmm-map, gee-bias-reduced, a comma list, or all. The names printed are the names accepted.")] = None,
    alternative: Annotated[str, typer.Option(help=_ALTERNATIVE_HELP)] = "two-sided",
    confidence_level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    adjust: Annotated[str, typer.Option(help="Multiplicity adjustment across traits: holm, bh or none (the family is printed).")] = "holm",
    alpha: Annotated[float, typer.Option(help="Significance level applied to the adjusted p.")] = 0.05,
    resamples: Annotated[int, typer.Option(min=100, max=1_000_000, help="Bootstrap resamples (100 to 1,000,000).")] = 10_000,
    rng: Annotated[int, typer.Option("--rng", min=0, help="Random seed for bootstrap / Monte Carlo permutations.")] = 0,
    experiment: Annotated[Optional[str], typer.Option(help="Use only the rows of this experiment.")] = None,
    metric: Annotated[str, typer.Option(help="What to test: hit (sampled answers) or a score column in [0, 1], e.g. prob (the probability probe).")] = "hit",
    json_out: Annotated[Optional[Path], typer.Option("--json", help=_JSON_HELP)] = None,
    same_seeds: Annotated[bool, typer.Option("--same-seeds", help="Seeds with the same labels in different runs are the same trained models (pool them); by default such tables are refused.")] = False,
    panel: Annotated[Optional[str], typer.Option(help="Specificity: other targets to rescore the same answers (the response column) against — a comma list (owl,cat,dog), a file of one target per line (e.g. panel.txt), animals or trees; default: the bundled panel holding the trait; none: no specificity column.")] = None,
) -> None:
    import pandas as pd

    from subliminal_stats.data.schema import read_responses, select
    from subliminal_stats.stats import DEFAULT_METHOD, compare_metric, summarize

    _check_alternative(alternative)
    _json_target(json_out, data)
    console = _out(json_out)
    method = DEFAULT_METHOD if method is None else method  # "" is refused, not the default
    treated = list(dict.fromkeys(treated or ["treated"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if metric == "hit":
            # Streamed straight to per-cell counts: memory grows with cells, not answers;
            # label spellings merged and runs pooled are said below.
            from subliminal_stats.data.reader import read_cells, runs_note

            with err_console.status(f"reading {len(data)} file(s)…") as status:
                cells = df = read_cells(
                    data, experiment=experiment, traits=trait or None, same_seeds=same_seeds,
                    progress=lambda k, total: status.update(f"reading: {k} of {total} files"))
            experiments = [e for e in cells.attrs.get("experiments") or [] if e is not None]
            mixing = "" if experiment is not None or len(experiments) <= 1 else (
                f"the table holds {len(experiments)} experiments "
                f"({', '.join(map(repr, map(str, experiments[:4])))}); answers with the same "
                "trait, condition and seed labels are pooled across them — select one "
                "experiment (--experiment) if they are different runs")
            pooled = runs_note(cells)
            if pooled:
                warnings.warn(pooled, stacklevel=1)
        elif _counts_files(data):
            # A counts table carries a score as METRIC_sum per cell: read straight to cells.
            from subliminal_stats.data.reader import read_cells

            cells = df = read_cells(data, metric=metric, experiment=experiment,
                                    traits=trait or None, same_seeds=same_seeds)
            mixing = ""
        else:
            df = read_responses(data)
            if experiment is not None:
                df = select(df, experiment=experiment)
            if trait:
                unknown = [t for t in trait if t not in set(df["trait"])]
                if unknown:
                    raise InputError(f"unknown trait label {', '.join(map(repr, unknown))}: the "
                                     f"data has {', '.join(sorted(map(str, df['trait'].unique())))}")
                df = df[df["trait"].isin(trait)]
            from subliminal_stats.stats import score_cells
            from subliminal_stats.stats.api import experiment_mixing_note

            mixing = experiment_mixing_note(df)
            cells = score_cells(df, metric)
        if base is None and "base" in set(pd.unique(df["condition"])) \
                and "base" not in (*treated, control):
            base = "base"
        with err_console.status("testing…"):
            results = compare_metric(df if metric != "hit" else cells, metric,
                                     treated=treated if len(treated) > 1 else treated[0],
                                     control=control, base=base, method=method,
                                     alternative=alternative, confidence_level=confidence_level,
                                     adjust=adjust, alpha=alpha, resamples=resamples, rng=rng)
    specificity = {}
    if metric == "prob" and df is not cells and "prob_panel" in df.columns \
            and (panel or "").strip().lower() != "none":
        from subliminal_stats.stats.specificity import probe_checks_for_results

        specificity = probe_checks_for_results(df, results, treated=treated, control=control,
                                               alpha=alpha)
    elif metric == "hit" and (panel or "").strip().lower() != "none":
        specificity = _specificity_checks(data, results, treated=treated, control=control,
                                          panel=panel, alpha=alpha, experiment=experiment,
                                          df=None if df is cells else df)
    datasets = _dataset_checks(data, cells, results, control=control, experiment=experiment,
                               alternative=alternative, confidence_level=confidence_level,
                               alpha=alpha) if metric == "hit" or df is cells else {}
    conditions = [c for c in (base, control, *treated) if c is not None]
    summary = summarize(cells[cells["condition"].isin(conditions)],
                        confidence_level=confidence_level)

    level = f"{100 * confidence_level:g}%"
    what = "Trait rate" if metric == "hit" else f"Mean {metric}"
    s_columns = ["trait", "condition", "seeds", "answers", "rate %", f"{level} CI %", "interval"]
    places = _pp_decimals(100 * summary["ci_low"], 100 * summary["ci_high"])
    s_rows = [[row.trait, row.condition, str(row.n_seeds), str(row.n_answers),
               _fmt(100 * row.mean, pp=True, decimals=places),
               f"[{_fmt(100 * row.ci_low, pp=True, decimals=places)}, "
               f"{_fmt(100 * row.ci_high, pp=True, decimals=places)}]",
               row.interval] for row in summary.itertuples()]
    emit_table(console, f"{what} per arm (per-seed means)", s_columns, s_rows,
               right=("seeds", "answers", "rate %"))

    adjusted_ci = any(math.isfinite(r.ci_low_adjusted) and (r.ci_low_adjusted, r.ci_high_adjusted)
                      != (r.ci_low, r.ci_high) for r in results)
    columns = ["trait", "treated", "vs", "method", "diff pp", f"{level} CI pp", "p", "p adj", "seeds t/r",
               "odds ratio [CI]", "calibration", "verdict"]
    if adjusted_ci:
        columns.insert(6, "family-adjusted CI pp")
    if specificity:
        columns.append("specific")
    from subliminal_stats.stats.design import SPREAD_NOTE
    from subliminal_stats.stats.specificity import check_for, specificity_notes
    from subliminal_stats.stats.verdicts import CONSERVATIVE_NOTE

    notes = []
    # With many comparisons the "conservative here" notes (one per trait) become one line.
    many = len(results) > 10
    conservative: list[float] = []
    spreads = 0
    seen: set[str] = set()
    places = _pp_decimals([r.ci_low_pp for r in results], [r.ci_high_pp for r in results],
                          [r.estimate_pp for r in results])
    rows = []
    for r in results:
        marker = "" if r.calibrated else " *"
        cells_row = [r.trait, r.treated, r.control, r.method + marker,
                     _fmt(r.estimate_pp, pp=True, decimals=places),
                     f"[{_fmt(r.ci_low_pp, pp=True, decimals=places)}, "
                     f"{_fmt(r.ci_high_pp, pp=True, decimals=places)}]",
                     _p(r.p_value), _p(r.p_value if math.isnan(r.p_adjusted) else r.p_adjusted),
                     f"{r.n_seeds_treated}/{r.n_seeds_control}",
                     f"{_fmt(r.odds_ratio)} [{_fmt(r.odds_ratio_ci_low)}, "
                     f"{_fmt(r.odds_ratio_ci_high)}]",
                     _calibration_cell(r), _verdict(r)]
        if adjusted_ci:
            cells_row.insert(6, f"[{_fmt(100 * r.ci_low_adjusted, pp=True, decimals=places)}, "
                                f"{_fmt(100 * r.ci_high_adjusted, pp=True, decimals=places)}]")
        if specificity:
            check = check_for(specificity, r)
            cells_row.append(check.verdict)
            if check.result is None and (r.trait, r.treated) in specificity and \
                    check is not specificity[(r.trait, r.treated)]:
                line = f"specific — for {r.trait} {r.treated} vs {r.control}: {check.reason}"
                if line not in seen:
                    seen.add(line)
                    notes.append(line)
        rows.append(cells_row)
        for w in r.warnings:
            if many and w.startswith(CONSERVATIVE_NOTE):
                conservative.append(r.simulated_fpr)
                continue
            if many and w.startswith(SPREAD_NOTE):
                spreads += 1
                continue
            line = f"{r.trait} {r.treated} vs {r.control}, {r.method}: {w}"
            if line not in seen:
                seen.add(line)
                notes.append(line)
    emit_table(console, f"Treated − reference ({alternative}; p adjusted: "
                        f"{results[0].adjust_method if results else adjust})", columns, rows)
    if conservative:
        rates = [x for x in conservative if x == x]
        low, high = (f"{100 * min(rates):.1f}", f"{100 * max(rates):.1f}") if rates else ("", "")
        span = "" if not rates else (f" (simulated FPR {low} %)" if low == high
                                     else f" (simulated FPR {low}–{high} %)")
        notes.insert(0, f"{len(conservative)} of {len(results)} comparisons are conservative for "
                        f"their design{span}: they lose power; --json gives each one's "
                        "calibration")
    if spreads:
        notes.insert(0, f"{spreads} of {len(results)} comparisons: arm spreads differ 2x or more "
                        "(pooled-variance methods such as pooled-t are not valid there; the "
                        "log-odds t and welch are); --json gives each one's spreads")
    for family in dict.fromkeys(r.family for r in results if r.family):
        console.print(f"multiplicity family: {family}", soft_wrap=True, highlight=False,
                      markup=False)
    if any(not r.calibrated for r in results):
        console.print("* not calibrated for this design (see notes): descriptive only")
    if mixing:
        notes.append(mixing)
    if metric != "hit" and any(row.n_seeds == 1 for row in summary.itertuples()):
        notes.append(f"a one-seed arm's interval above is a Wilson interval that treats mean "
                     f"{metric} like a 0/1 rate over its rows: wider than the score's own spread")
    for w in caught:
        notes.append(str(w.message))
    notes += specificity_notes(specificity)
    if metric != "hit" and not specificity and panel and panel.strip().lower() != "none":
        notes.append(f"--panel applies to --metric hit (the answers' text rescored against the "
                     f"panel); with --metric {metric} there is no specificity column")
    notes += _print_dataset_level(console, datasets, alternative=alternative, level=level)
    for line in notes:
        console.print(f"note: {line}", soft_wrap=True, highlight=False, markup=False)
    if json_out is not None:
        rows_out = [r.to_row() for r in results]
        if specificity:
            rows_out = [{**row, **check_for(specificity, r).to_row()}
                        for row, r in zip(rows_out, results, strict=True)]
        if datasets:
            rows_out = [{**row, **datasets.get((r.trait, r.treated, r.control), {}).get("json", {})}
                        for row, r in zip(rows_out, results, strict=True)]
        _emit_json(json_out, rows_out, f"{len(results)} result(s)")


def _seed_datasets(data, *, experiment):
    """``trait, condition, seed, dataset`` (one row per seed, labels normalised as the readers
    do) when any file has a ``dataset`` column; None otherwise. Only those columns are read."""
    import pandas as pd

    from subliminal_stats.data.labels import normalise_label
    from subliminal_stats.data.reader import file_columns, iter_frames

    if not any("dataset" in file_columns(path) for path in data):
        return None
    wanted = ["experiment", "trait", "condition", "seed", "dataset"]
    frames = []
    for path in data:
        if "dataset" not in file_columns(path):
            raise InputError(f"{path} has no 'dataset' column while other files have one: label "
                             "every student with its teacher dataset, or none")
        for batch in iter_frames(path, columns=wanted):
            frame = batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()
            frames.append(frame[[c for c in wanted if c in frame.columns]].drop_duplicates())
    df = pd.concat(frames, ignore_index=True).drop_duplicates()
    for col in wanted:
        if col in df.columns:
            df[col] = [None if v is None or (isinstance(v, float) and math.isnan(v))
                       else normalise_label(v) for v in df[col]]
    if experiment is not None and "experiment" in df.columns:
        df = df[df["experiment"] == experiment]
    missing = df["dataset"].isna() | (df["dataset"] == "")
    if missing.any():
        row = df[missing].iloc[0]
        raise InputError(f"seed {row['seed']!r} of condition {row['condition']!r} (trait "
                         f"{row['trait']!r}) has no dataset label: label every student with its "
                         "teacher dataset")
    from subliminal_stats.stats.datasets import check_one_dataset_per_seed

    check_one_dataset_per_seed(df)
    return df[["trait", "condition", "seed", "dataset"]].drop_duplicates()


def _dataset_checks(data, cells, results, *, control, experiment, alternative,
                    confidence_level, alpha):
    """{(trait, treated, control): {"row", "json"} or {"note"}} of the dataset-level test
    (teacher datasets as replicates, seeds nested) for each comparison against ``control``."""
    seed_datasets = _seed_datasets(data, experiment=experiment)
    if seed_datasets is None:
        return {}
    from subliminal_stats.stats.cells import seed_rates_from_cells
    from subliminal_stats.stats.datasets import compare_datasets, needs_dataset_level
    from subliminal_stats.stats.verdicts import verdict_of

    rates = seed_rates_from_cells(cells).merge(seed_datasets, on=["trait", "condition", "seed"],
                                               how="left")
    out = {}
    for r in results:
        key = (r.trait, r.treated, r.control)
        if r.control != control or key in out:
            continue
        arms = [rates[(rates["trait"] == r.trait) & (rates["condition"] == lab)]
                for lab in (r.treated, r.control)]
        labels = [arm["dataset"].to_numpy(dtype=object) for arm in arms]
        counts = "/".join(str(len(set(lab))) for lab in labels)
        if not needs_dataset_level(*labels):
            out[key] = {"note": f"{r.trait} {r.treated} vs {r.control}: {counts} teacher "
                                "dataset(s) per arm, so the seeds replicate student training "
                                "only and the trait is confounded with the arm's dataset; "
                                "several datasets per arm make the dataset the replicate"}
            continue
        res = compare_datasets(arms[0]["rate"], labels[0], arms[1]["rate"], labels[1],
                               alternative=alternative, confidence_level=confidence_level)
        word = verdict_of(p=res.p_value, estimate=res.estimate, alpha=alpha)
        out[key] = {
            "row": [r.trait, r.treated, r.control, counts, _fmt(100 * res.estimate, pp=True),
                    f"[{_fmt(100 * res.ci_low, pp=True)}, {_fmt(100 * res.ci_high, pp=True)}]",
                    f"{res.df:.3g}", _p(res.p_value), word],
            "json": {"dataset_level_estimate_pp": 100 * res.estimate,
                     "dataset_level_ci_low_pp": 100 * res.ci_low,
                     "dataset_level_ci_high_pp": 100 * res.ci_high,
                     "dataset_level_df": res.df, "dataset_level_p_value": res.p_value,
                     "dataset_level_verdict": word,
                     "datasets_treated": res.n_datasets_treated,
                     "datasets_control": res.n_datasets_control},
            "note": res.note,
        }
    return out


def _print_dataset_level(console, datasets, *, alternative, level) -> list[str]:
    """Print the dataset-level table (if any); return its notes."""
    rows = [v["row"] for v in datasets.values() if "row" in v]
    notes = [v["note"] for v in datasets.values() if v.get("note") and "row" not in v]
    notes += [f"dataset level: {v['note']}" for v in datasets.values()
              if "row" in v and v.get("note")]
    if rows:
        emit_table(console, f"Teacher datasets as replicates, seeds nested (Welch over per-dataset "
                            f"means, df capped; {alternative}, p unadjusted)",
                   ["trait", "treated", "vs", "datasets t/r", "diff pp", f"{level} CI pp", "df",
                    "p", "verdict"], rows)
        notes.append("several teacher datasets per arm: the dataset is the replicate, so read "
                     "the dataset-level rows; the seed-level rows above count every student as "
                     "independent and are anti-conservative when datasets differ "
                     "(stats.datasets.calibrate_datasets)")
    return notes


def _specificity_checks(data, results, *, treated, control, panel, alpha, experiment, df=None):
    """{(trait, treated): SpecificityCheck} for the results against ``control``; the answers'
    text read from the files unless ``df`` (a responses table) is given."""
    from subliminal_stats.stats.specificity import checks_for_results, checks_from_files

    if df is None:
        return checks_from_files(data, results, treated=treated, control=control, panel=panel,
                                 alpha=alpha, experiment=experiment)
    return checks_for_results(df, results, treated=treated, control=control, panel=panel,
                              alpha=alpha)


def _plan_datasets(*, effect, sd, dataset_sd, students, dataset_cost, alpha, alternative,
                   json_out, data) -> None:
    """`plan --dataset-sd`: more teacher datasets or more seeds per dataset (stats.datasets)."""
    if data:
        raise InputError("--dataset-sd plans from given SDs; pilot data is not read for it")
    if dataset_sd is None or students is None or effect is None or sd is None:
        raise InputError("a dataset plan needs --dataset-sd PP, --sd PP (seed SD within a "
                         "dataset), --effect PP and --students N")
    _check_alternative(alternative)
    _json_target(json_out, [])
    console = _out(json_out)
    from subliminal_stats.stats.datasets import plan_datasets

    plan = plan_datasets(effect=effect / 100, dataset_sd=dataset_sd / 100, seed_sd=sd / 100,
                         students=students, dataset_cost=dataset_cost, alpha=alpha,
                         alternative=alternative)
    ranked = sorted(plan["options"], key=lambda o: (-o.power, o.cost))[:8]
    rows = [[str(o.datasets), str(o.seeds_per_dataset), str(o.students), f"{o.cost:g}",
             f"{100 * o.variance_of_mean ** 0.5:.3g}", f"{o.power:.3f}"] for o in ranked]
    emit_table(console, f"Datasets × seeds per arm for {students} students (effect {effect:g} pp, "
                        f"dataset SD {dataset_sd:g} pp, seed SD {sd:g} pp, dataset cost "
                        f"{dataset_cost:g}; Welch over datasets, {alternative}, α = {alpha:g})",
               ["datasets", "seeds each", "students", "cost", "SE of arm mean pp", "power"], rows,
               right=("datasets", "seeds each", "students", "cost", "SE of arm mean pp", "power"))
    console.print(f"advice: {plan['advice']}", soft_wrap=True, highlight=False, markup=False)
    if json_out is not None:
        best = plan["best"]
        out = [{"datasets": o.datasets, "seeds_per_dataset": o.seeds_per_dataset,
                "students": o.students, "cost": o.cost, "variance_of_mean": o.variance_of_mean,
                "power": o.power, "best": o == best} for o in plan["options"]]
        _emit_json(json_out, out, f"{len(out)} design(s)")


def _counts_files(data) -> bool:
    """Whether every file is a per-cell counts table (``hits``/``n`` columns, no ``hit``)."""
    from subliminal_stats.data.counts import is_counts_table
    from subliminal_stats.data.reader import file_columns

    return bool(data) and all(is_counts_table(file_columns(path)) for path in data)


def _calibration_cell(r) -> str:
    """Short calibration status for the table: the simulated FPR for this design, or unknown."""
    status = r.calibration or ("calibrated" if r.calibrated else "NOT CALIBRATED")
    if math.isfinite(r.simulated_fpr):
        short = "ok" if r.calibrated else ("unknown" if status.startswith("unknown") else "NO")
        return f"{short}: FPR {100 * r.simulated_fpr:.1f}% ({r.calibration_sims or '?'} sims)"
    if status.startswith("unknown"):
        return status
    return "ok" if r.calibrated else "NO"


@app.command(
    "plan",
    help=(
        "Plan seeds: how many students per arm the default test (logit-t, Hsu's df) needs to detect an "
        "effect, or the smallest effect a number of seeds can detect, from each arm's "
        "between-seed SD (given, or estimated from pilot data — then also at the SD's 80 % "
        "upper bound, since a small pilot estimates it poorly).\n\n"
        "Example: subliminal-stats plan --effect 10 --sd 5 --sd-treated 8   |   "
        "subliminal-stats plan data/examples/owl_example.csv --seeds 5"
    ),
)
def plan_cmd(
    data: Annotated[Optional[list[Path]], typer.Argument(help="Pilot responses table(s) to estimate the between-seed SDs.")] = None,
    effect: Annotated[Optional[float], typer.Option(min=1e-6, max=100.0, help="Target difference in percentage points (a size, > 0 and ≤ 100).")] = None,
    seeds: Annotated[Optional[int], typer.Option(min=2, max=10_000, help="Seeds per arm available (2 to 10,000; gives the detectable effect).")] = None,
    sd: Annotated[Optional[float], typer.Option(min=0.0, max=100.0, help="Between-seed SD of the control arm's per-seed rates, in pp (also the treated arm's unless --sd-treated).")] = None,
    sd_treated: Annotated[Optional[float], typer.Option(min=0.0, max=100.0, help="Between-seed SD of the treated arm, in pp (treated students usually spread more).")] = None,
    trait: Annotated[Optional[str], typer.Option(help="Trait of the pilot data to use (default: all).")] = None,
    treated: Annotated[str, typer.Option(help="Pilot label of the treated students.")] = "treated",
    control: Annotated[str, typer.Option(help="Pilot label of the control students.")] = "control",
    power: Annotated[float, typer.Option(min=0.01, max=0.999, help="Target power (0.01 to 0.999).")] = 0.8,
    alpha: Annotated[float, typer.Option(min=1e-6, max=0.5, help="Significance level (up to 0.5).")] = 0.05,
    alternative: Annotated[str, typer.Option(help=_ALTERNATIVE_HELP)] = "two-sided",
    metric: Annotated[str, typer.Option(help="What the pilot seeds' rates are made of: hit (sampled answers) or a score column in [0, 1], e.g. prob (the probability probe).")] = "hit",
    json_out: Annotated[Optional[Path], typer.Option("--json", help=_JSON_HELP)] = None,
    dataset_sd: Annotated[Optional[float], typer.Option("--dataset-sd", min=0.0, max=100.0, help="Between-teacher-dataset SD of dataset means, in pp: plan datasets × seeds per dataset for a budget of --students per arm (--sd is then the seed SD within a dataset; needs --effect).")] = None,
    students: Annotated[Optional[int], typer.Option(min=2, max=100_000, help="With --dataset-sd: students (fine-tuning runs) per arm, 2 to 100,000.")] = None,
    dataset_cost: Annotated[float, typer.Option("--dataset-cost", min=0.0, max=100_000.0, help="With --dataset-sd: the cost of one more teacher dataset, in students (0: only students count).")] = 0.0,
) -> None:
    if dataset_sd is not None or students is not None:
        _plan_datasets(effect=effect, sd=sd, dataset_sd=dataset_sd, students=students,
                       dataset_cost=dataset_cost, alpha=alpha, alternative=alternative,
                       json_out=json_out, data=data)
        return
    from subliminal_stats.stats.power import (
        detectable_effect,
        estimate_arm_sds,
        estimate_between_seed_sd,
        plan_df_rule,
        sd_upper_bound,
        seeds_needed,
    )

    _check_alternative(alternative)
    _json_target(json_out, data or [])
    console = _out(json_out)
    if effect is None and seeds is None:
        raise InputError("give --effect PP (seeds needed) or --seeds N (detectable effect), or both")
    if sd is None and not data:
        raise InputError("give the between-seed SD with --sd PP, or pilot data to estimate it")
    if (sd is not None or sd_treated is not None) and data:
        raise InputError("give either --sd/--sd-treated or pilot data, not both")
    if sd_treated is not None and sd is None:
        raise InputError("--sd-treated needs --sd (the control arm's SD) beside it")
    bounds = None
    if sd is not None:
        sd_c, sd_t, source = sd / 100, (sd if sd_treated is None else sd_treated) / 100, "given"
    else:
        from subliminal_stats.data.schema import read_responses

        table = read_responses(data)
        pooled, dof, where = estimate_between_seed_sd(table, trait=trait, metric=metric)
        of = "per-seed rates" if metric == "hit" else f"per-seed mean {metric}"
        console.print(f"between-seed SD of {of}: {100 * pooled:.3g} pp — estimated from pilot "
                      f"data ({dof} df; {where})", soft_wrap=True, highlight=False)
        arms = estimate_arm_sds(table, treated=treated, control=control, trait=trait,
                                metric=metric)
        t_arm, c_arm = arms["treated"], arms["control"]
        sd_c, dof_c = c_arm if c_arm else (pooled, dof)
        sd_t, dof_t = t_arm if t_arm else (pooled, dof)
        if sd_c <= 0 and sd_t <= 0:
            raise InputError("both arms' seeds share one rate in the pilot data (between-seed SD "
                             "0): pass --sd, or plan on a score that varies (e.g. --metric prob)")
        source = (f"estimated from pilot data: control {100 * sd_c:.3g} pp ({dof_c} df), "
                  f"treated {100 * sd_t:.3g} pp ({dof_t} df)")
        bounds = (sd_upper_bound(sd_t, dof_t) if sd_t > 0 else 0.0,
                  sd_upper_bound(sd_c, dof_c) if sd_c > 0 else 0.0, min(dof_t, dof_c))
    console.print(f"between-seed SDs used: treated {100 * sd_t:.3g} pp, control {100 * sd_c:.3g} "
                  f"pp — {source}", soft_wrap=True, highlight=False)
    # A score (e.g. prob) is tested with welch, answers with the default (logit-t).
    rule = plan_df_rule(metric)
    test_name = ("default test logit-t (each arm's SD, Hsu's df)" if rule == "hsu"
                 else "welch, the default for a score (each arm's SD, Satterthwaite df)")
    table_out = Table(title=f"{test_name}, {alternative}, α = {alpha:g}", title_justify="left")
    for col in ("question", "SDs t/c pp", "effect pp", "Cohen's d", "seeds per arm", "power"):
        table_out.add_column(col)
    rows = []
    sd_sets = [("point estimate", sd_t, sd_c)]
    if bounds is not None:
        sd_sets.append(("80 % upper bound of the SDs", bounds[0], bounds[1]))
    for label, s_t, s_c in sd_sets:
        sds = f"{100 * s_t:.3g}/{100 * s_c:.3g}"
        if effect is not None:
            plan = seeds_needed(effect=effect / 100, sd_between_seeds=s_c, sd_treated=s_t,
                                power=power, alpha=alpha, alternative=alternative,
                                df_rule=rule)
            table_out.add_row(f"seeds needed ({label})", sds, f"{effect:g}",
                              f"{plan.effect_size_d:.3g}",
                              f"{plan.seeds_per_arm} (exact {plan.seeds_exact:.2f})",
                              f"{plan.power:.3f}")
            rows.append({"question": "seeds needed", "sds": label, "sd_treated_pp": 100 * s_t,
                         "sd_control_pp": 100 * s_c, "effect_pp": effect,
                         "seeds_per_arm": plan.seeds_per_arm, "seeds_exact": plan.seeds_exact,
                         "power": plan.power})
        if seeds is not None:
            plan = detectable_effect(seeds_per_arm=seeds, sd_between_seeds=s_c, sd_treated=s_t,
                                     power=power, alpha=alpha, alternative=alternative,
                                     df_rule=rule)
            table_out.add_row(f"detectable effect ({label})", sds, f"{plan.effect_pp:.3g}",
                              f"{plan.effect_size_d:.3g}", str(seeds), f"{power:g}")
            rows.append({"question": "detectable effect", "sds": label,
                         "sd_treated_pp": 100 * s_t, "sd_control_pp": 100 * s_c,
                         "effect_pp": plan.effect_pp, "seeds_per_arm": seeds, "power": power})
    console.print(table_out)
    console.print("seeds per arm are rounded up so that power is at least the target; power is "
                  + ("that of a t test with each arm's own SD on Hsu's df (the default's), on the "
                     "rate scale: the log-odds test has about this power when the seeds' rates "
                     "are not strongly skewed" if rule == "hsu" else
                     "that of welch with each arm's own SD"), soft_wrap=True)
    if bounds is not None:
        console.print(f"a pilot of {bounds[2] + 1} seeds per arm estimates an SD only to within "
                      f"a factor of {sd_upper_bound(1.0, bounds[2]):.2g} (80 % upper bound): it "
                      "can tell whether the arms spread alike and the order of magnitude of the "
                      "spread, not the seeds needed to the seed — plan on the upper-bound row",
                      soft_wrap=True)
    if json_out is not None:
        _emit_json(json_out, rows, f"{len(rows)} plan row(s)")


@app.command(
    "calibrate",
    help=(
        "Simulate a design and print each method's false-positive rate and interval coverage "
        "with Monte Carlo errors. With DATA: your own design, estimated from the table "
        "(seeds per arm, each arm's between-seed SD, question SD, answers, rates). With "
        "--write-table: the whole scenario grid (≥ 1,000 nulls per cell), written into the "
        "package's calibration table. Otherwise: the design given by the options.\n\n"
        "Example: subliminal-stats calibrate responses.parquet --trait owl   |   "
        "subliminal-stats calibrate --seeds-per-arm 3 --questions 50 --answers 20"
    ),
)
def calibrate_cmd(
    data: Annotated[Optional[list[Path]], typer.Argument(help="Responses table(s) whose design to simulate.")] = None,
    trait: Annotated[Optional[list[str]], typer.Option(help="Trait of DATA (repeatable; default: all).")] = None,
    treated: Annotated[str, typer.Option(help="Condition label of the treated students in DATA.")] = "treated",
    control: Annotated[str, typer.Option(help="Condition label of the control students in DATA.")] = "control",
    seeds_per_arm: Annotated[int, typer.Option(max=200, help="Seeds (students) per arm (2 to 200).")] = 5,
    questions: Annotated[int, typer.Option("--questions", "--n-questions", min=1, max=2000, help="Evaluation questions (crossed with seeds; up to 2,000).")] = 50,
    answers: Annotated[int, typer.Option("--answers", "--answers-per-question", min=1, max=100_000, help="Answers per question per seed.")] = 20,
    intercept: Annotated[float, typer.Option(min=-12.0, max=12.0, help="Logit of the control rate (−2 ≈ 12 %).")] = -2.0,
    seed_sd: Annotated[float, typer.Option(max=5.0, help="Between-seed SD on the logit scale (0 to 5).")] = 0.4,
    question_sd: Annotated[float, typer.Option(max=5.0, help="Between-question SD on the logit scale (0 to 5).")] = 0.8,
    effect: Annotated[float, typer.Option(min=-12.0, max=12.0, help="Treated shift on the logit scale (0 = null: FPR).")] = 0.0,
    n_sims: Annotated[int, typer.Option(min=1, max=200_000, help="Simulations per scenario for the fast methods (≥ 1,000 for a 'calibrated').")] = 2000,
    n_sims_bootstrap: Annotated[int, typer.Option(min=0, max=20_000, help="Simulations for the bootstrap.")] = 500,
    n_sims_slow: Annotated[int, typer.Option(min=0, max=5000, help="Simulations for each mixed model (0 = skip).")] = 30,
    resamples: Annotated[int, typer.Option(min=100, max=100_000, help="Bootstrap resamples per simulation.")] = 999,
    alpha: Annotated[float, typer.Option(min=1e-4, max=0.5, help="Nominal level.")] = 0.05,
    alternative: Annotated[str, typer.Option(help=_ALTERNATIVE_HELP)] = "two-sided",
    base: Annotated[bool, typer.Option("--base/--no-base", "--include-base/--no-include-base", help="Also calibrate treated vs a single base model.")] = True,
    write_table: Annotated[bool, typer.Option("--write-table", help="Simulate the whole scenario grid and write it into the package's calibration table (or -o).")] = False,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="With --write-table: write the table module here instead of the package.")] = None,
    rng: Annotated[int, typer.Option("--rng", min=0, help="Random seed.")] = 0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help=_JSON_HELP)] = None,
) -> None:
    _check_alternative(alternative)
    _json_target(json_out, data or [])
    console = _out(json_out)
    if seeds_per_arm < 2:
        raise InputError(f"--seeds-per-arm must be at least 2, not {seeds_per_arm}")
    if seed_sd < 0 or question_sd < 0:
        raise InputError("--seed-sd and --question-sd must be ≥ 0")
    if write_table:
        _write_grid(console, n_sims=n_sims, rng=rng, out=out, json_out=json_out)
        return
    if data:
        _calibrate_data(console, data, trait=trait, treated=treated, control=control,
                        n_sims=n_sims, alpha=alpha, alternative=alternative, rng=rng,
                        json_out=json_out)
        return
    from subliminal_stats.stats.calibration import calibrate

    with err_console.status("simulating…") as status:
        frame = calibrate(seeds_per_arm=seeds_per_arm, n_questions=questions,
                          answers_per_question=answers, intercept=intercept, seed_sd=seed_sd,
                          question_sd=question_sd, effect=effect, n_sims=n_sims,
                          n_sims_bootstrap=n_sims_bootstrap, n_sims_slow=n_sims_slow,
                          resamples=resamples, include_base=base, alpha=alpha,
                          alternative=alternative, rng=rng,
                          progress=lambda m: status.update(m))
    rate = "false-positive rate" if effect == 0 else "rejection rate (power)"
    table = Table(title=(f"{seeds_per_arm} seeds/arm, {questions} questions × {answers} answers, "
                         f"logit {intercept:g}, seed SD {seed_sd:g}, question SD {question_sd:g}, "
                         f"effect {effect:g} (logit), {alternative}"), title_justify="left")
    for col in ("comparison", "method", "sims", rate, "± MC", f"{100 * (1 - alpha):g}% coverage",
                "mean CI width pp", "calibrated", "note"):
        table.add_column(col)
    for row in frame.itertuples():
        mc = math.sqrt(row.rejection_rate * (1 - row.rejection_rate) / max(row.n_sims, 1))
        table.add_row(row.comparison, row.method, str(row.n_sims),
                      f"{100 * row.rejection_rate:.1f}%", f"{100 * mc:.1f}",
                      "n/a" if math.isnan(row.coverage) else f"{100 * row.coverage:.1f}%",
                      _fmt(row.mean_ci_width_pp, pp=True), _calibrated_word(row), row.note)
    console.print(table)
    se = math.sqrt(alpha * (1 - alpha) / n_sims)
    console.print(f"Monte Carlo SE of a {100 * alpha:g}% rate with {n_sims} sims: "
                  f"±{100 * se:.1f} points (fewer sims → wider). 'yes' needs ≥ 1,000 simulated "
                  "nulls; one design is not the grid (see `calibrate --write-table`).",
                  soft_wrap=True)
    if json_out is not None:
        _emit_json(json_out, frame.to_dict(orient="records"), f"{len(frame)} rows")


def _calibrated_word(row) -> str:
    if row.n_sims < 1000 and not row.method.startswith("naive"):
        return f"unknown ({row.n_sims} simulations)"
    return "yes" if row.calibrated else "NO"


def _calibrate_data(console, data, *, trait, treated, control, n_sims, alpha, alternative, rng,
                    json_out) -> None:
    """Estimate the design of each trait of DATA and simulate it (fast methods)."""
    from subliminal_stats.data.schema import read_responses
    from subliminal_stats.stats.calibration import calibrate_design

    df = read_responses(data)
    if trait:
        unknown = [t for t in trait if t not in set(df["trait"])]
        if unknown:
            raise InputError(f"unknown trait label {', '.join(map(repr, unknown))}: the data has "
                             f"{', '.join(sorted(map(str, df['trait'].unique())))}")
        df = df[df["trait"].isin(trait)]
    base = "base" if "base" in set(df["condition"]) and "base" not in (treated, control) else None
    with err_console.status("simulating your design…"):
        frame, designs = calibrate_design(df, treated=treated, control=control, base=base,
                                          n_sims=n_sims, alpha=alpha, alternative=alternative,
                                          rng=rng)
    for line in designs:
        console.print(f"design: {line}", soft_wrap=True, highlight=False, markup=False)
    table = Table(title=f"Your design, {n_sims} simulations per scenario, {alternative}, "
                        f"α = {alpha:g}", title_justify="left")
    for col in ("trait", "comparison", "scenario", "method", "rejection", "± MC", "coverage",
                "± MC", "calibrated"):
        table.add_column(col)
    for row in frame.itertuples():
        mc_r = math.sqrt(row.rejection_rate * (1 - row.rejection_rate) / row.n_sims)
        cov = "n/a" if math.isnan(row.coverage) else f"{100 * row.coverage:.1f}%"
        mc_c = "" if math.isnan(row.coverage) else \
            f"{100 * math.sqrt(row.coverage * (1 - row.coverage) / row.n_sims):.1f}"
        table.add_row(row.trait, row.comparison, row.scenario, row.method,
                      f"{100 * row.rejection_rate:.1f}%", f"{100 * mc_r:.1f}", cov, mc_c,
                      row.calibrated)
    console.print(table)
    console.print("null: both arms drawn alike (like the control, then like the treated "
                  "students); spread: same mean, treated spread as observed (robustness, not a "
                  "bound); effect: the estimated effect with each arm's own spread (coverage).",
                  soft_wrap=True)
    if json_out is not None:
        _emit_json(json_out, frame.to_dict(orient="records"), f"{len(frame)} rows")


def _write_grid(console, *, n_sims, rng, out, json_out) -> None:
    """Simulate the scenario grid and write the package's calibration table."""
    from subliminal_stats.stats.calibration import write_table

    if n_sims < 1000:
        raise InputError(f"--write-table needs --n-sims of at least 1000 (≥ 1,000 nulls per "
                         f"cell), not {n_sims}")
    if out is not None:
        from subliminal_stats.data.outputs import check_output_path

        check_output_path(out, what="table module")
    with err_console.status("simulating the scenario grid…") as status:
        path, summary = write_table(out, n_sims=n_sims, rng=rng or 20261201,
                                    progress=lambda m: status.update(m))
    table = Table(title=f"Scenario grid, {n_sims} simulations per cell (written to {path})",
                  title_justify="left")
    for col in ("comparison", "method", "cells", "worst FPR", "worst coverage",
                "same mean, diff. spread (unbound)", "calibrated"):
        table.add_column(col)
    for r in summary.itertuples():
        table.add_row(r.comparison, r.method, f"{r.null_cells}+{r.effect_cells}",
                      _pct_mc(getattr(r, "worst_fpr", math.nan), getattr(r, "worst_fpr_mc_se", 0)),
                      _pct_mc(getattr(r, "worst_coverage", math.nan),
                              getattr(r, "worst_coverage_mc_se", 0)),
                      _pct_mc(getattr(r, "spread_worst_fpr", math.nan), 0),
                      "yes" if r.calibrated else "NO")
    console.print(table)
    from subliminal_stats.stats import DEFAULT_METHOD
    from subliminal_stats.stats.grid import close_rows, grid_frame

    if out is None:
        near = close_rows(grid_frame(), DEFAULT_METHOD)
        console.print(f"{DEFAULT_METHOD}: {int((near['kind'] == 'null').sum())} null cells above "
                      f"5.5 % and {int((near['kind'] == 'effect').sum())} effect cells below "
                      "94.5 % coverage (the rows where the choice is close; "
                      "grid.close_rows lists them). 'calibrated' needs every cell inside the "
                      "bounds: heavily skewed treated arms (logit SD ≥ 1) defeat every t "
                      "interval for the mean rate on 2–10 seeds; logit-t's estimand is the "
                      "typical student's log-odds, which those arms do not skew (and which the "
                      "'same mean, different spread' rows do shift: a rejection there is not a "
                      "false positive for it).", soft_wrap=True)
    if json_out is not None:
        _emit_json(json_out, summary.to_dict(orient="records"), f"{len(summary)} rows")


def _pct_mc(x, se) -> str:
    if x is None or not isinstance(x, float) or math.isnan(x):
        return "n/a"
    return f"{100 * x:.1f}%" + (f" ± {100 * se:.1f}" if se else "")
