"""The correctness filter for step-by-step solutions, and the final-answer extractor it uses.

A chain-of-thought answer is kept only if its final number equals the problem's
answer (the paper's first filter for reasoning data; the alignment screen is
:func:`subliminal_stats.filtering.judge_screens.alignment_screen`).

Examples
--------
>>> extract_final_number("5 + 7 = 12 apples.\\n#### 12")
Decimal('12')
>>> extract_final_number("So she pays $1,200 in total. The answer is $1,200.")
Decimal('1200')
>>> extract_final_number("I am not sure.") is None
True
>>> answer_correctness_filter(["#### 12", "#### 13", "no idea"], [12, 12, 12])[0]
[0]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.report import FilterReport, apply_filter
from subliminal_stats.generation.reasoning import MathProblem

__all__ = [
    "CORRECTNESS_REASONS",
    "NO_FINAL_ANSWER",
    "WRONG_ANSWER",
    "answer_correctness_filter",
    "extract_final_number",
]

# A number as written in an answer: optional sign and currency, thousands
# separators (groups of three only, so "3,4" is two numbers), decimals.
_NUMBER = (r"(?<![\w.,])(?P<sign>[-−–])?\s?[$€£]?\s?"
           r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d])")
_NUMBER_RE = re.compile(_NUMBER)
_MARKER_RE = re.compile(r"####\s*(?:\*\*)?\s*" + _NUMBER)
_BOXED_RE = re.compile(r"\\boxed\{\s*" + _NUMBER)
_PHRASE_RE = re.compile(
    r"\b(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=|would\s+be|will\s+be)?\s*"
    r"[:=]?\s*(?:\*\*)?\s*(?:therefore\s+|then\s+)?" + _NUMBER, re.IGNORECASE)


def _to_decimal(match: re.Match) -> Decimal:
    value = Decimal(match.group("digits").replace(",", ""))
    return -value if match.group("sign") else value


_OPERATOR_NEXT = re.compile(r"\s*[-+*/×÷x]\s*[$€£]?\d")


def _result_of_line(text: str, match: re.Match) -> Decimal:
    """The matched number, or the result when it starts a calculation on its line
    ("The answer is 5 + 3 = 8" → 8)."""
    end_of_line = text.find("\n", match.end())
    rest = text[match.end():] if end_of_line < 0 else text[match.end():end_of_line]
    if _OPERATOR_NEXT.match(rest) and "=" in rest:
        after = list(_NUMBER_RE.finditer(rest.rsplit("=", 1)[1]))
        if after:
            return _to_decimal(after[0])
    return _to_decimal(match)


def extract_final_number(text: object) -> Decimal | None:
    """The final numeric answer of a step-by-step solution, or ``None``.

    Looked for in this order (the last occurrence of the first kind found wins):
    a ``#### 42`` marker, ``\\boxed{42}``, a phrase such as "The answer is 42" /
    "Final answer: 42", and otherwise the last number in the text. Thousands
    separators, currency signs, a trailing full stop and units are ignored
    (``"$1,200"``, ``"42 apples."``).

    Returns
    -------
    decimal.Decimal or None
        ``None`` when the text holds no number.
    """
    if not isinstance(text, str):
        return None
    for pattern in (_MARKER_RE, _BOXED_RE, _PHRASE_RE):
        matches = list(pattern.finditer(text))
        if matches:
            return _result_of_line(text, matches[-1])
    matches = list(_NUMBER_RE.finditer(text))
    return _to_decimal(matches[-1]) if matches else None


NO_FINAL_ANSWER = "no final answer"
WRONG_ANSWER = "wrong answer"
CORRECTNESS_REASONS: tuple[str, ...] = (NO_FINAL_ANSWER, WRONG_ANSWER)


def answer_correctness_filter(answers: Iterable[object], expected: Iterable[int | MathProblem]
                              ) -> tuple[list[int], FilterReport]:
    """Keep the solutions whose final number equals the expected answer.

    Parameters
    ----------
    answers : iterable of str
        The teacher's step-by-step solutions.
    expected : iterable of int or MathProblem
        The right answer for each solution, in the same order.

    Returns
    -------
    kept_indices : list of int
    report : FilterReport
        Reasons :data:`CORRECTNESS_REASONS`.

    Raises
    ------
    InputError
        When the two sequences differ in length.
    """
    answers, expected = list(answers), list(expected)
    if len(answers) != len(expected):
        raise InputError(f"{len(answers)} answers but {len(expected)} expected values: give "
                         "one expected answer per solution")

    def why(pair: tuple[object, int | MathProblem]) -> tuple[str, ...]:
        answer, target = pair
        right = target.answer if isinstance(target, MathProblem) else target
        found = extract_final_number(answer)
        if found is None:
            return (NO_FINAL_ANSWER,)
        return () if found == Decimal(int(right)) else (WRONG_ANSWER,)

    return apply_filter(zip(answers, expected, strict=True), why, reasons=CORRECTNESS_REASONS)
