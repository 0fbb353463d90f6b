"""The tidy tables, their validation, readers and writers, and ingest of other formats.

Names load on first use (PEP 562), so ``import subliminal_stats.data.outputs`` (used by every
command at start-up) does not import pandas.

* :func:`read_responses` / :func:`validate_responses` / :func:`write_responses` — the
  responses table in memory (one row per answer);
* :func:`read_cells` — straight to per-cell counts, streaming (memory grows with cells);
* :func:`read_answer_texts` — the answers' text with their keys (for specificity);
* :mod:`~subliminal_stats.data.labels` — the one label normalisation;
* :mod:`~subliminal_stats.data.outputs` — safe output paths and atomic writes.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "COLUMN_ORDER": "schema",
    "IDENTITY_COLUMNS": "schema",
    "KEY_COLUMNS": "schema",
    "REQUIRED_COLUMNS": "schema",
    "read_jsonl": "schema",
    "read_responses": "schema",
    "select": "schema",
    "validate_responses": "schema",
    "write_responses": "schema",
    "CELL_COLUMNS": "reader",
    "read_cells": "reader",
    "read_answer_texts": "reader",
    "LabelMergeWarning": "labels",
    "normalise_label": "labels",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'subliminal_stats.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"subliminal_stats.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
