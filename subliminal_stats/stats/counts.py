"""Per-cell counts as input: the counts table, and per-question rates with a known n.

Published results often come as per-question rates (e.g. the phantom-transfer
``stats.json``: ``values`` = hits / 100 per question), not one row per answer. The tests
work on cells (trait, condition, seed, question, hits, n) anyway, so such tables are exact
input: :func:`counts_to_cells` checks a counts table, :func:`rates_to_cells` turns rates with
a known number of answers into counts. Reading files is the data layer's job; these take
DataFrames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from subliminal_stats.errors import InputError
from subliminal_stats.stats.cells import CELL_COLUMNS

__all__ = ["counts_to_cells", "rates_to_cells"]


def counts_to_cells(df: pd.DataFrame, *, hits: str = "hits", n: str = "n") -> pd.DataFrame:
    """A checked cells table from a per-cell counts table.

    Parameters
    ----------
    df : DataFrame
        ``trait, condition, seed, question`` and the count columns ``hits`` of ``n``
        (``hits`` may be a score sum for a [0, 1] metric: then ``0 ≤ hits ≤ n`` is checked
        but not wholeness). Repeated rows of one cell are added up.

    Returns
    -------
    DataFrame with :data:`~subliminal_stats.stats.cells.CELL_COLUMNS`, usable wherever a
    responses table is (same results as expanding it to one row per answer).
    """
    need = ["trait", "condition", "seed", "question", hits, n]
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
    out = df[["trait", "condition", "seed", "question"]].astype(str).assign(hits=h.to_numpy(),
                                                                            n=m.to_numpy())
    out = out.groupby(["trait", "condition", "seed", "question"], sort=False,
                      as_index=False)[["hits", "n"]].sum()
    if (out["hits"] % 1 == 0).all():
        out["hits"] = out["hits"].astype(np.int64)
    out["n"] = out["n"].astype(np.int64)
    return out[list(CELL_COLUMNS)]


def rates_to_cells(df: pd.DataFrame, *, rate: str = "rate", n: str | int = "n",
                   tolerance: float = 1e-6) -> pd.DataFrame:
    """Cells from per-question rates with a known number of answers per question.

    ``hits = rate · n`` must be a whole number (within ``tolerance``): a rate that is not a
    count out of n means n is wrong, and is refused rather than rounded silently.
    ``n`` is a column name or one number for every row.
    """
    if rate not in df.columns:
        raise InputError(f"rates table lacks the rate column {rate!r}")
    r = pd.to_numeric(df[rate], errors="coerce").to_numpy(dtype=float)
    m = (np.full(len(df), float(n)) if not isinstance(n, str)
         else pd.to_numeric(df[n], errors="coerce").to_numpy(dtype=float))
    if np.isnan(r).any() or np.isnan(m).any() or (r < 0).any() or (r > 1).any():
        i = int(np.flatnonzero(np.isnan(r) | np.isnan(m) | (r < 0) | (r > 1))[0])
        raise InputError(f"rates table row {i + 1}: rate must be in [0, 1] with a known n")
    h = r * m
    off = np.abs(h - np.round(h)) > tolerance * np.maximum(m, 1)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InputError(f"rates table row {i + 1}: rate {r[i]:g} × n {m[i]:g} = {h[i]:g} is not "
                         "a whole number of answers; check n")
    out = df.drop(columns=[c for c in (rate, n) if isinstance(c, str) and c in df.columns])
    out = out.assign(hits=np.round(h).astype(np.int64), n=m.astype(np.int64))
    return counts_to_cells(out)
