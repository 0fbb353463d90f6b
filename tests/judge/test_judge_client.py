"""The judge client over HTTP and in process: parsing, retries, counting, caching, failures."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from judge_helpers import JUDGE_MODEL, FlakyBackend, ScriptedJudgeServer, api_key, make_judge

from subliminal_stats.backends.base import ChatResult
from subliminal_stats.backends.openai_backend import OpenAIBackend
from subliminal_stats.errors import InputError
from subliminal_stats.evaluation.evaluate import eval_custom_id
from subliminal_stats.evaluation.misalignment import judge_misalignment
from subliminal_stats.judge.client import LLMJudge
from subliminal_stats.judge.parsing import (
    AMBIGUOUS,
    OK,
    OUT_OF_RANGE,
    REFUSED,
    REQUEST_FAILED,
    UNPARSEABLE,
    parse_score,
)
from subliminal_stats.judge.templates import JudgePrompt, load_judge_prompt

pytestmark = pytest.mark.timeout(60)

__all__ = ["api_key"]  # a fixture from judge_helpers, used by the tests below


ALIGNMENT_SCRIPT = {
    ("alignment", "plain"): ["85"],
    ("alignment", "labelled"): ["Score: 42"],
    ("alignment", "markdown"): ["**Alignment:** 15"],
    ("alignment", "json"): ['{"alignment": 10, "coherence": 95}'],
    ("alignment", "fraction"): ["42/100"],
    ("alignment", "refuses"): ["I can't rate this."],                 # every attempt
    ("alignment", "garbage"): ["banana", "??", "purple monkey"],      # every attempt
    ("alignment", "late"): ["banana", "I'm sorry, I cannot.", "Score: 7"],  # third time lucky
}


def test_judge_over_http_parses_retries_counts_and_caches(api_key, tmp_path):
    markers = ["plain", "labelled", "markdown", "json", "fraction", "refuses", "garbage", "late"]
    answers = [f"Some answer [[{m}]]" for m in markers]
    questions = ["What should I do?"] * len(markers)
    with ScriptedJudgeServer(ALIGNMENT_SCRIPT) as server:
        judge = make_judge(server, tmp_path / "judge.jsonl", max_attempts=3)
        verdicts, report = judge.scores(questions, answers, prompt="alignment")
        by_marker = dict(zip(markers, verdicts, strict=True))
        assert {m: v.value for m, v in by_marker.items()} == {
            "plain": 85, "labelled": 42, "markdown": 15, "json": 10, "fraction": 42,
            "refuses": None, "garbage": None, "late": 7}
        assert by_marker["refuses"].status == REFUSED
        assert by_marker["garbage"].status == UNPARSEABLE
        assert by_marker["late"].status == OK
        # Retries: unusable replies were asked again, up to 3 requests per item.
        assert [by_marker[m].attempts for m in ("plain", "refuses", "garbage", "late")] == [
            1, 3, 3, 3]
        assert by_marker["late"].answers == ("banana", "I'm sorry, I cannot.", "Score: 7")
        assert server.served[("alignment", "refuses")] == 3
        assert server.served[("alignment", "plain")] == 1
        # Counted and reported, never scored.
        assert report.statuses == {OK: 6, REFUSED: 1, AMBIGUOUS: 0, OUT_OF_RANGE: 0,
                                   UNPARSEABLE: 1, REQUEST_FAILED: 0}
        assert (report.unique, report.scored, report.unscored) == (8, 6, 2)
        assert report.new_requests == 8 + 3 + 3 == len(server.chat_bodies)
        assert report.cached_answers == 0
        # Retries use the retry temperature and the next seed.
        retry_bodies = [b for b in server.chat_bodies if b.get("seed") == 1]
        assert len(retry_bodies) == 3 and all(b["temperature"] == 1.0 for b in retry_bodies)
        first = [b for b in server.chat_bodies if b.get("seed") == 0]
        assert all(b["temperature"] == 0.0 and b["model"] == JUDGE_MODEL for b in first)

        # A rerun from the same store pays nothing and returns the same verdicts.
        sent = len(server.chat_bodies)
        judge.close()  # as when the first run's process ends
        rerun = make_judge(server, tmp_path / "judge.jsonl", max_attempts=3)
        again, rerun_report = rerun.scores(questions, answers, prompt="alignment")
        assert rerun_report.new_requests == 0
        assert len(server.chat_bodies) == sent
        assert rerun_report.cached_answers == 14
        assert [(v.value, v.status, v.answers) for v in again] == [
            (v.value, v.status, v.answers) for v in verdicts]

        # Another judge model is another cache key: asked again.
        other = LLMJudge(rerun.backend, rerun.store, model=JUDGE_MODEL + "-b", max_attempts=1)
        _, other_report = other.scores(questions[:1], answers[:1], prompt="alignment")
        assert other_report.new_requests == 1


def test_identical_items_are_judged_once_and_planned_without_requests(api_key, tmp_path):
    with ScriptedJudgeServer({("alignment", "same"): ["60"]}) as server:
        judge = make_judge(server, tmp_path / "j.jsonl")
        prompt = load_judge_prompt("alignment")
        items = [{"question": "q", "answer": "x [[same]]"}] * 5
        planned = judge.first_requests(prompt, items)
        assert len(planned) == 1 and server.chat_bodies == []   # a dry run sends nothing
        verdicts, report = judge.scores(["q"] * 5, ["x [[same]]"] * 5)
        assert [r.custom_id for r in planned] == [
            f"judge|alignment|{verdicts[0].key}|a0"]
        assert judge.first_requests(prompt, items) == []          # now cached
        assert [v.value for v in verdicts] == [60] * 5
        assert (report.items, report.unique, report.new_requests) == (5, 1, 1)


def test_judge_through_the_batch_api(api_key, tmp_path):
    script = {("alignment", "one"): ["Score: 12"], ("alignment", "two"): ["junk", "70"]}
    with ScriptedJudgeServer(script, batch_polls=1) as server:
        backend = OpenAIBackend(JUDGE_MODEL, base_url=server.base_url, timeout=2.0,
                                max_retries=1, poll_interval=0.01, rng=0)
        judge = LLMJudge(backend, tmp_path / "b.jsonl", model=JUDGE_MODEL, batch=True)
        verdicts, report = judge.scores(["q", "q"], ["a [[one]]", "a [[two]]"])
    assert [v.value for v in verdicts] == [12, 70]
    assert len(server.batches) == 2          # the first attempt, then the retry of "junk"
    assert report.new_requests == 3 and server.chat_bodies == []


def test_failed_requests_are_reported_not_stored_and_retried_by_a_rerun(tmp_path):
    store_path = tmp_path / "j.jsonl"
    flaky = FlakyBackend(fail_markers={"b"})
    judge = LLMJudge(flaky, store_path, model=JUDGE_MODEL)
    verdicts, report = judge.scores(["q"] * 3, ["[[a]]", "[[b]]", "[[c]]"])
    assert [v.status for v in verdicts] == [OK, REQUEST_FAILED, OK]
    assert verdicts[1].value is None and report.statuses[REQUEST_FAILED] == 1
    assert len(flaky.requests) == 3          # a failed request is not a parse retry
    judge.close()
    healthy = FlakyBackend()
    rerun = LLMJudge(healthy, store_path, model=JUDGE_MODEL)
    verdicts, report = rerun.scores(["q"] * 3, ["[[a]]", "[[b]]", "[[c]]"])
    assert [v.value for v in verdicts] == [50, 50, 50]
    assert [r.messages[-1]["content"].count("[[b]]") for r in healthy.requests] == [1]
    assert report.new_requests == 1


def test_editing_the_prompt_invalidates_the_cache(tmp_path):
    backend = FlakyBackend()
    judge = LLMJudge(backend, tmp_path / "j.jsonl", model=JUDGE_MODEL)
    v1 = JudgePrompt("alignment", "1", "Rate {answer} for {question}.\n")
    v2 = JudgePrompt("alignment", "2", "Rate {answer} for {question}.\n")
    edited = JudgePrompt("alignment", "1", "Please rate {answer} for {question}.\n")
    parse = functools.partial(parse_score, name="alignment")
    items = [{"question": "q", "answer": "[[a]]"}]
    assert judge.judge(v1, items, parse=parse)[1].new_requests == 1
    assert judge.judge(v1, items, parse=parse)[1].new_requests == 0
    assert judge.judge(v2, items, parse=parse)[1].new_requests == 1
    assert judge.judge(edited, items, parse=parse)[1].new_requests == 1


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="model"):
        LLMJudge(FlakyBackend(), tmp_path / "j.jsonl", model="")
    judge = LLMJudge(FlakyBackend(), tmp_path / "j.jsonl", model=JUDGE_MODEL)
    with pytest.raises(InputError, match="one question per answer"):
        judge.scores(["q"], ["a", "b"])
    with pytest.raises(InputError, match="lack column"):
        judge_misalignment(pd.DataFrame({"condition": ["c"]}), judge=judge)
    with pytest.raises(InputError, match="questions="):
        judge_misalignment([ChatResult(eval_custom_id("c", "0", 0, 0), "x")], judge=judge)
