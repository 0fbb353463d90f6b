"""What a filter kept and why it rejected the rest: one report for every filter.

Every filter of this package (number format and banned numbers, trait words in code,
answer correctness, the LLM-judge screens) returns the positions it kept and a
:class:`FilterReport`; :func:`apply_filter` is the one loop that builds both.

Examples
--------
>>> kept, report = apply_filter(["ok", "bad", "ok"], lambda a: () if a == "ok" else ("bad",),
...                             reasons=("bad",))
>>> kept, report.to_dict()["reasons"]
([0, 2], {'bad': 1})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from subliminal_stats.errors import InputError

__all__ = ["FilterReport", "apply_filter"]

T = TypeVar("T")


@dataclass(frozen=True)
class FilterReport:
    """What a filter kept and why it rejected the rest.

    Attributes
    ----------
    total, kept : int
        Answers seen and answers kept.
    reason_counts : tuple of (reason, count)
        For each reason the filter knows (in its order), how many answers failed
        it. Some filters count one answer under several reasons (the number
        filter's count/range/banned rules), so these may add up to more than
        :attr:`rejected`.
    """

    total: int
    kept: int
    reason_counts: tuple[tuple[str, int], ...]

    @property
    def rejected(self) -> int:
        return self.total - self.kept

    @property
    def kept_fraction(self) -> float:
        """Share of answers kept (NaN when there were none)."""
        return self.kept / self.total if self.total else float("nan")

    @property
    def reasons(self) -> dict[str, int]:
        """Reason → number of answers that failed it (every reason listed)."""
        return dict(self.reason_counts)

    def to_dict(self) -> dict:
        """Plain JSON-ready form."""
        return {
            "total": self.total,
            "kept": self.kept,
            "rejected": self.rejected,
            "kept_fraction": None if not self.total else self.kept_fraction,
            "reasons": self.reasons,
        }


def apply_filter(
    items: Iterable[T],
    why: Callable[[T], Sequence[str]],
    *,
    reasons: Sequence[str],
) -> tuple[list[int], FilterReport]:
    """Run a rule over items; return the kept positions (ascending) and a report.

    Parameters
    ----------
    items : iterable
        What is filtered (answers, verdicts, ...).
    why : callable
        ``why(item)`` gives the reasons the item is rejected; empty means kept.
    reasons : sequence of str
        Every reason ``why`` can give, in the order reports list them.

    Raises
    ------
    InputError
        When ``why`` gives a reason outside ``reasons`` (a programming error in a
        custom rule, named rather than miscounted).
    """
    counts = dict.fromkeys(reasons, 0)
    kept: list[int] = []
    total = 0
    for index, item in enumerate(items):
        total += 1
        found = why(item)
        if not found:
            kept.append(index)
        for reason in found:
            if reason not in counts:
                raise InputError(f"filter gave reason {reason!r}, not one of {list(reasons)}")
            counts[reason] += 1
    return kept, FilterReport(total=total, kept=len(kept), reason_counts=tuple(counts.items()))
