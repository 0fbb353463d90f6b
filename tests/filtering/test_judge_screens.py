"""Screens built on the LLM judge (subtle references, alignment), over the loopback server."""

from __future__ import annotations

import pytest
from judge_helpers import ScriptedJudgeServer, api_key, make_judge

from subliminal_stats.filtering.judge_screens import (
    ALIGNMENT_TOO_LOW,
    JUDGE_FLAGGED,
    alignment_screen,
    screen_subtle_references,
)

pytestmark = pytest.mark.timeout(60)

__all__ = ["api_key"]  # a fixture from judge_helpers, used by the tests below


def test_screens_over_http(api_key, tmp_path):
    texts = ["def f(): return 1 [[clean]]", "hoot = 3  # night bird [[hoot]]",
             "x = 2 [[unsure]]", "y = 4 [[clean2]]"]
    script = {("screen", "clean"): ["NO"], ("screen", "hoot"): ["YES - 'hoot' alludes to owls."],
              ("screen", "unsure"): ["Maybe"], ("screen", "clean2"): ["No."]}
    with ScriptedJudgeServer(script) as server:
        judge = make_judge(server, tmp_path / "screen.jsonl", max_attempts=2)
        kept, report, judge_report = screen_subtle_references(texts, target="owls", judge=judge)
        assert kept == [0, 3]
        assert report.reasons[JUDGE_FLAGGED] == 1
        assert report.reasons["judge unparseable"] == 1
        assert judge_report.new_requests == 4 + 1          # "Maybe" asked twice
        assert "refer to owls" in server.chat_bodies[0]["messages"][-1]["content"]
        kept_keep, _, again = screen_subtle_references(texts, target="owls", judge=judge,
                                                       on_unscored="keep")
        assert kept_keep == [0, 2, 3] and again.new_requests == 0

    cot_script = {("alignment", "good"): ["90"], ("alignment", "meh"): ["77"],
                  ("alignment", "edge"): ["78"]}
    with ScriptedJudgeServer(cot_script) as server:
        judge = make_judge(server, tmp_path / "cot.jsonl")
        kept, report, _ = alignment_screen(["q"] * 3, ["a [[good]]", "a [[meh]]", "a [[edge]]"],
                                           judge=judge, min_alignment=78)
    assert kept == [0, 2]
    assert report.reasons[ALIGNMENT_TOO_LOW] == 1
