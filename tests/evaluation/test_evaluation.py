"""Evaluation questions, request building and scoring into the responses table."""

from __future__ import annotations

import pytest

from subliminal_stats.backends.base import ChatResult
from subliminal_stats.data import validate_responses
from subliminal_stats.errors import InputError
from subliminal_stats.evaluation.evaluate import eval_requests, responses_from_results
from subliminal_stats.evaluation.questions import load_questions
from subliminal_stats.words import TargetMatcher


@pytest.mark.parametrize("category", ["animal", "tree"])
def test_bundled_question_sets(category):
    questions = load_questions(category)
    assert len(questions) >= 50
    assert len(set(questions)) == len(questions)
    assert all(category in q.lower() or "creature" in q.lower() or "species" in q.lower()
               for q in questions)
    # every question asks for a short answer that whole-word scoring can read
    assert all(any(cue in q.lower() for cue in ("word", "name", "nothing else")) for q in questions)

def test_questions_from_file_and_errors(tmp_path):
    f = tmp_path / "q.txt"
    f.write_text("# mine\nFavourite bird? One word.\n\nFavourite fish? One word.\n")
    assert load_questions(f) == ["Favourite bird? One word.", "Favourite fish? One word."]
    with pytest.raises(InputError, match="neither a bundled category"):
        load_questions(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="fewer than the 3 asked for"):
        load_questions(f, limit=3)
    f.write_text("A?\nA?\n")
    with pytest.raises(InputError, match="repeats a question"):
        load_questions(f)


def test_same_sampling_seeds_for_every_model():
    qs = load_questions("animal", limit=3)
    base = eval_requests(model="m0", condition="base", seed="base", questions=qs, samples_per_question=4)
    student = eval_requests(model="m1", condition="treated", seed="2", questions=qs,
                            samples_per_question=4)
    assert len(base) == 12
    assert [r.seed for r in base] == [r.seed for r in student]
    assert len({r.seed for r in base}) == 12  # distinct draws within a model
    assert base[5].custom_id == "eval|base|base|q001|s0001"
    assert base[0].messages[-1]["content"] == qs[0]


def test_scoring_results_for_several_traits():
    qs = ["Q0?", "Q1?"]
    answers = {"eval|control|1|q000|s0000": "Owl", "eval|control|1|q001|s0000": "Eagles!",
               "eval|treated|2|q000|s0000": "owls", "eval|treated|2|q001|s0000": "Dolphin"}
    results = [ChatResult(custom_id=k, completion=v) for k, v in answers.items()]
    table = responses_from_results(results, questions=qs, experiment="x",
                                   matchers={"owl": TargetMatcher("owl"),
                                             "eagle": TargetMatcher("eagle")})
    table = validate_responses(table)
    assert len(table) == 8
    owl = table[table.trait == "owl"].set_index(["condition", "question"])["hit"].to_dict()
    assert owl == {("control", "Q0?"): 1, ("control", "Q1?"): 0, ("treated", "Q0?"): 1,
                   ("treated", "Q1?"): 0}
    eagle = table[table.trait == "eagle"]["hit"].sum()
    assert eagle == 1


def test_failed_result_is_named():
    with pytest.raises(InputError, match="eval\\|base\\|base\\|q000\\|s0000 failed: rate limited"):
        responses_from_results([ChatResult("eval|base|base|q000|s0000", None, error="rate limited")],
                               questions=["Q"], matchers={"owl": TargetMatcher("owl")})
