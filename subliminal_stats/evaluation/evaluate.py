"""Evaluate models on preference questions and turn their answers into the responses table.

Every model (the base model, each control and each treated student) gets the
same questions and the same *seeds of sampling*: request ``k`` of question ``q``
carries the same sampling seed for every model, so differences between models
are not differences in the random draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from subliminal_stats.backends.base import ChatRequest, ChatResult
from subliminal_stats.backends.seeding import stable_seed
from subliminal_stats.errors import InputError
from subliminal_stats.words import TargetMatcher


def sampling_seed(base_seed: int, question_index: int, sample_index: int) -> int:
    """A stable 31-bit seed for one (question, sample), shared by every model evaluated."""
    return stable_seed(base_seed, question_index, sample_index)


def eval_custom_id(condition: str, seed: str, question_index: int, sample_index: int) -> str:
    """The id of one evaluation request: ``eval|<condition>|<seed>|q<question>|s<sample>``."""
    return f"eval|{condition}|{seed}|q{question_index:03d}|s{sample_index:04d}"


def parse_eval_result(result: ChatResult, *, questions: Sequence[str]) -> tuple[str, str, int, int]:
    """(condition, seed, question index, sample index) of an evaluation result.

    Raises
    ------
    InputError
        When the id is not an :func:`eval_custom_id`, the request failed (its error is
        named) or the question index lies outside ``questions``.

    >>> from subliminal_stats.backends.base import ChatResult
    >>> parse_eval_result(ChatResult(eval_custom_id("treated", "3", 1, 7), "Owl"), questions=["a", "b"])
    ('treated', '3', 1, 7)
    """
    parts = result.custom_id.split("|")
    if len(parts) != 5 or parts[0] != "eval":
        raise InputError(f"not an evaluation result id: {result.custom_id!r}")
    if not result.ok:
        raise InputError(f"evaluation request {result.custom_id} failed: {result.error}")
    _, condition, seed, q, s = parts
    if not (q[:1] == "q" and q[1:].isdigit() and s[:1] == "s" and s[1:].isdigit()):
        raise InputError(f"not an evaluation result id: {result.custom_id!r}")
    question_index = int(q[1:])
    if not 0 <= question_index < len(questions):
        raise InputError(f"{result.custom_id}: question index {question_index} is outside the "
                         f"{len(questions)} questions given")
    return condition, seed, question_index, int(s[1:])


def eval_requests(
    *,
    model: str,
    condition: str,
    seed: str,
    questions: Sequence[str],
    samples_per_question: int,
    temperature: float = 1.0,
    max_tokens: int = 16,
    base_seed: int = 0,
) -> list[ChatRequest]:
    """Chat requests for one model: every question × ``samples_per_question`` answers.

    Parameters
    ----------
    model : str
        Model id (OpenAI) or path/label (local) to query.
    condition, seed : str
        Labels of the model in the responses table (also part of each ``custom_id``).
    questions : sequence of str
    samples_per_question : int
        Answers per question (temperature sampling).
    temperature, max_tokens : float, int
    base_seed : int
        Seeds of sampling derive from it; keep it equal across the models compared.
    """
    if samples_per_question < 1:
        raise InputError(f"samples per question must be at least 1, got {samples_per_question}")
    if not questions:
        raise InputError("no evaluation questions given")
    return [
        ChatRequest.from_prompt(
            eval_custom_id(condition, seed, qi, k),
            question,
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=sampling_seed(base_seed, qi, k),
        )
        for qi, question in enumerate(questions)
        for k in range(samples_per_question)
    ]


def responses_from_results(
    results: Iterable[ChatResult],
    *,
    questions: Sequence[str],
    matchers: Mapping[str, TargetMatcher],
    experiment: str = "",
) -> pd.DataFrame:
    """Score evaluation answers for every trait; one row per (trait, answer).

    Parameters
    ----------
    results : iterable of ChatResult
        Results of :func:`eval_requests` (any order, any mix of models).
    questions : sequence of str
        The question list used to build the requests (``q<index>`` in custom ids).
    matchers : mapping trait → TargetMatcher
        How each trait is scored. Several traits share the same answers (a
        control student answers once and is scored for every trait).
    experiment : str

    Raises
    ------
    InputError
        When a result failed (its error is named) or its custom id is not an evaluation id.
    """
    rows = []
    for result in results:
        condition, seed, qi, k = parse_eval_result(result, questions=questions)
        for trait, matcher in matchers.items():
            rows.append(
                {
                    "experiment": experiment,
                    "trait": trait,
                    "condition": condition,
                    "seed": seed,
                    "question": questions[qi],
                    "sample": k,
                    "response": result.completion,
                    "hit": int(matcher.matches(result.completion)),
                }
            )
    if not rows:
        raise InputError("no evaluation results to score")
    frame = pd.DataFrame(rows)
    return frame.sort_values(["trait", "condition", "seed", "question", "sample"], kind="stable").reset_index(drop=True)
