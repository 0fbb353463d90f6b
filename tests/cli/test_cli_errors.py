"""Corrupt-input catalogue: every bad input gives one line on stderr and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from repo_paths import EXAMPLE_CSV, REPO_ROOT

GOOD = pd.DataFrame({
    "trait": ["owl", "owl", "eagle", "eagle"],
    "condition": ["control", "treated", "control", "base"],
    "seed": ["1", "2", "1", "0"],
    "question": ["q1", "q1", "q1", "q1"],
    "hit": [0, 1, 0, 1],
})


def _csv(tmp_path, df=GOOD, name="r.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def _bad_cases(tmp_path):
    """(name, argv, expected message fragment)."""
    cases = []
    cases.append(("missing file", ["check", tmp_path / "nope.parquet"], "file not found"))
    cases.append(("a directory", ["check", tmp_path], "is a directory"))
    txt = tmp_path / "r.txt"
    txt.write_text("trait,condition\n")
    cases.append(("unknown file type", ["check", txt], "unknown file type '.txt'"))
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not really parquet")
    cases.append(("corrupt parquet", ["check", corrupt], "cannot read"))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81\x82" * 20)
    cases.append(("binary csv", ["check", binary], "not UTF-8"))
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"trait": "owl", "condition": "c", "seed": "1", "question": "q", "hit": 1}\n'
                     '\n{"trait": "owl", "condition": \n')
    cases.append(("bad JSONL line", ["check", jsonl], "bad.jsonl line 3: not valid JSON"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cases.append(("empty file", ["check", empty], "is empty"))
    header_only = _csv(tmp_path, GOOD.iloc[:0], "header.csv")
    cases.append(("no rows", ["check", header_only], "has no rows"))
    cases.append(("missing column", ["check", _csv(tmp_path, GOOD.drop(columns="hit"), "m.csv")],
                  "missing column 'hit'"))
    cases.append(("unknown condition", ["check", _csv(tmp_path), "--condition", "treatd"],
                  "unknown condition label 'treatd'"))
    cases.append(("unknown trait", ["check", _csv(tmp_path), "--trait", "cat"],
                  "unknown trait label 'cat'"))
    cases.append(("empty selection",
                  ["check", _csv(tmp_path), "--trait", "eagle", "--condition", "treated"],
                  "the selection is empty: no rows have trait 'eagle' and condition 'treated'"))
    cases.append(("hit = 2", ["check", _csv(tmp_path, GOOD.assign(hit=[0, 1, 2, 0]), "h2.csv")],
                  "column 'hit' must be 0 or 1; row 3 has 2"))
    cases.append(("hit = yes",
                  ["check", _csv(tmp_path, GOOD.assign(hit=["0", "yes", "1", "0"]), "hy.csv")],
                  "column 'hit' must be 0 or 1; row 2 has 'yes'"))
    cases.append(("NaN hit", ["check", _csv(tmp_path, GOOD.assign(hit=[0, None, 1, 0]), "hn.csv")],
                  "row 2 has an empty value (NaN)"))
    cases.append(("NaN seed",
                  ["check", _csv(tmp_path, GOOD.assign(seed=["1", None, "1", "0"]), "sn.csv")],
                  "column 'seed' has an empty value (NaN) at row 2"))
    cases.append(("NaN question",
                  ["check", _csv(tmp_path, GOOD.assign(question=["q1", "q1", None, "q1"]), "qn.csv")],
                  "column 'question' has an empty value (NaN) at row 3"))
    dup = pd.concat([GOOD.assign(sample=0), GOOD.iloc[:1].assign(sample=0)])
    cases.append(("duplicate answer", ["check", _csv(tmp_path, dup, "dup.csv")],
                  "duplicate answer at row 5"))
    authors = tmp_path / "a.jsonl"
    authors.write_text('{"question": "q", "responses": [{"response": {"completion": "Owl"}}]}\n')
    out = tmp_path / "o.parquet"
    cases.append(("seed and seed-from-name",
                  ["ingest", "authors", authors, "--condition", "c", "--seed", "1",
                   "--seed-from-name", "x", "--trait", "owl", "-o", out],
                  "give exactly one of --seed or --seed-from-name"))
    cases.append(("seed pattern does not match",
                  ["ingest", "authors", authors, "--condition", "c", "--seed-from-name",
                   r"seed(\d+)", "--trait", "owl", "-o", out],
                  "does not match the file name 'a.jsonl'"))
    cases.append(("invalid seed regex",
                  ["ingest", "authors", authors, "--condition", "c", "--seed-from-name", "seed(",
                   "--trait", "owl", "-o", out],
                  "is not a valid regex"))
    cases.append(("empty condition",
                  ["ingest", "authors", authors, "--condition", " ", "--seed", "1", "--trait", "owl",
                   "-o", out],
                  "--condition is required and must not be empty"))
    cases.append(("output of unknown type",
                  ["ingest", "authors", authors, "--condition", "c", "--seed", "1", "--trait", "owl",
                   "-o", tmp_path / "o.xlsx"],
                  "unknown file type '.xlsx'"))
    return cases


def test_catalogue_has_at_least_twelve_cases(tmp_path):
    assert len(_bad_cases(tmp_path)) >= 12


@pytest.mark.parametrize("index", range(23))
def test_bad_input_one_line_exit_2(tmp_path, cli, index):
    name, argv, fragment = _bad_cases(tmp_path)[index]
    r = cli(*argv)
    assert r.code == 2, f"{name}: exit {r.code}\n{r.out}\n{r.err}"
    assert fragment in r.err, f"{name}: {r.err!r}"
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1, f"{name}: expected one line, got {r.err!r}"
    assert lines[0].startswith("error: ")
    assert "Traceback" not in r.err + r.out


def test_usage_error_is_exit_2(cli):
    r = cli("check", EXAMPLE_CSV, "--no-such-option")
    assert r.code == 2
    assert "No such option" in r.err


def test_real_process_no_traceback(tmp_path):
    """Through the installed console script in a real process: exit 2, one line, no traceback."""
    exe = [sys.executable, "-c", "from subliminal_stats.cli import entry_point; entry_point()"]
    proc = subprocess.run([*exe, "check", str(tmp_path / "missing.csv")], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: file not found: {tmp_path / 'missing.csv'}"
    assert proc.stdout == ""


def test_help_lists_commands_with_examples(cli):
    r = cli("--help")
    assert r.code == 0
    for command in ("check", "ingest"):
        assert command in r.out
    assert "Examples" in r.out


def test_backend_error_is_one_line_exit_1(cli, monkeypatch):
    """A failed job or exhausted retries (not bad input) → one line, exit code 1."""
    from subliminal_stats.cli import _app
    from subliminal_stats.errors import BackendError

    @_app.app.command("boom-for-test", hidden=True)
    def boom() -> None:
        raise BackendError("fine-tuning job ftjob-1 failed:\n invalid training file")

    try:
        r = cli("boom-for-test")
    finally:
        _app.app.registered_commands[:] = [c for c in _app.app.registered_commands
                                           if c.name != "boom-for-test"]
    assert r.code == 1
    assert r.err.strip() == "error: fine-tuning job ftjob-1 failed: invalid training file"
