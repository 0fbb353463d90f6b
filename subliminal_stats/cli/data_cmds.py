"""Data commands: ``ingest authors|table|rates|inspect``, ``check``, ``runs`` and ``query``.

Only typer, rich and the standard library at module level: the heavy readers load inside
each command, so ``subliminal-stats --help`` starts fast.
"""


import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from subliminal_stats.cli._app import app, console, err_console
from subliminal_stats.errors import InputError

ingest_app = typer.Typer(
    help="Convert other evaluation formats into the responses table, or per-question rates into the counts table (appends, locked).",
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")

_NAME_HELP = ("File-name pattern giving labels per file, e.g. '{condition}_seed{seed}_eval.jsonl' "
              "(fields {condition} {seed} {trait} {run} {experiment}; {} or * for any text): "
              "a whole study in one call.")
_OUT_HELP = "Output table (.parquet, .csv or .jsonl); appended to when it exists."
_LOCK_HELP = "Seconds to wait for another process writing the same output (1 to 86400)."


def _notes(caught) -> None:
    for w in caught:
        err_console.print(f"note: {w.message}", soft_wrap=True, highlight=False, markup=False)


def _done(summary, what: str) -> None:
    from rich.markup import escape

    console.print(
        escape(f"{summary.added} answers from {len(summary.sources)} {what} → {summary.path} "
               f"({summary.total} rows in all; hit rate of the new rows {summary.hit_rate:.3f})"),
        soft_wrap=True, highlight=False)


@ingest_app.command(
    "authors",
    help=(
        "Convert the paper authors' evaluation JSONL (one file per model) into the responses "
        "table, scoring each answer for the target word. Appends to OUT when it exists (under "
        "a file lock) and refuses answers already there. Every row gets a 'run' (default: the "
        "file's folder/name).\n\n"
        "Example: subliminal-stats ingest authors evals/*.jsonl --name "
        "'{condition}_seed{seed}_eval.jsonl' --trait owl -o responses.parquet"
    ),
)
def ingest_authors(
    files: Annotated[list[Path], typer.Argument(help="Authors' evaluation JSONL files (globs expanded).")],
    output: Annotated[Path, typer.Option("-o", "--out", "--output", help=_OUT_HELP)],
    condition: Annotated[Optional[str], typer.Option(help="Condition label, e.g. base, control, treated.")] = None,
    trait: Annotated[Optional[str], typer.Option(help="Trait label, e.g. owl.")] = None,
    seed: Annotated[Optional[str], typer.Option(help="Seed label (one trained model; one file).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help=_NAME_HELP)] = None,
    seed_from_name_pattern: Annotated[
        Optional[str],
        typer.Option("--seed-from-name", help="Regex whose first group, found in each file name, is the seed."),
    ] = None,
    run: Annotated[Optional[str], typer.Option(help="Run label of every row (default: each file's folder/name).")] = None,
    target: Annotated[Optional[str], typer.Option(help="Word that counts as a hit (default: the trait).")] = None,
    synonym: Annotated[Optional[list[str]], typer.Option(help="Another word that counts (repeatable).")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option(help="A phrase that never counts (repeatable).")] = None,
    first_word: Annotated[bool, typer.Option(help="Score only the first word of each answer.")] = False,
    experiment: Annotated[str, typer.Option(help="Experiment name stored in every row.")] = "",
    lock_timeout: Annotated[float, typer.Option(min=1, max=86400, help=_LOCK_HELP)] = 600.0,
) -> None:
    from subliminal_stats.data.ingest import ingest_authors as run_ingest

    if seed is not None and seed_from_name_pattern is not None:
        raise InputError("give exactly one of --seed or --seed-from-name (not both)")
    summary = run_ingest(files, output, condition=condition, trait=trait, seed=seed, name=name,
                         seed_from_name_pattern=seed_from_name_pattern, target=target,
                         synonyms=synonym or (), exclusions=exclude or (), first_word=first_word,
                         experiment=experiment, run=run, lock_timeout=lock_timeout)
    _done(summary, "file(s)")


@app.command(
    "check",
    help=(
        "Validate responses files and print, per trait and condition, the seeds, questions, "
        "answers and the raw hit rate. Streams the files (memory grows with cells, not "
        "answers). Refuses seeds with the same labels from different runs unless "
        "--same-seeds.\n\nExample: subliminal-stats check responses.parquet"
    ),
)
def check(
    data: Annotated[list[Path], typer.Argument(help="Responses files (.parquet, .csv, .jsonl, .json).")],
    trait: Annotated[Optional[list[str]], typer.Option(help="Only these traits (repeatable).")] = None,
    condition: Annotated[Optional[list[str]], typer.Option(help="Only these conditions (repeatable).")] = None,
    experiment: Annotated[Optional[str], typer.Option(help="Only the rows of this experiment.")] = None,
    same_seeds: Annotated[bool, typer.Option("--same-seeds", help="Seeds with the same labels in different runs are the same models: pool them.")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the table as JSON here ('-' = stdout).")] = None,
) -> None:
    from subliminal_stats.data.api import check_table

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary, notes = check_table(data, traits=trait, conditions=condition,
                                     experiment=experiment, same_seeds=same_seeds,
                                     json_out=json_out)
    _notes(caught)
    if json_out is not None and str(json_out) == "-":
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"{summary.attrs['rows']} answers in {', '.join(map(str, data))}"))
    for col in ("trait", "condition", "seeds", "questions", "answers", "hit rate"):
        table.add_column(col, justify="left" if col in ("trait", "condition") else "right")
    for row in summary.itertuples(index=False):
        table.add_row(Text(str(row.trait)), Text(str(row.condition)), str(row.seeds),
                      str(row.questions), str(row.answers), f"{row.hit_rate:.3f}")
    console.print(table)
    for line in notes:
        err_console.print(f"note: {line}", soft_wrap=True, highlight=False, markup=False)


@ingest_app.command(
    "table",
    help=(
        "Convert answers tables (CSV, JSONL, JSON array or Parquet) with a column mapping: "
        "--map names the source column of each responses column, --set gives constants, "
        "--name takes labels from file names. lm-evaluation-harness --log_samples files: "
        "--preset lm-eval (question=doc_id, hit=acc, response=filtered_resps).\n\n"
        "Example: subliminal-stats ingest table runs/*.csv --name '{condition}_seed{seed}.csv' "
        "--map question=prompt_id,hit=correct --set trait=owl -o responses.parquet"
    ),
)
def ingest_table(
    files: Annotated[list[Path], typer.Argument(help="Tables: .csv, .jsonl, .json, .parquet (globs expanded).")],
    output: Annotated[Path, typer.Option("-o", "--out", "--output", help=_OUT_HELP)],
    map_: Annotated[Optional[list[str]], typer.Option("--map", help="TARGET=SOURCE column pairs, comma-separated or repeated (e.g. seed=run_id,hit=correct; SOURCE may be dotted: doc.id).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="COLUMN=VALUE constants (e.g. trait=owl), repeatable.")] = None,
    where: Annotated[Optional[list[str]], typer.Option(help="Keep rows with COLUMN=VALUE (e.g. filter=strict-match), repeatable.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help=_NAME_HELP)] = None,
    preset: Annotated[Optional[str], typer.Option(help="A known mapping: lm-eval.")] = None,
    run: Annotated[Optional[str], typer.Option(help="Run label of every row (default: the file's 'run' column, else its folder/name).")] = None,
    lock_timeout: Annotated[float, typer.Option(min=1, max=86400, help=_LOCK_HELP)] = 600.0,
) -> None:
    from subliminal_stats.data.tables import ingest_table as run_ingest

    summary = run_ingest(files, output, map=map_, set=set_, where=where, name=name,
                         preset=preset, run=run, lock_timeout=lock_timeout)
    _done(summary, "file(s)")


@ingest_app.command(
    "rates",
    help=(
        "Convert per-question rates with a known number of answers n into the counts table "
        "(trait, condition, seed, question, hits, n), which every command reads like the "
        "responses table. hits = rate × n must be a whole number (within 1e-6), else the row "
        "is refused. --preset phantom-transfer reads that study's stats.json files (rate = "
        "specific.values, n = n_samples_per_question, trait = entity; condition and seed from "
        "the ARM-lora-R-seed-N/eval-E/{base,final} folders; the base model's evaluations "
        "added up). Other layouts: --map, --set, --n, --name.\n\n"
        "Examples: subliminal-stats ingest rates 'phantom/**/stats.json' --preset "
        "phantom-transfer -o counts.parquet   |   subliminal-stats ingest rates rates.csv "
        "--map seed=model,question=prompt,rate=p --set trait=owl --n 100 --name "
        "'{condition}.csv' -o counts.parquet"
    ),
)
def ingest_rates(
    files: Annotated[list[Path], typer.Argument(help="Rates files: .json (one object or an array), .csv, .jsonl, .parquet (globs expanded).")],
    output: Annotated[Path, typer.Option("-o", "--out", "--output", help="Output counts table (.parquet, .csv or .jsonl); appended to when it exists.")],
    map_: Annotated[Optional[list[str]], typer.Option("--map", help="TARGET=SOURCE pairs for trait, condition, seed, question, rate, n, experiment, run, dataset, dose (dotted SOURCE reaches into JSON: rate=specific.values; a list of rates is one row per question, q00, q01, …).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="COLUMN=VALUE constants (e.g. trait=nyc), repeatable.")] = None,
    n: Annotated[Optional[int], typer.Option("--n", min=1, max=1_000_000_000, help="Answers per question when the same everywhere (1 to 10^9).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help=_NAME_HELP)] = None,
    preset: Annotated[Optional[str], typer.Option(help="A known layout: phantom-transfer.")] = None,
    run: Annotated[Optional[str], typer.Option(help="Run label of every row (default: the file's 'run' column, else its folder/name).")] = None,
    pool_repeats: Annotated[bool, typer.Option("--pool-repeats", help="Add up rows of one cell given again (the same model evaluated again) instead of refusing them.")] = False,
    lock_timeout: Annotated[float, typer.Option(min=1, max=86400, help=_LOCK_HELP)] = 600.0,
) -> None:
    from rich.markup import escape

    from subliminal_stats.data.tables import ingest_rates as run_ingest

    summary = run_ingest(files, output, map=map_, set=set_, n=n, name=name, preset=preset,
                         run=run, pool_repeats=pool_repeats, lock_timeout=lock_timeout)
    console.print(
        escape(f"{summary.cells} cells ({summary.answers} answers) from {len(summary.sources)} "
               f"file(s) → {summary.path} ({summary.total} cells in all; rate of the new "
               f"answers {summary.rate:.3f})"), soft_wrap=True, highlight=False)
    for line in summary.notes:
        err_console.print(f"note: {line}", soft_wrap=True, highlight=False, markup=False)


@ingest_app.command(
    "inspect",
    help=(
        "Convert inspect_ai evaluation logs (.eval/.json, or folders of them) through "
        "inspect_ai's own reader (extra 'inspect'): samples → questions, epochs → samples, "
        "the scorer's C/I (or 0/1) → hit; condition/seed/trait from flags, --name, or the "
        "log (--map seed=metadata.seed,condition=model).\n\n"
        "Example: subliminal-stats ingest inspect logs/ --map condition=metadata.condition,"
        "seed=metadata.seed --trait owl -o responses.parquet"
    ),
)
def ingest_inspect(
    logs: Annotated[list[Path], typer.Argument(help="inspect_ai logs or folders of logs.")],
    output: Annotated[Path, typer.Option("-o", "--out", "--output", help=_OUT_HELP)],
    condition: Annotated[Optional[str], typer.Option(help="Condition label of every log.")] = None,
    seed: Annotated[Optional[str], typer.Option(help="Seed label (one log).")] = None,
    trait: Annotated[Optional[str], typer.Option(help="Trait label, e.g. owl.")] = None,
    scorer: Annotated[Optional[str], typer.Option(help="Scorer whose value is the hit (needed when a log has several).")] = None,
    threshold: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="For scores that are not 0/1: hit = score ≥ THRESHOLD (the score is kept in a column).")] = None,
    map_: Annotated[Optional[list[str]], typer.Option("--map", help="LABEL=LOG_FIELD pairs: model, task, run_id, eval_id, metadata.KEY, task_args.KEY, model_args.KEY, sample.metadata.KEY.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help=_NAME_HELP)] = None,
    run: Annotated[Optional[str], typer.Option(help="Run label of every row (default: the log file's name).")] = None,
    experiment: Annotated[str, typer.Option(help="Experiment name stored in every row.")] = "",
    lock_timeout: Annotated[float, typer.Option(min=1, max=86400, help=_LOCK_HELP)] = 600.0,
) -> None:
    from subliminal_stats.data.inspect_logs import ingest_inspect as run_ingest

    summary = run_ingest(logs, output, condition=condition, seed=seed, trait=trait,
                         scorer=scorer, threshold=threshold, map=map_, name=name, run=run,
                         experiment=experiment, lock_timeout=lock_timeout)
    _done(summary, "log(s)")


def _print_frame(frame, title: str, json_out, csv_out) -> None:
    from rich.table import Table
    from rich.text import Text

    from subliminal_stats.data.outputs import atomic_write, check_output_path, is_stdout

    if json_out is not None:
        import json

        from subliminal_stats.data.jsonl import json_safe

        if not is_stdout(json_out):
            check_output_path(json_out)
        rows = json_safe(frame.astype(object).where(frame.notna(), None).to_dict("records"))
        atomic_write(json_out, json.dumps(rows, indent=2, default=str) + "\n")
        if is_stdout(json_out):
            return
    if csv_out is not None:
        if not is_stdout(csv_out):
            check_output_path(csv_out)
        atomic_write(csv_out, frame.to_csv(index=False))
        if is_stdout(csv_out):
            return
    table = Table(title=Text(title), title_justify="left")
    for col in frame.columns:
        table.add_column(Text(str(col)))
    def cell(v) -> Text:
        if v is None or (isinstance(v, float) and v != v):
            return Text("")
        text = f"{v:.6g}" if isinstance(v, float) else str(v)
        # Long fields (seed lists, recorded tests) are cut on screen; --json/--csv keep them.
        return Text(text if len(text) <= 60 else text[:59] + "…")

    for row in frame.itertuples(index=False):
        table.add_row(*(cell(v) for v in row))
    console.print(table)


@app.command(
    "runs",
    help=(
        "List run folders (a manifest.json and/or responses table) found in FOLDERS, three "
        "levels down, with their manifests side by side.\n\nExample: subliminal-stats runs "
        "runs/ --field kind,seeds,tests"
    ),
)
def runs_cmd(
    folders: Annotated[Optional[list[Path]], typer.Argument(help="Run folders or folders holding them (default: .).")] = None,
    field: Annotated[Optional[list[str]], typer.Option(help="Only these manifest fields (comma-separated or repeated).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the table as JSON here ('-' = stdout).")] = None,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Write the table as CSV here ('-' = stdout).")] = None,
) -> None:
    from subliminal_stats.data.runs import list_runs

    frame = list_runs(folders or None)
    if field:
        wanted = [f.strip() for item in field for f in item.split(",") if f.strip()]
        unknown = [f for f in wanted if f not in frame.columns]
        if unknown:
            raise InputError(f"unknown field {', '.join(map(repr, unknown))}: the runs have "
                             f"{', '.join(frame.columns)}")
        frame = frame[["run_folder", *[f for f in wanted if f != "run_folder"]]]
    else:
        keep = [c for c in ("run_folder", "kind", "answers", "seeds", "started_at",
                            "wall_seconds", "tests") if c in frame.columns]
        frame = frame[keep] if json_out is None and csv_out is None else frame
    _print_frame(frame, f"{len(frame)} run(s)", json_out, csv_out)


@app.command(
    "query",
    help=(
        "SQL over run folders with embedded DuckDB (no server): view 'responses' holds every "
        "run's answers (plus a run_folder column), view 'runs' the manifests.\n\n"
        "Example: subliminal-stats query \"SELECT run_folder, condition, avg(hit) FROM "
        "responses GROUP BY ALL ORDER BY ALL\" runs/"
    ),
)
def query_cmd(
    sql: Annotated[str, typer.Argument(help="One SQL statement (DuckDB dialect).")],
    folders: Annotated[Optional[list[Path]], typer.Argument(help="Run folders or folders holding them (default: .).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the result as JSON here ('-' = stdout).")] = None,
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Write the result as CSV here ('-' = stdout).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="Print at most this many rows (1 to 1,000,000).")] = 200,
) -> None:
    from subliminal_stats.data.runs import query

    frame = query(sql, folders or None)
    shown = frame if (json_out is not None or csv_out is not None) else frame.head(limit)
    title = f"{len(frame)} row(s)" + (f", first {limit} shown" if len(frame) > limit else "")
    _print_frame(shown, title, json_out, csv_out)
