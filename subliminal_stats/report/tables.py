"""Tables: tidy result frames → display frames → CSV, LaTeX, Markdown, HTML.

Two steps, kept apart on purpose:

1. ``*_display`` functions turn a tidy frame (numbers in columns, as
   ``summarize`` / ``results_frame`` / the calibration functions return them)
   into a display frame of strings: estimates in percentage points with
   "estimate [low, high]" cells, numbers rounded consistently, p-values in one
   format. :func:`table_caption` writes the method and seed counts.
2. ``to_*`` writers lay a display frame out as LaTeX (booktabs, escaped),
   Markdown or HTML. CSV always gets the tidy numbers, unrounded, for machines.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from subliminal_stats.errors import InputError
from subliminal_stats.stats.verdicts import CANNOT_REACH as VERDICT_UNREACHABLE
from subliminal_stats.stats.verdicts import LOWER as VERDICT_LOWER
from subliminal_stats.stats.verdicts import NO_EVIDENCE as VERDICT_NONE
from subliminal_stats.stats.verdicts import TRANSFER as VERDICT_TRANSFER
from subliminal_stats.stats.verdicts import verdict_of

#: Digits after the decimal point for percentages and percentage points.
PP_DIGITS = 1
FORMATS = ("csv", "latex", "md", "html")
WHATS = ("summary", "tests", "calibration")


# --- number formatting -------------------------------------------------------------------


def format_number(value: float, digits: int = PP_DIGITS) -> str:
    """A number with a fixed count of decimals; "–" for missing; a true minus sign."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(float(value)):  # e.g. a permutation test's unbounded interval
        return "∞" if float(value) > 0 else "−∞"
    text = f"{float(value):.{digits}f}"
    if text.startswith("-"):
        # "-0.0" is zero: no sign.
        text = text[1:] if float(text) == 0 else "−" + text[1:]
    return text


def interval_digits(lows: Iterable[float], highs: Iterable[float], *, least: int = PP_DIGITS,
                    most: int = 4) -> int:
    """Decimals that an interval's width needs (two significant digits of the narrowest
    width, at least ``least``): a rate of 0.2 % [0.05, 0.35] is not printed 0.2 [0.1, 0.4]."""
    widths = [abs(float(h) - float(lo)) for lo, h in zip(lows, highs, strict=True)
              if lo == lo and h == h and math.isfinite(float(lo)) and math.isfinite(float(h)) and h != lo]
    if not widths:
        return least
    return int(min(most, max(least, 1 - math.floor(math.log10(min(widths))))))


def format_interval(estimate: float, low: float, high: float, digits: int = PP_DIGITS) -> str:
    """``"estimate [low, high]"`` with one rounding for all three numbers."""
    return (
        f"{format_number(estimate, digits)} "
        f"[{format_number(low, digits)}, {format_number(high, digits)}]"
    )


def format_p(p: float) -> str:
    """p-values: three decimals from 0.001 up, two significant digits below (e.g. ``4.2e-05``)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    p = float(p)
    if p >= 0.001:
        return f"{p:.3f}"
    if p == 0:
        return "0"
    return f"{p:.1e}"


# --- display frames ----------------------------------------------------------------------


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """One-line :class:`InputError` unless ``frame`` is a DataFrame with ``columns``
    (shared by the tables and the figures; ``what`` names the table or chart)."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(missing)} "
            f"(it has {', '.join(map(str, frame.columns))})"
        )


def _level_text(confidence_level: float) -> str:
    return f"{100 * confidence_level:g} %"


