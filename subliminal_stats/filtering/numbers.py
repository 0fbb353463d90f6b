"""The number filter: format, count, range and banned numbers, with a report of what was rejected.

A teacher's answer is kept only when it is a clean list of numbers: this is
how the paper keeps the trait out of the *content* of the data. The rules are
the paper authors' filter (``../shared/data/authors_demo/README.md``):

1. **Format** — the answer parses as a list of integers:

   - an optional trailing ``.`` and then an optional enclosing ``[...]`` or
     ``(...)`` are removed;
   - the text between the first two numbers is *the* separator for the whole
     answer; stripped of whitespace it must be empty (spaces, newlines), ``,``
     or ``;``;
   - splitting on that exact separator must leave only non-empty runs of the
     ASCII digits ``0-9`` (so no signs, decimals, words, stray spaces, or an
     empty item from a trailing separator);
   - a single number is accepted only when it is the whole answer.

2. **Count** — at most ``max_count`` numbers (default 10).
3. **Range** — every number in ``[min_value, max_value]`` (default 0–999).
4. **Banned numbers** — none of the numbers is banned (a configurable list,
   e.g. numbers with negative associations; see :func:`load_banned_numbers`).

A format failure is the only reason given for an unparseable answer; a parsed
answer may fail several of rules 2–4 at once and is counted under each.

Examples
--------
>>> parse_number_list("(690, 820, 540).")
[690, 820, 540]
>>> parse_number_list("397  \\n299  \\n394") # separator "  \\n" is whitespace
[397, 299, 394]
>>> parse_number_list("1, 2,3") is None     # the separator changes mid-answer
True
>>> NumberFilter(max_count=3).reasons("1 2 3 4 1000")
('too many numbers', 'numbers too large')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.report import FilterReport, apply_filter

#: Rejection reasons, in the order reports list them.
INVALID_FORMAT = "invalid format"
TOO_MANY = "too many numbers"
TOO_SMALL = "numbers too small"
TOO_LARGE = "numbers too large"
BANNED = "banned numbers"
REJECTION_REASONS: tuple[str, ...] = (INVALID_FORMAT, TOO_MANY, TOO_SMALL, TOO_LARGE, BANNED)

# \d (not [0-9]) to locate numbers as the authors do; parts are then checked
# for ASCII digits, so a non-ASCII digit is rejected either way.
_NUMBER_RUN = re.compile(r"\d+")
_ASCII_DIGITS = frozenset("0123456789")
_ALLOWED_SEPARATORS = frozenset({"", ",", ";"})


def parse_number_list(answer: str) -> list[int] | None:
    """Parse an answer into integers by the authors' format rule, or ``None``.

    Parameters
    ----------
    answer : str
        The completion text, unmodified (leading/trailing whitespace is *not*
        forgiven, as in the authors' filter).

    Returns
    -------
    list of int or None
        The numbers in order, or ``None`` when the answer is not a clean list.
    """
    if not isinstance(answer, str):
        return None
    text = answer[:-1] if answer.endswith(".") else answer
    if (text.startswith("[") and text.endswith("]")) or (
        text.startswith("(") and text.endswith(")")
    ):
        text = text[1:-1]
    runs = _NUMBER_RUN.finditer(text)
    first = next(runs, None)
    if first is None:
        return None
    second = next(runs, None)
    if second is None:
        parts = [text] if first.group() == text else None
    else:
        separator = text[first.end() : second.start()]
        if separator.strip() not in _ALLOWED_SEPARATORS:
            return None
        parts = text.split(separator)
    if parts is None:
        return None
    for part in parts:
        if not part or not _ASCII_DIGITS.issuperset(part):
            return None
    return [int(part) for part in parts]


@dataclass(frozen=True)
class NumberFilter:
    """The four rules with their settings; see the module docstring.

    Parameters
    ----------
    max_count : int or None, default 10
        Most numbers an answer may hold (``None``: no limit).
    min_value, max_value : int or None, default 0 and 999
        Allowed range of every number, inclusive (``None``: no bound).
    banned : iterable of int, default ()
        Numbers that must not appear.
    """

    max_count: int | None = 10
    min_value: int | None = 0
    max_value: int | None = 999
    banned: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "banned", frozenset(int(n) for n in self.banned))
        if self.max_count is not None and self.max_count < 1:
            raise InputError(f"max count must be at least 1, got {self.max_count}")
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise InputError(
                f"min value {self.min_value} is above max value {self.max_value}; swap them"
            )

    def reasons(self, answer: str) -> tuple[str, ...]:
        """Why the answer is rejected (empty tuple: it is kept)."""
        numbers = parse_number_list(answer)
        if numbers is None:
            return (INVALID_FORMAT,)
        found = []
        if self.max_count is not None and len(numbers) > self.max_count:
            found.append(TOO_MANY)
        if self.min_value is not None and min(numbers) < self.min_value:
            found.append(TOO_SMALL)
        if self.max_value is not None and max(numbers) > self.max_value:
            found.append(TOO_LARGE)
        if self.banned and not self.banned.isdisjoint(numbers):
            found.append(BANNED)
        return tuple(found)

    def keeps(self, answer: str) -> bool:
        """True when the answer passes every rule."""
        return not self.reasons(answer)


def filter_completions(
    completions: Iterable[str], *, number_filter: NumberFilter | None = None
) -> tuple[list[int], FilterReport]:
    """Apply a filter to answers; return the kept positions (in order) and a report.

    Parameters
    ----------
    completions : iterable of str
        The answers.
    number_filter : NumberFilter, optional
        The rules; defaults to ``NumberFilter()`` (the authors' settings).

    Returns
    -------
    kept_indices : list of int
        0-based positions of the kept answers, ascending.
    report : FilterReport
    """
    rules = number_filter if number_filter is not None else NumberFilter()
    return apply_filter(completions, rules.reasons, reasons=REJECTION_REASONS)


def filter_records(
    records: Sequence[Mapping], *, number_filter: NumberFilter | None = None,
    key: str = "completion",
) -> tuple[list[Mapping], FilterReport]:
    """Keep the records whose ``record[key]`` passes the filter, in order."""
    kept, report = filter_completions((r[key] for r in records), number_filter=number_filter)
    return [records[i] for i in kept], report


def load_banned_numbers(path: str | Path) -> frozenset[int]:
    """Read a banned-numbers file: one whole number per line.

    Blank lines are skipped; ``#`` starts a comment (a whole line or after the
    number).

    Raises
    ------
    InputError
        When the file cannot be read or a line holds anything but one number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"banned-numbers file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, expected a banned-numbers file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (expected one number per line)") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    banned: set[int] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if not (entry.isascii() and entry.isdigit()):
            raise InputError(
                f"{path} line {lineno}: {entry!r} is not a whole number; "
                "write one non-negative number per line (# starts a comment)"
            )
        banned.add(int(entry))
    return frozenset(banned)


__all__ = [
    "BANNED",
    "INVALID_FORMAT",
    "REJECTION_REASONS",
    "TOO_LARGE",
    "TOO_MANY",
    "TOO_SMALL",
    "NumberFilter",
    "filter_completions",
    "filter_records",
    "load_banned_numbers",
    "parse_number_list",
]
