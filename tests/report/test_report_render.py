"""The fallback .qmd renderer and the trait report (numbers equal `subliminal-stats test --json`)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from subliminal_stats.cli import main
from subliminal_stats.errors import InputError
from subliminal_stats.report.render import execute_qmd, parse_qmd, render_fallback, render_report

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
        assert row[col["method"]] == want["method"]
        assert row[col["seeds"]] == f"{want['n_seeds_treated']} vs {want['n_seeds_control']}"
        assert row[col["verdict"]] == ("significant" if want["significant"] else "not significant")
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
    assert "<script" not in text.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.I)
    assert "@import" not in text and "url(http" not in text
    assert text.count("<svg") == 2  # the bars and the difference plot, inline
    assert 'class="verdict"' in text and "Yes: the treated students" in text


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
    code = main(["report", "trait", "--data", str(OWL), "--param", "trait=owl", "--out", str(tmp_path),
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


def test_quarto_is_used_when_on_path(tmp_path, capsys, monkeypatch):
    """A stand-in `quarto` records how it is called and writes the file Quarto would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "quarto-args.txt"
    fake = bin_dir / "quarto"
    fake.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {log}\n'
        f'echo "QUARTO_PYTHON=$QUARTO_PYTHON" >> {log}\n'
        'out=""; prev=""\n'
        'for a in "$@"; do if [ "$prev" = "--output-dir" ]; then out="$a"; fi; prev="$a"; done\n'
        'echo "<html>quarto</html>" > "$out/trait.html"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out_dir = tmp_path / "out"
    code = main(["report", "trait", "--data", str(OWL), "--param", "trait=owl", "--param", "confidence_level=0.9",
                 "--out", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip() == str(out_dir / "trait.html") and "rendered with Quarto" in err
    args = log.read_text().splitlines()
    assert args[:2] == ["render", str(ROOT / "reports" / "trait.qmd")]
    assert args[args.index("--to") + 1] == "html"
    assert args[args.index("--output-dir") + 1] == str(out_dir.resolve())
    params = [args[i + 1] for i, a in enumerate(args) if a == "-P"]
    assert sorted(params) == sorted(["trait:owl", "confidence_level:0.9", f"data:{OWL.resolve()}"])
    assert args[-1].startswith("QUARTO_PYTHON=") and args[-1].endswith("python")
    # --renderer fallback ignores Quarto even when it is there.
    assert main(["report", "trait", "--renderer", "fallback", "--out", str(tmp_path / "fb")]) == 0
    assert "fallback renderer" in capsys.readouterr().err
