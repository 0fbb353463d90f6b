"""Generation commands: ``filter numbers``.

Only typer, rich and the standard library load at import time (``--help`` stays fast);
the filters load inside the command.
"""


from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from subliminal_stats.cli._app import app, console, err_console

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
        "JSONL lines, keeping their order, and prints why the others were rejected. The "
        "output is never the input.\n\n"
        "Example: subliminal-stats filter numbers raw.jsonl -o kept.jsonl --banned banned.txt "
        "--json filter_report.json"
    ),
)
def filter_numbers(
    data: Annotated[Path, typer.Argument(
        metavar="DATA", help="Input JSONL: one {\"prompt\", \"completion\"} per line.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output JSONL of the kept lines.")],
    max_count: Annotated[int, typer.Option(
        min=1, max=1_000_000, help="Most numbers an answer may hold (1 to 1,000,000).")] = 10,
    max_value: Annotated[int, typer.Option(help="Largest allowed number.")] = 999,
    min_value: Annotated[int, typer.Option(help="Smallest allowed number.")] = 0,
    banned: Annotated[
        Optional[list[Path]],
        typer.Option(help="File of banned numbers, one per line, # comments (repeatable)."),
    ] = None,
    json_out: Annotated[
        Optional[Path], typer.Option(
            "--json", "--report", help="Also write the report as JSON here ('-': stdout).")
    ] = None,
) -> None:
    import json

    from subliminal_stats.data.jsonl import json_safe
    from subliminal_stats.data.outputs import atomic_write, check_output_path, is_stdout
    from subliminal_stats.errors import InputError
    from subliminal_stats.filtering.files import filter_jsonl
    from subliminal_stats.filtering.numbers import NumberFilter, load_banned_numbers

    inputs = [data, *(banned or ())]
    if json_out is not None and not is_stdout(json_out):
        if json_out.resolve() == out.resolve():
            raise InputError(f"--json {json_out} is also the output -o; choose another path")
        check_output_path(json_out, inputs=inputs, what="--json report")
    banned_numbers: set[int] = set()
    for path in banned or ():
        banned_numbers |= load_banned_numbers(path)
    rules = NumberFilter(max_count=max_count, min_value=min_value, max_value=max_value,
                         banned=frozenset(banned_numbers))
    result = filter_jsonl(data, out, number_filter=rules)

    # With the JSON report on stdout, the human summary goes to stderr.
    screen = err_console if is_stdout(json_out) else console
    table = Table(title=f"filter numbers: {data.name}")
    table.add_column("rule")
    table.add_column("answers", justify="right")
    table.add_column("share", justify="right")
    for reason, n in result.reason_counts:
        table.add_row(f"rejected: {reason}", str(n), f"{n / result.total:.1%}")
    table.add_section()
    table.add_row("rejected (any reason)", str(result.rejected),
                  f"{result.rejected / result.total:.1%}")
    table.add_row("[bold]kept[/]", f"[bold]{result.kept}[/]",
                  f"[bold]{result.kept_fraction:.1%}[/]")
    screen.print(table)
    screen.print(
        f"kept {result.kept} of {result.total} answers → {out}"
        + (f" (banned numbers: {len(banned_numbers)})" if banned_numbers else ""),
        highlight=False, soft_wrap=True,
    )
    if result.rejected and sum(n for _, n in result.reason_counts) > result.rejected:
        screen.print("note: an answer can fail several rules; it is counted under each",
                     highlight=False)

    if json_out is not None:
        payload = {
            "input": str(data),
            "output": str(out),
            "settings": {
                "max_count": max_count,
                "min_value": min_value,
                "max_value": max_value,
                "banned_files": [str(p) for p in banned or ()],
                "banned_count": len(banned_numbers),
            },
            **result.to_dict(),
        }
        atomic_write(json_out, json.dumps(json_safe(payload), indent=2, allow_nan=False) + "\n")
