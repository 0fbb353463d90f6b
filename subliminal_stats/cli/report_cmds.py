"""Report commands: ``report paper|trait``, ``export`` and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml

from subliminal_stats.cli._app import app, console, err_console
from subliminal_stats.errors import InputError

_REPORTS = ("paper", "trait")


def parse_params(pairs: list[str] | None) -> dict:
    """``["trait=owl", "confidence_level=0.9"]`` → ``{"trait": "owl", "confidence_level": 0.9}``.

    Values are read as YAML scalars (numbers, booleans, lists), as Quarto's ``-P`` does.
    """
    params: dict = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            key, sep, value = pair.partition(":")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise InputError(f"--param {pair!r}: write it as NAME=VALUE, e.g. --param trait=owl")
        try:
            params[key] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            params[key] = value
        if params[key] is None:
            params[key] = ""
    return params


def _render(which: str, out: Path, params: dict, fmt: str, renderer: str, figures: bool = False) -> Path:
    from subliminal_stats.report.render import render_report

    with err_console.status(f"rendering the {which} report…"):
        result = render_report(which, out, params=params, fmt=fmt, renderer=renderer, figures=figures)
    if result.renderer == "quarto":
        how = "Quarto"
    elif renderer == "fallback":
        how = "the fallback renderer (--renderer fallback)"
    else:
        how = "the fallback renderer (Quarto not found on PATH)"
    err_console.print(f"rendered with {how} in {result.seconds:.1f} s")
    if figures:
        if result.renderer == "quarto":
            err_console.print("note: --figures is done by the fallback renderer; Quarto embeds the figures")
        else:
            saved = sorted((Path(out) / "figures").glob("*.svg"))
            err_console.print(f"{len(saved)} figure(s) as SVG, PNG (2×) and PDF in {Path(out) / 'figures'}")
    console.print(str(result.path), soft_wrap=True, highlight=False)
    return result.path


@app.command(
    "report",
    help=(
        "Render a report: 'paper' (the paper's figures, our recomputation, our bundled runs, "
        "calibration, power) or 'trait' (a single-trait check of your responses table). Uses "
        "Quarto when it is on PATH, otherwise a built-in renderer that writes one "
        "self-contained HTML file; prints the output path.\n\n"
        "Examples:\n\n"
        "  subliminal-stats report trait --data responses.parquet --param trait=owl --out out\n\n"
        "  subliminal-stats report paper --out out"
    ),
)
def report(
    which: Annotated[str, typer.Argument(help="paper or trait.", metavar="paper|trait")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    data: Annotated[
        Optional[Path],
        typer.Option(help="trait: the responses table; paper: a folder of runs (default: the bundled runs)."),
    ] = None,
    param: Annotated[
        Optional[list[str]], typer.Option("--param", "-P", help="Report parameter NAME=VALUE (repeatable).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    renderer: Annotated[str, typer.Option(help="auto, quarto or fallback.")] = "auto",
    figures: Annotated[
        bool, typer.Option("--figures", help="Also write every figure to OUT/figures/ as SVG, PNG (2×) and PDF.")
    ] = False,
) -> None:
    if which not in _REPORTS:
        raise InputError(f"unknown report {which!r}: use paper or trait")
    params = parse_params(param)
    if data is not None:
        if not data.exists():
            raise InputError(f"--data {data}: no such file or folder")
        # Cells run in reports/, so hand them an absolute path.
        params["data"] = str(data.resolve())
    _render(which, out, params, fmt, renderer, figures)


@app.command(
    "demo",
    help=(
        "Render the paper report from the bundled data into OUT (no network) and print the "
        "path of the HTML file.\n\nExample: subliminal-stats demo --out out"
    ),
)
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out"),
    renderer: Annotated[str, typer.Option(help="auto, quarto or fallback.")] = "auto",
) -> None:
    _render("paper", out, {}, "html", renderer)


_WHATS = ("summary", "tests", "calibration")
_FORMATS = ("csv", "latex", "md", "html")
_SUFFIX = {".csv": "csv", ".tex": "latex", ".md": "md", ".html": "html", ".htm": "html"}


def _calibration_frame(data: list[Path]):
    """A calibration table file as it is, or the stored calibration for a responses table's design."""
    import pandas as pd

    from subliminal_stats.report.sections import calibration_for_design, is_calibration_table

    if len(data) == 1 and data[0].suffix in (".csv", ".parquet", ".pq", ".json"):
        path = data[0]
        if path.suffix == ".json":  # `subliminal-stats calibrate --json` output
            try:
                frame = pd.read_json(path)
            except ValueError:
                raise InputError(f"{path}: not a JSON list of calibration rows "
                                 "(as written by subliminal-stats calibrate --json)") from None
            if not is_calibration_table(frame):
                raise InputError(f"{path}: rows need 'method' and 'rejection_rate' (or 'fpr') fields")
            return frame
        frame = pd.read_parquet(path) if path.suffix != ".csv" else pd.read_csv(path)
        if is_calibration_table(frame):
            return frame
    from subliminal_stats.data.schema import read_responses

    return calibration_for_design(read_responses(data))


