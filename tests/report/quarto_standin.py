"""A stand-in for ``quarto render`` that demands what real Quarto 1.10 demands (see TRAPS.md).

Run as ``$QUARTO_PYTHON quarto_standin.py render FILE.qmd --to html|typst [-P key:value ...]``
(the ``quarto`` wrapper the tests put on PATH does exactly that, as real Quarto runs its Jupyter
engine with ``QUARTO_PYTHON``). Like real Quarto it:

* refuses a front matter or ``_quarto.yml`` that is not valid YAML or has keys it does not know;
* needs ``ipykernel``, ``nbclient`` and ``jupyter_core`` importable ("Jupyter is not available"),
  and ``papermill`` for ``-P`` ("The papermill package is required");
* executes the cells in a real Jupyter kernel, in the document's folder, with the parameters
  injected by papermill after the cell tagged ``parameters``;
* on a failing cell prints nbclient's error (the traceback, ANSI colours included) and ends with
  "WARN: Error encountered when rendering files";
* adds jquery and requirejs ``<script src="https://…">`` tags when any output is an HTML display
  output, and links its libraries instead of inlining them without ``embed-resources: true``;
* writes ``<stem>.html`` (or ``.pdf`` for typst) next to the document, or in the project's
  ``output-dir``.

Markdown becomes HTML through the package's own Markdown reader (pandoc is not here); what
this stand-in checks is everything around it: the kernel, the parameters, the outputs' kinds.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import re
import sys
from pathlib import Path

import yaml

KNOWN_TOP = {"title", "subtitle", "author", "date", "format", "execute", "jupyter", "toc", "params",
             "lang", "abstract", "project", "bibliography"}
KNOWN_FORMATS = {"html", "typst", "pdf", "docx"}
KNOWN_FORMAT_KEYS = {"embed-resources", "toc", "papersize", "margin", "documentclass", "geometry",
                     "theme", "css", "number-sections", "fig-width", "fig-height", "mainfont", "fontsize"}
KNOWN_EXECUTE = {"echo", "warning", "freeze", "eval", "output", "error", "include", "cache", "daemon"}
KNOWN_PROJECT = {"type", "output-dir", "render", "execute-dir"}
CDN = ('<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js"></script>\n'
       '<script src="https://cdnjs.cloudflare.com/ajax/libs/jquery/3.5.1/jquery.min.js"></script>\n')


def fail(message: str) -> None:
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def check_keys(where: str, mapping: dict) -> None:
    if not isinstance(mapping, dict):
        fail(f"{where}: the YAML must be a mapping")
    unknown = set(mapping) - KNOWN_TOP
    if unknown:
        fail(f"{where}: unknown key(s) {sorted(unknown)}")
    formats = mapping.get("format") or {}
    if isinstance(formats, dict):
        for name, options in formats.items():
            if name not in KNOWN_FORMATS:
                fail(f"{where}: unknown format {name!r}")
            bad = set(options or {}) - KNOWN_FORMAT_KEYS
            if bad:
                fail(f"{where}: format {name} has unknown option(s) {sorted(bad)}")
    bad = set(mapping.get("execute") or {}) - KNOWN_EXECUTE
    if bad:
        fail(f"{where}: execute has unknown option(s) {sorted(bad)}")
    bad = set(mapping.get("project") or {}) - KNOWN_PROJECT
    if bad:
        fail(f"{where}: project has unknown option(s) {sorted(bad)}")


def read_yaml(text: str, where: str) -> dict:
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        fail(f"YAMLException: {where}: {exc}")
    return {}


def split_qmd(text: str) -> tuple[dict, list[tuple[str, str]]]:
    lines = text.splitlines()
    front: dict = {}
    start = 0
    if lines and lines[0].strip() == "---":
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        front = read_yaml("\n".join(lines[1:end]), "front matter")
        start = end + 1
    cells: list[tuple[str, str]] = []
    buffer: list[str] = []
    i = start
    while i < len(lines):
        if re.match(r"^```+\s*\{python[^}]*\}\s*$", lines[i].strip()):
            if buffer:
                cells.append(("markdown", "\n".join(buffer)))
                buffer = []
            body = []
            i += 1
            while not re.match(r"^```+\s*$", lines[i].strip()):
                body.append(lines[i])
                i += 1
            cells.append(("code", "\n".join(body)))
        else:
            buffer.append(lines[i])
        i += 1
    if buffer:
        cells.append(("markdown", "\n".join(buffer)))
    return front, cells


def cell_options(source: str) -> dict:
    option_lines = [ln.strip()[2:] for ln in source.splitlines() if ln.strip().startswith("#|")]
    return yaml.safe_load("\n".join(option_lines)) or {} if option_lines else {}


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "render":
        fail("the stand-in only knows `quarto render`")
    args = argv[1:]
    target, to, params = None, "html", {}
    i = 0
    while i < len(args):
        if args[i] == "--to":
            to = args[i + 1]
            i += 2
        elif args[i] == "-P":
            key, _, value = args[i + 1].partition(":")
            params[key] = yaml.safe_load(value) if value else ""
            i += 2
        elif args[i].startswith("-"):
            fail(f"unknown option {args[i]}")
        else:
            target = Path(args[i])
            i += 1
    if target is None or not target.is_file():
        fail(f"no such file {target}")
    if to not in ("html", "typst"):
        fail(f"unknown format {to}")
    folder = target.resolve().parent
    project = {}
    if (folder / "_quarto.yml").is_file():
        project = read_yaml((folder / "_quarto.yml").read_text(), "_quarto.yml")
        check_keys("_quarto.yml", project)
    front, cells = split_qmd(target.read_text(encoding="utf-8"))
    check_keys(target.name, front)
    if front.get("jupyter", "python3") != "python3":
        fail(f"unknown kernel {front.get('jupyter')!r}")

    missing = [m for m in ("ipykernel", "nbclient", "jupyter_core") if importlib.util.find_spec(m) is None]
    if missing:
        print("Jupyter is not available in this Python installation.\n"
              f"(missing: {', '.join(missing)}; install with python3 -m pip install jupyter)", file=sys.stderr)
        return 1
    if params and importlib.util.find_spec("papermill") is None:
        fail("The papermill package is required for processing --execute-params")

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["papermill"] = {}
    for kind, text in cells:
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(text, metadata={"tags": []}))
        else:
            cell = nbformat.v4.new_code_cell(text)
            cell.metadata["tags"] = list(cell_options(text).get("tags") or [])
            nb.cells.append(cell)
    if params:
        from papermill.parameterize import parameterize_notebook

        nb = parameterize_notebook(nb, params)
    print("Starting python3 kernel...Done", file=sys.stderr)
    client = NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        print(f"\nAn error occurred while executing the following cell:\n{exc}", file=sys.stderr)
        print("\nWARN: Error encountered when rendering files", file=sys.stderr)
        return 1

    from subliminal_stats.report.render import markdown_to_html

    formats = {**((project.get("format") or {}).get("html") or {}), **((front.get("format") or {}).get("html") or {})}
    embed = formats.get("embed-resources") is True
    defaults = {**(project.get("execute") or {}), **(front.get("execute") or {})}
    markdown: list[str] = []
    html_outputs = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            markdown.append(cell.source)
            continue
        options = {**defaults, **cell_options(cell.source)}
        if options.get("echo") is True:
            markdown.append(f"```python\n{cell.source}\n```")
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                if out.name == "stderr" and options.get("warning") is False:
                    continue
                markdown.append(out.text if options.get("output") == "asis" else f"```\n{out.text}\n```")
            elif out.output_type in ("display_data", "execute_result"):
                data = out.data
                if "text/html" in data:
                    html_outputs = True
                    markdown.append(f"```{{=html}}\n{data['text/html']}\n```")
                elif "image/svg+xml" in data:
                    payload = base64.b64encode(data["image/svg+xml"].encode()).decode()
                    src = f"data:image/svg+xml;base64,{payload}" if embed else f"{target.stem}_files/figure.svg"
                    markdown.append(f'```{{=html}}\n<img src="{src}">\n```')
                elif "text/markdown" in data:
                    markdown.append(data["text/markdown"])
                else:
                    markdown.append(f"```\n{data.get('text/plain', '')}\n```")
    body = markdown_to_html("\n\n".join(markdown), "html" if to == "html" else to)
    head = CDN if html_outputs else ""
    if not embed:
        head += f'<link href="{target.stem}_files/libs/bootstrap/bootstrap.min.css" rel="stylesheet">\n'
    out_dir = folder / (project.get("project") or {}).get("output-dir", ".")
    out_dir.mkdir(parents=True, exist_ok=True)
    if to == "html":
        title = html.escape(str(front.get("title", target.stem)))
        page = (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>\n"
                f'<meta name="generator" content="quarto stand-in">\n{head}</head>\n'
                f"<body><h1>{title}</h1>\n{body}</body></html>\n")
        (out_dir / f"{target.stem}.html").write_text(page, encoding="utf-8")
    else:
        (out_dir / f"{target.stem}.pdf").write_bytes(b"%PDF-1.7\n% quarto stand-in (typst)\n" + body.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
