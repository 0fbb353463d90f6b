"""Fixtures of the diagnostics tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_paths import SHARED_DATA

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = SHARED_DATA / "owls_teacher_numbers"


@pytest.fixture(scope="session")
def lion():
    from subliminal_stats.diagnostics import read_teacher_outputs

    return read_teacher_outputs(FIXTURES / "qwen_lion.400.jsonl", name="lion")


@pytest.fixture(scope="session")
def dolphin():
    from subliminal_stats.diagnostics import read_teacher_outputs

    return read_teacher_outputs(FIXTURES / "qwen_dolphin.400.jsonl", name="dolphin")
