"""The one typer application; command modules register on it.

Each room of the package has its own command module (``data_cmds``,
``stats_cmds``, ``generation_cmds``, ``run_cmds``, ``report_cmds``) so that
work on one does not touch the others.
"""


import sys

import typer
from rich.console import Console

app = typer.Typer(
    name="subliminal-stats",
    help=(
        "Run subliminal-learning experiments and tell whether a trait transfer is real.\n\n"
        "The seed (one trained student) is the unit of replication: every test here works "
        "on per-seed rates, calibrated by simulation.\n\n"
        "Examples:\n\n"
        "  subliminal-stats check data/examples/owl_example.csv\n\n"
        "  subliminal-stats test data/examples/owl_example.csv --trait owl\n\n"
        "  subliminal-stats ingest authors eval_seed1.jsonl --condition treated --seed 1 "
        "--trait owl -o responses.parquet"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)



def _print_version(value: bool) -> None:
    if value:
        from subliminal_stats.version import __version__

        typer.echo(f"subliminal-stats {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True,
        help="Print the package version and exit.",
    ),
) -> None:
    """Run subliminal-learning experiments and tell whether a trait transfer is real."""


#: Normal output (tables, results).
console = Console()
#: Errors and progress go to stderr so that stdout stays machine-readable.
err_console = Console(stderr=True)


#: Above this many rows a table prints as plain aligned text: rich measures every cell of
#: every column to lay a table out (2.5 s for the 660 rows of a 220-trait `test`).
RICH_TABLE_MAX_ROWS = 60


def emit_table(out: Console, title: str, columns: list[str], rows: list[list[str]], *,
               right: tuple[str, ...] = ()) -> None:
    """Print ``rows`` under ``columns``: a rich table when short, aligned plain text when long."""
    if len(rows) <= RICH_TABLE_MAX_ROWS:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for col in columns:
            table.add_column(col, justify="right" if col in right else "left")
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    widths = [max(len(col), *(len(row[i]) for row in rows)) for i, col in enumerate(columns)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if col in right else c.ljust(w)
                         for c, w, col in zip(cells, widths, columns, strict=True)).rstrip()

    text = "\n".join([title, line(columns), line(["-" * w for w in widths]),
                      *(line(row) for row in rows)])
    out.print(text, soft_wrap=True, highlight=False, markup=False)


def fail(message: str) -> None:
    """Print a one-line error and exit with code 2 (for checks done in the CLI itself)."""
    from subliminal_stats.errors import InputError

    raise InputError(message)


def print_error(message: str) -> None:
    # soft_wrap keeps the message on one line whatever the terminal width.
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    sys.stderr.flush()
