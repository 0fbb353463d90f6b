"""Reading JSON-lines files with errors a user can act on; writing JSON safely.

Every JSONL reader in the package (responses tables, the authors' evaluation
files, teacher outputs, chat training files, GSM8K problems) goes through
:func:`iter_jsonl`, so a missing file, a binary file or a broken line is always
reported the same way: one line naming the file and the 1-based line number.
Every JSON document the package writes (manifests, run markers, stage reports,
``test --json``) goes through :func:`write_json`: strict JSON, written atomically.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

from subliminal_stats.errors import InputError


def iter_jsonl(path: str | Path, *, expect: str = "a JSON object") -> Iterator[tuple[int, str, dict]]:
    """Yield ``(line_number, raw_line, object)`` for each non-blank line of a JSONL file.

    Parameters
    ----------
    path : path
        The file.
    expect : str
        What each line should hold, for the error message (e.g.
        ``'an object {"prompt": ..., "completion": ...}'``).

    Yields
    ------
    line_number : int
        1-based line number in the file.
    raw_line : str
        The line as written, without its line ending (for byte-for-byte copies).
    object : dict

    Raises
    ------
    InputError
        Missing file, a directory, non-UTF-8 content, a line that is not JSON or
        not a JSON object — each naming the file (and line).
    """
    path = Path(path)
    try:
        handle = path.open("r", encoding="utf-8", newline="")
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, expected a JSONL file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        try:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(
                        f"{path} line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
                    ) from None
                if not isinstance(obj, dict):
                    raise InputError(
                        f"{path} line {lineno}: expected {expect}, got {type(obj).__name__}"
                    )
                yield lineno, line.rstrip("\r\n"), obj
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text (is it a binary file?)") from None


def read_chat_jsonl(path: str | Path) -> list[list[dict[str, str]]]:
    """Read a chat-format training file: one ``{"messages": [...]}`` object per line.

    Each conversation must end with an assistant message (the completion the
    student learns); roles are ``system``, ``user`` or ``assistant``.

    Raises
    ------
    InputError
        Naming the file and line of the first bad record.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"training file {path} not found")
    conversations = []
    for number, _, record in iter_jsonl(path, expect='a JSON object {"messages": [...]}'):
        messages = record.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InputError(f"{path} line {number}: expected an object with a non-empty "
                             "'messages' list")
        for message in messages:
            if (not isinstance(message, dict)
                    or message.get("role") not in ("system", "user", "assistant")
                    or not isinstance(message.get("content"), str)):
                raise InputError(f"{path} line {number}: each message needs a role "
                                 "(system/user/assistant) and a string content")
        if messages[-1]["role"] != "assistant":
            raise InputError(f"{path} line {number}: the last message must be the "
                             "assistant's completion")
        conversations.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not conversations:
        raise InputError(f"training file {path} has no conversations")
    return conversations


def json_safe(value):
    """``value`` with NaN and ±inf as ``None`` and numpy scalars as Python numbers.

    Strict JSON has no NaN: a NaN p-value (no test possible) is written as ``null``.

    >>> json_safe({"p": float("nan"), "ci": [0.1, float("inf")]})
    {'p': None, 'ci': [0.1, None]}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if getattr(value, "ndim", 0) and hasattr(value, "tolist"):  # numpy array
        return json_safe(value.tolist())
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return json_safe(value.item())
    return value


def write_json(path: str | Path, data, *, sort_keys: bool = False) -> Path:
    """Write ``data`` as indented, strict JSON, atomically (old or new file, never half).

    Non-finite floats become ``null`` (:func:`json_safe`); paths and other
    objects JSON does not know are written as their string. The parent folder is
    created when missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_safe(data), indent=2, sort_keys=sort_keys, allow_nan=False,
                      default=str) + "\n"
    # A plain open (not mkstemp, which makes the file private) keeps the user's umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
