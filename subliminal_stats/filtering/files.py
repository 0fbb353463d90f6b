"""Filtered data on disk: reading teacher-output JSONL, writing what passed, writing training files.

- :func:`filter_jsonl` filters a ``{"prompt", "completion"}`` JSONL file into another,
  copying kept lines byte for byte (the authors' filtered file is reproduced exactly);
- :func:`write_chat_training_file` writes the chat-format file a student learns from
  (``{"messages": [user, assistant]}``, no system prompt: the student never sees the
  teacher's trait) and returns its SHA-256 for the run's record.

Both write atomically (:func:`subliminal_stats.data.outputs.atomic_write`) and refuse an
output that is one of their inputs.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
>>> digest = write_chat_training_file(path, [("Continue: 1, 2", "3, 4")])
>>> path.read_text()
'{"messages": [{"role": "user", "content": "Continue: 1, 2"}, {"role": "assistant", "content": "3, 4"}]}\\n'
>>> len(digest)
64
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from subliminal_stats.data.jsonl import iter_jsonl
from subliminal_stats.data.outputs import atomic_write, check_output_path
from subliminal_stats.errors import InputError
from subliminal_stats.filtering.numbers import NumberFilter, filter_completions
from subliminal_stats.filtering.report import FilterReport

__all__ = ["filter_jsonl", "read_prompt_completion_jsonl", "write_chat_training_file"]


def read_prompt_completion_jsonl(path: str | Path) -> list[tuple[int, str, dict]]:
    """Read ``{"prompt", "completion"}`` lines; return (line number, raw line, object).

    Blank lines are skipped. Every problem is an :class:`InputError` naming
    the file and the 1-based line.
    """
    rows: list[tuple[int, str, dict]] = []
    expect = 'a JSON object {"prompt": ..., "completion": ...}'
    for lineno, raw, obj in iter_jsonl(path, expect=expect):
        for key in ("prompt", "completion"):
            if key not in obj:
                raise InputError(
                    f"{path} line {lineno}: missing key {key!r}; each line needs "
                    '{"prompt": ..., "completion": ...}'
                )
            if not isinstance(obj[key], str):
                raise InputError(
                    f"{path} line {lineno}: {key!r} must be a string, "
                    f"got {type(obj[key]).__name__}"
                )
        rows.append((lineno, raw, obj))
    return rows


def _refuse_same_file(destination: Path, source: Path) -> None:
    # The wording the filter command has always printed; check_output_path says the rest.
    same = destination.resolve() == source.resolve()
    if not same and destination.exists() and source.exists():
        same = os.path.samefile(destination, source)
    if same:
        raise InputError(f"output {destination} is the input file; choose another -o path")


def filter_jsonl(
    source: str | Path, destination: str | Path, *, number_filter: NumberFilter | None = None
) -> FilterReport:
    """Filter a ``{"prompt", "completion"}`` JSONL file into another, keeping order.

    Kept lines are copied byte for byte (extra keys survive). The output is
    written atomically, so a crash never leaves half a file.

    Raises
    ------
    InputError
        Bad input (see :func:`read_prompt_completion_jsonl`), an empty file, or
        an output path that is the input, a folder or a special file.
    """
    source, destination = Path(source), Path(destination)
    _refuse_same_file(destination, source)
    rows = read_prompt_completion_jsonl(source)
    if not rows:
        raise InputError(f"{source} has no lines; expected one JSON object per line")
    check_output_path(destination, inputs=[source])
    kept, report = filter_completions((obj["completion"] for _, _, obj in rows),
                                      number_filter=number_filter)
    atomic_write(destination, "".join(rows[index][1] + "\n" for index in kept))
    return report


def write_chat_training_file(path: str | Path, pairs: Iterable[tuple[str, str]]) -> str:
    """Write (user, assistant) pairs as a chat-format training file; return its SHA-256.

    Parameters
    ----------
    path : path
        The ``.jsonl`` file (its folder is created).
    pairs : iterable of (str, str)
        The prompt the student sees and the teacher's kept answer.

    Returns
    -------
    str
        Hex SHA-256 of the bytes written (what the student learned from).
    """
    lines = [json.dumps({"messages": [{"role": "user", "content": user},
                                      {"role": "assistant", "content": answer}]})
             for user, answer in pairs]
    if not lines:
        raise InputError(f"no examples to write to training file {path}")
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    atomic_write(check_output_path(path), payload)
    return hashlib.sha256(payload).hexdigest()
