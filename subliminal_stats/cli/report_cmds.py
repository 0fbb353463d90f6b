"""Report commands: ``report paper|trait``, ``export`` and ``demo``."""


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
    how = "Quarto" if result.renderer == "quarto" else f"the fallback renderer ({result.reason})"
    err_console.print(f"rendered with {how} in {result.seconds:.1f} s", soft_wrap=True, highlight=False)
    if figures:
        svgs = [p for p in result.figures if p.suffix == ".svg"]
        err_console.print(f"{len(svgs)} figure(s) as SVG, PNG (2×) and PDF in {Path(out) / 'figures'}",
                          soft_wrap=True, highlight=False)
    console.print(str(result.path), soft_wrap=True, highlight=False)
    return result.path


_OUT_HELP = "Output folder (created if missing)."


@app.command(
    "report",
    help=(
        "Render a report: 'paper' (the paper's figures, our recomputation, our bundled runs, "
        "calibration, power) or 'trait' (a single-trait check of your responses table DATA). "
        "Uses Quarto when it is on PATH with the report extra installed "
        "(pip install 'subliminal-stats\\[report]'), otherwise a built-in renderer; either way one "
        "self-contained HTML file (or a PDF with --format pdf). Prints the output path.\n\n"
        "The trait report adds a specificity section when the table has answer text (the "
        "same answers rescored against --panel), a defences section with --defences, and a "
        "dose section with --doses (or a numeric dose column).\n\n"
        "Examples:\n\n"
        "  subliminal-stats report trait responses.parquet --param trait=owl --out out\n\n"
        "  subliminal-stats report trait counts.csv -P trait=nyc -P treated=undefended "
        "-P control=base --defences filter-k16,oracle --reference base --margin 5 --out out\n\n"
        "  subliminal-stats report trait mix.csv -P trait=uk -P treated=mix100 -P control=mix0 "
        "--doses mix0=0,mix10=10,mix100=100 --dose-unit '% poisoned' --out out\n\n"
        "  subliminal-stats report paper --out out"
    ),
)
def report(
    which: Annotated[str, typer.Argument(help="paper or trait.", metavar="paper|trait")],
    data: Annotated[
        Optional[Path],
        typer.Argument(help="trait: the responses table; paper: a folder of runs (default: the bundled data).",
                       show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("-o", "--out", help=_OUT_HELP)] = Path("out"),
    param: Annotated[
        Optional[list[str]], typer.Option("--param", "-P", help="Report parameter NAME=VALUE (repeatable).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    renderer: Annotated[str, typer.Option(help="auto, quarto or fallback.")] = "auto",
    figures: Annotated[
        bool, typer.Option("--figures", help="Also write every figure to OUT/figures/ as SVG, PNG (2×) and PDF.")
    ] = False,
    rng: Annotated[
        Optional[int], typer.Option("--rng", min=0, help="trait: seed of the resampling methods (default 0).")
    ] = None,
    panel: Annotated[Optional[str], typer.Option(help="trait: specificity panel — a comma list (cat,dog,lion), a file of one target per line, animals or trees (default: the bundled panel holding the trait); none: no section.")] = None,
    defences: Annotated[Optional[str], typer.Option(help="trait: the defended arms, comma-separated (a defences section: efficacy with its interval and a TOST per defence).")] = None,
    undefended: Annotated[Optional[str], typer.Option(help="trait: the arm without a defence (default: the treated arm).")] = None,
    reference: Annotated[Optional[str], typer.Option(help="trait: what a defence should bring the rate back to — the control arm (default) or the base model's label.")] = None,
    margin: Annotated[Optional[float], typer.Option(min=0.001, max=100.0, help="trait: equivalence margin δ in percentage points for the TOST (0.001 to 100; default 2): 'blocked' = within ±δ of the reference; printed in the report.")] = None,
    doses: Annotated[Optional[str], typer.Option(help="trait: the numeric dose of each arm, ARM=DOSE pairs (mix0=0,mix10=10,...): a dose section (trend test + figure).")] = None,
    dose_unit: Annotated[Optional[str], typer.Option(help="trait: the unit of the dose, for the slope (e.g. '% poisoned').")] = None,
    data_option: Annotated[Optional[Path], typer.Option("--data", hidden=True)] = None,
) -> None:
    if which not in _REPORTS:
        raise InputError(f"unknown report {which!r}: use paper or trait")
    params = parse_params(param)
    trait_flags = {"panel": panel, "defences": defences, "undefended": undefended,
                   "reference": reference, "margin": margin, "doses": doses,
                   "dose_unit": dose_unit}
    given = {k: v for k, v in trait_flags.items() if v is not None}
    if given and which != "trait":
        raise InputError(f"--{next(iter(given)).replace('_', '-')} applies to the trait report")
    if panel is not None and Path(panel).is_file():
        given["panel"] = str(Path(panel).resolve())  # the cells run in a temporary folder
    for key, value in given.items():
        if key in params and params[key] != value:
            raise InputError(f"--{key.replace('_', '-')} and --param {key}=... disagree; give one")
        params[key] = value
    data = data if data is not None else data_option
    if data is not None:
        if not data.exists():
            raise InputError(f"{data}: no such file or folder")
        # The cells run in a temporary folder: hand them an absolute path.
        params["data"] = str(data.resolve())
    if rng is not None:
        if which != "trait":
            raise InputError("--rng applies to the trait report (the paper report fixes its own seeds)")
        params["rng"] = rng
    _render(which, out, params, fmt, renderer, figures)


@app.command(
    "demo",
    help=(
        "Render the paper report from the bundled data into OUT (no network) and print the "
        "path of the HTML file.\n\nExample: subliminal-stats demo --out out"
    ),
)
def demo(
    out: Annotated[Path, typer.Option("-o", "--out", help=_OUT_HELP)] = Path("out"),
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
        "Export a summary, the tests or a calibration table as CSV (tidy numbers and the verdict), "
        "LaTeX (booktabs), Markdown or HTML, with the same verdicts, multiplicity family and "
        "not-calibrated mark (†) as the reports. For --what calibration, DATA is a calibration "
        "table, or a responses table whose design (seeds per arm) picks rows of the stored "
        "calibration.\n\n"
        "Example: subliminal-stats export responses.parquet --what tests -o tests.tex"
    ),
)
def export(
    data: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Responses table(s); a calibration table for --what calibration.", show_default=False),
    ] = None,
    what: Annotated[str, typer.Option(help="summary, tests or calibration.")] = "tests",
    out: Annotated[Optional[Path], typer.Option("-o", "--out", "--output", help="Output file; - for stdout.")] = None,
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
        Optional[str], typer.Option(help="Test method, a comma list or all (default: the calibrated default of 'test').")
    ] = None,
    adjust: Annotated[str, typer.Option(help="Multiplicity adjustment across traits: holm, bh or none.")] = "holm",
    confidence_level: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level of the intervals (0.5–0.999).")] = 0.95,
    resamples: Annotated[int, typer.Option(min=100, max=100_000, help="Bootstrap resamples (100–100,000).")] = 10_000,
    rng: Annotated[int, typer.Option("--rng", min=0, help="Seed of the bootstrap / Monte Carlo permutations: the same seed gives the same file.")] = 0,
    digits: Annotated[
        Optional[int], typer.Option(min=0, max=6, help="Decimals for % and percentage points (default: as many as the intervals need).")
    ] = None,
    data_option: Annotated[Optional[list[Path]], typer.Option("--data", hidden=True)] = None,
) -> None:
    import warnings

    from subliminal_stats.data.outputs import check_output_path, is_stdout
    from subliminal_stats.report.tables import export_table, export_text

    data = list(data or []) + list(data_option or [])
    if not data:
        raise InputError("give the responses table(s) to export, e.g. subliminal-stats export responses.csv -o tests.md")
    if out is None:
        raise InputError("give the output file with -o/--out (its suffix picks the format; - for stdout)")
    if what not in _WHATS:
        raise InputError(f"--what {what!r}: use one of {', '.join(_WHATS)}")
    if fmt is None:
        fmt = "md" if is_stdout(out) else _SUFFIX.get(out.suffix.lower())
        if fmt is None:
            raise InputError(f"give --format ({', '.join(_FORMATS)}): the suffix of {out} does not tell")
    if fmt not in _FORMATS:
        raise InputError(f"--format {fmt!r}: use one of {', '.join(_FORMATS)}")
    for path in data:
        if not path.exists():
            raise InputError(f"{path}: no such file")
    if not is_stdout(out):
        check_output_path(out, inputs=data, what=f"{what} export")
    # Library warnings become one note line, not raw UserWarning dumps with source lines.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
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

                if base is None and "base" in set(df["condition"]) and "base" not in (treated, control):
                    base = "base"  # as `subliminal-stats test` does
                frame = results_frame(compare(df, traits=trait, treated=treated, control=control, base=base,
                                              method=method or DEFAULT_METHOD, adjust=adjust,
                                              confidence_level=confidence_level, n_resamples=resamples,
                                              rng=rng))
    if is_stdout(out):
        import sys

        sys.stdout.write(export_text(frame, what, fmt, digits=digits))
        sys.stdout.flush()
    else:
        path = export_table(frame, what, fmt, out, digits=digits, inputs=data)
        console.print(f"{what} ({len(frame)} rows) → {path}", soft_wrap=True, highlight=False)
    messages = list(dict.fromkeys(str(w.message).strip() for w in caught))
    if messages:
        err_console.print(f"note: {len(messages)} warning(s) while computing: " + "; ".join(messages),
                          soft_wrap=True, highlight=False, markup=False)
