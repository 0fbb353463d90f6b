"""Data commands: ``ingest authors`` and ``check``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from subliminal_stats.cli._app import app, console, err_console
from subliminal_stats.data.ingest import append_responses, read_authors_jsonl, seed_from_name
from subliminal_stats.data.schema import read_responses, select, write_responses
from subliminal_stats.errors import InputError

ingest_app = typer.Typer(
    help="Convert other evaluation formats into the responses table.",
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")


@ingest_app.command(
    "authors",
    help=(
        "Convert the paper authors' evaluation JSONL (one file per model) into the responses "
        "table, scoring each answer for the target word. Appends to OUT when it exists and "
        "refuses duplicate answers.\n\n"
        "Example: subliminal-stats ingest authors eval_seed*.jsonl --condition treated "
        "--seed-from-name 'seed(\\d+)' --trait owl -o responses.parquet"
    ),
)
def ingest_authors(
    files: Annotated[list[Path], typer.Argument(help="Authors' evaluation JSONL files.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output table (.parquet, .csv or .jsonl).")],
    condition: Annotated[str, typer.Option(help="Condition label, e.g. base, control, treated.")],
    trait: Annotated[str, typer.Option(help="Trait label, e.g. owl.")],
    seed: Annotated[str | None, typer.Option(help="Seed label (one trained model).")] = None,
    seed_from_name_pattern: Annotated[
        str | None,
        typer.Option("--seed-from-name", help="Regex whose first group, found in each file name, is the seed."),
    ] = None,
    target: Annotated[str | None, typer.Option(help="Word that counts as a hit (default: the trait).")] = None,
    synonym: Annotated[list[str] | None, typer.Option(help="Another word that counts (repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="A phrase that never counts (repeatable).")] = None,
    first_word: Annotated[bool, typer.Option(help="Score only the first word of each answer.")] = False,
    experiment: Annotated[str, typer.Option(help="Experiment name stored in every row.")] = "",
) -> None:
    if (seed is None) == (seed_from_name_pattern is None):
        raise InputError("give exactly one of --seed or --seed-from-name")
    if seed is not None and len(files) > 1:
        raise InputError(
            f"--seed {seed!r} would label all {len(files)} files as one model; "
            "use --seed-from-name to take each file's seed from its name"
        )
    frames = []
    for path in files:
        file_seed = seed if seed is not None else seed_from_name(path, seed_from_name_pattern)
        frames.append(
            read_authors_jsonl(
                path,
                condition=condition,
                seed=file_seed,
                trait=trait,
                target=target,
                experiment=experiment,
                synonyms=synonym or (),
                exclusions=exclude or (),
                first_word=first_word,
            )
        )
    new = pd.concat(frames, ignore_index=True)
    existing = read_responses(output) if output.exists() else None
    combined = append_responses(existing, new)
    write_responses(combined, output)
    added = len(new)
    console.print(
        f"{added} answers from {len(files)} file(s) → {output} "
        f"({len(combined)} rows in all; hit rate of the new rows {new['hit'].mean():.3f})"
    )


@app.command(
    "check",
    help=(
        "Validate responses files and print, per trait and condition, the seeds, questions, "
        "answers and the raw hit rate.\n\nExample: subliminal-stats check responses.parquet"
    ),
)
def check(
    data: Annotated[list[Path], typer.Argument(help="Responses files (.parquet, .csv, .jsonl).")],
    trait: Annotated[list[str] | None, typer.Option(help="Only these traits (repeatable).")] = None,
    condition: Annotated[list[str] | None, typer.Option(help="Only these conditions (repeatable).")] = None,
) -> None:
    df = read_responses(data)
    df = select(df, traits=trait, conditions=condition)
    grouped = df.groupby(["trait", "condition"], sort=True)
    counts = grouped.agg(
        seeds=("seed", "nunique"),
        questions=("question", "nunique"),
        answers=("hit", "size"),
        hit_rate=("hit", "mean"),
    ).reset_index()
    table = Table(title=f"{len(df)} answers in {', '.join(map(str, data))}")
    for col in ("trait", "condition", "seeds", "questions", "answers", "hit rate"):
        table.add_column(col, justify="left" if col in ("trait", "condition") else "right")
    for row in counts.itertuples(index=False):
        table.add_row(row.trait, row.condition, str(row.seeds), str(row.questions),
                      str(row.answers), f"{row.hit_rate:.3f}")
    console.print(table)
    single = counts[counts["seeds"] < 2]
    if len(single):
        labels = ", ".join(f"{r.trait}/{r.condition}" for r in single.itertuples())
        err_console.print(
            f"note: {labels} has a single seed; tests treat it as a fixed reference (base model), "
            "not as a replicated arm"
        )
