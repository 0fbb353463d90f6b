"""Generation: what teachers are asked and who asks it.

- :mod:`~subliminal_stats.generation.prompts` — seeded number-sequence prompts;
- :mod:`~subliminal_stats.generation.code_tasks` — seeded code-snippet prompts;
- :mod:`~subliminal_stats.generation.reasoning` — math problems and step-by-step prompts;
- :mod:`~subliminal_stats.generation.teachers` — trait teachers (system prompts).

What is kept of the teachers' answers is decided in :mod:`subliminal_stats.filtering`.
"""
