"""Render the ``.qmd`` reports: Quarto when it is installed, our own executor otherwise.

The fallback runs the same ``.qmd`` file Quarto would:

* the YAML header gives the title, subtitle, author and the default cell options
  (``execute: echo: ...``);
* every ```` ```{python} ```` cell runs, in order, in one namespace; ``#|`` lines
  at the top of a cell are its options (``echo``, ``eval``, ``include``,
  ``output`` — ``asis`` means printed text is Markdown —, ``fig-cap``, ``label``);
* the cell tagged ``parameters`` (``#| tags: [parameters]``) holds the defaults;
  overrides are assigned right after it, as Quarto/papermill do;
* outputs are embedded: printed text, objects with ``_repr_markdown_`` /
  ``_repr_html_`` / ``_repr_svg_``, pandas DataFrames as HTML tables, altair
  charts as inline SVG (rendered by vl-convert: no JavaScript, no CDN);
* the result is one self-contained HTML file (CSS inline, no external resource).

Quarto-only syntax outside cells is limited to fenced divs (``::: {.callout-note}``);
keep the reports to plain Markdown otherwise, so both renderers agree.
"""

from __future__ import annotations

import ast
import contextlib
import html
import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from subliminal_stats.bundled import resource
from subliminal_stats.errors import InputError

REPORT_NAMES = ("paper", "trait")
RENDERERS = ("auto", "quarto", "fallback")


def reports_dir() -> Path:
    """The shipped reports (``paper.qmd``, ``trait.qmd``, ``_quarto.yml``)."""
    return resource("reports")


def report_path(report: str | Path) -> Path:
    """``"paper"`` / ``"trait"`` → ``reports/<name>.qmd``; a path to a ``.qmd`` is taken as is."""
    text = str(report)
    if text in REPORT_NAMES:
        path = reports_dir() / f"{text}.qmd"
    else:
        path = Path(text)
    if path.suffix != ".qmd":
        raise InputError(f"unknown report {text!r}: use one of {', '.join(REPORT_NAMES)} or a .qmd file")
    if not path.is_file():
        raise InputError(
            f"report file {path} not found (the reports ship inside the package; "
            "reinstall subliminal-stats)"
        )
    return path


# --- parsing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """A piece of a ``.qmd``: Markdown text, or a Python cell with its options."""

    kind: str  # "markdown" or "code"
    text: str
    options: dict = field(default_factory=dict)
    line: int = 1  # first line in the file (1-based)

    @property
    def is_parameters(self) -> bool:
        tags = self.options.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        return "parameters" in tags


@dataclass(frozen=True)
class QmdDocument:
    front_matter: dict
    chunks: tuple[Chunk, ...]
    source: str = "<qmd>"


_OPEN_CELL = re.compile(r"^```+\s*\{\s*([A-Za-z0-9_-]+)([^}]*)\}\s*$")
_FENCE = re.compile(r"^(```+|~~~+)")


def parse_qmd(text: str, *, source: str = "<qmd>") -> QmdDocument:
    """Split a ``.qmd`` into its YAML header, Markdown chunks and Python cells.

    Raises
    ------
    InputError
        On a malformed header, an unclosed cell or a cell in another language.
    """
    lines = text.splitlines()
    front: dict = {}
    start = 0
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
        except StopIteration:
            raise InputError(f"{source}: the YAML header opened on line 1 is never closed with ---") from None
        try:
            front = yaml.safe_load("\n".join(lines[1:end])) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"{source}: the YAML header is not valid YAML ({exc.__class__.__name__})") from None
        start = end + 1
    chunks: list[Chunk] = []
    buffer: list[str] = []
    buffer_start = start + 1
    i = start
    in_plain_fence: str | None = None
    while i < len(lines):
        line = lines[i]
        if in_plain_fence is not None:
            buffer.append(line)
            if line.strip().startswith(in_plain_fence) and line.strip().strip(in_plain_fence[0]) == "":
                in_plain_fence = None
            i += 1
            continue
        opened = _OPEN_CELL.match(line.strip())
        if opened:
            language = opened.group(1).lower()
            if language != "python":
                raise InputError(
                    f"{source} line {i + 1}: a {language!r} cell; the fallback renderer runs Python "
                    "cells only (install Quarto for other engines)"
                )
            if buffer:
                chunks.append(Chunk("markdown", "\n".join(buffer), line=buffer_start))
            cell_start = i + 1
            body: list[str] = []
            i += 1
            while i < len(lines) and not re.match(r"^```+\s*$", lines[i].strip()):
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise InputError(f"{source} line {cell_start}: the python cell is never closed with ```")
            options, code = _split_options(body, source=source, line=cell_start)
            chunks.append(Chunk("code", code, options, line=cell_start))
            buffer, buffer_start = [], i + 2
            i += 1
            continue
        fence = _FENCE.match(line.strip())
        if fence:
            in_plain_fence = fence.group(1)
        buffer.append(line)
        i += 1
    if buffer:
        chunks.append(Chunk("markdown", "\n".join(buffer), line=buffer_start))
    return QmdDocument(front, tuple(chunks), source)


