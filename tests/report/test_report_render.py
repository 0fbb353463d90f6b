"""The fallback .qmd renderer and the trait report (numbers equal `subliminal-stats test --json`)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from subliminal_stats.cli import main
from subliminal_stats.errors import InputError
from subliminal_stats.report import render
from subliminal_stats.report.render import execute_qmd, parse_qmd, render_fallback, render_report
from subliminal_stats.report.tables import verdict_word

ROOT = Path(__file__).resolve().parents[2]
OWL = ROOT / "data" / "examples" / "owl_example.csv"


class _Tables(HTMLParser):
    """Every <table> of a page as (caption, header, rows) of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_caption = False
        self._in_tfoot = False  # the note row is not data

    def handle_starttag(self, tag, attrs):
        if tag == "tfoot":
            self._in_tfoot = True
        elif tag == "table":
            self.tables.append({"caption": "", "header": [], "rows": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "tfoot":
            self._in_tfoot = False
        elif tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables and not self._in_tfoot:
            table = self.tables[-1]
            if not table["header"]:
                table["header"] = self._row
            else:
                table["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in_caption and self.tables:
            self.tables[-1]["caption"] += data
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html_text: str) -> list[dict]:
    parser = _Tables()
    parser.feed(html_text)
    return parser.tables


def number(text: str) -> float:
    return float(text.replace("−", "-"))


def parse_interval(cell: str) -> tuple[float, float, float]:
    match = re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", cell)
    assert match, cell
    return tuple(number(g) for g in match.groups())


_NAMESPACE = re.compile(r"""\sxmlns(:\w+)?=["'][^"']*["']""")
_INLINE_CODE = re.compile(r"<script\b[^>]*>.*?</script>|<!--.*?-->", re.S | re.I)


def assert_self_contained(page: str) -> None:
    """Nothing fetched from anywhere but the page itself: no script, stylesheet, font or image by
    URL or file, no CSS ``@import`` / ``url()`` to a file, no http(s) URL in the page's text.

    Inline scripts are allowed (Quarto's own HTML inlines its JavaScript with
    ``embed-resources``), and so are URLs inside them and in comments (licence headers fetch
    nothing) and SVG namespace declarations (``xmlns="http://www.w3.org/2000/svg"``).
    """
    for attr in re.findall(r"""\s(?:src|href|xlink:href|srcset|poster|data)\s*=\s*["']?([^"'\s>]*)""", page, re.I):
        assert attr.startswith(("#", "data:")), f"an external reference: {attr[:80]}"
    assert not re.search(r"@import|@font-face[^}]*url\(\s*['\"]?(?!data:)", page, re.I), "a fetched font or import"
    assert not re.search(r"url\(\s*['\"]?(?!#|data:)", page, re.I), "a CSS url() to a file"
    text = _NAMESPACE.sub("", _INLINE_CODE.sub("", page))
    found = re.search(r".{0,40}https?://.{0,40}", text)
    assert found is None, f"a URL: {found.group(0) if found else ''}"


def decimals(text: str) -> int:
    text = text.replace("−", "-")
    if "e" in text:
        mantissa, exponent = text.split("e")
        return len(mantissa.split(".")[1]) - int(exponent) if "." in mantissa else -int(exponent)
    return len(text.split(".")[1]) if "." in text else 0


def assert_shown(shown: str, value: float) -> None:
    """The displayed number is ``value`` rounded to the digits shown (half a unit of the last)."""
    tolerance = 0.5 * 10 ** (-decimals(shown)) + 1e-12
    assert abs(number(shown) - value) <= tolerance, (shown, value)


# --- the trait report against the CLI ----------------------------------------------------


@pytest.fixture(scope="module")
def trait_report(tmp_path_factory) -> tuple[str, list[dict]]:
    out = tmp_path_factory.mktemp("trait")
    path = render_fallback(ROOT / "reports" / "trait.qmd", out, params={"data": str(OWL)})
    text = path.read_text(encoding="utf-8")
    return text, tables_of(text)


def test_trait_report_numbers_equal_test_json(trait_report, tmp_path, capsys):
    text, tables = trait_report
    json_path = tmp_path / "test.json"
    assert main(["test", str(OWL), "--json", str(json_path)]) == 0
    capsys.readouterr()
    expected = {(r["treated"], r["control"]): r for r in json.loads(json_path.read_text())}
    assert ("treated", "control") in expected

    tests = next(t for t in tables if "comparison" in t["header"])
    header = tests["header"]
    col = {name: header.index(name) for name in header}
    diff_col = next(i for i, name in enumerate(header) if name.startswith("difference pp"))
    assert len(tests["rows"]) == len(expected)
    for row in tests["rows"]:
        treated, control = row[col["comparison"]].split(" − ")
        want = expected[(treated, control)]
        estimate, low, high = parse_interval(row[diff_col])
        assert_shown(row[diff_col].split(" [")[0], want["estimate_pp"])
        assert_shown(row[diff_col].split("[")[1].split(",")[0], want["ci_low_pp"])
        assert_shown(row[diff_col].split(", ")[1].rstrip("]"), want["ci_high_pp"])
        assert_shown(row[col["p"]], want["p_value"])
        assert_shown(row[col["p adjusted"]], want["p_adjusted"])
        mark = "" if want["calibrated"] else "†"
        assert row[col["method"]] == want["method"] + mark
        assert row[col["seeds"]] == f"{want['n_seeds_treated']} vs {want['n_seeds_control']}"
        # The CLI's verdict word, with the not-calibrated mark where the CLI prints its '*'.
        assert row[col["verdict"]] == verdict_word(want) + mark
        assert row[col["trait"]] == want["trait"] == "owl"


def test_trait_report_summary_counts_match_the_data(trait_report):
    import pandas as pd

    _, tables = trait_report
    summary = next(t for t in tables if "condition" in t["header"] and "seeds" in t["header"])
    col = {name: i for i, name in enumerate(summary["header"])}
    rate_col = next(i for i, name in enumerate(summary["header"]) if name.startswith("rate %"))
    df = pd.read_csv(OWL)
    for row in summary["rows"]:
        arm = df[df["condition"] == row[col["condition"]]]
        assert int(row[col["seeds"]]) == arm["seed"].nunique()
        assert int(row[col["answers"]]) == len(arm)
        # Mean of per-seed rates (each seed has the same questions and answers here).
        per_seed = arm.groupby("seed")["hit"].mean().mean()
        assert_shown(row[rate_col].split(" [")[0], 100 * per_seed)


def test_trait_report_is_self_contained(trait_report):
    text, _ = trait_report
    assert_self_contained(text)
    assert "<script" not in text.lower()  # the fallback's pages carry no JavaScript at all
    assert text.count("<svg") == 2  # the rates and the difference plot, inline
    # The example's 3 + 3 seeds: the default (logit-t, p = 0.10) cannot tell the lift from 0.
    assert 'class="verdict"' in text and "Not shown: the difference between treated" in text
    from subliminal_stats import __version__

    assert f"subliminal-stats {__version__}" in text.split("<footer>")[1]  # the version in the footer
    assert f"Made with subliminal-stats {__version__}" in text


def test_self_containment_check_catches_what_quarto_adds():
    for bad in ('<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js"></script>',
                '<link href="trait_files/libs/bootstrap/bootstrap.min.css" rel="stylesheet">',
                '<img src="trait_files/figure.svg">', "<style>@font-face{src:url(font.woff)}</style>",
                '<p>see https://example.org</p>'):
        with pytest.raises(AssertionError):
            assert_self_contained(f"<html><body>{bad}</body></html>")
    assert_self_contained('<svg xmlns="http://www.w3.org/2000/svg"><use href="#a"/></svg>'
                          '<img src="data:image/png;base64,AAAA"><script>/* https://getbootstrap.com */</script>')


def test_trait_report_has_a_methods_paragraph_for_this_design(trait_report):
    text, _ = trait_report
    methods = re.search(r'<h2 id="methods">Methods</h2>\s*<p>(.*?)</p>', text, re.S).group(1)
    from subliminal_stats.report.sections import design_calibration
    from subliminal_stats.stats import DEFAULT_METHOD

    cal = design_calibration(DEFAULT_METHOD, 3)
    assert "3 treated and 3 control seeds" in methods and "20 questions, 200 answers per seed" in methods
    assert "degrees of freedom" in methods and "Holm across 1 trait(s)" in methods
    assert f"rejected {100 * cal['fpr']:.1f} % of the time" in methods
    assert f"In {cal['n_sims']:,} simulated null experiments" in methods
    # The statistics guide ships in the package and is the appendix (no dead docs/ link).
    assert "docs/STATISTICS.md" not in text
    assert '<h2 id="appendix-the-statistics-guide">' in text and "What the statistics must get right" in text


# --- the renderer itself -----------------------------------------------------------------

QMD = """---
title: "Check"
execute:
  echo: false
---

Intro with *emphasis*.

```{python}
#| tags: [parameters]
n = 2
label = "a"
```

```{python}
#| output: asis
print(f"n is **{n}** and label {label}")
```

```{python}
#| echo: true
squares = [i * i for i in range(n)]
squares
```

```{python}
#| include: false
hidden = "never shown"
print(hidden)
```

```python
plain fenced code is Markdown, not run
```
"""


def test_parse_qmd_splits_header_cells_and_options():
    doc = parse_qmd(QMD, source="check.qmd")
    assert doc.front_matter["title"] == "Check"
    code = [c for c in doc.chunks if c.kind == "code"]
    assert len(code) == 4
    assert code[0].is_parameters and not code[1].is_parameters
    assert code[1].options == {"output": "asis"}
    assert code[2].options == {"echo": True}
    assert "plain fenced code" in doc.chunks[-1].text


def test_parameters_are_injected_after_the_parameters_cell(tmp_path):
    qmd = tmp_path / "check.qmd"
    qmd.write_text(QMD)
    page = render_fallback(qmd, tmp_path / "out", params={"n": 4, "label": "b"}).read_text()
    assert "n is <strong>4</strong> and label b" in page
    assert "[0, 1, 4, 9]" in page  # the last expression's value, computed with n = 4
    assert "squares = [i * i" in page  # echo: true shows the code
    assert "never shown" not in page  # include: false
    assert "plain fenced code is Markdown" in page
    assert "<em>emphasis</em>" in page


def test_unknown_parameter_and_failing_cell_are_one_line_errors(tmp_path):
    qmd = tmp_path / "check.qmd"
    qmd.write_text(QMD)
    with pytest.raises(InputError, match=r"has no parameter 'm' \(its parameters: label, n\)"):
        render_fallback(qmd, tmp_path / "out", params={"m": 1})
    broken = tmp_path / "broken.qmd"
    broken.write_text("```{python}\nx = 1 / 0\n```\n")
    with pytest.raises(InputError) as info:
        render_fallback(broken, tmp_path / "out")
    assert "line 1 failed: ZeroDivisionError" in str(info.value)
    assert "\n" not in str(info.value)


def test_other_languages_and_unclosed_cells_are_refused():
    with pytest.raises(InputError, match="'r' cell"):
        parse_qmd("```{r}\n1\n```\n", source="x.qmd")
    with pytest.raises(InputError, match="never closed"):
        parse_qmd("```{python}\n1\n", source="x.qmd")


def test_altair_chart_becomes_inline_svg_with_unique_ids(tmp_path):
    qmd = tmp_path / "charts.qmd"
    qmd.write_text(
        "```{python}\nimport altair as alt, pandas as pd\n"
        "df = pd.DataFrame({'x': ['a', 'b'], 'y': [1, 2]})\n"
        "display(alt.Chart(df).mark_bar().encode(x='x', y='y'))\n"
        "alt.Chart(df).mark_point().encode(x='x', y='y')\n```\n"
    )
    doc = parse_qmd(qmd.read_text(), source=str(qmd))
    outputs = [o for _, outs in execute_qmd(doc) for o in outs]
    assert [o.kind for o in outputs] == ["html", "html"]
    assert all(o.content.startswith('<figure class="chart"><svg') for o in outputs)
    ids = re.findall(r'\bid="([^"]+)"', "".join(o.content for o in outputs))
    assert len(ids) == len(set(ids))


# --- the CLI -----------------------------------------------------------------------------


def test_report_trait_cli_says_which_renderer(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no quarto here: the fallback must be used
    code = main(["report", "trait", str(OWL), "--param", "trait=owl", "--out", str(tmp_path),
                 "--figures"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == str(tmp_path / "trait.html")
    assert "fallback renderer" in err
    assert (tmp_path / "trait.html").stat().st_size > 10_000
    # --figures: each chart, named after its cell label, in three formats.
    assert "2 figure(s) as SVG, PNG (2×) and PDF" in err
    for stem in ("trait-rates", "trait-differences"):
        assert (tmp_path / "figures" / f"{stem}.svg").read_text().startswith("<svg")
        assert (tmp_path / "figures" / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / "figures" / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"


def test_report_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(["report", "trait", "--data", str(OWL), "--param", "trait=dog", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "trait 'dog' is not in" in err and "Traceback" not in err
    assert main(["report", "novel", "--out", str(tmp_path)]) == 2
    assert "unknown report 'novel'" in capsys.readouterr().err
    assert main(["report", "trait", "--param", "oops", "--out", str(tmp_path)]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["report", "trait", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_render_report_pdf_without_quarto_or_chromium_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither quarto nor chromium
    with pytest.raises(InputError, match="--format pdf needs Quarto"):
        render_report("trait", tmp_path, params={"data": str(OWL)}, fmt="pdf")


# --- Quarto: the command line we pass, and a stand-in that demands what Quarto demands ---------

STANDIN = Path(__file__).with_name("quarto_standin.py")


def _quarto_on_path(tmp_path: Path, monkeypatch) -> Path:
    """Put a `quarto` on PATH that logs its arguments and front matter, then runs the stand-in
    with QUARTO_PYTHON, as real Quarto runs its Jupyter engine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "quarto-args.txt"
    fake = bin_dir / "quarto"
    fake.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {log}\n'
        f'echo "CWD=$(pwd)" >> {log}\n'
        f'echo "QUARTO_PYTHON=$QUARTO_PYTHON" >> {log}\n'
        f'cp "$2" {tmp_path}/rendered-copy.qmd; [ -f _quarto.yml ] && cp _quarto.yml {tmp_path}/rendered-_quarto.yml\n'
        f'exec "$QUARTO_PYTHON" {STANDIN} "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return log


@pytest.fixture(scope="module")
def quarto_trait(tmp_path_factory) -> tuple[Path, Path, str]:
    tmp = tmp_path_factory.mktemp("quarto")
    with pytest.MonkeyPatch.context() as mp:
        log = _quarto_on_path(tmp, mp)
        result = render_report("trait", tmp / "out", params={"data": str(OWL), "trait": "owl"}, figures=True)
    assert result.renderer == "quarto"
    return result.path, tmp, log.read_text()


def test_quarto_command_line_and_front_matter(quarto_trait):
    path, tmp, args_text = quarto_trait
    args = args_text.splitlines()
    # Exactly: render the copy in its own temporary folder, to HTML, parameters through -P.
    assert args[:4] == ["render", "trait.qmd", "--to", "html"]
    params = [args[i + 1] for i, a in enumerate(args) if a == "-P"]
    assert sorted(params) == sorted([f"data:{OWL.resolve()}", "trait:owl"])
    cwd = next(a for a in args if a.startswith("CWD=")).removeprefix("CWD=")
    assert Path(cwd) != ROOT / "reports" and "subliminal-report-" in cwd  # a temporary copy
    assert next(a for a in args if a.startswith("QUARTO_PYTHON=")).endswith("python")
    # The front matter and project file Quarto read: HTML embeds every resource, no output-dir.
    import yaml

    front = yaml.safe_load((tmp / "rendered-copy.qmd").read_text().split("---")[1])
    assert front["format"]["html"]["embed-resources"] is True and front["jupyter"] == "python3"
    project = yaml.safe_load((tmp / "rendered-_quarto.yml").read_text())
    assert project["format"]["html"]["embed-resources"] is True
    assert "output-dir" not in project["project"]
    assert render.quarto_command(Path("/x/paper.qmd"), fmt="pdf") == ["quarto", "render", "paper.qmd", "--to", "typst"]


def test_quarto_output_is_self_contained_with_the_figures_exported(quarto_trait):
    path, _, _ = quarto_trait
    page = path.read_text(encoding="utf-8")
    # The stand-in adds jquery/requirejs for any HTML display output, as Quarto does: none here.
    assert_self_contained(page)
    assert "require.min.js" not in page and "jquery" not in page
    assert page.count("<svg") == 2
    for stem in ("trait-rates", "trait-differences"):
        for suffix in (".svg", ".png", ".pdf"):
            assert (path.parent / "figures" / f"{stem}{suffix}").stat().st_size > 500


def test_quarto_and_fallback_give_the_same_numbers_and_verdicts(quarto_trait, trait_report):
    path, _, _ = quarto_trait
    quarto_tables = tables_of(path.read_text(encoding="utf-8"))
    fallback_text, fallback_tables = trait_report
    assert len(quarto_tables) == len(fallback_tables) >= 3
    for q, f in zip(quarto_tables, fallback_tables, strict=True):
        assert q["caption"] == f["caption"] and q["header"] == f["header"]
        assert q["rows"] == f["rows"]  # every number and verdict, as printed
    verdict = re.search(r'<p class="verdict">(.*?)</p>', fallback_text).group(1)
    assert f'<p class="verdict">{verdict}</p>' in path.read_text(encoding="utf-8")


def test_shipped_reports_folder_is_never_written(quarto_trait, trait_report):
    from subliminal_stats.bundled import resource

    shipped = sorted(p.name for p in resource("reports").iterdir())
    assert shipped == sorted(["STATISTICS.md", "_quarto.yml", "paper.qmd", "trait.qmd"]), shipped


def test_quarto_failure_names_the_cause_and_keeps_the_log(tmp_path, capsys, monkeypatch):
    _quarto_on_path(tmp_path, monkeypatch)
    code = main(["report", "trait", str(OWL), "--param", "trait=dog", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    line = " ".join(err.split())  # rich wraps long lines
    assert "quarto render trait.qmd failed: InputError: trait 'dog' is not in" in line
    log = tmp_path / "out" / "trait.quarto.log"
    assert f"full log: {log}" in line
    text = log.read_text()
    assert "WARN: Error encountered when rendering files" in text and "InputError" in text


def test_quarto_error_cause_reads_past_the_last_line():
    transcript = (
        "Starting python3 kernel...Done\n\nAn error occurred while executing the following cell:\n"
        "------------------\ncheck = sections.trait_check(data)\n------------------\n\n"
        "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
        "\x1b[0;31mInputError\x1b[0m                                Traceback (most recent call last)\n"
        "\x1b[0;31mInputError\x1b[0m: trait 'dog' is not in x.csv (its traits: owl)\n\n"
        "WARN: Error encountered when rendering files\n")
    assert render.quarto_error_cause(transcript) == "InputError: trait 'dog' is not in x.csv (its traits: owl)"
    assert render.quarto_error_cause("ERROR: YAMLException: bad\nWARN: Error encountered when rendering files") \
        == "ERROR: YAMLException: bad"


def _python_without(tmp_path: Path, keep: tuple[str, ...]) -> list[str]:
    """This Python with no site-packages but copies of ``keep`` (+ PyYAML) on its path."""
    import importlib.util

    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    for name in ("yaml", *keep):
        origin = Path(importlib.util.find_spec(name).origin).parent
        if not (lib / name).exists():
            shutil.copytree(origin, lib / name)
    return [sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {str(lib)!r}); "
            f"sys.argv = [{str(STANDIN)!r}] + sys.argv[1:]; exec(open({str(STANDIN)!r}).read())"]


def test_standin_demands_the_kernel_papermill_and_a_valid_front_matter(tmp_path):
    import subprocess

    qmd = tmp_path / "trait.qmd"
    shutil.copy(ROOT / "reports" / "trait.qmd", qmd)
    bare = subprocess.run([*_python_without(tmp_path, ()), "render", str(qmd), "--to", "html"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert bare.returncode == 1 and "Jupyter is not available" in bare.stderr
    assert not (tmp_path / "trait.html").exists()
    # A kernel, but no papermill: -P is refused as Quarto refuses it.
    (tmp_path / "stubs").mkdir()
    for name in ("ipykernel", "nbclient", "jupyter_core"):
        (tmp_path / "stubs" / name).mkdir()
        (tmp_path / "stubs" / name / "__init__.py").write_text("")
    command = _python_without(tmp_path, ())
    command[-1] = command[-1].replace("sys.path.insert(0,", f"sys.path[:0] = [{str(tmp_path / 'stubs')!r}]; sys.path.insert(0,")
    no_papermill = subprocess.run([*command, "render", str(qmd), "--to", "html", "-P", "trait:owl"],
                                  capture_output=True, text=True, cwd=tmp_path)
    assert no_papermill.returncode == 1 and "The papermill package is required" in no_papermill.stderr
    # An unknown front-matter key or invalid YAML: refused before anything runs.
    for header in ("title: x\nformt: html\n", "title: [unclosed\n"):
        qmd.write_text(f"---\n{header}---\n\n```{{python}}\n1\n```\n")
        done = subprocess.run([sys.executable, str(STANDIN), "render", str(qmd), "--to", "html"],
                              capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 1 and ("unknown key" in done.stderr or "YAMLException" in done.stderr)


def test_auto_falls_back_when_quarto_lacks_its_kernel(tmp_path, monkeypatch):
    _quarto_on_path(tmp_path, monkeypatch)
    monkeypatch.setattr(render, "missing_quarto_modules", lambda *, params: ["ipykernel", "nbclient"])
    result = render_report("trait", tmp_path / "out", params={"data": str(OWL)})
    assert result.renderer == "fallback" and "subliminal-stats[report]" in result.reason
    with pytest.raises(InputError, match=r"lacks ipykernel, nbclient: pip install 'subliminal-stats\[report\]'"):
        render_report("trait", tmp_path / "out2", params={"data": str(OWL)}, renderer="quarto")


def test_export_verdicts_equal_the_reports(trait_report, tmp_path, capsys):
    """Same input, same family (one trait, Holm): the exported table is the report's table."""
    _, tables = trait_report
    report_tests = next(t for t in tables if "comparison" in t["header"])
    out = tmp_path / "tests.html"
    assert main(["export", str(OWL), "--trait", "owl", "--what", "tests", "-o", str(out)]) == 0
    exported = tables_of(out.read_text(encoding="utf-8"))[0]
    assert exported["header"] == report_tests["header"] and exported["rows"] == report_tests["rows"]
    assert "Holm across 1 trait(s)" in out.read_text(encoding="utf-8")
    md = tmp_path / "tests.md"
    assert main(["export", str(OWL), "--trait", "owl", "-o", str(md)]) == 0
    verdicts = [line.split(" | ")[-1].rstrip(" |") for line in md.read_text().splitlines() if line.startswith("| owl |")]
    col = report_tests["header"].index("verdict")
    assert verdicts == [row[col] for row in report_tests["rows"]]


def test_a_users_own_qmd_runs_in_its_folder(tmp_path):
    """Shipped reports render from a temporary copy; a user's .qmd keeps its relative paths."""
    (tmp_path / "numbers.txt").write_text("41")
    qmd = tmp_path / "mine.qmd"
    qmd.write_text("```{python}\n#| output: asis\nprint(int(open('numbers.txt').read()) + 1)\n```\n")
    page = render_fallback(qmd, tmp_path / "out").read_text()
    assert "<p>42</p>" in page
    assert not render.is_shipped(qmd) and render.is_shipped(render.report_path("trait"))