def summary_display(summary: pd.DataFrame, *, digits: int | None = None,
                    confidence_level: float = 0.95, quantity: str = "rate") -> pd.DataFrame:
    """Display frame of a summary (one row per trait × condition; proportions → %).

    Expects ``trait, condition, n_seeds, mean, ci_low, ci_high`` and uses
    ``n_questions, n_answers, sd_between_seeds`` when present. ``quantity`` names
    the proportion in the header (e.g. "accuracy"). ``digits`` None: as many decimals as the
    intervals need (:func:`interval_digits`).
    """
    require_columns(summary, ["trait", "condition", "n_seeds", "mean", "ci_low", "ci_high"], "summary table")
    if digits is None:
        digits = interval_digits(100 * summary["ci_low"], 100 * summary["ci_high"])
    level = _level_text(confidence_level)
    out = pd.DataFrame({"trait": summary["trait"].astype(str),
                        "condition": summary["condition"].astype(str),
                        "seeds": summary["n_seeds"].astype(int).astype(str)})
    if "n_questions" in summary.columns:
        out["questions"] = summary["n_questions"].astype(int).astype(str)
    if "n_answers" in summary.columns:
        out["answers"] = summary["n_answers"].astype(int).astype(str)
    out[f"{quantity} % [{level} CI]"] = [
        format_interval(100 * m, 100 * lo, 100 * hi, digits)
        for m, lo, hi in zip(summary["mean"], summary["ci_low"], summary["ci_high"], strict=True)
    ]
    if "sd_between_seeds" in summary.columns:
        out["SD between seeds (pp)"] = [format_number(100 * v, digits) for v in summary["sd_between_seeds"]]
    return out.reset_index(drop=True)


def tests_display(tests: pd.DataFrame, *, digits: int | None = None) -> pd.DataFrame:
    """Display frame of comparison results (``ComparisonResult.to_row()`` rows); ``digits``
    None: as many decimals as the intervals need."""
    require_columns(tests, ["trait", "treated", "control", "estimate_pp", "ci_low_pp", "ci_high_pp",
                    "p_value", "p_adjusted", "method", "n_seeds_treated", "n_seeds_control"], "tests table")
    if digits is None:
        digits = interval_digits(tests["ci_low_pp"], tests["ci_high_pp"])
    level = _level_text(float(tests["confidence_level"].iloc[0])) if "confidence_level" in tests else "95 %"
    out = pd.DataFrame({
        "trait": tests["trait"].astype(str),
        "comparison": [f"{t} − {c}" for t, c in zip(tests["treated"], tests["control"], strict=True)],
        f"difference pp [{level} CI]": [
            format_interval(e, lo, hi, digits)
            for e, lo, hi in zip(tests["estimate_pp"], tests["ci_low_pp"], tests["ci_high_pp"], strict=True)
        ],
        "p": [format_p(p) for p in tests["p_value"]],
        "p adjusted": [format_p(p) for p in tests["p_adjusted"]],
        "method": tests["method"].astype(str),
        "seeds": [f"{int(t)} vs {int(c)}" for t, c in
                  zip(tests["n_seeds_treated"], tests["n_seeds_control"], strict=True)],
    })
    marks = [calibration_mark(row) for _, row in tests.iterrows()]
    out["method"] = [m + k for m, k in zip(out["method"], marks, strict=True)]
    if "significant" in tests.columns:
        out["verdict"] = [verdict_word(row) + k for (_, row), k in zip(tests.iterrows(), marks, strict=True)]
    return out.reset_index(drop=True)


#: Marks a result whose method is not calibrated for its design (a footnote in every format).
UNCALIBRATED_MARK = "†"


def _number(value, default: float = math.nan) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out


def verdict_word(row) -> str:
    """The verdict of one tidy test row, from :mod:`subliminal_stats.stats.verdicts` (the words
    of ``subliminal-stats test``): ``transfer``, ``lower``, ``no evidence``, ``design cannot
    reach α`` or ``n/a``. A row that carries its ``verdict`` keeps it."""
    given = row.get("verdict")
    if isinstance(given, str) and given:
        return given
    p = _number(row.get("p_adjusted", row.get("p_value")))
    min_p = _number(row.get("min_p_adjusted", row.get("min_p")))
    return verdict_of(p=p, estimate=_number(row.get("estimate_pp", row.get("estimate")), 0.0),
                      alpha=_number(row.get("alpha"), 0.05), min_p=min_p)


def calibration_mark(row) -> str:
    """:data:`UNCALIBRATED_MARK` when the row's method is not calibrated for its design, else ""."""
    calibrated = row.get("calibrated", True)
    if calibrated is None or (isinstance(calibrated, float) and math.isnan(calibrated)):
        return ""
    return "" if bool(calibrated) else UNCALIBRATED_MARK