def _split_options(body: list[str], *, source: str, line: int) -> tuple[dict, str]:
    option_lines = []
    k = 0
    while k < len(body) and body[k].lstrip().startswith("#|"):
        option_lines.append(body[k].lstrip()[2:])
        k += 1
    options: dict = {}
    if option_lines:
        try:
            options = yaml.safe_load("\n".join(option_lines)) or {}
        except yaml.YAMLError:
            raise InputError(f"{source} line {line}: the cell's '#|' options are not valid YAML") from None
        if not isinstance(options, dict):
            raise InputError(f"{source} line {line}: the cell's '#|' options must be 'key: value' lines")
    return options, "\n".join(body[k:])


# --- execution ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """One embedded output: ``kind`` is "markdown", "html" or "text"."""

    kind: str
    content: str


class ReportError(InputError):
    """A cell of a report failed (one line: the file, the cell and the error)."""


def _display_html(obj: Any, *, figure_ids: itertools.count, caption: str | None,
                  figures_dir: Path | None = None, label: str | None = None) -> Output | None:
    """How an object shows in the report, the way Jupyter would pick its richest form.

    Altair charts become inline SVG; with ``figures_dir`` they are also saved there as
    SVG, PNG (2×) and PDF, named after the cell's ``label`` (or ``figure-N``).
    """
    if obj is None:
        return None
    module = type(obj).__module__ or ""
    if module.startswith("altair") and hasattr(obj, "to_dict"):
        from subliminal_stats.report.figures import chart_to_svg, save_chart

        number = next(figure_ids)
        svg = chart_to_svg(obj, id_prefix=f"fig{number}")
        if figures_dir is not None:
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", label) if label else f"figure-{number}"
            if label and (figures_dir / f"{stem}.svg").exists():
                stem = f"{stem}-{number}"  # one cell displaying several charts
            save_chart(obj, figures_dir / stem)
        svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        return Output("html", f'<figure class="chart">{svg}{cap}</figure>')
    if hasattr(obj, "_repr_markdown_"):
        return Output("markdown", str(obj._repr_markdown_()))
    if type(obj).__name__ == "DataFrame" and module.startswith("pandas"):
        show_index = not (obj.index.name is None and type(obj.index).__name__ == "RangeIndex")
        return Output("html", obj.to_html(index=show_index, border=0, escape=True,
                                          na_rep="–"))
    if hasattr(obj, "_repr_html_"):
        rendered = obj._repr_html_()
        if rendered is not None:
            return Output("html", str(rendered))
    if hasattr(obj, "_repr_svg_"):
        return Output("html", f'<figure class="chart">{obj._repr_svg_()}</figure>')
    return Output("text", repr(obj))


def _parse_overrides(params: Mapping[str, Any], defaults: Mapping[str, Any], source: str) -> dict:
    unknown = [k for k in params if k not in defaults]
    if unknown:
        known = ", ".join(sorted(defaults)) or "none"
        raise InputError(f"{source} has no parameter {unknown[0]!r} (its parameters: {known})")
    return dict(params)


