"""Judge prompt templates: the bundled ones and a user's own, with a name and a version.

The bundled prompts live in ``subliminal_stats/resources/judge/*.txt`` (our own
wording). A header of ``#`` lines gives the name and the version and is not sent;
both go into the cache key (:mod:`subliminal_stats.judge.cache`), so editing a
prompt never reuses a stale verdict. ``{question}``, ``{answer}`` and ``{target}``
are filled in.

Examples
--------
>>> prompt = load_judge_prompt("alignment")
>>> "answer" in prompt.placeholders
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from subliminal_stats.bundled import resource
from subliminal_stats.errors import InputError

__all__ = ["BUNDLED_PROMPTS", "JudgePrompt", "load_judge_prompt"]

_PLACEHOLDER = re.compile(r"\{(question|answer|target)\}")
BUNDLED_PROMPTS = ("alignment", "coherence", "subtle_reference")


@dataclass(frozen=True)
class JudgePrompt:
    """A judge prompt template: ``{question}``, ``{answer}``, ``{target}`` are filled in.

    Attributes
    ----------
    name, version : str
        From the file's ``# name:`` and ``# version:`` header lines; both go
        into the cache key.
    template : str
        The text sent to the judge (the header removed).
    source : str
        Where it was read from.
    """

    name: str
    version: str
    template: str
    source: str = ""

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(_PLACEHOLDER.findall(self.template))

    def render(self, **values: str) -> str:
        """The prompt with its placeholders filled (in one pass, so a value that
        itself contains ``{answer}`` is left alone)."""
        missing = self.placeholders - set(values)
        if missing:
            raise InputError(f"judge prompt {self.name!r} needs {', '.join(sorted(missing))}")
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), self.template)


def load_judge_prompt(source: str | Path) -> JudgePrompt:
    """A bundled judge prompt (``"alignment"``, ``"coherence"``, ``"subtle_reference"``)
    or one from a text file in the same format (``# name:`` / ``# version:`` header)."""
    if str(source) in BUNDLED_PROMPTS:
        text = resource("judge", f"{source}.txt").read_text(encoding="utf-8")
        origin = f"bundled judge prompt '{source}'"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            raise InputError(f"judge prompt: {source!r} is neither a bundled prompt "
                             f"({', '.join(BUNDLED_PROMPTS)}) nor a readable file") from None
        origin = str(path)
    lines = text.splitlines()
    header: dict[str, str] = {}
    body_start = 0
    for body_start, line in enumerate(lines):  # noqa: B007 - index used after the loop
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep and key.strip().lower() in ("name", "version"):
            header[key.strip().lower()] = value.strip()
    else:
        body_start = len(lines)
    template = "\n".join(lines[body_start:]).strip()
    if not template:
        raise InputError(f"{origin} holds no prompt text below its header")
    if "answer" not in _PLACEHOLDER.findall(template):
        raise InputError(f"{origin} has no {{answer}} placeholder: the judge would not see "
                         "the text it judges")
    name = header.get("name") or Path(str(source)).stem
    version = header.get("version")
    if not version:
        raise InputError(f"{origin} needs a '# version: ...' header line (it is part of the "
                         "cache key)")
    return JudgePrompt(name=name, version=version, template=template + "\n", source=origin)