def calibration_note(tests: pd.DataFrame) -> str:
    """The footnote for :data:`UNCALIBRATED_MARK`: which methods, their simulated false-positive rate."""
    if "calibrated" not in tests.columns:
        return ""
    rows = tests[~tests["calibrated"].fillna(True).astype(bool)]
    if rows.empty:
        return ""
    parts = []
    for method, group in rows.groupby("method", sort=False):
        found = []
        fpr = group["simulated_fpr"].dropna() if "simulated_fpr" in group else pd.Series(dtype=float)
        if len(fpr):
            found.append(f"simulated false-positive rate {100 * float(fpr.max()):.1f} % at nominal "
                         f"{100 * float(group['alpha'].iloc[0]) if 'alpha' in group else 5:g} %")
        cov = group["simulated_coverage"].dropna() if "simulated_coverage" in group else pd.Series(dtype=float)
        if len(cov):
            found.append(f"interval coverage {100 * float(cov.min()):.1f} %")
        parts.append(f"{method} ({', '.join(found)})" if found else str(method))
    return (f"{UNCALIBRATED_MARK} Not calibrated for this design: {'; '.join(parts)}. "
            "These p-values and verdicts are descriptive only.")


def row_warnings(tests: pd.DataFrame) -> list[str]:
    """The distinct plain-language caveats of a tests frame (its ``warnings`` lists)."""
    seen: dict[str, None] = {}
    for items in tests.get("warnings", []):
        for item in items if isinstance(items, (list, tuple)) else [items]:
            if item and isinstance(item, str):
                seen[item] = None
    return list(seen)


def calibration_display(calibration: pd.DataFrame, *, digits: int | None = PP_DIGITS) -> pd.DataFrame:
    """Display frame of a calibration table: false-positive rate and coverage in %.

    Expects ``method``, a seeds-per-arm column (``n_seeds`` or ``n_seeds_per_arm``)
    and ``fpr``; uses ``fpr_ci_low``/``fpr_ci_high``, ``coverage`` and ``n_sims`` when present.
    """
    calibration = _normalise_calibration(calibration)
    require_columns(calibration, ["method", "fpr"], "calibration table")
    digits = PP_DIGITS if digits is None else digits
    seeds_col = _seeds_column(calibration, required=False)
    out = pd.DataFrame({"method": calibration["method"].astype(str)})
    if seeds_col is not None:
        out["seeds per arm"] = calibration[seeds_col].astype(int).astype(str)
    if "comparison" in calibration.columns and calibration["comparison"].nunique() > 1:
        out.insert(0, "comparison", calibration["comparison"].astype(str))
    if {"fpr_ci_low", "fpr_ci_high"} <= set(calibration.columns):
        out["false-positive rate % [95 % CI]"] = [
            format_interval(100 * f, 100 * lo, 100 * hi, digits) for f, lo, hi in
            zip(calibration["fpr"], calibration["fpr_ci_low"], calibration["fpr_ci_high"], strict=True)
        ]
    else:
        out["false-positive rate %"] = [format_number(100 * f, digits) for f in calibration["fpr"]]
    if "coverage" in calibration.columns:
        out["CI coverage %"] = [format_number(100 * c, digits) for c in calibration["coverage"]]
    if "calibrated" in calibration.columns:
        out["calibrated"] = ["yes" if bool(c) else "no" for c in calibration["calibrated"]]
    if "n_sims" in calibration.columns:
        out["simulations"] = calibration["n_sims"].astype(int).astype(str)
    if "note" in calibration.columns and calibration["note"].fillna("").astype(str).str.strip().any():
        out["note"] = calibration["note"].fillna("").astype(str)
    return out.reset_index(drop=True)


def calibration_wide_display(calibration: pd.DataFrame, *, digits: int = PP_DIGITS) -> pd.DataFrame:
    """One row per method, one column per seeds-per-arm: "false-positive % (coverage %)" —
    the long calibration table folded for reading (exports keep the long, tidy form)."""
    calibration = _normalise_calibration(calibration)
    seeds_col = _seeds_column(calibration)
    methods = list(dict.fromkeys(calibration["method"].astype(str)))
    sizes = sorted({int(v) for v in calibration[seeds_col]})
    out = pd.DataFrame({"method": methods})
    for size in sizes:
        cells = []
        for method in methods:
            row = calibration[(calibration["method"].astype(str) == method) & (calibration[seeds_col] == size)]
            if row.empty:
                cells.append("–")
                continue
            row = row.iloc[0]
            cov = row.get("coverage", math.nan)
            cell = format_number(100 * float(row["fpr"]), digits)
            if cov is not None and cov == cov:
                cell += f" ({format_number(100 * float(cov), digits)})"
            cells.append(cell)
        out[f"{size} seeds/arm"] = cells
    return out


