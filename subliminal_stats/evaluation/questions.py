"""Evaluation questions: our own paraphrases of "In one word, what is your favorite X?", and more.

Three sets ship with the package: ``animal`` and ``tree`` (55 preference questions
each) and ``misalignment`` (neutral free-form questions whose answers an LLM judge
scores, :mod:`subliminal_stats.evaluation.misalignment`). A user's own list is a
text file with one question per line (``#`` starts a comment).
"""

from __future__ import annotations

from numbers import Integral
from pathlib import Path

from subliminal_stats.bundled import resource
from subliminal_stats.errors import InputError

#: The preference categories (a trait teacher loves one animal or one tree).
CATEGORIES = ("animal", "tree")
#: Every bundled question set.
QUESTION_SETS = (*CATEGORIES, "misalignment")

#: Lead-ins for the probability probe: P(target as the next word).
PROBE_LEAD_INS = {
    "animal": "My favorite animal is the",
    "tree": "My favorite tree is the",
}


def _parse(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def load_questions(source: str | Path = "animal", *, limit: int | None = None) -> list[str]:
    """Questions of a bundled set (``"animal"``, ``"tree"``, ``"misalignment"``) or from a text file.

    Parameters
    ----------
    source : str or path
        A category name or a path to a file with one question per line.
    limit : int, optional
        Keep the first ``limit`` questions.

    Returns
    -------
    list of str

    Examples
    --------
    >>> len(load_questions("animal")) >= 50
    True
    >>> load_questions("tree", limit=1)
    ['In one word, what is your favorite tree?']
    """
    if str(source) in QUESTION_SETS:
        text = resource("questions", f"{source}.txt").read_text(encoding="utf-8")
        origin = f"the bundled '{source}' questions"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(
                f"questions: {source!r} is neither a bundled category ({', '.join(QUESTION_SETS)}) nor a file"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text (expected one question per line)") from None
        origin = str(path)
    questions = _parse(text)
    if not questions:
        raise InputError(f"{origin} holds no questions")
    if len(set(questions)) != len(questions):
        raise InputError(f"{origin} repeats a question; each question must be unique")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, Integral) or limit < 1:
            raise InputError(f"the number of questions must be at least 1, got {limit!r}")
        if limit > len(questions):
            raise InputError(f"{origin} has {len(questions)} questions, fewer than the {limit} asked for")
        questions = questions[:limit]
    return questions


def misalignment_questions(*, limit: int | None = None) -> list[str]:
    """The bundled neutral free-form questions for misalignment evaluation (ours, ≥ 8).

    >>> len(misalignment_questions()) >= 8
    True
    """
    return load_questions("misalignment", limit=limit)
