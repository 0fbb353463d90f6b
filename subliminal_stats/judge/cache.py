"""The judge's cache: which stored reply answers which request.

Every judge reply is stored in a
:class:`~subliminal_stats.backends.store.CompletionStore` under an id made of a
SHA-256 of (judge model, prompt name, prompt version, the full prompt as sent)
and the attempt number. A rerun — or the same text judged twice — reads the
stored reply and pays nothing; a store survives ``kill -9`` (see its docstring).
Changing the judge model or editing the prompt changes the hash, so stale
verdicts are never reused.

Examples
--------
>>> from subliminal_stats.judge.templates import JudgePrompt
>>> prompt = JudgePrompt("alignment", "1", "Rate {answer}.\\n")
>>> key = cache_key("gpt-4.1", prompt, "Rate hello.\\n")
>>> len(key), key == cache_key("gpt-4.1-mini", prompt, "Rate hello.\\n")
(64, False)
>>> reply_id(prompt, key, 0).startswith("judge|alignment|")
True
"""

from __future__ import annotations

import hashlib
import json

from subliminal_stats.judge.templates import JudgePrompt

__all__ = ["cache_key", "reply_id"]


def cache_key(model: str, prompt: JudgePrompt, rendered: str) -> str:
    """SHA-256 (hex) of (judge model, prompt name, prompt version, prompt as sent)."""
    payload = json.dumps([model, prompt.name, prompt.version, rendered],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def reply_id(prompt: JudgePrompt, key: str, attempt: int) -> str:
    """The store id of attempt ``attempt`` (0-based) at one cached prompt."""
    return f"judge|{prompt.name}|{key}|a{attempt}"