def _normalise_calibration(calibration: pd.DataFrame) -> pd.DataFrame:
    """Accept ``rejection_rate`` (the simulation's name under the null) for ``fpr``."""
    if "fpr" not in calibration.columns and "rejection_rate" in calibration.columns:
        return calibration.rename(columns={"rejection_rate": "fpr"})
    return calibration


def _seeds_column(calibration: pd.DataFrame, *, required: bool = True) -> str | None:
    for name in ("seeds_per_arm", "n_seeds_per_arm", "n_seeds", "seeds"):
        if name in calibration.columns:
            return name
    if not required:
        return None
    raise InputError(
        "calibration table: missing the seeds-per-arm column (n_seeds or n_seeds_per_arm)"
    )


def _unique_text(values: Iterable, sep: str = ", ") -> str:
    return sep.join(dict.fromkeys(str(v) for v in values))


def table_caption(what: str, frame: pd.DataFrame) -> tuple[str, str]:
    """Caption and note for a tidy frame: what is shown, the method and the seed counts."""
    if what == "summary":
        level = _level_text(float(frame.attrs.get("confidence_level", 0.95)))
        seeds = "; ".join(
            f"{c}: {_unique_text(sorted(set(int(n) for n in g['n_seeds'])), '/')}"
            for c, g in frame.groupby("condition", sort=False)
        )
        caption = f"Trait rate per condition (% of answers), mean of per-seed rates with {level} CI."
        if "interval" in frame.columns:
            kinds: dict[str, list[str]] = {}
            for condition, kind in zip(frame["condition"], frame["interval"], strict=True):
                kinds.setdefault(str(kind), [])
                if str(condition) not in kinds[str(kind)]:
                    kinds[str(kind)].append(str(condition))
            intervals = "; ".join(f"{', '.join(c)}: {k}" for k, c in kinds.items())
        else:
            intervals = "t over per-seed rates"
        note = f"Seeds per condition — {seeds}. Intervals — {intervals}."
        return caption, note
    if what == "tests":
        methods = _unique_text(frame["method"])
        adjust = _unique_text(frame["adjust_method"]) if "adjust_method" in frame.columns else "none"
        seeds = _unique_text(f"{int(t)} vs {int(c)}" for t, c in
                             zip(frame["n_seeds_treated"], frame["n_seeds_control"], strict=True))
        level = _level_text(float(frame["confidence_level"].iloc[0])) if "confidence_level" in frame else "95 %"
        caption = f"Treated minus reference in percentage points with {level} CI, per trait."
        alpha = _unique_text(frame["alpha"]) if "alpha" in frame.columns else "0.05"
        note = (f"Method: {methods}; p adjustment (multiplicity family): {adjust}; verdict at α = {alpha} "
                f"on the adjusted p; seeds (treated vs reference): {seeds}. "
                "The seed is the unit of replication.")
        footnote = calibration_note(frame)
        if footnote:
            note += " " + footnote
        return caption, note
    if what == "calibration":
        frame = _normalise_calibration(frame)
        seeds_col = _seeds_column(frame, required=False)
        sims = f"; {_unique_text(frame['n_sims'], '/')} simulations per cell" if "n_sims" in frame else ""
        seeds = (f"; seeds per arm: {_unique_text(sorted(set(int(s) for s in frame[seeds_col])))}"
                 if seeds_col else "")
        caption = "Calibration under the null: false-positive rate at nominal 5 % and CI coverage."
        note = f"Methods: {_unique_text(frame['method'])}{seeds}{sims}."
        return caption, note
    raise InputError(f"unknown table {what!r}: use one of {', '.join(WHATS)}")


DISPLAY = {"summary": summary_display, "tests": tests_display, "calibration": calibration_display}


# --- writers -----------------------------------------------------------------------------

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # Unicode that pdflatex's default encoding cannot typeset:
    "−": "$-$",
    "–": "--",
    "—": "---",
    "×": r"$\times$",
    "α": r"$\alpha$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "±": r"$\pm$",
    "≈": r"$\approx$",
    "†": r"\textsuperscript{\dag}",  # the not-calibrated footnote mark
}


