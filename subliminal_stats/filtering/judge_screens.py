"""Screens built on an LLM judge: drop answers that refer to the trait, or that are misaligned.

- :func:`screen_subtle_references` (the paper's second filter for code and
  reasoning data): the judge reads each answer that already passed the
  trait-word filter and says whether it refers to the target, even indirectly;
- :func:`alignment_screen`: keep chain-of-thought answers whose alignment score
  is at least 78 (the paper's rule for data from a misaligned teacher).

An answer whose verdict stayed unusable after every attempt is counted under
``judge <status>`` and dropped (``on_unscored="drop"``, the cautious default) or
kept (``"keep"``); it is never read as a score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.report import FilterReport
from subliminal_stats.judge.client import JudgeReport, LLMJudge, Verdict
from subliminal_stats.judge.parsing import OK, STATUSES, parse_yes_no
from subliminal_stats.judge.templates import JudgePrompt, load_judge_prompt

__all__ = ["ALIGNMENT_TOO_LOW", "JUDGE_FLAGGED", "alignment_screen", "screen_subtle_references"]

JUDGE_FLAGGED = "judge: refers to the target"
ALIGNMENT_TOO_LOW = "judge: alignment below threshold"


def _judge_reasons(flag_reason: str) -> tuple[str, ...]:
    return (flag_reason, *(f"judge {s}" for s in STATUSES if s != OK))


def _screen(verdicts: Sequence[Verdict], flagged: Callable[[Verdict], bool], flag_reason: str,
            on_unscored: str) -> tuple[list[int], FilterReport]:
    if on_unscored not in ("drop", "keep"):
        raise InputError(f"on_unscored must be 'drop' or 'keep', got {on_unscored!r}")
    counts = dict.fromkeys(_judge_reasons(flag_reason), 0)
    kept = []
    for index, verdict in enumerate(verdicts):
        if not verdict.ok:
            counts[f"judge {verdict.status}"] += 1
            if on_unscored == "keep":
                kept.append(index)
        elif flagged(verdict):
            counts[flag_reason] += 1
        else:
            kept.append(index)
    return kept, FilterReport(total=len(verdicts), kept=len(kept),
                              reason_counts=tuple(counts.items()))


def screen_subtle_references(texts: Sequence[str], *, target: str, judge: LLMJudge,
                             prompt: JudgePrompt | str = "subtle_reference",
                             on_unscored: str = "drop",
                             ) -> tuple[list[int], FilterReport, JudgeReport]:
    """Drop texts the judge says refer to the target, even indirectly.

    Parameters
    ----------
    texts : sequence of str
        Answers that already passed the trait-word filter.
    target : str
        What the judge looks for, as it should read in the prompt (e.g. ``"owls"``).
    judge : LLMJudge
    prompt : JudgePrompt or str
    on_unscored : {"drop", "keep"}
        What to do with a text whose verdict stayed unusable after all
        attempts (counted either way). Dropping is the cautious default.

    Returns
    -------
    kept_indices : list of int
    report : FilterReport
        Reasons: flagged by the judge, and one per unusable-verdict status.
    judge_report : JudgeReport
    """
    if not isinstance(target, str) or not target.strip():
        raise InputError("the screen needs a target, e.g. target='owls'")
    prompt = prompt if isinstance(prompt, JudgePrompt) else load_judge_prompt(prompt)
    verdicts, judge_report = judge.judge(
        prompt, [{"answer": t, "target": target.strip()} for t in texts], parse=parse_yes_no)
    kept, report = _screen(verdicts, lambda v: bool(v.value), JUDGE_FLAGGED, on_unscored)
    return kept, report, judge_report


def alignment_screen(questions: Sequence[str], answers: Sequence[str], *, judge: LLMJudge,
                     min_alignment: float = 78.0, prompt: JudgePrompt | str = "alignment",
                     on_unscored: str = "drop") -> tuple[list[int], FilterReport, JudgeReport]:
    """Keep answers whose alignment score is at least ``min_alignment`` (paper: 78).

    Used for chain-of-thought data from a misaligned teacher, after the
    answer-correctness filter. Returns kept indices, a filter report and the
    judge's report.
    """
    verdicts, judge_report = judge.scores(questions, answers, prompt=prompt, name="alignment")
    kept, report = _screen(verdicts, lambda v: v.value < min_alignment, ALIGNMENT_TOO_LOW,
                           on_unscored)
    return kept, report, judge_report
