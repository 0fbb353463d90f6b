"""``python -m subliminal_stats`` is the ``subliminal-stats`` command."""

from subliminal_stats.cli import entry_point

entry_point()
