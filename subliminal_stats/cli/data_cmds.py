"""Data commands: ``ingest authors|table|inspect``, ``check``, ``runs`` and ``query``.

Only typer, rich and the standard library at module level: the heavy readers load inside
each command, so ``subliminal-stats --help`` starts fast.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from subliminal_stats.cli._app import app, console, err_console
from subliminal_stats.errors import InputError

ingest_app = typer.Typer(
    help="Convert other evaluation formats into the responses table (appends, locked).",
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
        raise InputError("give one of --seed or --seed-from-name, not both")
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
