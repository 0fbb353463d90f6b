"""The tidy tables, their validation, readers and writers, and ingest of other formats."""

from subliminal_stats.data.schema import (
    COLUMN_ORDER,
    IDENTITY_COLUMNS,
    KEY_COLUMNS,
    REQUIRED_COLUMNS,
    read_jsonl,
    read_responses,
    select,
    validate_responses,
    write_responses,
)

__all__ = [
    "COLUMN_ORDER",
    "IDENTITY_COLUMNS",
    "KEY_COLUMNS",
    "REQUIRED_COLUMNS",
    "read_jsonl",
    "read_responses",
    "select",
    "validate_responses",
    "write_responses",
]
