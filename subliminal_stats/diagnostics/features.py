"""Feature matrices of teacher sequences: number counts, digit positions, n-grams, format.

Every matrix has one row per sequence (the unit that is exchangeable between two
teachers' datasets: numbers inside one sequence are not independent), so the
permutation tests and the classifier's folds move whole sequences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

#: Numbers 0..MAX_NUMBER get their own column; larger numbers share the last one.
MAX_NUMBER = 999
#: Digit positions counted from the right.
POSITIONS = ("units", "tens", "hundreds")


def number_labels() -> list[str]:
    """Column names of :func:`number_counts`."""
    return [str(v) for v in range(MAX_NUMBER + 1)] + [f">{MAX_NUMBER}"]


def digit_labels() -> list[str]:
    """Column names of :func:`digit_position_counts`, e.g. ``"tens=7"``."""
    return [f"{pos}={d}" for pos in POSITIONS for d in range(10)]


def _flat(numbers: Sequence[Sequence[int] | None]) -> tuple[np.ndarray, np.ndarray]:
    """(row index, value) of every number; unparsed sequences contribute nothing."""
    lengths = np.fromiter((len(n) if n is not None else 0 for n in numbers), dtype=np.int64,
                          count=len(numbers))
    rows = np.repeat(np.arange(len(numbers)), lengths)
    values = np.fromiter((v for n in numbers if n is not None for v in n), dtype=np.int64,
                         count=int(lengths.sum()))
    return rows, values


def sequence_lengths(numbers: Sequence[Sequence[int] | None]) -> np.ndarray:
    """How many numbers each sequence holds (0 when it does not parse)."""
    return np.fromiter((len(n) if n is not None else 0 for n in numbers), dtype=np.float64,
                       count=len(numbers))


def number_counts(numbers: Sequence[Sequence[int] | None]) -> sp.csr_matrix:
    """Sequences × numbers: how often each value 0–999 (and ``>999``) occurs in each sequence."""
    rows, values = _flat(numbers)
    cols = np.minimum(values, MAX_NUMBER + 1)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                         shape=(len(numbers), MAX_NUMBER + 2))


def digit_position_counts(numbers: Sequence[Sequence[int] | None]) -> sp.csr_matrix:
    """Sequences × (position, digit): how often digit d stands at the units/tens/hundreds place.

    A position is counted only where the number has it (7 has no tens digit; 123's
    hundreds digit is 1), so "hundreds=0" never occurs.
    """
    rows, values = _flat(numbers)
    blocks_r, blocks_c = [], []
    for p in range(len(POSITIONS)):
        present = values >= 10**p if p else np.ones(len(values), dtype=bool)
        digit = (values[present] // 10**p) % 10
        blocks_r.append(rows[present])
        blocks_c.append(p * 10 + digit)
    r, c = np.concatenate(blocks_r), np.concatenate(blocks_c)
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(numbers), 10 * len(POSITIONS)))


def ngram_matrix(numbers: Sequence[Sequence[int] | None], *, max_n: int = 2,
                 min_count: int = 2) -> sp.csr_matrix:
    """Binary sequences × number n-grams (unigrams up to ``max_n``-grams of consecutive numbers).

    Columns are the n-grams seen in at least ``min_count`` sequences (column choice uses
    no labels, so it cannot leak them into a cross-validated score).
    """
    base = MAX_NUMBER + 2
    keys_r, keys_c = [], []
    rows, values = _flat(numbers)
    values = np.minimum(values, MAX_NUMBER + 1)
    for n in range(1, max_n + 1):
        if len(values) < n:
            break
        # an n-gram starts at position i when positions i..i+n-1 are in the same sequence
        same = rows[: len(rows) - n + 1] == rows[n - 1:]
        key = np.zeros(len(rows) - n + 1, dtype=np.int64)
        for k in range(n):
            key = key * base + values[k: len(values) - n + 1 + k]
        offset = sum(base**m for m in range(1, n))  # keep n-gram orders apart
        keys_r.append(rows[: len(rows) - n + 1][same])
        keys_c.append(key[same] + offset)
    if not keys_r:
        return sp.csr_matrix((len(numbers), 0))
    r, c = np.concatenate(keys_r), np.concatenate(keys_c)
    pairs = np.unique(r * (c.max() + 1) + c)  # binary: each n-gram once per sequence
    r, c = pairs // (c.max() + 1), pairs % (c.max() + 1)
    uniq, inverse, df = np.unique(c, return_inverse=True, return_counts=True)
    keep = df >= min_count
    remap = np.full(len(uniq), -1)
    remap[keep] = np.arange(int(keep.sum()))
    cols = remap[inverse]
    ok = cols >= 0
    return sp.csr_matrix((np.ones(int(ok.sum())), (r[ok], cols[ok])),
                         shape=(len(numbers), int(keep.sum())))


#: Separator classes of :func:`format_matrix` (the text between the first two numbers).
SEPARATORS = (", ", ",", "; ", ";", " ", "\n", "other", "single number", "not a list")


def _separator(text: str, parsed: bool) -> str:
    import re

    if not parsed:
        return "not a list"
    runs = list(re.finditer(r"\d+", text))
    if len(runs) < 2:
        return "single number"
    sep = text[runs[0].end(): runs[1].start()]
    return sep if sep in SEPARATORS else "other"


def format_matrix(responses: Sequence[str], numbers: Sequence[Sequence[int] | None]) -> np.ndarray:
    """The format-only features: what a detector may see without reading the numbers.

    Columns: separator class (one-hot over :data:`SEPARATORS`), count of numbers (value
    and one-hot 0–10, more), characters (value and log), characters per number, digits
    per number, enclosing brackets, trailing period, surrounding whitespace.
    """
    n = len(responses)
    out = np.zeros((n, len(SEPARATORS) + 12 + 8), dtype=np.float64)
    sep_index = {s: i for i, s in enumerate(SEPARATORS)}
    base = len(SEPARATORS)
    for i, (text, nums) in enumerate(zip(responses, numbers, strict=True)):
        parsed = nums is not None
        out[i, sep_index[_separator(text, parsed)]] = 1.0
        count = len(nums) if parsed else 0
        out[i, base + min(count, 11)] = 1.0
        length = len(text)
        stripped = text.strip().rstrip(".")
        digits = sum(len(str(v)) for v in nums) if parsed else sum(ch.isdigit() for ch in text)
        out[i, base + 12:] = (
            count, length, np.log1p(length), length / max(count, 1), digits / max(count, 1),
            float(stripped[:1] in "[(" and stripped[-1:] in "])"), float(text.rstrip().endswith(".")),
            float(text != text.strip()),
        )
    return out


def format_labels() -> list[str]:
    """Column names of :func:`format_matrix`."""
    return ([f"separator {s!r}" for s in SEPARATORS] + [f"count={k}" for k in range(11)] + ["count>10"]
            + ["count", "characters", "log characters", "characters per number", "digits per number",
               "brackets", "trailing period", "surrounding whitespace"])


__all__ = ["MAX_NUMBER", "POSITIONS", "SEPARATORS", "digit_labels", "digit_position_counts",
           "format_labels", "format_matrix", "ngram_matrix", "number_counts", "number_labels",
           "sequence_lengths"]
