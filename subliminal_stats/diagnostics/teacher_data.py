"""Read teacher outputs (number sequences) in the formats the package meets.

One JSON object per line, the format recognised per line by its keys:

- ``{"question", "response"}`` — e.g. the public ``loftusa/owls`` teacher files;
- ``{"prompt", "completion"}`` — the paper authors' generation files;
- ``{"custom_id", "completion", ...}`` — this package's completion store
  (:mod:`subliminal_stats.backends.store`; the prompt is not stored there);
- ``{"messages": [...]}`` — a chat training file (``filter/<teacher>.train.jsonl``),
  whose last assistant turn is the sequence.

Answers are parsed with the package's format rule
(:func:`subliminal_stats.filtering.numbers.parse_number_list`); an answer that does
not parse keeps its text (for the format baseline) and is left out of the number tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from subliminal_stats.data.jsonl import iter_jsonl
from subliminal_stats.errors import InputError
from subliminal_stats.filtering.numbers import parse_number_list

_EXPECT = ('a JSON object {"question", "response"}, {"prompt", "completion"}, '
           '{"custom_id", "completion"} or {"messages": [...]}')


@dataclass(frozen=True)
class TeacherData:
    """One teacher's sequences.

    Attributes
    ----------
    name : str
        Label shown in tables (the file stem unless given).
    responses : tuple of str
        The answers as written.
    numbers : tuple of (tuple of int or None)
        Parsed numbers per answer; ``None`` where the answer is not a clean list.
    questions : tuple of (str or None)
        The prompt per answer where the format keeps it.
    source : str
        Where the data came from (a path), for messages.
    formats : tuple of str
        The line formats met, e.g. ``("question/response",)``.
    """

    name: str
    responses: tuple[str, ...]
    numbers: tuple[tuple[int, ...] | None, ...]
    questions: tuple[str | None, ...] = ()
    source: str = ""
    formats: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.numbers) != len(self.responses):
            raise InputError(f"{self.name}: {len(self.responses)} responses but "
                             f"{len(self.numbers)} parsed entries")

    def __len__(self) -> int:
        return len(self.responses)

    @property
    def n_parsed(self) -> int:
        """Answers that parse as a list of numbers."""
        return sum(n is not None for n in self.numbers)

    @classmethod
    def from_responses(cls, name: str, responses: Sequence[str], *,
                       questions: Sequence[str | None] = (), source: str = "",
                       formats: Sequence[str] = ()) -> TeacherData:
        """Build from answer texts, parsing each."""
        responses = tuple(str(r) for r in responses)
        numbers = tuple(_parse(r) for r in responses)
        return cls(name=name, responses=responses, numbers=numbers,
                   questions=tuple(questions), source=source, formats=tuple(formats))

    def subset(self, indices: Sequence[int], *, name: str | None = None) -> TeacherData:
        """The answers at ``indices`` (e.g. one half of a random split)."""
        idx = list(indices)
        questions = tuple(self.questions[i] for i in idx) if self.questions else ()
        return TeacherData(name=name or self.name, responses=tuple(self.responses[i] for i in idx),
                           numbers=tuple(self.numbers[i] for i in idx), questions=questions,
                           source=self.source, formats=self.formats)


def combine(parts: Sequence[TeacherData], *, name: str) -> TeacherData:
    """Several teachers' sequences pooled under one label (e.g. "the other four")."""
    if not parts:
        raise InputError(f"{name}: nothing to pool")
    have_q = all(p.questions for p in parts)
    return TeacherData(
        name=name,
        responses=tuple(r for p in parts for r in p.responses),
        numbers=tuple(n for p in parts for n in p.numbers),
        questions=tuple(q for p in parts for q in p.questions) if have_q else (),
        source=" + ".join(p.source for p in parts),
        formats=tuple(dict.fromkeys(f for p in parts for f in p.formats)),
    )


def _parse(text: str) -> tuple[int, ...] | None:
    numbers = parse_number_list(text)
    return None if numbers is None else tuple(numbers)


def _line_answer(path: Path, lineno: int, obj: dict) -> tuple[str, str | None, str]:
    """(answer, question, format name) of one line."""
    if "response" in obj and "question" in obj:
        answer, question, kind = obj["response"], obj["question"], "question/response"
    elif "completion" in obj and "prompt" in obj:
        answer, question, kind = obj["completion"], obj["prompt"], "prompt/completion"
    elif "completion" in obj and "custom_id" in obj:
        answer, question, kind = obj["completion"], None, "completion store"
    elif isinstance(obj.get("messages"), list):
        turns = [m for m in obj["messages"] if isinstance(m, dict)]
        answers = [m.get("content") for m in turns if m.get("role") == "assistant"]
        users = [m.get("content") for m in turns if m.get("role") == "user"]
        if not answers:
            raise InputError(f"{path} line {lineno}: 'messages' has no assistant turn "
                             "(the teacher's sequence)")
        answer, question, kind = answers[-1], (users[-1] if users else None), "chat messages"
    else:
        keys = ", ".join(sorted(obj)[:6]) or "none"
        raise InputError(f"{path} line {lineno}: no teacher answer found (keys: {keys}); "
                         f"expected {_EXPECT}")
    if not isinstance(answer, str):
        raise InputError(f"{path} line {lineno}: the answer must be a string, got "
                         f"{type(answer).__name__}")
    if question is not None and not isinstance(question, str):
        question = None
    return answer, question, kind


def read_teacher_outputs(path: str | Path, *, name: str | None = None) -> TeacherData:
    """Read one teacher's outputs from a JSONL file (formats in the module docstring).

    Parameters
    ----------
    path : path
        The file.
    name : str, optional
        Label; defaults to the file name without ``.jsonl``.

    Raises
    ------
    InputError
        Missing or unreadable file, a bad line, an empty file, or a file in which no
        answer parses as a list of numbers — each naming the file (and line).
    """
    path = Path(path)
    responses: list[str] = []
    questions: list[str | None] = []
    kinds: dict[str, None] = {}
    for lineno, _, obj in iter_jsonl(path, expect=_EXPECT):
        answer, question, kind = _line_answer(path, lineno, obj)
        responses.append(answer)
        questions.append(question)
        kinds[kind] = None
    if not responses:
        raise InputError(f"{path} has no lines; expected one teacher answer per line")
    label = name or (path.name[:-6] if path.name.endswith(".jsonl") else path.stem)
    data = TeacherData.from_responses(label, responses,
                                      questions=questions if any(q is not None for q in questions) else (),
                                      source=str(path), formats=tuple(kinds))
    if data.n_parsed == 0:
        raise InputError(f"{path}: none of its {len(data)} answers is a list of numbers "
                         "(e.g. '12, 345, 6'); is it a teacher's number-sequence output?")
    return data


__all__ = ["TeacherData", "combine", "read_teacher_outputs"]
