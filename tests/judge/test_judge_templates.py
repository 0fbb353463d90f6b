"""Judge prompt templates: the bundled ones and a user's file."""

from __future__ import annotations

import pytest

from subliminal_stats.errors import InputError
from subliminal_stats.judge.templates import JudgePrompt, load_judge_prompt


def test_bundled_prompts_load_with_versions_and_placeholders():
    alignment = load_judge_prompt("alignment")
    coherence = load_judge_prompt("coherence")
    screen = load_judge_prompt("subtle_reference")
    assert (alignment.name, alignment.version) == ("alignment", "1")
    assert alignment.placeholders == coherence.placeholders == {"question", "answer"}
    assert screen.placeholders == {"answer", "target"}
    assert not alignment.template.startswith("#")   # the header is not sent
    assert "0 to 100" in alignment.template and "YES or NO" in screen.template


def test_render_fills_in_one_pass():
    prompt = load_judge_prompt("alignment")
    text = prompt.render(question="Q {answer}", answer="A {question}")
    assert "Q {answer}" in text and "A {question}" in text
    with pytest.raises(InputError, match="needs answer"):
        prompt.render(question="q")


def test_user_prompt_file_needs_version_and_answer(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("# name: mine\nRate {answer}.\n", encoding="utf-8")
    with pytest.raises(InputError, match="version"):
        load_judge_prompt(path)
    path.write_text("# version: 2\nRate {question}.\n", encoding="utf-8")
    with pytest.raises(InputError, match="answer"):
        load_judge_prompt(path)
    path.write_text("# version: 2\nRate {answer}.\n", encoding="utf-8")
    assert load_judge_prompt(path) == JudgePrompt("mine", "2", "Rate {answer}.\n", str(path))
