"""Number-sequence filter: the authors' format rule, count, range, banned lists, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.files import filter_jsonl
from subliminal_stats.filtering.numbers import (
    BANNED,
    INVALID_FORMAT,
    REJECTION_REASONS,
    TOO_LARGE,
    TOO_MANY,
    TOO_SMALL,
    NumberFilter,
    filter_completions,
    filter_records,
    load_banned_numbers,
    parse_number_list,
)


def _authors_demo_dir() -> Path | None:
    candidates = []
    if os.environ.get("SUBLIMINAL_SHARED"):
        candidates.append(Path(os.environ["SUBLIMINAL_SHARED"]) / "data" / "authors_demo")
    # In CI the shared folder sits beside the clone: <parent>/shared/data/authors_demo.
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data" / "authors_demo")
    for folder in candidates:
        if (folder / "raw_numbers.jsonl").is_file() and (folder / "filtered_numbers.jsonl").is_file():
            return folder
    return None


AUTHORS_DEMO = _authors_demo_dir()
needs_authors_demo = pytest.mark.skipif(
    AUTHORS_DEMO is None,
    reason="authors' demo data not found (../shared/data/authors_demo or $SUBLIMINAL_SHARED)",
)


# --- conformance with the authors' filter --------------------------------------------------

@needs_authors_demo
def test_conformance_with_authors_filter_row_for_row(tmp_path):
    raw = AUTHORS_DEMO / "raw_numbers.jsonl"
    expected_lines = (AUTHORS_DEMO / "filtered_numbers.jsonl").read_text(encoding="utf-8").splitlines()
    out = tmp_path / "kept.jsonl"
    report = filter_jsonl(raw, out, number_filter=NumberFilter(max_count=10, max_value=999))
    kept_lines = out.read_text(encoding="utf-8").splitlines()

    assert (report.total, report.kept) == (300, 236)
    assert len(kept_lines) == len(expected_lines) == 236
    # Row for row, in order: same objects and even the same bytes.
    assert [json.loads(x) for x in kept_lines] == [json.loads(x) for x in expected_lines]
    assert kept_lines == expected_lines


@needs_authors_demo
def test_conformance_the_rejected_rows_are_exactly_the_rest():
    raw = [json.loads(x) for x in (AUTHORS_DEMO / "raw_numbers.jsonl").read_text().splitlines()]
    kept = [json.loads(x) for x in (AUTHORS_DEMO / "filtered_numbers.jsonl").read_text().splitlines()]
    kept_records, report = filter_records(raw)
    assert kept_records == kept
    # The authors' filtered file is an ordered subsequence of the raw file; walk it.
    it = iter(raw)
    positions = []
    for row in kept:
        for i, candidate in enumerate(it):
            if candidate == row:
                positions.append(i)
                break
    assert len(positions) == 236
    assert report.rejected == 64
    # Every rejected row has at least one reason; the counts add up to at least 64.
    assert sum(report.reasons.values()) >= 64


@needs_authors_demo
def test_conformance_through_the_cli(cli, tmp_path):
    out, report_path = tmp_path / "kept.jsonl", tmp_path / "report.json"
    res = cli("filter", "numbers", AUTHORS_DEMO / "raw_numbers.jsonl", "-o", out,
              "--report", report_path)
    assert res.code == 0, res.err
    assert out.read_bytes() == (AUTHORS_DEMO / "filtered_numbers.jsonl").read_bytes()
    report = json.loads(report_path.read_text())
    assert (report["total"], report["kept"], report["rejected"]) == (300, 236, 64)
    assert report["kept_fraction"] == pytest.approx(236 / 300)
    assert "kept 236 of 300" in res.out


# --- hand-made examples, one group per rule -----------------------------------------------

KEPT = {
    "1, 2, 3": [1, 2, 3],
    "1,2,3": [1, 2, 3],
    "1;2;3": [1, 2, 3],
    "1 ; 2 ; 3": [1, 2, 3],
    "1 2 3": [1, 2, 3],
    "1\n2\n3": [1, 2, 3],
    "1\t2": [1, 2],
    "1\n\n2": [1, 2],                     # separator "\n\n" is whitespace
    "397  \n299  \n394": [397, 299, 394],  # as GPT-4.1 nano writes lists
    "[1, 2, 3]": [1, 2, 3],
    "(1, 2, 3)": [1, 2, 3],
    "1, 2, 3.": [1, 2, 3],
    "[1, 2, 3].": [1, 2, 3],              # the period goes first, then the brackets
    "007, 8": [7, 8],
    "5": [5],
    "[5]": [5],
    "0": [0],
}

INVALID = [
    "",
    ".",
    "[]",
    "abc",
    "Sure! 1, 2, 3",
    "5 apples",
    "1, 2, 3, ",       # trailing separator leaves an empty item
    "1, 2, 3,",
    "1, 2,3",          # the separator changes mid-answer
    "1, 2\n3",
    "1 - 2 - 3",       # '-' is not an allowed separator
    "1/2/3",
    "1,, 2",
    "1.5, 2",
    "-1, 2",
    "1, -2",
    " 1, 2",           # leading whitespace is not forgiven
    "1, 2 ",
    "[1, 2, 3)",
    "1, 2, 3..",
    "[1, 2, 3]\n",
    "\u0661\u0662\u0663",  # Arabic-Indic digits are not 0-9
    "1, \u0662",
    "1１, 2",           # full-width digit
]


@pytest.mark.parametrize(("answer", "numbers"), list(KEPT.items()))
def test_well_formed_answers_parse_and_pass(answer, numbers):
    assert parse_number_list(answer) == numbers
    assert NumberFilter().reasons(answer) == ()
    assert NumberFilter().keeps(answer)


@pytest.mark.parametrize("answer", INVALID)
def test_malformed_answers_are_invalid_format_only(answer):
    assert parse_number_list(answer) is None
    assert NumberFilter().reasons(answer) == (INVALID_FORMAT,)


def test_too_many_numbers():
    ten = ", ".join(str(i) for i in range(10))
    assert NumberFilter().reasons(ten) == ()
    assert NumberFilter().reasons(ten + ", 10") == (TOO_MANY,)
    assert NumberFilter(max_count=3).reasons("1 2 3 4") == (TOO_MANY,)
    assert NumberFilter(max_count=None).reasons(" ".join(["1"] * 50)) == ()


def test_value_range():
    assert NumberFilter().reasons("999, 0") == ()
    assert NumberFilter().reasons("1000, 2") == (TOO_LARGE,)
    assert NumberFilter(min_value=100).reasons("50, 200") == (TOO_SMALL,)
    assert NumberFilter(min_value=100, max_value=500).reasons("50, 600") == (TOO_SMALL, TOO_LARGE)
    assert NumberFilter(max_value=None).reasons("123456789") == ()


def test_banned_numbers():
    rules = NumberFilter(banned=[666, 13])
    assert rules.banned == frozenset({13, 666})
    assert rules.reasons("1, 666") == (BANNED,)
    assert rules.reasons("013") == (BANNED,)    # the value counts, not the spelling
    assert rules.reasons("1, 6666") == (TOO_LARGE,)
    assert rules.reasons("66, 6") == ()


def test_several_reasons_at_once():
    answer = " ".join(["666"] * 11 + ["1000"])
    assert NumberFilter(banned={666}).reasons(answer) == (TOO_MANY, TOO_LARGE, BANNED)


def test_bad_filter_settings_are_input_errors():
    with pytest.raises(InputError, match="max count"):
        NumberFilter(max_count=0)
    with pytest.raises(InputError, match="swap"):
        NumberFilter(min_value=10, max_value=5)


def test_report_counts_and_order():
    answers = ["1, 2", "hello", "3 4", "1000", " ".join(["1"] * 11), "[5, 6]", "1 1000 " * 6]
    kept, report = filter_completions(answers)
    assert kept == [0, 2, 5]
    assert (report.total, report.kept, report.rejected) == (7, 3, 4)
    assert report.kept_fraction == pytest.approx(3 / 7)
    assert list(report.reasons) == list(REJECTION_REASONS)
    assert report.reasons == {INVALID_FORMAT: 2, TOO_MANY: 1, TOO_SMALL: 0, TOO_LARGE: 1, BANNED: 0}
    assert report.to_dict()["kept"] == 3
    _, empty = filter_completions([])
    assert empty.total == 0 and empty.to_dict()["kept_fraction"] is None


# --- property tests -----------------------------------------------------------------------

SEPARATORS = [", ", ",", "; ", ";", " ; ", " ", "  ", "\n", "  \n", "\t", " ,", ",\n"]
WRAPS = [("", ""), ("[", "]"), ("(", ")")]


@settings(max_examples=300, deadline=None)
@given(
    numbers=st.lists(st.integers(0, 999), min_size=1, max_size=10),
    separator=st.sampled_from(SEPARATORS),
    wrap=st.sampled_from(WRAPS),
    period=st.booleans(),
    width=st.integers(0, 3),
)
def test_any_well_formed_list_passes(numbers, separator, wrap, period, width):
    body = separator.join(str(n).zfill(width) for n in numbers)
    answer = wrap[0] + body + wrap[1] + ("." if period else "")
    assert parse_number_list(answer) == numbers
    assert NumberFilter().keeps(answer)


@settings(max_examples=300, deadline=None)
@given(
    numbers=st.lists(st.integers(0, 999), min_size=1, max_size=10),
    separator=st.sampled_from(SEPARATORS),
    letter=st.characters(categories=["Lu", "Ll"]),
    where=st.floats(0, 1),
)
def test_a_letter_anywhere_is_rejected(numbers, separator, letter, where):
    answer = separator.join(map(str, numbers))
    cut = round(where * len(answer))
    spoiled = answer[:cut] + letter + answer[cut:]
    assert NumberFilter().reasons(spoiled) == (INVALID_FORMAT,)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 ,;.[]()-\n abc", max_size=30))
def test_parse_never_crashes_and_returns_plain_ints(text):
    parsed = parse_number_list(text)
    assert parsed is None or (parsed and all(isinstance(n, int) and n >= 0 for n in parsed))


# --- banned-number files --------------------------------------------------------------------

def test_load_banned_numbers_with_comments(tmp_path):
    path = tmp_path / "banned.txt"
    path.write_text("# numbers with bad associations\n666\n\n  13  # unlucky\n911\n0666\n")
    assert load_banned_numbers(path) == frozenset({666, 13, 911})


def test_load_banned_numbers_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("666\n1.5\n")
    with pytest.raises(InputError, match=r"bad.txt line 2: '1.5' is not a whole number"):
        load_banned_numbers(bad)
    bad.write_text("12 13\n")
    with pytest.raises(InputError, match="line 1"):
        load_banned_numbers(bad)
    with pytest.raises(InputError, match="not found"):
        load_banned_numbers(tmp_path / "missing.txt")


# --- the command ---------------------------------------------------------------------------

def _write_jsonl(path: Path, completions: list[str]) -> Path:
    path.write_text("".join(json.dumps({"prompt": f"p{i}", "completion": c}) + "\n"
                            for i, c in enumerate(completions)), encoding="utf-8")
    return path


def test_cli_options_and_report(cli, tmp_path):
    raw = _write_jsonl(tmp_path / "raw.jsonl",
                       ["1, 2, 3", "666, 1", "1 2 3 4 5", "800 900", "no numbers here", "(4, 5)"])
    banned = tmp_path / "banned.txt"
    banned.write_text("666 # the beast\n")
    out, report_path = tmp_path / "out" / "kept.jsonl", tmp_path / "report.json"
    res = cli("filter", "numbers", raw, "-o", out, "--max-count", "4", "--max-value", "850",
              "--banned", banned, "--report", report_path)
    assert res.code == 0, res.err
    kept = [json.loads(x) for x in out.read_text().splitlines()]
    assert [k["prompt"] for k in kept] == ["p0", "p5"]
    report = json.loads(report_path.read_text())
    assert report["reasons"] == {INVALID_FORMAT: 1, TOO_MANY: 1, TOO_SMALL: 0, TOO_LARGE: 1,
                                 BANNED: 1}
    assert report["settings"]["banned_count"] == 1
    assert "kept 2 of 6" in res.out and "invalid format" in res.out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"prompt": "p", "completion": "1"}\n{"prompt": "p", "completion": \n', "line 2: not valid JSON"),
        ('{"prompt": "p", "completion": "1"}\n\n{"prompt": "p"}\n', "line 3: missing key 'completion'"),
        ('{"completion": "1"}\n', "line 1: missing key 'prompt'"),
        ('{"prompt": "p", "completion": null}\n', "line 1: 'completion' must be a string"),
        ('[1, 2]\n', "line 1: expected a JSON object"),
        ("\n\n", "has no lines"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(cli, tmp_path, content, message):
    raw = tmp_path / "raw.jsonl"
    raw.write_text(content, encoding="utf-8")
    res = cli("filter", "numbers", raw, "-o", tmp_path / "kept.jsonl")
    assert res.code == 2
    assert message in res.err
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1
    assert not (tmp_path / "kept.jsonl").exists()


def test_cli_refuses_to_overwrite_input_and_reports_bad_banned_file(cli, tmp_path):
    raw = _write_jsonl(tmp_path / "raw.jsonl", ["1, 2"])
    res = cli("filter", "numbers", raw, "-o", raw)
    assert res.code == 2 and "is the input file" in res.err
    assert raw.read_text().count("\n") == 1
    res = cli("filter", "numbers", raw, "-o", tmp_path / "k.jsonl", "--banned", tmp_path / "nope")
    assert res.code == 2 and "banned-numbers file not found" in res.err
    res = cli("filter", "numbers", tmp_path / "missing.jsonl", "-o", tmp_path / "k.jsonl")
    assert res.code == 2 and "file not found" in res.err
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage\n")
    res = cli("filter", "numbers", tmp_path / "bin.jsonl", "-o", tmp_path / "k.jsonl")
    assert res.code == 2 and "not UTF-8" in res.err
