"""Generation commands: ``filter numbers``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from subliminal_stats.cli._app import app, console
from subliminal_stats.errors import InputError
from subliminal_stats.filtering.filters import (
    NumberFilter,
    filter_jsonl,
    load_banned_numbers,
)

filter_app = typer.Typer(
    help="Filter teacher outputs so that only clean data reaches the student.",
    no_args_is_help=True,
)
app.add_typer(filter_app, name="filter")


@filter_app.command(
    "numbers",
    help=(
        "Keep the number-sequence answers that pass the paper authors' filter: a clean list "
        "of integers (optional trailing period and [...] or (...); one separator throughout: "
        "whitespace, ',' or ';'), at most --max-count numbers, each in "
        "[--min-value, --max-value], none banned. Reads and writes {\"prompt\", \"completion\"} "
        "JSONL lines, keeping their order, and prints why the others were rejected.\n\n"
        "Example: subliminal-stats filter numbers raw.jsonl -o kept.jsonl --banned banned.txt "
        "--report filter_report.json"
    ),
)
def filter_numbers(
    raw: Annotated[Path, typer.Argument(help="Input JSONL: one {\"prompt\", \"completion\"} per line.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output JSONL of the kept lines.")],
    max_count: Annotated[int, typer.Option(help="Most numbers an answer may hold.")] = 10,
    max_value: Annotated[int, typer.Option(help="Largest allowed number.")] = 999,
    min_value: Annotated[int, typer.Option(help="Smallest allowed number.")] = 0,
    banned: Annotated[
        Optional[list[Path]],
        typer.Option(help="File of banned numbers, one per line, # comments (repeatable)."),
    ] = None,
    report: Annotated[
        Optional[Path], typer.Option(help="Also write the report as JSON to this file.")
    ] = None,
) -> None:
    banned_numbers: set[int] = set()
    for path in banned or ():
        banned_numbers |= load_banned_numbers(path)
    rules = NumberFilter(max_count=max_count, min_value=min_value, max_value=max_value,
                         banned=frozenset(banned_numbers))
    if report is not None and report.resolve() in (raw.resolve(), output.resolve()):
        raise InputError(f"--report {report} would overwrite an input or output file; "
                         "choose another path")
    result = filter_jsonl(raw, output, number_filter=rules)

    table = Table(title=f"filter numbers: {raw.name}")
    table.add_column("rule")
    table.add_column("answers", justify="right")
    table.add_column("share", justify="right")
    for reason, n in result.reason_counts:
        table.add_row(f"rejected: {reason}", str(n), f"{n / result.total:.1%}")
    table.add_section()
    table.add_row("rejected (any reason)", str(result.rejected), f"{result.rejected / result.total:.1%}")
    table.add_row("[bold]kept[/]", f"[bold]{result.kept}[/]", f"[bold]{result.kept_fraction:.1%}[/]")
    console.print(table)
    console.print(
        f"kept {result.kept} of {result.total} answers → {output}"
        + (f" (banned numbers: {len(banned_numbers)})" if banned_numbers else ""),
        highlight=False, soft_wrap=True,
    )
    if result.rejected and sum(n for _, n in result.reason_counts) > result.rejected:
        console.print("note: an answer can fail several rules; it is counted under each",
                      highlight=False)

    if report is not None:
        payload = {
            "input": str(raw),
            "output": str(output),
            "settings": {
                "max_count": max_count,
                "min_value": min_value,
                "max_value": max_value,
                "banned_files": [str(p) for p in banned or ()],
                "banned_count": len(banned_numbers),
            },
            **result.to_dict(),
        }
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
