"""Table export: number formatting, LaTeX (booktabs, escaping, compiles), Markdown, HTML, CSV, CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from subliminal_stats.cli import main
from subliminal_stats.errors import InputError
from subliminal_stats.report.tables import (
    Table,
    export_table,
    format_interval,
    format_number,
    format_p,
    interval_digits,
    latex_document,
    latex_escape,
    make_table,
    to_html,
    to_latex,
    to_markdown,
)

ROOT = Path(__file__).resolve().parents[2]
OWL = ROOT / "data" / "examples" / "owl_example.csv"


# --- formatting --------------------------------------------------------------------------


def test_numbers_round_once_and_use_a_true_minus():
    assert format_number(18.5) == "18.5"
    assert format_number(-3.75) == "−3.8"  # round half to even on the binary value 3.75 → 3.8
    assert format_number(-0.04) == "0.0"  # no "−0.0"
    assert format_number(float("nan")) == "–"
    assert format_interval(18.5, 1.541953, 35.458047) == "18.5 [1.5, 35.5]"
    assert format_interval(0.123, -0.04, 2.0, digits=2) == "0.12 [−0.04, 2.00]"


def test_p_values_have_one_format():
    assert format_p(0.038822) == "0.039"
    assert format_p(0.001) == "0.001"
    assert format_p(0.00042) == "4.2e-04"
    assert format_p(1.0) == "1.000"
    assert format_p(float("nan")) == "–"


def test_latex_escape_covers_the_special_characters():
    assert latex_escape("a_b 5% R&D $x #1 {y} ~ ^") == (
        r"a\_b 5\% R\&D \$x \#1 \{y\} \textasciitilde{} \textasciicircum{}"
    )
    assert latex_escape("back\\slash") == r"back\textbackslash{}slash"
    assert latex_escape("treated − control, α") == r"treated $-$ control, $\alpha$"


# --- LaTeX structure ---------------------------------------------------------------------

_SPECIALS_UNESCAPED = re.compile(r"(?<!\\)[_%&#$]")


def _check_latex(text: str) -> None:
    """Balanced environments and braces, booktabs rules, no unescaped special character in cells."""
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]+)\}", text):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} does not close the last environment"
    assert not stack, f"unclosed environments: {stack}"
    depth = 0
    for i, ch in enumerate(text):
        if ch in "{}" and (i == 0 or text[i - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    assert text.count(r"\toprule") == 1 and text.count(r"\midrule") == 1 and text.count(r"\bottomrule") == 1
    body = text.split(r"\midrule")[1].split(r"\bottomrule")[0]
    header = text.split(r"\toprule")[1].split(r"\midrule")[0]
    n_columns = len(re.search(r"\\begin\{tabular\}\{([lrc]+)\}", text).group(1))
    for line in filter(str.strip, (header + body).splitlines()):
        cells = re.split(r"(?<!\\)&", line.removesuffix(r"\\").strip())
        assert len(cells) == n_columns, line
        for cell in cells:
            # $...$ math is allowed; outside it, every special character must be escaped.
            plain = re.sub(r"\$[^$]*\$", "", cell.replace(r"\$", ""))
            assert not _SPECIALS_UNESCAPED.search(plain), cell


@pytest.fixture(scope="module")
def tidy_tests() -> pd.DataFrame:
    from subliminal_stats.data.schema import read_responses
    from subliminal_stats.stats import compare, results_frame

    return results_frame(compare(read_responses(OWL), base="base"))


@pytest.fixture(scope="module")
def tidy_summary() -> pd.DataFrame:
    from subliminal_stats.data.schema import read_responses
    from subliminal_stats.stats import summarize

    return summarize(read_responses(OWL))


def test_latex_tables_are_booktabs_with_caption_and_method_note(tidy_tests, tidy_summary):
    tests_tex = to_latex(make_table("tests", tidy_tests))
    _check_latex(tests_tex)
    assert r"\caption{Treated minus reference in percentage points with 95 \% CI, per trait.}" in tests_tex
    from subliminal_stats.stats import DEFAULT_METHOD

    assert f"Method: {DEFAULT_METHOD}" in tests_tex and "3 vs 3" in tests_tex
    row = tidy_tests.iloc[0]
    shown = format_interval(row["estimate_pp"], row["ci_low_pp"], row["ci_high_pp"],
                            interval_digits(tidy_tests["ci_low_pp"], tidy_tests["ci_high_pp"])).replace("−", "$-$")
    assert shown in tests_tex
    summary_tex = to_latex(make_table("summary", tidy_summary))
    _check_latex(summary_tex)
    assert "control: 3; treated: 3" in summary_tex


def test_latex_escapes_awkward_labels():
    frame = pd.DataFrame({"trait_name": ["owl_50%", "R&D #1"], "value": ["1.0 [0.5, 1.5]", "−2.0 [−3.0, −1.0]"]})
    tex = to_latex(Table(frame, caption="Rates in % for a_b", note="x & y"))
    _check_latex(tex)
    assert r"owl\_50\%" in tex and r"R\&D \#1" in tex and r"trait\_name" in tex
    assert "{lr}" in tex  # text left, numbers right


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_exported_latex_compiles_with_pdflatex(tidy_tests, tidy_summary, tmp_path):
    body = to_latex(make_table("tests", tidy_tests)) + to_latex(make_table("summary", tidy_summary))
    body += to_latex(Table(pd.DataFrame({"a_b": ["50%"], "c": ["−1.0 [−2.0, 0.0]"]}), "R&D", "α = 5%"))
    source = tmp_path / "tables.tex"
    source.write_text(latex_document(body), encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "tables.pdf").read_bytes()[:5] == b"%PDF-"


# --- Markdown and HTML -------------------------------------------------------------------


def test_markdown_table_shape_and_escaping():
    frame = pd.DataFrame({"label": ["a|b", "c"], "estimate": ["1.0 [0.0, 2.0]", "3.0 [2.0, 4.0]"]})
    md = to_markdown(Table(frame, caption="Cap", note="Note"))
    lines = md.splitlines()
    assert lines[0] == "**Cap**"
    assert lines[2] == "| label | estimate |"
    assert lines[3] == "|:---|---:|"
    assert lines[4] == r"| a\|b | 1.0 [0.0, 2.0] |"
    assert lines[-1] == "*Note*"


def test_html_table_escapes_and_keeps_caption_and_note():
    frame = pd.DataFrame({"label": ["<b>x</b> & y"], "n": ["3"]})
    page = to_html(Table(frame, caption="A < B", note="n = seeds"), standalone=True)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page
    assert "<caption>A &lt; B</caption>" in page
    assert '<tfoot><tr><td colspan="2">n = seeds</td></tr></tfoot>' in page
    assert '<td class="num">3</td>' in page
    assert "<script" not in page and "http" not in page


# --- export_table and the CLI ------------------------------------------------------------


def test_csv_export_keeps_the_tidy_numbers(tidy_tests, tmp_path):
    path = export_table(tidy_tests, "tests", "csv", tmp_path / "t.csv")
    back = pd.read_csv(path)
    assert list(back.columns[:13]) == list(tidy_tests.columns[:13])
    assert back["estimate_pp"].tolist() == pytest.approx(tidy_tests["estimate_pp"].tolist(), rel=1e-12)


def test_unknown_format_or_table_is_an_input_error(tidy_tests, tmp_path):
    with pytest.raises(InputError, match="unknown format 'docx'"):
        export_table(tidy_tests, "tests", "docx", tmp_path / "t.docx")
    with pytest.raises(InputError, match="unknown table 'plots'"):
        make_table("plots", tidy_tests)


def test_cli_export_tests_csv_equals_test_json(tmp_path, capsys):
    json_path = tmp_path / "test.json"
    assert main(["test", str(OWL), "--json", str(json_path)]) == 0
    expected = json.loads(json_path.read_text())
    csv_path = tmp_path / "tests.csv"
    assert main(["export", str(OWL), "--what", "tests", "--format", "csv", "-o", str(csv_path)]) == 0
    assert f"→ {csv_path}" in capsys.readouterr().out
    got = pd.read_csv(csv_path)
    assert len(got) == len(expected)
    for row, want in zip(got.to_dict("records"), expected, strict=True):
        for key in ("estimate_pp", "ci_low_pp", "ci_high_pp", "p_value", "p_adjusted"):
            assert row[key] == pytest.approx(want[key], rel=1e-9), key
        assert (row["treated"], row["control"], row["method"]) == (want["treated"], want["control"], want["method"])


@pytest.mark.parametrize("fmt,suffix", [("latex", ".tex"), ("md", ".md"), ("html", ".html")])
def test_cli_export_every_format(fmt, suffix, tmp_path, capsys):
    out = tmp_path / f"summary{suffix}"
    assert main(["export", str(OWL), "--what", "summary", "--format", fmt, "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "16.7 [−3.8, 37.1]" in text.replace("$-$", "−")  # control: per-seed mean and t interval
    if fmt == "latex":
        _check_latex(text)


def test_cli_export_format_from_suffix_and_errors(tmp_path, capsys):
    out = tmp_path / "tests.md"
    assert main(["export", "--data", str(OWL), "--what", "tests", "-o", str(out)]) == 0
    assert out.read_text().startswith("**Treated minus reference")
    assert main(["export", "--data", str(OWL), "--what", "tests", "-o", str(tmp_path / "x.docx")]) == 2
    assert "give --format" in capsys.readouterr().err
    assert main(["export", "--data", str(OWL), "--what", "plots", "-o", str(out)]) == 2
    assert "--what 'plots'" in capsys.readouterr().err
    assert main(["export", "--data", str(tmp_path / "none.csv"), "--what", "tests", "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_export_calibration_from_calibrate_json_and_from_a_design(tmp_path, capsys):
    rows = [
        {"comparison": "vs control", "method": "pooled-t", "n_sims": 400, "rejection_rate": 0.0475,
         "coverage": 0.9525, "mean_ci_width_pp": 20.0, "note": "", "calibrated": True},
        {"comparison": "vs control", "method": "naive-pooled-z", "n_sims": 400, "rejection_rate": 0.65,
         "coverage": None, "mean_ci_width_pp": None, "note": "NAIVE: every answer as independent",
         "calibrated": False},
    ]
    source = tmp_path / "cal.json"
    source.write_text(json.dumps(rows))
    out = tmp_path / "cal.tex"
    assert main(["export", "--data", str(source), "--what", "calibration", "--format", "latex", "-o", str(out)]) == 0
    tex = out.read_text()
    _check_latex(tex)
    assert "pooled-t & 4.8 & 95.2" in tex  # 0.0475 → 4.8 % (round half to even on the binary value)
    assert "naive-pooled-z & 65.0 & -- & no & 400 & NAIVE: every answer as independent" in tex
    assert "Methods: pooled-t, naive-pooled-z; 400 simulations per cell." in tex
    # A responses table: the calibration rows for its design (3 seeds per arm).
    md = tmp_path / "cal.md"
    assert main(["export", "--data", str(OWL), "--what", "calibration", "-o", str(md)]) == 0
    lines = md.read_text().splitlines()
    welch = next(line for line in lines if line.startswith("| welch |"))
    assert welch.split(" | ")[1] == "3"  # the design's 3 seeds per arm
    pooled_z = next(line for line in lines if line.startswith("| naive-pooled-z |"))
    assert float(pooled_z.split(" | ")[2]) > 30  # pooling answers over-rejects grossly


# --- exports agree with the report ---------------------------------------------------------


@pytest.fixture(scope="module")
def uncalibrated_tests() -> pd.DataFrame:
    """A percentile bootstrap with 3 seeds per arm: p small, but the method over-rejects (~13 %)."""
    from subliminal_stats.data.schema import read_responses
    from subliminal_stats.stats import compare, results_frame

    frame = results_frame(compare(read_responses(OWL), method="bootstrap-percentile", n_resamples=2000, rng=1))
    assert not frame["calibrated"].any() and frame["significant"].any()
    return frame


def test_every_format_carries_the_not_calibrated_mark(uncalibrated_tests, tmp_path):
    fpr = 100 * uncalibrated_tests["simulated_fpr"].max()
    texts = {fmt: export_table(uncalibrated_tests, "tests", fmt, tmp_path / f"t.{fmt}").read_text(encoding="utf-8")
             for fmt in ("md", "html", "latex", "csv")}
    for fmt in ("md", "html"):
        assert "transfer†" in texts[fmt] and "bootstrap-percentile†" in texts[fmt]
        assert f"† Not calibrated for this design: bootstrap-percentile (simulated false-positive rate {fpr:.1f} %" \
            in texts[fmt]
        assert "significant" not in texts[fmt]  # the verdict words of `test`, not "significant"
    # LaTeX: a footnote mark on the verdict and the method, explained in the table's note.
    tex = texts["latex"]
    _check_latex(tex)
    assert r"transfer\textsuperscript{\dag}" in tex and r"bootstrap-percentile\textsuperscript{\dag}" in tex
    assert r"\textsuperscript{\dag} Not calibrated for this design" in tex
    back = pd.read_csv(tmp_path / "t.csv")
    assert set(back["verdict"]) <= {"transfer†", "no evidence†"} and not back["calibrated"].any()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_with_the_mark_compiles(uncalibrated_tests, tmp_path):
    (tmp_path / "t.tex").write_text(latex_document(to_latex(make_table("tests", uncalibrated_tests))))
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_export_rng_gives_byte_identical_files(tmp_path, capsys):
    def export(name: str, rng: str) -> bytes:
        out = tmp_path / name
        assert main(["export", str(OWL), "--method", "bootstrap-percentile", "--resamples", "2000",
                     "--rng", rng, "-o", str(out)]) == 0
        return out.read_bytes()

    first, second, other = export("a.md", "1"), export("b.md", "1"), export("c.md", "2")
    assert first == second
    assert first != other  # the seed does reach the bootstrap
    csv = tmp_path / "a.csv"
    for _ in range(2):
        assert main(["export", str(OWL), "--method", "bootstrap-percentile", "--resamples", "2000",
                     "--rng", "1", "-o", str(csv)]) == 0
        data = csv.read_bytes()
    assert data == csv.read_bytes()


def test_export_collects_warnings_into_one_note_line(tmp_path, capsys):
    out = tmp_path / "all.md"
    assert main(["export", str(OWL), "--method", "pooled-t,permutation,lmm", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "UserWarning" not in err and "warnings.warn" not in err and "Traceback" not in err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "warning(s) while computing" in notes[0]
    assert err.strip().count("\n") == 0 or all(not line.startswith("  ") for line in err.splitlines())
    text = out.read_text()
    assert "design cannot reach α" in text  # exact permutation, 3 vs 3 seeds: smallest p 0.10
    assert "[−∞, ∞]" in text  # its interval is unbounded, said so rather than "inf"


def test_export_keeps_the_old_data_flag_and_refuses_its_input_as_output(tmp_path, capsys):
    out = tmp_path / "t.md"
    assert main(["export", "--data", str(OWL), "--what", "tests", "--output", str(out)]) == 0
    copy = tmp_path / "owl.csv"
    shutil.copy(OWL, copy)
    assert main(["export", str(copy), "--format", "csv", "-o", str(copy)]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert copy.read_bytes() == OWL.read_bytes()
