"""The LLM judge: prompt templates, reading replies, the reply cache, the client.

- :mod:`~subliminal_stats.judge.templates` — bundled and user judge prompts (name, version);
- :mod:`~subliminal_stats.judge.parsing` — scores and yes/no read from replies, or a status;
- :mod:`~subliminal_stats.judge.cache` — the cache key of a judged prompt;
- :mod:`~subliminal_stats.judge.client` — :class:`~subliminal_stats.judge.client.LLMJudge`.

Filters built on it live in :mod:`subliminal_stats.filtering.judge_screens`; misalignment
scores in :mod:`subliminal_stats.evaluation.misalignment`.
"""
