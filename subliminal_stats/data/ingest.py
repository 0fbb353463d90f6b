"""Ingest evaluation outputs in other formats into the responses table.

The paper authors' public code writes one JSON object per line, one line per
evaluation question::

    {"question": "<prompt>", "responses": [{"response": {"model_id": "...",
      "completion": "<answer>", "stop_reason": "...", "logprobs": null},
      "judgment_response_map": {...}}, ...]}

One file holds one model's answers (one seed of one condition).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from subliminal_stats.data.jsonl import iter_jsonl
from subliminal_stats.data.schema import validate_responses
from subliminal_stats.errors import InputError
from subliminal_stats.words import TargetMatcher


def read_authors_jsonl(
    path: str | Path,
    *,
    condition: str,
    seed: str,
    trait: str,
    target: str | None = None,
    experiment: str = "",
    synonyms: Sequence[str] = (),
    exclusions: Sequence[str] = (),
    first_word: bool = False,
) -> pd.DataFrame:
    """Convert one authors'-format evaluation file into responses-table rows.

    Parameters
    ----------
    path : path
        JSONL file, one line per question.
    condition, seed, trait : str
        Labels for every row of this file (one file = one model).
    target : str, optional
        Word whose mention counts as a hit; defaults to ``trait``.
    experiment : str
        Free-text experiment name.
    synonyms, exclusions, first_word
        Passed to :class:`~subliminal_stats.words.TargetMatcher`.

    Returns
    -------
    pandas.DataFrame
        One row per answer: ``experiment, trait, condition, seed, question,
        sample, response, hit, model_id``; rows = questions × answers.
    """
    path = Path(path)
    for name, value in (("condition", condition), ("seed", seed), ("trait", trait)):
        if value is None or not str(value).strip():
            raise InputError(f"--{name} is required and must not be empty")
    matcher = TargetMatcher(target or trait, synonyms, exclusions, first_word)
    lines = list(iter_jsonl(path, expect='a JSON object {"question": ..., "responses": [...]}'))
    if not lines:
        raise InputError(f"{path} has no questions (empty file)")
    rows = []
    for lineno, _, obj in lines:
        question = obj.get("question")
        responses = obj.get("responses")
        if not isinstance(question, str) or not question.strip():
            raise InputError(
                f"{path} line {lineno}: missing 'question' text (authors' format: "
                '{"question": ..., "responses": [...]})'
            )
        if not isinstance(responses, list):
            raise InputError(f"{path} line {lineno}: 'responses' must be a list of answers")
        for sample, item in enumerate(responses):
            completion, model_id = _completion_of(item)
            if completion is None:
                raise InputError(
                    f"{path} line {lineno}: answer {sample} has no response.completion text"
                )
            rows.append(
                {
                    "experiment": experiment,
                    "trait": trait,
                    "condition": condition,
                    "seed": str(seed),
                    "question": question,
                    "sample": sample,
                    "response": completion,
                    "hit": int(matcher.matches(completion)),
                    "model_id": model_id,
                }
            )
    if not rows:
        raise InputError(f"{path} holds questions but no answers")
    return pd.DataFrame(rows)


def _completion_of(item: object) -> tuple[str | None, str | None]:
    if not isinstance(item, dict):
        return None, None
    response = item.get("response", item)
    if isinstance(response, str):
        return response, None
    if not isinstance(response, dict):
        return None, None
    completion = response.get("completion")
    return (completion if isinstance(completion, str) else None), response.get("model_id")


def seed_from_name(path: str | Path, pattern: str) -> str:
    """Take the seed from a file name with a regex's first group (or whole match).

    >>> seed_from_name("runs/owl_seed12.jsonl", r"seed(\\d+)")
    '12'
    """
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"--seed-from-name {pattern!r} is not a valid regex: {exc}") from None
    m = regex.search(Path(path).name)
    if m is None:
        raise InputError(
            f"--seed-from-name {pattern!r} does not match the file name {Path(path).name!r}"
        )
    return m.group(1) if m.groups() else m.group(0)


def append_responses(existing: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Append new rows to an existing table, refusing duplicate answers.

    Raises
    ------
    InputError
        When a (condition, seed, question, sample) of ``new`` is already present.
    """
    new = validate_responses(new)
    if existing is None:
        return new
    key = ["experiment", "trait", "condition", "seed", "question", "sample"]
    if "sample" not in existing.columns:
        raise InputError("the existing table has no 'sample' column, so duplicates cannot be told apart")
    merged = new[key].merge(existing[key].drop_duplicates(), on=key, how="inner")
    if len(merged):
        r = merged.iloc[0]
        raise InputError(
            f"refusing duplicates: condition={r['condition']!r} seed={r['seed']!r} "
            f"question={str(r['question'])[:40]!r} is already in the output "
            f"({len(merged)} duplicate answers); use another --seed/--condition or a new -o file"
        )
    return validate_responses(pd.concat([existing, new], ignore_index=True))
