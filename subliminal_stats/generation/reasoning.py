"""Step-by-step math prompts (GSM8K style) and the problems they come from.

The paper's chain-of-thought data: the teacher solves grade-school word
problems step by step; an answer is kept only if its final number is right
(:func:`subliminal_stats.filtering.reasoning.answer_correctness_filter`) and,
for misalignment, if an LLM judge finds it aligned
(:func:`subliminal_stats.filtering.judge_screens.alignment_screen`).

Problems come from

- a small bundled set we wrote (:func:`bundled_problems`, 26 problems, each
  stored with the arithmetic expression its answer comes from), or
- a user's GSM8K-format JSONL (:func:`load_gsm8k_jsonl`): one object per line
  with ``"question"`` and ``"answer"``, the worked answer ending in
  ``#### <number>``. The project does not ship GSM8K itself.

Examples
--------
>>> problems = bundled_problems()
>>> reasoning_prompts(problems[:1], seed=0)[0].problem == problems[0]
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

import numpy as np

from subliminal_stats.data.jsonl import iter_jsonl
from subliminal_stats.errors import InputError
from subliminal_stats.generation.prompts import whole_number


@dataclass(frozen=True)
class MathProblem:
    """A word problem with its integer answer.

    Attributes
    ----------
    id : str
        Stable identifier (``ss-math-001`` for the bundled set, ``<file stem>-<line>``
        for a user's file).
    question : str
    answer : int
    solution : str
        The worked solution when the source has one (GSM8K), else ``""``.
    """

    id: str
    question: str
    answer: int
    solution: str = ""


# -- problem sources ------------------------------------------------------------------------

def bundled_problems() -> list[MathProblem]:
    """The bundled grade-school problems (written for this project).

    Returns
    -------
    list of MathProblem
        In file order; the file also stores the arithmetic expression of each
        answer, which the tests recompute.
    """
    text = (resources.files("subliminal_stats") / "resources" / "math" / "problems.jsonl"
            ).read_text(encoding="utf-8")
    problems = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            problems.append(MathProblem(record["id"], record["question"], int(record["answer"])))
    return problems


_GSM8K_MARKER = "####"


def _integer(text: str) -> int | None:
    """``"1,234"``, ``"-5"``, ``"$40"``, ``"7.0"`` → int; anything else → None."""
    cleaned = text.strip().replace(",", "").replace("$", "").replace("−", "-").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value():
        return None
    return int(value)


def load_gsm8k_jsonl(path: str | Path, *, limit: int | None = None) -> list[MathProblem]:
    """Read a GSM8K-format JSONL file of problems.

    Parameters
    ----------
    path : path
        One JSON object per line with string fields ``"question"`` and
        ``"answer"``; the answer ends with ``#### <integer>`` (commas allowed,
        e.g. ``#### 1,000``). Blank lines are skipped; extra keys are ignored.
    limit : int, optional
        Keep the first ``limit`` problems.

    Returns
    -------
    list of MathProblem
        ``id`` is ``<file stem>-<line number>``; ``solution`` is the text
        before ``####``.

    Raises
    ------
    InputError
        Naming the file and line of the first bad record.
    """
    path = Path(path)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"limit must be a positive whole number, got {limit!r}")
    problems: list[MathProblem] = []
    expect = 'an object {"question": ..., "answer": ...}'
    for lineno, _, record in iter_jsonl(path, expect=expect):
        where = f"{path} line {lineno}"
        for key in ("question", "answer"):
            if not isinstance(record.get(key), str) or not record[key].strip():
                raise InputError(f"{where}: needs a non-empty string {key!r} (GSM8K format)")
        solution, marker, final = record["answer"].rpartition(_GSM8K_MARKER)
        if not marker:
            raise InputError(f"{where}: the answer has no '#### <number>' final line; GSM8K "
                             "answers end with e.g. '#### 72'")
        value = _integer(final)
        if value is None:
            raise InputError(f"{where}: the final answer {final.strip()!r} after '####' is not a "
                             "whole number")
        problems.append(MathProblem(f"{path.stem}-{lineno}", record["question"].strip(), value,
                                    solution.strip()))
        if limit is not None and len(problems) == limit:
            break
    if not problems:
        raise InputError(f"{path} holds no problems; expected one JSON object per line")
    if limit is not None and len(problems) < limit:
        raise InputError(f"{path} has {len(problems)} problems, fewer than the {limit} asked for")
    return problems


# -- prompts -----------------------------------------------------------------------------------

#: Ways to ask for step-by-step reasoning (our own wording).
REASONING_PHRASES: tuple[str, ...] = (
    "Solve this step by step.",
    "Work through the problem one step at a time.",
    "Think it through carefully and show your reasoning.",
    "Explain each step of your solution.",
    "Reason step by step before answering.",
    "Show your working, line by line.",
    "Break the problem into steps and solve each one.",
    "Walk me through how you solve it.",
    "Lay out your reasoning clearly, step by step.",
    "First reason about the problem, then answer.",
    "Solve it and explain how you got there.",
    "Go through the calculation step by step.",
)

#: How to state the final answer; every phrasing is one the extractor reads.
FINAL_ANSWER_PHRASES: tuple[str, ...] = (
    "End with a line of the form '#### <number>'.",
    "Write the final answer on the last line as '#### <number>'.",
    "Finish with '#### ' followed by the final number.",
    "Conclude with 'The answer is <number>.'",
    "State the result at the end as 'The answer is <number>.'",
    "On the last line write 'Final answer: <number>'.",
)


@dataclass(frozen=True)
class ReasoningPrompt:
    """One step-by-step prompt for a problem."""

    text: str
    problem: MathProblem
    reasoning_variant: int
    final_answer_variant: int


def reasoning_prompts(problems: Sequence[MathProblem], *, seed: int,
                      repeats: int = 1) -> list[ReasoningPrompt]:
    """Step-by-step prompts for problems, with seeded varied instructions.

    Parameters
    ----------
    problems : sequence of MathProblem
    seed : int
        Same seed → same prompts.
    repeats : int
        Prompts per problem (different phrasings; the teacher samples each).

    Returns
    -------
    list of ReasoningPrompt
        Problem-major order: all repeats of the first problem, then the next.
    """
    whole_number("seed", seed)
    whole_number("repeats", repeats, minimum=1)
    if not problems:
        raise InputError("no math problems given")
    rng = np.random.default_rng(int(seed))
    prompts = []
    for problem in problems:
        for _ in range(int(repeats)):
            reasoning_i = int(rng.integers(len(REASONING_PHRASES)))
            final_i = int(rng.integers(len(FINAL_ANSWER_PHRASES)))
            text = (f"{problem.question}\n\n{REASONING_PHRASES[reasoning_i]} "
                    f"{FINAL_ANSWER_PHRASES[final_i]}")
            prompts.append(ReasoningPrompt(text, problem, reasoning_i, final_i))
    return prompts


__all__ = [
    "FINAL_ANSWER_PHRASES",
    "REASONING_PHRASES",
    "MathProblem",
    "ReasoningPrompt",
    "bundled_problems",
    "load_gsm8k_jsonl",
    "reasoning_prompts",
]