@app.command(
    "export",
    help=(
        "Export a summary, the tests or a calibration table as CSV (tidy numbers), LaTeX "
        "(booktabs), Markdown or HTML. For --what calibration, DATA is a calibration table, or a "
        "responses table whose design (seeds per arm) picks rows of the stored calibration.\n\n"
        "Example: subliminal-stats export --data responses.parquet --what tests --format latex "
        "-o tests.tex"
    ),
)
def export(
    data: Annotated[
        list[Path], typer.Option("--data", help="Responses table(s) (repeatable); a calibration table for --what calibration.")
    ],
    what: Annotated[str, typer.Option(help="summary, tests or calibration.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file.")],
    fmt: Annotated[
        Optional[str], typer.Option("--format", help="csv, latex, md or html (default: from the suffix).")
    ] = None,
    trait: Annotated[Optional[list[str]], typer.Option(help="Only these traits (repeatable).")] = None,
    treated: Annotated[str, typer.Option(help="Treated condition label.")] = "treated",
    control: Annotated[str, typer.Option(help="Control condition label.")] = "control",
    base: Annotated[
        Optional[str], typer.Option(help="Base-model condition label to compare as well (default: 'base' if present).")
    ] = None,
    method: Annotated[
        Optional[str], typer.Option(help="Test method (default: the calibrated default of 'test').")
    ] = None,
    confidence_level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    digits: Annotated[int, typer.Option(help="Decimals for % and percentage points.")] = 1,
) -> None:
    from subliminal_stats.report.tables import export_table

    if what not in _WHATS:
        raise InputError(f"--what {what!r}: use one of {', '.join(_WHATS)}")
    if fmt is None:
        fmt = _SUFFIX.get(output.suffix.lower())
        if fmt is None:
            raise InputError(f"give --format ({', '.join(_FORMATS)}): the suffix of {output} does not tell")
    if fmt not in _FORMATS:
        raise InputError(f"--format {fmt!r}: use one of {', '.join(_FORMATS)}")
    for path in data:
        if not path.exists():
            raise InputError(f"--data {path}: no such file")
    if what == "calibration":
        frame = _calibration_frame(data)
    else:
        from subliminal_stats.data.schema import read_responses, select

        df = select(read_responses(data), traits=trait)
        if what == "summary":
            from subliminal_stats.stats import summarize

            frame = summarize(df, confidence_level=confidence_level)
            frame.attrs["confidence_level"] = confidence_level
        else:
            from subliminal_stats.stats import DEFAULT_METHOD, compare, results_frame

            if base is None and "base" in set(df["condition"]):
                base = "base"  # as `subliminal-stats test` does
            frame = results_frame(compare(df, traits=trait, treated=treated, control=control, base=base,
                                          method=method or DEFAULT_METHOD,
                                          confidence_level=confidence_level))
    path = export_table(frame, what, fmt, output, digits=digits)
    console.print(f"{what} ({len(frame)} rows) → {path}", soft_wrap=True, highlight=False)
