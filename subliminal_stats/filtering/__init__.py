"""Filtering: which teacher answers reach a student, and why the others did not.

Every filter returns the kept positions and a :class:`~subliminal_stats.filtering.report.FilterReport`.

- :mod:`~subliminal_stats.filtering.numbers` — number format, count, range, banned numbers;
- :mod:`~subliminal_stats.filtering.code` — the trait word in prose, comments and identifiers;
- :mod:`~subliminal_stats.filtering.reasoning` — final-answer correctness of step-by-step solutions;
- :mod:`~subliminal_stats.filtering.judge_screens` — LLM-judge screens (subtle references, alignment);
- :mod:`~subliminal_stats.filtering.files` — filtered JSONL files and chat-format training files.
"""
