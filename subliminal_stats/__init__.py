"""subliminal-stats: run subliminal-learning experiments and tell whether a trait transfer is real.

The pipeline, one folder each: ``generation`` (prompts, teachers, filters) →
``backends``/``training`` (students) → ``evaluation`` (questions, scoring) →
``stats`` (seed-level inference) → ``report`` (figures, tables, reports).
Everything exchanges one tidy *responses table* (see :mod:`subliminal_stats.data`).
"""

from subliminal_stats.errors import InputError

from subliminal_stats.version import __version__

__all__ = ["InputError", "__version__"]
