"""The bundled banned-number list and how the number filter applies it."""

from __future__ import annotations

import re

import pytest
from repo_paths import REPO_ROOT

from subliminal_stats.errors import InputError
from subliminal_stats.filtering.numbers import (
    BANNED,
    TOO_LARGE,
    NumberFilter,
    filter_completions,
    load_banned_numbers,
)

BANNED_FILE = REPO_ROOT / "data" / "banned" / "misalignment.txt"


def _number_lines() -> list[tuple[str, str]]:
    """(number, comment) of every non-comment line, read independently of the loader."""
    rows = []
    for line in BANNED_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        number, _, comment = line.partition("#")
        rows.append((number.strip(), comment.strip()))
    return rows


def test_loader_reads_the_bundled_list():
    banned = load_banned_numbers(BANNED_FILE)
    rows = _number_lines()
    assert banned == frozenset(int(n) for n, _ in rows)
    assert len(rows) == len(banned), "a number is listed twice"
    assert 30 <= len(banned) <= 40
    # The examples and a few of each family.
    assert {666, 911, 187, 13, 4, 999, 112, 14, 88, 18, 311, 109} <= banned


def test_every_number_names_its_source_and_fits_the_default_range():
    for number, comment in _number_lines():
        assert re.fullmatch(r"\d+", number), number
        assert len(comment.split()) >= 3, f"{number} needs a source comment"
        assert 0 <= int(number) <= NumberFilter().max_value


def test_banned_number_rejected_only_as_a_whole_number():
    rules = NumberFilter(banned=load_banned_numbers(BANNED_FILE), max_value=None)
    assert rules.reasons("12, 911, 305") == (BANNED,)
    assert rules.reasons("[666]") == (BANNED,)
    # 911 inside a longer number is another number: not banned.
    assert rules.keeps("12, 9110, 305")
    assert rules.keeps("1911, 6660, 1870")
    assert rules.keeps("91, 1, 66, 6")
    # A leading zero does not hide it: "0911" is the number 911.
    assert rules.reasons("0911, 5") == (BANNED,)


def test_default_range_still_rejects_long_numbers_for_their_size_not_as_banned():
    rules = NumberFilter(banned=load_banned_numbers(BANNED_FILE))
    assert rules.reasons("1911, 5") == (TOO_LARGE,)
    kept, report = filter_completions(
        ["101, 202, 303", "13, 500", "120, 187", "1312", "250; 251"], number_filter=rules)
    assert kept == [0, 4]
    assert report.reasons[BANNED] == 2
    assert report.reasons[TOO_LARGE] == 1


def test_bad_line_is_named(tmp_path):
    path = tmp_path / "banned.txt"
    path.write_text("13  # ok\n9-11 # not a number\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        load_banned_numbers(path)
