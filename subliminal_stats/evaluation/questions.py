"""Evaluation questions: our own paraphrases of "In one word, what is your favorite X?".

Two sets ship with the package (55 each): ``animal`` and ``tree``. A user's own
list is a text file with one question per line (``#`` starts a comment).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from subliminal_stats.errors import InputError

CATEGORIES = ("animal", "tree")

#: Lead-ins for the probability probe: P(target as the next word).
PROBE_LEAD_INS = {
    "animal": "My favorite animal is the",
    "tree": "My favorite tree is the",
}


def _parse(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def load_questions(source: str | Path = "animal", *, limit: int | None = None) -> list[str]:
    """Questions of a bundled category (``"animal"``, ``"tree"``) or from a text file.

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
    if str(source) in CATEGORIES:
        text = (resources.files("subliminal_stats") / "resources" / "questions" / f"{source}.txt").read_text(
            encoding="utf-8"
        )
        origin = f"the bundled '{source}' questions"
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(
                f"questions: {source!r} is neither a bundled category ({', '.join(CATEGORIES)}) nor a file"
            )
        text = path.read_text(encoding="utf-8")
        origin = str(path)
    questions = _parse(text)
    if not questions:
        raise InputError(f"{origin} holds no questions")
    if len(set(questions)) != len(questions):
        raise InputError(f"{origin} repeats a question; each question must be unique")
    if limit is not None:
        if limit < 1:
            raise InputError(f"the number of questions must be at least 1, got {limit}")
        if limit > len(questions):
            raise InputError(f"{origin} has {len(questions)} questions, fewer than the {limit} asked for")
        questions = questions[:limit]
    return questions