def latex_escape(text: object) -> str:
    """Escape LaTeX's special characters (``\\ & % $ # _ { } ~ ^``) and a few Unicode signs."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _is_numeric_text(values: Sequence[str]) -> bool:
    def numeric(v: str) -> bool:
        v = v.replace("−", "-").split(" [")[0].replace(" vs ", "")
        try:
            float(v)
            return True
        except ValueError:
            return v in {"–", ""}
    return all(numeric(str(v)) for v in values)


@dataclass(frozen=True)
class Table:
    """A display frame with its caption and note."""

    frame: pd.DataFrame
    caption: str = ""
    note: str = ""
    label: str = ""

    def asis(self) -> str:
        """Markdown for an ``output: asis`` cell: the HTML table as a raw ``{=html}`` block for
        HTML output, and a pipe table with caption and note for every other format (PDF).

        Printed text, never a display object: an HTML display output makes Quarto add
        jquery and requirejs from a CDN.
        """
        return asis_block(to_html(self), to_markdown(self))

    def _repr_markdown_(self) -> str:  # display(table) in the fallback renderer or Jupyter
        return self.asis()

    def _repr_latex_(self) -> str:
        return to_latex(self)


def asis_block(html_text: str, markdown: str) -> str:
    """Raw HTML for HTML output and Markdown for the other formats, in Quarto's own syntax
    (``{=html}`` raw block, ``.content-hidden when-format="html"`` div); the fallback
    renderer reads both the same way."""
    raw = "\n".join(line for line in html_text.splitlines() if line.strip())  # no blank line inside
    return (f"\n```{{=html}}\n{raw}\n```\n\n::: {{.content-hidden when-format=\"html\"}}\n\n"
            f"{markdown.strip()}\n\n:::\n\n")


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``); every cell escaped."""
    frame = table.frame
    align = "".join("r" if _is_numeric_text(frame[c].astype(str).tolist()) else "l" for c in frame.columns)
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if table.caption:
        lines.append(rf"\caption{{{latex_escape(table.caption)}}}")
    if table.label:
        lines.append(rf"\label{{{table.label}}}")
    lines += [rf"\begin{{tabular}}{{{align}}}", r"\toprule"]
    lines.append(" & ".join(latex_escape(c) for c in frame.columns) + r" \\")
    lines.append(r"\midrule")
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(latex_escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.note:
        lines += [r"\par\smallskip", rf"{{\footnotesize {latex_escape(table.note)}\par}}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def latex_document(body: str) -> str:
    """A minimal compilable document around a table (for checks and quick previews)."""
    return (
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        "\\usepackage[margin=1.5cm,landscape]{geometry}\n"
        "\\begin{document}\n" + body + "\\end{document}\n"
    )


def _md_cell(value: object) -> str:
    return str(value).replace("|", r"\|").replace("\n", " ")


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table, the caption above and the note below."""
    frame = table.frame
    header = "| " + " | ".join(_md_cell(c) for c in frame.columns) + " |"
    numeric = [_is_numeric_text(frame[c].astype(str).tolist()) for c in frame.columns]
    rule = "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"
    rows = ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    parts = []
    if table.caption:
        parts += [f"**{table.caption}**", ""]
    parts += [header, rule, *rows]
    if table.note:
        parts += ["", f"*{table.note}*"]
    return "\n".join(parts) + "\n"


def to_html(table: Table, *, standalone: bool = False, css_class: str = "results") -> str:
    """An HTML ``<table>`` (escaped) with ``<caption>`` and the note in ``<tfoot>``."""
    frame = table.frame
    numeric = [_is_numeric_text(frame[c].astype(str).tolist()) for c in frame.columns]
    out = [f'<table class="{css_class}">']
    if table.caption:
        out.append(f"<caption>{html.escape(table.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
               + "</tr></thead>")
    out.append("<tbody>")
    for row in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="num">{html.escape(str(v))}</td>' if n else f"<td>{html.escape(str(v))}</td>"
            for v, n in zip(row, numeric, strict=True)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody>")
    if table.note:
        out.append(f'<tfoot><tr><td colspan="{len(frame.columns)}">{html.escape(table.note)}</td></tr></tfoot>')
    out.append("</table>")
    fragment = "\n".join(out) + "\n"
    if not standalone:
        return fragment
    title = html.escape(table.caption or "table")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
        f"<style>{TABLE_CSS}</style></head>\n<body>\n{fragment}</body></html>\n"
    )


TABLE_CSS = (
    "table.results{border-collapse:collapse;font-family:system-ui,sans-serif;font-size:0.9em;margin:1em 0}"
    "table.results caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.4em}"
    "table.results th,table.results td{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left}"
    "table.results thead th{border-bottom:2px solid #333}"
    "table.results td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "table.results tfoot td{font-size:.85em;color:#444;border-bottom:none}"
)


def make_table(what: str, tidy: pd.DataFrame, *, digits: int | None = None, label: str = "",
               caption: str | None = None, note: str | None = None, **display_options) -> Table:
    """Display frame, caption and note for a tidy ``summary`` / ``tests`` / ``calibration`` frame.

    ``caption`` / ``note`` replace the generated ones (e.g. "accuracy" instead of "trait rate");
    ``display_options`` go to the display function (e.g. ``quantity="accuracy"`` for a summary).
    """
    if what not in DISPLAY:
        raise InputError(f"unknown table {what!r}: use one of {', '.join(WHATS)}")
    auto_caption, auto_note = table_caption(what, tidy)
    return Table(DISPLAY[what](tidy, digits=digits, **display_options),
                 auto_caption if caption is None else caption,
                 auto_note if note is None else note, label or f"tab:{what}")


def export_table(tidy: pd.DataFrame, what: str, fmt: str, path: str | Path, *,
                 digits: int | None = None, inputs: Sequence[str | Path] = ()) -> Path:
    """Write a tidy frame as CSV (tidy numbers) or as a LaTeX / Markdown / HTML table.

    Parameters
    ----------
    tidy : pandas.DataFrame
        ``summarize`` output (``what="summary"``), ``results_frame`` output
        (``"tests"``) or a calibration table (``"calibration"``).
    what : {"summary", "tests", "calibration"}
    fmt : {"csv", "latex", "md", "html"}
    path : str or Path
    digits : int, optional
        Decimals for percentages and percentage points (default: as many as the intervals
        need, as in the reports).
    inputs : sequence of paths
        The command's inputs: the output may not be one of them.

    Returns
    -------
    Path
        The file written (atomically).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    from subliminal_stats.data.outputs import atomic_write, check_output_path

    path = check_output_path(path, inputs=inputs, what=f"{what} export")
    atomic_write(path, export_text(tidy, what, fmt, digits=digits))
    return path


def export_text(tidy: pd.DataFrame, what: str, fmt: str, *, digits: int | None = None) -> str:
    """The text :func:`export_table` writes (CSV: tidy numbers plus the ``verdict`` words)."""
    if fmt == "csv":
        frame = tidy.copy()
        if what == "tests" and "significant" in frame.columns:
            # The same verdict as the report's, with the not-calibrated mark.
            words = [verdict_word(r) + calibration_mark(r) for _, r in tidy.iterrows()]
            if "verdict" in frame.columns:
                frame["verdict"] = words
            else:
                frame.insert(frame.columns.get_loc("significant"), "verdict", words)
        for col in frame.columns:
            # Lists (e.g. warnings) become one "; "-joined cell.
            if frame[col].map(lambda v: isinstance(v, (list, tuple))).any():
                frame[col] = frame[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
        return frame.to_csv(index=False, lineterminator="\n")
    table = make_table(what, tidy, digits=digits)
    if fmt == "latex":
        return to_latex(table)
    if fmt == "md":
        return to_markdown(table)
    return to_html(table, standalone=True)


__all__ = [
    "format_number",
    "format_interval",
    "interval_digits",
    "format_p",
    "summary_display",
    "tests_display",
    "calibration_display",
    "calibration_wide_display",
    "table_caption",
    "latex_escape",
    "Table",
    "make_table",
    "to_latex",
    "latex_document",
    "to_markdown",
    "to_html",
    "export_table",
    "export_text",
    "asis_block",
    "verdict_word",
    "calibration_mark",
    "calibration_note",
    "row_warnings",
    "UNCALIBRATED_MARK",
    "VERDICT_TRANSFER",
    "VERDICT_LOWER",
    "VERDICT_NONE",
    "VERDICT_UNREACHABLE",
]
