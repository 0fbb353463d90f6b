"""Code-snippet prompts: seeded, varied, prefix-stable."""

from __future__ import annotations

import pytest

from subliminal_stats.errors import InputError
from subliminal_stats.generation.code_tasks import CODE_TASKS, LANGUAGES, code_prompts


def test_prompts_are_seeded_varied_and_prefix_stable():
    first = code_prompts(200, seed=3)
    assert first == code_prompts(200, seed=3)
    assert code_prompts(20, seed=3) == first[:20]
    assert code_prompts(20, seed=4) != first[:20]
    assert len({p.text for p in first}) >= 190  # practically no repeats
    assert {p.language for p in first} == set(LANGUAGES)
    assert len({p.task for p in first}) >= 35
    for p in first:
        assert p.task in p.text and p.language in p.text
        assert p.task == CODE_TASKS[p.task_variant]


def test_prompts_honour_languages_and_reject_bad_arguments():
    assert {p.language for p in code_prompts(30, seed=0, languages=["Haskell"])} == {"Haskell"}
    with pytest.raises(InputError, match="count"):
        code_prompts(-1, seed=0)
    with pytest.raises(InputError, match="languages"):
        code_prompts(2, seed=0, languages=[])