def execute_qmd(document: QmdDocument, *, params: Mapping[str, Any] | None = None,
                workdir: str | Path | None = None,
                figures_dir: str | Path | None = None) -> list[tuple[Chunk, list[Output]]]:
    """Run every Python cell of ``document`` in one namespace and collect the outputs.

    Parameters
    ----------
    document : QmdDocument
    params : mapping, optional
        Overrides for the names assigned in the ``parameters`` cell; they are
        assigned right after that cell runs (an unknown name is an error).
    workdir : path, optional
        Directory the cells run in (Quarto runs them in the document's folder).
    figures_dir : path, optional
        Also save every chart there as SVG, PNG (2×) and PDF.

    Returns
    -------
    list of (Chunk, list of Output)
    """
    params = dict(params or {})
    defaults_exec = document.front_matter.get("execute") or {}
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": document.source}
    figure_ids = itertools.count(1)
    if figures_dir is not None:
        figures_dir = Path(figures_dir).resolve()
        figures_dir.mkdir(parents=True, exist_ok=True)
    results: list[tuple[Chunk, list[Output]]] = []
    parameters_seen = False
    previous_dir = Path.cwd()
    if workdir is not None:
        os.chdir(workdir)
    try:
        for chunk in document.chunks:
            if chunk.kind != "code":
                results.append((chunk, []))
                continue
            options = {**defaults_exec, **chunk.options}
            if options.get("eval", True) is False:
                results.append((chunk, []))
                continue
            outputs: list[Output] = []

            def display(*objects: Any, _outputs=outputs, _caption=options.get("fig-cap"),
                        _label=options.get("label")) -> None:
                for obj in objects:
                    shown = _display_html(obj, figure_ids=figure_ids, caption=_caption,
                                          figures_dir=figures_dir, label=_label)
                    if shown is not None:
                        _outputs.append(shown)

            namespace["display"] = display
            stdout = io.StringIO()
            try:
                tree = ast.parse(chunk.text, filename=f"{document.source}:{chunk.line}")
            except SyntaxError as exc:
                raise ReportError(
                    f"{document.source} cell at line {chunk.line}: syntax error on its line "
                    f"{exc.lineno}: {exc.msg}"
                ) from None
            last_expr = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last_expr = ast.Expression(tree.body.pop().value)
            try:
                # Warnings are recorded (never printed to the terminal) and shown in the
                # report unless the cell says `warning: false`.
                with contextlib.redirect_stdout(stdout), warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("default")
                    exec(compile(tree, f"{document.source}:{chunk.line}", "exec"), namespace)
                    value = (eval(compile(last_expr, f"{document.source}:{chunk.line}", "eval"), namespace)
                             if last_expr is not None else None)
            except InputError as exc:
                raise ReportError(f"{Path(document.source).name}: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - one line naming the cell beats a traceback
                raise ReportError(
                    f"{document.source} cell at line {chunk.line} failed: {type(exc).__name__}: {exc}"
                ) from exc
            if options.get("warning", True) is not False:
                for item in caught:
                    outputs.append(Output("text", f"{item.category.__name__}: {item.message}"))
            printed = stdout.getvalue()
            if printed:
                kind = "markdown" if options.get("output") == "asis" else "text"
                outputs.insert(0, Output(kind, printed))
            if value is not None:
                display(value)
            if chunk.is_parameters:
                parameters_seen = True
                defaults = {k: v for k, v in namespace.items()
                            if not k.startswith("_") and k not in ("display",) and _assigned_in(tree, k)}
                namespace.update(_parse_overrides(params, defaults, document.source))
            if options.get("output") is False or options.get("include") is False:
                outputs = []
            results.append((chunk, outputs))
    finally:
        os.chdir(previous_dir)
    if params and not parameters_seen:
        raise InputError(f"{document.source} has no cell tagged 'parameters', so it takes no --param")
    return results


def _assigned_in(tree: ast.Module, name: str) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == name:
            return True
    return False


# --- HTML assembly -----------------------------------------------------------------------

PAGE_CSS = """
:root{--ink:#1d1d1f;--muted:#555;--rule:#ddd;--accent:#0072B2}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);
 line-height:1.55;margin:0;background:#fff}
main{max-width:60rem;margin:0 auto;padding:2rem 1.25rem 4rem}
header.title h1{margin:0 0 .2rem;font-size:1.9rem} header.title p{margin:.1rem 0;color:var(--muted)}
nav.toc{border-left:3px solid var(--accent);padding:.2rem 1rem;margin:1.5rem 0;font-size:.95rem}
nav.toc ul{margin:.2rem 0;padding-left:1.1rem}
h2{margin-top:2.4rem;border-bottom:1px solid var(--rule);padding-bottom:.2rem} h3{margin-top:1.6rem}
a{color:var(--accent)}
figure.chart{margin:1.2rem 0;overflow-x:auto} figure.chart svg{max-width:100%;height:auto}
figcaption{font-size:.9rem;color:var(--muted);margin-top:.3rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem;display:block;overflow-x:auto}
th,td{padding:.25rem .7rem;border-bottom:1px solid var(--rule);text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #333}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.3rem}
tfoot td{font-size:.85em;color:var(--muted);border-bottom:none}
pre{background:#f6f6f6;padding:.7rem 1rem;overflow-x:auto;font-size:.85rem;border-radius:4px}
pre.output{background:#fbfbfb;border-left:3px solid var(--rule)}
.callout-note,.callout-warning,.callout-important,.callout-tip{border-left:4px solid var(--accent);
 background:#f3f8fc;padding:.3rem 1rem;margin:1rem 0}
.callout-warning,.callout-important{border-left-color:#D55E00;background:#fdf5ef}
.verdict{font-size:1.1rem;font-weight:600}
footer{margin-top:3rem;font-size:.8rem;color:var(--muted)}
p.report-footer{margin-top:2.5rem;font-size:.85rem;color:var(--muted);border-top:1px solid var(--rule);padding-top:.5rem}
@media (max-width:40rem){main{padding:1rem .6rem 3rem} body{font-size:15px} table{font-size:.8rem}
 th,td{padding:.2rem .4rem} header.title h1{font-size:1.5rem}}
@media print{
 @page{size:A4;margin:1.6cm 1.5cm}
 body{font-size:9.5pt;line-height:1.4} main{max-width:none;padding:0}
 nav.toc{display:none}
 h2{break-after:avoid;margin-top:1.4rem} h3{break-after:avoid}
 figure.chart,table,pre{break-inside:avoid}
 figure.chart{overflow:visible} figure.chart svg{max-width:100%;height:auto}
 /* A table must print whole: no scroll box, the cells wrap instead of running off the page. */
 table{display:table;width:100%;overflow:visible;font-size:8pt;table-layout:auto}
 th,td{padding:.12rem .3rem;white-space:normal;overflow-wrap:anywhere} td.num{white-space:nowrap}
 a{color:inherit;text-decoration:none}
}
"""

_FENCED_DIV_OPEN = re.compile(r"^(:::+)\s*\{([^}]*)\}\s*$")
_FENCED_DIV_CLOSE = re.compile(r"^:::+\s*$")
_RAW_OPEN = re.compile(r"^(```+)\s*\{=([A-Za-z0-9_-]+)\}\s*$")
_ATTR = re.compile(r"""([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")


def _format_visible(attributes: str, fmt: str) -> bool | None:
    """Whether a ``.content-visible`` / ``.content-hidden`` div shows in ``fmt``; None: not such a div."""
    classes = {p[1:] for p in attributes.split() if p.startswith(".")}
    kind = "visible" if "content-visible" in classes else "hidden" if "content-hidden" in classes else None
    if kind is None:
        return None
    attrs = {m.group(1): m.group(2) or m.group(3) or m.group(4) for m in _ATTR.finditer(attributes)}
    when, unless = attrs.get("when-format"), attrs.get("unless-format")
    matches = True
    if when is not None:
        matches = when == fmt
    elif unless is not None:
        matches = unless != fmt
    return matches if kind == "visible" else not matches


def resolve_format_blocks(markdown: str, fmt: str = "html") -> str:
    """Quarto's format-specific Markdown, read for one output format (the fallback's "html").

    * ```` ```{=html} ```` raw blocks pass through as HTML (other raw formats are dropped);
    * ``::: {.content-visible when-format="html"}`` / ``.content-hidden`` divs are kept or
      dropped as Quarto would;
    * other fenced divs (``::: {.callout-note}``) become ``<div class="...">`` blocks.
    """
    out: list[str] = []
    stack: list[tuple[bool, bool]] = []  # per open div: (shown, emitted as a <div>)
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        shown = all(s for s, _ in stack)
        raw = _RAW_OPEN.match(line.strip())
        if raw:
            fence, language = raw.group(1), raw.group(2).lower()
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != fence:
                body.append(lines[i])
                i += 1
            if shown and language == fmt:
                # An HTML block ends at a blank line in CommonMark: keep it in one piece.
                out += ["", *[b for b in body if b.strip()], ""]
            i += 1
            continue
        opened = _FENCED_DIV_OPEN.match(line.strip())
        if opened:
            visible = _format_visible(opened.group(2), fmt)
            plain = visible is None and shown
            stack.append((True if visible is None else visible, plain))
            if plain:
                classes = " ".join(p[1:] for p in opened.group(2).split() if p.startswith("."))
                out += ["", f'<div class="{html.escape(classes)}">', ""]
            i += 1
            continue
        if _FENCED_DIV_CLOSE.match(line.strip()) and stack:
            _, plain = stack.pop()
            if plain:
                out += ["", "</div>", ""]
            i += 1
            continue
        if shown:
            out.append(line)
        i += 1
    return "\n".join(out)


def markdown_to_html(markdown: str, fmt: str = "html") -> str:
    """CommonMark (with pipe tables and raw HTML) → HTML, after :func:`resolve_format_blocks`."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": True, "typographer": False}).enable("table")
    return renderer.render(resolve_format_blocks(markdown, fmt))


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", re.sub(r"<[^>]+>", "", text).lower()).strip("-") or "section"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


def _add_heading_ids(body: str) -> tuple[str, list[tuple[str, str]]]:
    used: set[str] = set()
    toc: list[tuple[str, str]] = []

    def repl(match: re.Match) -> str:
        level, inner = match.group(1), match.group(2)
        slug = _slug(inner, used)
        if level == "2":
            toc.append((slug, re.sub(r"<[^>]+>", "", inner)))
        return f'<h{level} id="{slug}">{inner}</h{level}>'

    return re.sub(r"<h([23])>(.*?)</h\1>", repl, body), toc


def assemble_html(document: QmdDocument, executed: list[tuple[Chunk, list[Output]]], *,
                  renderer_note: str) -> str:
    """One self-contained HTML page: inline CSS, inline SVG, no script, no external resource."""
    front = document.front_matter
    defaults_exec = front.get("execute") or {}
    parts: list[str] = []
    pending_markdown: list[str] = []

    def flush() -> None:
        if pending_markdown:
            parts.append(markdown_to_html("\n\n".join(pending_markdown)))
            pending_markdown.clear()

    for chunk, outputs in executed:
        if chunk.kind == "markdown":
            pending_markdown.append(chunk.text)
            continue
        options = {**defaults_exec, **chunk.options}
        if options.get("echo", False) is True and options.get("include", True) is not False:
            flush()
            parts.append(f'<pre class="code"><code>{html.escape(chunk.text.strip())}</code></pre>')
        for out in outputs:
            if out.kind == "markdown":
                pending_markdown.append(out.content)
            elif out.kind == "html":
                flush()
                parts.append(out.content)
            else:
                flush()
                parts.append(f'<pre class="output">{html.escape(out.content.rstrip())}</pre>')
    flush()
    body, toc = _add_heading_ids("\n".join(parts))

    title = str(front.get("title", Path(document.source).stem))
    head_lines = [f"<h1>{html.escape(title)}</h1>"]
    for key in ("subtitle", "author", "date"):
        if front.get(key):
            value = front[key]
            if isinstance(value, list):
                value = ", ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
            head_lines.append(f'<p class="{key}">{html.escape(str(value))}</p>')
    show_toc = bool(front.get("toc", False))
    html_options = front.get("format", {}).get("html") if isinstance(front.get("format"), dict) else None
    if isinstance(html_options, dict) and "toc" in html_options:
        show_toc = bool(html_options["toc"])
    toc_html = ""
    if show_toc and toc:
        items = "".join(f'<li><a href="#{slug}">{html.escape(text)}</a></li>' for slug, text in toc)
        toc_html = f'<nav class="toc"><strong>Contents</strong><ul>{items}</ul></nav>'
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"subliminal-stats fallback renderer\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header class=\"title\">{''.join(head_lines)}</header>\n{toc_html}\n{body}\n"
        f"<footer>{html.escape(renderer_note)}</footer>\n</main>\n</body>\n</html>\n"
    )


# --- entry points ------------------------------------------------------------------------

#: What Quarto needs importable in the Python it runs (QUARTO_PYTHON) to execute the cells,
#: and, for ``-P`` parameters, papermill: the ``report`` extra installs them.
KERNEL_MODULES = ("ipykernel", "nbclient", "jupyter_core")
PARAMETER_MODULES = ("papermill",)
REPORT_EXTRA_HINT = "pip install 'subliminal-stats[report]'"


@dataclass(frozen=True)
class RenderResult:
    """Where the report went, which renderer made it and, for the fallback under ``auto``, why."""

    path: Path
    renderer: str  # "quarto" or "fallback"
    seconds: float
    reason: str = ""
    figures: tuple[Path, ...] = ()


def missing_quarto_modules(*, params: bool) -> list[str]:
    """The modules Quarto needs for these reports that this Python cannot import."""
    import importlib.util

    wanted = KERNEL_MODULES + (PARAMETER_MODULES if params else ())
    return [m for m in wanted if importlib.util.find_spec(m) is None]


def footer_note(renderer: str) -> str:
    """The footer line of every report: the package version and the renderer."""
    from subliminal_stats import __version__

    return f"subliminal-stats {__version__}; rendered by {renderer}."


def is_shipped(qmd: Path) -> bool:
    """Whether ``qmd`` is one of the reports inside the package (read-only in spirit)."""
    try:
        return Path(qmd).resolve().is_relative_to(reports_dir().resolve())
    except OSError:
        return False


@contextlib.contextmanager
def report_workdir(qmd: Path):
    """Where a report renders: for a shipped report, a temporary copy (the ``.qmd`` and
    ``_quarto.yml`` beside it), so the package folder is never written to, whatever the renderer
    leaves behind (``.quarto/``, figures); a user's own ``.qmd`` renders in its folder, as
    ``quarto render`` would, so its relative paths keep working."""
    import tempfile

    if not is_shipped(qmd):
        yield qmd
        return
    with tempfile.TemporaryDirectory(prefix="subliminal-report-") as tmp:
        work = Path(tmp)
        shutil.copy2(qmd, work / qmd.name)
        project = qmd.parent / "_quarto.yml"
        if project.is_file():
            shutil.copy2(project, work / "_quarto.yml")
        yield work / qmd.name


def _export_figures(workdir: Path, out_dir: Path) -> tuple[Path, ...]:
    """Every chart a report printed (``figures/<name>.vl.json`` in its work folder) as SVG,
    PNG (2×) and PDF in ``out_dir/figures``."""
    import json

    from subliminal_stats.report.figures import save_spec

    specs = sorted((workdir / "figures").glob("*.vl.json"))
    written: list[Path] = []
    for spec in specs:
        name = spec.name[: -len(".vl.json")]
        written += save_spec(json.loads(spec.read_text(encoding="utf-8")), out_dir / "figures" / name)
    return tuple(written)


def _write_output(source: Path | str | bytes, target: Path, *, inputs: Sequence[Path] = ()) -> Path:
    from subliminal_stats.data.outputs import atomic_write, check_output_path

    target = check_output_path(target, inputs=inputs, what="report")
    data = Path(source).read_bytes() if isinstance(source, Path) else source
    atomic_write(target, data)
    return target


def render_fallback(qmd: str | Path, out_dir: str | Path, *, params: Mapping[str, Any] | None = None,
                    output_name: str | None = None, figures: bool = False) -> Path:
    """Execute a ``.qmd`` with our executor and write one self-contained HTML file.

    A shipped report's cells run in a temporary folder (never next to the shipped ``.qmd``);
    a user's own ``.qmd`` runs in its folder, as Quarto runs it. With ``figures``, every chart
    is also written to ``out_dir/figures/`` as SVG, PNG (2×) and PDF.
    """
    qmd = Path(qmd).resolve()
    out_dir = Path(out_dir)
    document = parse_qmd(qmd.read_text(encoding="utf-8"), source=str(qmd))
    figures_dir = out_dir.resolve() / "figures" if figures else None
    with report_workdir(qmd) as work_qmd:
        work = work_qmd.parent
        executed = execute_qmd(document, params=params, workdir=work, figures_dir=figures_dir)
        if figures:
            _export_figures(work, out_dir)
    page = assemble_html(document, executed,
                         renderer_note=footer_note(f"the fallback renderer from {qmd.name} (Quarto "
                                                   "was not used); figures are inline SVG"))
    return _write_output(page.encode("utf-8"), out_dir / (output_name or f"{qmd.stem}.html"),
                         inputs=[qmd])


def _quarto_value(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # Quarto reads -P values as YAML: a string that YAML reads as something else
        # ("% poisoned" is a syntax error, "" is null, "5" a number) goes double-quoted.
        try:
            same = yaml.safe_load(value) == value
        except yaml.YAMLError:
            same = False
        if not same:
            import json

            return json.dumps(value, ensure_ascii=False)
    return str(value)


#: ``--format`` → Quarto's ``--to`` (PDF through Typst: bundled with Quarto, no LaTeX needed).
QUARTO_TO = {"html": "html", "pdf": "typst"}


def quarto_command(qmd: Path, *, fmt: str = "html", params: Mapping[str, Any] | None = None,
                   quarto: str = "quarto") -> list[str]:
    """The exact ``quarto render`` command line for a report copy ``qmd`` (run in its folder)."""
    command = [quarto, "render", qmd.name, "--to", QUARTO_TO[fmt]]
    for key, value in (params or {}).items():
        command += ["-P", f"{key}:{_quarto_value(value)}"]
    return command


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (.+)$")


def quarto_error_cause(text: str) -> str:
    """The cause of a failed ``quarto render`` from its output: the Python exception a cell
    raised (``InputError: trait 'dog' is not in …``), else Quarto's own ``ERROR:`` line, else the
    last line. Quarto's last line ("WARN: Error encountered when rendering files") never says why."""
    lines = [_ANSI.sub("", ln).rstrip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    exceptions = [m for ln in lines if (m := _EXCEPTION_LINE.match(ln.strip()))]
    if exceptions:
        name, message = exceptions[-1].group(1), exceptions[-1].group(2)
        return f"{name.rsplit('.', 1)[-1]}: {message}"
    errors = [ln.strip() for ln in lines if ln.strip().startswith("ERROR:")]
    if errors:
        return errors[0]
    useful = [ln for ln in lines if not ln.strip().startswith("WARN: Error encountered")]
    return (useful or lines or ["no message"])[-1].strip()


def render_quarto(qmd: str | Path, out_dir: str | Path, *, params: Mapping[str, Any] | None = None,
                  fmt: str = "html", quarto: str = "quarto", figures: bool = False) -> RenderResult:
    """``quarto render`` with ``-P`` parameters, using this Python, on a temporary copy of the report.

    The output is moved into ``out_dir``; on failure the whole Quarto output is kept in
    ``out_dir/<name>.quarto.log`` and the error names the cause.
    """
    started = time.perf_counter()
    qmd = Path(qmd).resolve()
    out_dir = Path(out_dir)
    missing = missing_quarto_modules(params=bool(params))
    if missing:
        raise InputError(
            f"Quarto runs the report's Python cells in a Jupyter kernel of this Python ({sys.executable}), "
            f"which lacks {', '.join(missing)}: {REPORT_EXTRA_HINT}, or use --renderer fallback"
        )
    suffix = ".pdf" if fmt == "pdf" else ".html"
    target = out_dir / f"{qmd.stem}{suffix}"
    from subliminal_stats.data.outputs import check_output_path

    check_output_path(target, inputs=[qmd], what="report")
    with report_workdir(qmd) as work_qmd:
        command = quarto_command(work_qmd, fmt=fmt, params=params, quarto=quarto)
        env = {**os.environ, "QUARTO_PYTHON": sys.executable}
        done = subprocess.run(command, cwd=work_qmd.parent, env=env, capture_output=True, text=True)
        produced = work_qmd.with_suffix(suffix)
        if done.returncode != 0 or not produced.is_file():
            log = out_dir / f"{qmd.stem}.quarto.log"
            transcript = (f"$ {' '.join(command)}\n(exit {done.returncode})\n--- stdout ---\n{done.stdout}"
                          f"\n--- stderr ---\n{done.stderr}")
            _write_output(transcript.encode("utf-8"), log)
            cause = (quarto_error_cause(f"{done.stdout}\n{done.stderr}") if done.returncode != 0
                     else f"it finished but wrote no {produced.name}")
            raise ReportError(f"quarto render {qmd.name} failed: {cause} (full log: {log})")
        path = _write_output(produced, target)
        (out_dir / f"{qmd.stem}.quarto.log").unlink(missing_ok=True)  # a stale log of an earlier failure
        saved = _export_figures(work_qmd.parent, out_dir) if figures else ()
    return RenderResult(path, "quarto", time.perf_counter() - started, figures=saved)


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


#: Headless Chromium without network side-trips (updates, sync, first-run pages).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


def html_to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print an HTML file to PDF with headless Chromium (offline; the page's print stylesheet)."""
    browser = _find_chromium()
    if browser is None:
        raise InputError(
            "--format pdf needs Quarto or Chromium to print the HTML report; "
            "install one (e.g. apt-get install chromium) or use --format html"
        )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="subliminal-pdf-") as profile:
        printed = Path(profile) / "report.pdf"
        command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                   f"--print-to-pdf={printed}", html_path.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not printed.exists():
            raise ReportError(f"Chromium could not print {html_path.name} to PDF (exit {done.returncode})")
        return _write_output(printed, pdf_path)


def render_report(report: str | Path, out_dir: str | Path, *, params: Mapping[str, Any] | None = None,
                  fmt: str = "html", renderer: str = "auto", figures: bool = False) -> RenderResult:
    """Render a report to ``out_dir``.

    Parameters
    ----------
    report : str or Path
        ``"paper"``, ``"trait"`` or a path to a ``.qmd``.
    out_dir : str or Path
    params : mapping, optional
        Values for the report's ``parameters`` cell.
    fmt : {"html", "pdf"}
    renderer : {"auto", "quarto", "fallback"}
        ``auto`` uses Quarto when ``quarto`` is on PATH and this Python has the kernel
        packages it needs (the ``report`` extra), the fallback otherwise (``reason`` says why).
    figures : bool
        Also write every chart to ``out_dir/figures/`` as SVG, PNG (2×) and PDF.

    Returns
    -------
    RenderResult
    """
    if fmt not in ("html", "pdf"):
        raise InputError(f"unknown report format {fmt!r}: use html or pdf")
    if renderer not in RENDERERS:
        raise InputError(f"unknown renderer {renderer!r}: use one of {', '.join(RENDERERS)}")
    qmd = report_path(report)
    started = time.perf_counter()
    quarto = shutil.which("quarto")
    if renderer == "quarto" and quarto is None:
        raise InputError("--renderer quarto: quarto is not on PATH (install Quarto or use the fallback)")
    reason = ""
    if renderer == "fallback":
        reason = "--renderer fallback"
    elif quarto is None:
        reason = "Quarto not found on PATH"
    elif renderer == "auto" and (missing := missing_quarto_modules(params=bool(params))):
        reason = f"Quarto found, but this Python lacks {', '.join(missing)}: {REPORT_EXTRA_HINT}"
    if not reason:
        return render_quarto(qmd, out_dir, params=params, fmt=fmt, quarto=quarto, figures=figures)
    if fmt == "pdf" and _find_chromium() is None:
        # Say so before spending time on the HTML.
        raise InputError(
            f"--format pdf needs Quarto or Chromium to print the HTML report ({reason}); "
            "install one (e.g. apt-get install chromium) or use --format html"
        )
    path = render_fallback(qmd, out_dir, params=params, figures=figures)
    if fmt == "pdf":
        pdf = html_to_pdf(path, path.with_suffix(".pdf"))
        path.unlink()
        path = pdf
    saved = tuple(sorted((Path(out_dir) / "figures").glob("*"))) if figures else ()
    return RenderResult(path=path, renderer="fallback", seconds=time.perf_counter() - started,
                        reason=reason, figures=saved)


__all__ = [
    "Chunk",
    "QmdDocument",
    "Output",
    "ReportError",
    "RenderResult",
    "KERNEL_MODULES",
    "PARAMETER_MODULES",
    "QUARTO_TO",
    "parse_qmd",
    "execute_qmd",
    "assemble_html",
    "markdown_to_html",
    "resolve_format_blocks",
    "missing_quarto_modules",
    "quarto_command",
    "quarto_error_cause",
    "render_fallback",
    "render_quarto",
    "render_report",
    "report_path",
    "report_workdir",
    "is_shipped",
]
