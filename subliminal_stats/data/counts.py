"""Per-cell counts as input: the counts table, and per-question rates with a known n.

The statistics work on cells — one row per (trait, condition, seed, question) with
``hits`` of ``n`` answers — so a table of such counts is exact input: the same numbers as
expanding it to one row per answer. Published results often come as per-question rates
(e.g. the phantom-transfer ``stats.json``: ``values`` = hits / 100 per question); a rate
times a known ``n`` is a count when it is a whole number, and is refused when it is not
(a rounded count would be a silently wrong number).

The counts table (files are read by :func:`subliminal_stats.data.read_cells`, which detects
it by its columns):

=============  ========  ==========================================================
column         required  meaning
=============  ========  ==========================================================
trait          yes       as in the responses table
condition      yes
seed           yes       one trained model
question       yes
hits           yes       answers that show the trait, a whole number, 0 ≤ hits ≤ n
n              yes       answers sampled in the cell, a whole number ≥ 1
METRIC_sum     no        a [0, 1] score summed over the cell's n answers (e.g.
                         ``prob_sum``): ``--metric prob`` tests ``prob_sum / n``
experiment     no        as in the responses table
run            no        as in the responses table (the file when absent)
dataset, dose  no        carried along (teacher dataset, dose), not used by the reader
=============  ========  ==========================================================

A cell appears once per run: a second row of the same (experiment, trait, condition, seed,
question) in one run is refused (an appended copy would double its answers); separate
evaluations of one model are added up before (``ingest rates --pool-repeats``) or given
different ``run`` labels and read with ``--same-seeds``.

These functions take DataFrames (the Python API); :mod:`subliminal_stats.stats.counts`
re-exports them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from subliminal_stats.errors import InputError

__all__ = ["CELL_COLUMNS", "RATE_TOLERANCE", "counts_to_cells", "is_counts_table",
           "rates_to_cells", "score_sum_column"]

#: The cells table: one row per (trait, condition, seed, question).
CELL_COLUMNS = ("trait", "condition", "seed", "question", "hits", "n")
_KEYS = ("trait", "condition", "seed", "question")
#: ``rate × n`` must lie this close to a whole number (absolute, in answers).
RATE_TOLERANCE = 1e-6


def score_sum_column(metric: str) -> str:
    """The counts-table column of a [0, 1] score: ``prob`` → ``prob_sum``."""
    return f"{metric}_sum"


def is_counts_table(columns) -> bool:
    """Whether a table with these columns is a counts table (``n`` and ``hits`` or a
    ``*_sum``, no per-answer ``hit``).

    >>> is_counts_table(["trait", "condition", "seed", "question", "hits", "n"])
    True
    >>> is_counts_table(["trait", "condition", "seed", "question", "hit", "n"])
    False
    """
    names = set(map(str, columns))
    return ("hit" not in names and "n" in names
            and ("hits" in names or any(c.endswith("_sum") for c in names)))


def counts_to_cells(df: pd.DataFrame, *, hits: str = "hits", n: str = "n",
                    repeats: str = "sum") -> pd.DataFrame:
    """A checked cells table from a per-cell counts table (a DataFrame).

    Parameters
    ----------
    df : DataFrame
        ``trait, condition, seed, question`` and the count columns ``hits`` of ``n``
        (``hits`` may be a score sum for a [0, 1] metric: then ``0 ≤ hits ≤ n`` is checked
        but not wholeness).
    repeats : {"sum", "refuse"}
        Rows of one cell given more than once: added up (the same model evaluated again;
        the default of this in-memory API, which callers pooling evaluations rely on) or
        refused (what reading a file does within one run).

    Returns
    -------
    DataFrame with :data:`CELL_COLUMNS`, usable wherever a responses table is (same results
    as expanding it to one row per answer).

    Raises
    ------
    InputError
        A missing column; ``n`` not a whole number ≥ 1; ``hits`` outside [0, n]; a repeated
        cell with ``repeats="refuse"`` (one line naming the row).

    Examples
    --------
    >>> t = pd.DataFrame({"trait": "owl", "condition": "c", "seed": [0, 1], "question": "q",
    ...                   "hits": [3, 0], "n": [10, 10]})
    >>> counts_to_cells(t)[["seed", "hits", "n"]].to_dict("list")
    {'seed': ['0', '1'], 'hits': [3, 0], 'n': [10, 10]}
    """
    if repeats not in ("sum", "refuse"):
        raise InputError(f"repeats={repeats!r}: use 'sum' or 'refuse'")
    need = [*_KEYS, hits, n]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"counts table lacks column(s) {', '.join(map(repr, missing))}; it needs "
                         "trait, condition, seed, question, hits and n")
    h = pd.to_numeric(df[hits], errors="coerce")
    m = pd.to_numeric(df[n], errors="coerce")
    bad = h.isna() | m.isna() | (m < 1) | (h < 0) | (h > m)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"counts table row {i + 1}: need 0 ≤ {hits} ≤ {n} and {n} ≥ 1, got "
                         f"{df[hits].iloc[i]!r} of {df[n].iloc[i]!r}")
    if (m % 1 != 0).any():
        i = int(np.flatnonzero((m % 1 != 0).to_numpy())[0])
        raise InputError(f"counts table row {i + 1}: {n} must be a whole number of answers")
    keys = df[list(_KEYS)].astype(str)
    if repeats == "refuse":
        dup = keys.duplicated(keep="first").to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            first = int(np.flatnonzero((keys == keys.iloc[i]).all(axis=1).to_numpy())[0])
            raise InputError(f"counts table row {i + 1}: cell {tuple(keys.iloc[i])} is also row "
                             f"{first + 1}; give each cell once (add repeated evaluations up)")
    out = keys.assign(hits=h.to_numpy(), n=m.to_numpy())
    out = out.groupby(list(_KEYS), sort=False, as_index=False)[["hits", "n"]].sum()
    if (out["hits"] % 1 == 0).all():
        out["hits"] = out["hits"].astype(np.int64)
    out["n"] = out["n"].astype(np.int64)
    return out[list(CELL_COLUMNS)]


def rate_counts(rate: np.ndarray, n: np.ndarray, *,
                tolerance: float = RATE_TOLERANCE) -> tuple[np.ndarray, int]:
    """``(hits, first_bad)``: ``rate · n`` as whole counts; ``first_bad`` = −1 when all are.

    ``first_bad`` is the first row whose rate is missing or outside [0, 1], whose ``n`` is
    not a whole number ≥ 1, or whose ``rate · n`` is not within ``tolerance`` of a whole
    number (the caller names the row in its error).
    """
    rate = np.asarray(rate, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        h = rate * n
        bad = (np.isnan(rate) | np.isnan(n) | (rate < 0) | (rate > 1) | (n < 1)
               | (n != np.round(n)) | (np.abs(h - np.round(h)) > tolerance))
    if bad.any():
        return np.zeros(len(h), dtype=np.int64), int(np.flatnonzero(bad)[0])
    return np.round(h).astype(np.int64), -1


def rates_to_cells(df: pd.DataFrame, *, rate: str = "rate", n: str | int = "n",
                   tolerance: float = RATE_TOLERANCE, repeats: str = "sum") -> pd.DataFrame:
    """Cells from per-question rates with a known number of answers per question.

    ``hits = rate · n`` must be within ``tolerance`` (absolute, in answers) of a whole
    number: a rate that is not a count out of n means n is wrong, and is refused rather
    than rounded silently. ``n`` is a column name or one number for every row;
    ``repeats`` as in :func:`counts_to_cells`.

    Examples
    --------
    >>> t = pd.DataFrame({"trait": "nyc", "condition": "a", "seed": "42",
    ...                   "question": ["q1", "q2"], "rate": [0.43, 0.07]})
    >>> rates_to_cells(t, n=100)[["hits", "n"]].to_dict("list")
    {'hits': [43, 7], 'n': [100, 100]}
    """
    if rate not in df.columns:
        raise InputError(f"rates table lacks the rate column {rate!r}")
    r = pd.to_numeric(df[rate], errors="coerce").to_numpy(dtype=float)
    m = (np.full(len(df), float(n)) if not isinstance(n, str)
         else pd.to_numeric(df[n], errors="coerce").to_numpy(dtype=float))
    h, i = rate_counts(r, m, tolerance=tolerance)
    if i >= 0:
        if np.isnan(r[i]) or np.isnan(m[i]) or not 0 <= r[i] <= 1 or m[i] < 1 or m[i] % 1:
            raise InputError(f"rates table row {i + 1}: rate must be in [0, 1] with a known "
                             f"whole n ≥ 1 (got rate {df[rate].iloc[i]!r}, n {m[i]:g})")
        raise InputError(f"rates table row {i + 1}: rate {r[i]:g} × n {m[i]:g} = "
                         f"{r[i] * m[i]:.9g} is not a whole number of answers; check n")
    out = df.drop(columns=[c for c in (rate, n) if isinstance(c, str) and c in df.columns])
    out = out.assign(hits=h, n=m.astype(np.int64))
    return counts_to_cells(out, repeats=repeats)
