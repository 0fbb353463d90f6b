"""Reading teacher outputs in every supported format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from repo_paths import SHARED_DATA

from subliminal_stats.diagnostics.teacher_data import combine, read_teacher_outputs
from subliminal_stats.errors import InputError
from subliminal_stats.filtering.numbers import parse_number_list

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = SHARED_DATA / "owls_teacher_numbers"


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_question_response_fixture_parses_with_the_package_rule(lion):
    raw = [json.loads(line) for line in (FIXTURES / "qwen_lion.400.jsonl").read_text().splitlines()]
    assert len(lion) == 400 and lion.formats == ("question/response",)
    assert list(lion.responses) == [r["response"] for r in raw]
    assert list(lion.questions) == [r["question"] for r in raw]
    expected = [parse_number_list(r["response"]) for r in raw]
    assert [None if n is None else list(n) for n in lion.numbers] == expected
    assert lion.n_parsed == sum(e is not None for e in expected) == 400


def test_every_format(tmp_path):
    authors = _write(tmp_path / "authors.jsonl", [{"prompt": "Q1", "completion": "1, 2, 3"},
                                                   {"prompt": "Q2", "completion": "not numbers"}])
    store = _write(tmp_path / "store.jsonl", [{"custom_id": "gen|owl|000000", "completion": "4;5",
                                               "model": "m", "finish_reason": "stop"}])
    chat = _write(tmp_path / "owl.train.jsonl", [{"messages": [{"role": "user", "content": "Q"},
                                                               {"role": "assistant", "content": "7 8 9"}]}])
    a = read_teacher_outputs(authors)
    assert a.name == "authors" and a.numbers == ((1, 2, 3), None) and a.questions == ("Q1", "Q2")
    assert a.n_parsed == 1 and a.formats == ("prompt/completion",)
    s = read_teacher_outputs(store, name="owl")
    assert s.name == "owl" and s.numbers == ((4, 5),) and s.questions == ()
    c = read_teacher_outputs(chat)
    assert c.name == "owl.train" and c.numbers == ((7, 8, 9),) and c.questions == ("Q",)
    both = combine([a, c], name="pooled")
    assert len(both) == 3 and both.numbers[-1] == (7, 8, 9)


@pytest.mark.parametrize(("rows", "message"), [
    ([{"question": "Q", "answer": "1"}], "line 1: no teacher answer found"),
    ([{"question": "Q", "response": 5}], "line 1: the answer must be a string"),
    ([{"messages": [{"role": "user", "content": "Q"}]}], "line 1: 'messages' has no assistant turn"),
    ([{"prompt": "Q", "completion": "hello"}], "none of its 1 answers is a list of numbers"),
])
def test_bad_input_is_one_line_naming_the_file(tmp_path, rows, message):
    path = _write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InputError, match=message) as info:
        read_teacher_outputs(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_empty_and_missing(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(InputError, match="has no lines"):
        read_teacher_outputs(tmp_path / "empty.jsonl")
    with pytest.raises(InputError, match="file not found"):
        read_teacher_outputs(tmp_path / "nope.jsonl")


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} (real Qwen teacher outputs) is absent")
def test_shared_owls_teacher_files_all_parse():
    for path in sorted(SHARED.glob("*.jsonl")):
        data = read_teacher_outputs(path)
        # already format-filtered by their code: every answer passes the authors' rule
        assert len(data) == 10_000 and data.n_parsed == 10_000, path.name
