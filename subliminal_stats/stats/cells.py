"""DataFrame glue: the responses table → per-cell counts → per-arm arrays.

answers → per-(seed, question) counts (``hits`` of ``n``) → per-(seed, question)
rates → per-seed rates (the mean over that seed's questions, each question
weighted equally). Everything downstream works on these small arrays, never
on the answer rows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from subliminal_stats.errors import InputError
from subliminal_stats.stats.methods import METHODS, offered_methods

CELL_COLUMNS = ("trait", "condition", "seed", "question", "hits", "n")


def _check_columns(df: pd.DataFrame, needed) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a responses DataFrame, got {type(df).__name__}")
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(
            f"missing column {', '.join(map(repr, missing))}: the responses table needs "
            "trait, condition, seed, question and hit (read it with read_responses)"
        )
    if len(df) == 0:
        raise InputError("the responses table has no rows")


def cell_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Per-(trait, condition, seed, question) counts from a responses table.

    Parameters
    ----------
    df : pandas.DataFrame
        Responses table (one row per answer) with ``trait, condition, seed,
        question, hit``; or an already-reduced cell table with ``hits`` and ``n``
        (returned unchanged apart from column order).

    Returns
    -------
    pandas.DataFrame
        Columns ``trait, condition, seed, question, hits, n`` (in order of first
        appearance).
    """
    if {"hits", "n"}.issubset(df.columns) and "hit" not in df.columns:
        _check_columns(df, CELL_COLUMNS)
        return df[list(CELL_COLUMNS)].reset_index(drop=True)
    _check_columns(df, ("trait", "condition", "seed", "question", "hit"))
    keys = ("trait", "condition", "seed", "question")
    # factorize + bincount is several times faster than groupby on string keys.
    codes, uniques = [], []
    for key in keys:
        c, u = pd.factorize(df[key], sort=False)
        codes.append(c.astype(np.int64))
        uniques.append(u)
    combined = codes[0]
    for c, u in zip(codes[1:], uniques[1:], strict=True):
        combined = combined * len(u) + c
    cell_ids, inverse = np.unique(combined, return_inverse=True)
    hit = pd.to_numeric(df["hit"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(hit).any():
        i = int(np.flatnonzero(np.isnan(hit))[0])
        raise InputError(f"column 'hit' has an empty or non-numeric value at row {i + 1}")
    hits = np.bincount(inverse, weights=hit, minlength=len(cell_ids))
    n = np.bincount(inverse, minlength=len(cell_ids))
    out = {}
    rest = cell_ids
    for key, u in reversed(list(zip(keys, uniques, strict=True))):
        out[key] = np.asarray(u, dtype=object)[rest % len(u)]
        rest = rest // len(u)
    frame = pd.DataFrame({k: out[k] for k in keys})
    frame["hits"] = hits.astype(np.int64)
    frame["n"] = n.astype(np.int64)
    return frame


#: Methods that work on per-seed means of any score in [0, 1] (not only 0/1 hits).
SCORE_METHODS = tuple(m for m in offered_methods() if METHODS[m].scores)


def score_cells(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Cells for a numeric score in [0, 1] (e.g. the probability probe ``prob``).

    ``hits`` is the sum of the score over the cell's rows and ``n`` their count, so
    ``hits / n`` is the mean score of the cell and per-seed means follow as for
    hits. A probe repeated on every answer row of a question gives that probe.
    Only the seed-level methods in :data:`SCORE_METHODS` apply to such cells (the
    binomial models and odds ratios assume 0/1 answers).

    Raises
    ------
    InputError
        When the column is missing, has empty values or lies outside [0, 1].
    """
    _check_columns(df, ("trait", "condition", "seed", "question"))
    if metric not in df.columns:
        raise InputError(f"--metric {metric!r}: no such column; the table has "
                         f"{', '.join(map(str, df.columns))}")
    values = pd.to_numeric(df[metric], errors="coerce")
    if values.isna().any():
        i = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError(f"column {metric!r} has an empty or non-numeric value at row {i + 1}; "
                         "a score must be measured for every row to be tested")
    if ((values < 0) | (values > 1)).any():
        raise InputError(f"column {metric!r} must lie in [0, 1] to be tested as a rate "
                         f"(found {values.min():g} to {values.max():g})")
    keys = ["trait", "condition", "seed", "question"]
    grouped = df.assign(_score=values.to_numpy(dtype=float)).groupby(keys, sort=False,
                                                                      observed=True)["_score"]
    out = grouped.agg(hits="sum", n="size").reset_index()
    out["n"] = out["n"].astype(np.int64)
    return out[list(CELL_COLUMNS)]


def seed_rates_from_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rates from cell counts: ``trait, condition, seed, rate, n_answers, n_questions``."""
    c = cells.assign(rate=cells["hits"] / cells["n"])
    grouped = c.groupby(["trait", "condition", "seed"], sort=False, observed=True)
    out = grouped.agg(rate=("rate", "mean"), n_answers=("n", "sum"),
                      n_questions=("question", "nunique")).reset_index()
    out["n_answers"] = out["n_answers"].astype(np.int64)
    out["n_questions"] = out["n_questions"].astype(np.int64)
    return out


def per_seed_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Per-seed trait rates: the unit every test here works on.

    A seed's rate is the mean over its questions of the per-question hit rate
    (each question weighted equally, whatever its number of answers).

    Parameters
    ----------
    df : pandas.DataFrame
        Responses table (or cell counts from :func:`cell_counts`).

    Returns
    -------
    pandas.DataFrame
        Columns ``trait, condition, seed, rate, n_answers, n_questions``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"trait": "owl", "condition": "treated", "seed": ["a"] * 3 + ["b"],
    ...                    "question": ["q1", "q1", "q2", "q1"], "hit": [1, 0, 1, 0]})
    >>> per_seed_rates(df)[["seed", "rate", "n_answers"]].to_dict("records")
    [{'seed': 'a', 'rate': 0.75, 'n_answers': 3}, {'seed': 'b', 'rate': 0.0, 'n_answers': 1}]
    """
    return seed_rates_from_cells(cell_counts(df))


@dataclass(frozen=True)
class ArmData:
    """One arm (trait × condition) as small arrays.

    Attributes
    ----------
    label : str
    seeds : tuple of str
    questions : tuple of str
        The questions of the trait (union over its arms); columns of the tables.
    hits, n : float arrays (seeds, questions)
        Counts per cell; ``n`` is 0 and ``hits`` NaN where a seed lacks a question.
    """

    label: str
    seeds: tuple[str, ...]
    questions: tuple[str, ...]
    hits: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    # Computed once per arm (a comparison and its calibration read them a dozen times); read-only
    # so that no caller can change what the next one reads.
    @functools.cached_property
    def rates(self) -> np.ndarray:
        """Per-(seed, question) rates; NaN where not asked."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(self.n > 0, self.hits / np.where(self.n > 0, self.n, 1), np.nan)
        out.setflags(write=False)
        return out

    @functools.cached_property
    def seed_rates(self) -> np.ndarray:
        out = np.nanmean(self.rates, axis=1)
        out.setflags(write=False)
        return out

    @functools.cached_property
    def asked(self) -> np.ndarray:
        out = self.n > 0
        out.setflags(write=False)
        return out

    @property
    def n_answers(self) -> int:
        return int(self.n.sum())

    @property
    def n_questions(self) -> int:
        """Questions asked of at least one seed."""
        return int(self.asked.any(axis=0).sum())

    @property
    def balanced(self) -> bool:
        """Every seed answered the same questions."""
        asked = self.asked
        return bool(np.all(asked == asked[0:1]))

    def seed_hits(self) -> np.ndarray:
        return np.nansum(self.hits, axis=1)

    def seed_n(self) -> np.ndarray:
        return self.n.sum(axis=1)


@dataclass(frozen=True)
class TraitCells:
    """One trait's cells as numpy arrays (cheap to slice many times).

    ``frame`` (the trait's rows as a DataFrame, for the mixed models) is built on first use:
    a test of hundreds of traits with the t methods never needs it.
    """

    trait: str
    condition: np.ndarray = field(repr=False)
    seed: np.ndarray = field(repr=False)
    question: np.ndarray = field(repr=False)
    hits: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    source: pd.DataFrame = field(repr=False)
    rows: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, trait: str) -> TraitCells:
        return cls(trait,
                   frame["condition"].to_numpy(dtype=object),
                   frame["seed"].to_numpy(dtype=object),
                   frame["question"].to_numpy(dtype=object),
                   frame["hits"].to_numpy(dtype=float),
                   frame["n"].to_numpy(dtype=float),
                   frame)

    @property
    def frame(self) -> pd.DataFrame:
        """The trait's cells as a DataFrame (index reset)."""
        rows = self.source if self.rows is None else self.source.iloc[self.rows]
        return rows.reset_index(drop=True)

    @property
    def conditions(self) -> list:
        return list(pd.unique(self.condition))

    @property
    def questions(self) -> tuple:
        return self.question_codes[1]

    @functools.cached_property
    def question_codes(self) -> tuple[np.ndarray, tuple]:
        """(code per row, questions in order of first appearance)."""
        codes, uniques = pd.factorize(self.question, sort=False)
        return codes, tuple(uniques)


def arm_data(cells, *, trait: str, condition: str,
             questions: tuple[str, ...] | None = None) -> ArmData:
    """Arrays of one (trait, condition) from cell counts (a DataFrame or :class:`TraitCells`).

    Raises
    ------
    InputError
        When the trait has no rows for the condition.
    """
    if not isinstance(cells, TraitCells):
        cells = TraitCells.from_frame(cells[cells["trait"] == trait], trait)
    mask = cells.condition == condition
    if not mask.any():
        present = sorted(map(str, cells.conditions))
        raise InputError(
            f"trait {trait!r} has no answers for condition {condition!r} (it has: "
            f"{', '.join(map(repr, present)) or 'nothing'}); add that arm's answers or "
            "choose another label with --treated/--control/--base"
        )
    codes, trait_questions = cells.question_codes
    if questions is None:
        questions = trait_questions
    # Integer codes (pandas.factorize keeps the order of first appearance), not a dict
    # lookup per cell: thousands of traits call this.
    s_index, seed_labels = pd.factorize(cells.seed[mask], sort=False)
    seeds = tuple(seed_labels)
    if tuple(questions) == trait_questions:
        q_index = codes[mask]
    else:
        q_pos = {q: i for i, q in enumerate(questions)}
        q_index = np.fromiter((q_pos[q] for q in cells.question[mask]), dtype=np.int64,
                              count=int(mask.sum()))
    hits = np.full((len(seeds), len(questions)), np.nan)
    n = np.zeros((len(seeds), len(questions)))
    hits[s_index, q_index] = cells.hits[mask]
    n[s_index, q_index] = cells.n[mask]
    return ArmData(condition, seeds, tuple(questions), hits, n)


def split_by_trait(cells: pd.DataFrame) -> dict:
    """Per-trait :class:`TraitCells` (numpy arrays: slicing arms is then cheap)."""
    # Columns converted once and sliced by each trait's row positions: a DataFrame per trait
    # (and pandas copying ``attrs`` into each) cost ~0.3 s for 220 traits.
    columns = {c: cells[c].to_numpy(dtype=object) for c in ("condition", "seed", "question")}
    hits, n = cells["hits"].to_numpy(dtype=float), cells["n"].to_numpy(dtype=float)
    out = {}
    for trait, rows in cells.groupby("trait", sort=False, observed=True).indices.items():
        out[trait] = TraitCells(trait, columns["condition"][rows], columns["seed"][rows],
                                columns["question"][rows], hits[rows], n[rows], cells, rows)
    return out


def cells_for_models(cells, *, trait: str, conditions) -> pd.DataFrame:
    """One trait's cells with exactly ``condition, seed, question, hits, n`` (mixed-model input)."""
    if isinstance(cells, TraitCells):
        cells = cells.frame
    sub = cells[(cells["trait"] == trait) & cells["condition"].isin(list(conditions))]
    return sub[["condition", "seed", "question", "hits", "n"]].reset_index(drop=True)


@dataclass(frozen=True)
class ArmStack:
    """Arms of one shape stacked: ``hits`` and ``n`` of shape (arms, seeds, questions).

    Every seed of every arm here answered every question of its trait (``n > 0`` in every
    cell), so the arrays are those :func:`arm_data` gives, one arm per leading index.
    """

    arms: np.ndarray = field(repr=False)   # positions in ArmIndex.keys
    hits: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)

    @functools.cached_property
    def rates(self) -> np.ndarray:
        out = self.hits / self.n
        out.setflags(write=False)
        return out

    @functools.cached_property
    def seed_rates(self) -> np.ndarray:
        out = np.nanmean(self.rates, axis=-1)
        out.setflags(write=False)
        return out


@dataclass(frozen=True)
class ArmIndex:
    """Every (trait, condition) arm of a cell table, the regular ones stacked by shape.

    ``keys`` lists the arms in the order :func:`split_by_trait` and ``TraitCells.conditions``
    visit them (traits in order of first appearance, then conditions within each trait);
    ``where[(trait, condition)]`` is ``(stack, row)`` for an arm in one of ``stacks`` and
    absent for an irregular arm (a seed that skipped a question of its trait), which the
    per-arm path (:func:`arm_data`) handles.
    """

    keys: tuple
    seeds: tuple            # per arm: its seed labels in order of first appearance
    stacks: tuple
    where: dict

    def arm(self, trait, condition) -> ArmData | None:
        """The :class:`ArmData` of a stacked arm (None when it is irregular).

        Its ``questions`` is empty: the stacked paths never read the labels, and building a
        tuple of them for each of thousands of arms is the cost the index avoids.
        """
        found = self.where.get((trait, condition))
        if found is None:
            return None
        s, k = found
        stack = self.stacks[s]
        return ArmData(condition, self.seeds[int(stack.arms[k])], (), stack.hits[k], stack.n[k])


def arm_index(cells: pd.DataFrame) -> ArmIndex:
    """Index a cell table (``cell_counts``'s columns) into arms and stack the regular ones.

    Vectorised over the whole table (no Python per cell or per arm beyond labels): this is
    what lets :func:`~subliminal_stats.stats.api.compare` and ``summarize`` run on ten
    thousand traits in seconds.
    """
    t_code, t_uniq = pd.factorize(cells["trait"], sort=False)
    c_code, c_uniq = pd.factorize(cells["condition"], sort=False)
    s_code, s_uniq = pd.factorize(cells["seed"], sort=False)
    q_code, q_uniq = pd.factorize(cells["question"], sort=False)
    t_code, c_code, s_code, q_code = (np.asarray(x, dtype=np.int64)
                                      for x in (t_code, c_code, s_code, q_code))
    for name, code in zip(("trait", "condition", "seed", "question"),
                          (t_code, c_code, s_code, q_code), strict=True):
        if len(code) and code.min() < 0:
            raise InputError(f"the cell table has an empty {name} at row "
                             f"{int(np.argmax(code < 0)) + 1}: every cell needs a {name}")
    hits = cells["hits"].to_numpy(dtype=float)
    n = cells["n"].to_numpy(dtype=float)
    arm_of_row, arm_keys = pd.factorize(t_code * max(1, len(c_uniq)) + c_code, sort=False)
    arm_trait = np.asarray(arm_keys, dtype=np.int64) // max(1, len(c_uniq))
    n_arms = len(arm_keys)
    # Seed position within its arm and question position within its trait, each in order of
    # first appearance (what arm_data's factorize gives).
    pair, pair_keys = pd.factorize(arm_of_row * max(1, len(s_uniq)) + s_code, sort=False)
    pair_arm = np.asarray(pair_keys, dtype=np.int64) // max(1, len(s_uniq))
    seed_pos = pd.Series(pair_arm).groupby(pair_arm, sort=False).cumcount().to_numpy()[pair]
    n_seeds = np.bincount(pair_arm, minlength=n_arms)
    tq, tq_keys = pd.factorize(t_code * max(1, len(q_uniq)) + q_code, sort=False)
    tq_trait = np.asarray(tq_keys, dtype=np.int64) // max(1, len(q_uniq))
    q_pos = pd.Series(tq_trait).groupby(tq_trait, sort=False).cumcount().to_numpy()[tq]
    n_questions_trait = np.bincount(tq_trait, minlength=int(t_code.max(initial=-1)) + 1)
    n_questions = n_questions_trait[arm_trait]
    # Regular: one row per (seed, question) of the trait, every one answered.
    rows = np.bincount(arm_of_row, minlength=n_arms)
    answered = np.bincount(arm_of_row, weights=(n > 0) & np.isfinite(hits), minlength=n_arms)
    cell_key = (arm_of_row * (n_seeds.max(initial=1)) + seed_pos) * max(1, n_questions.max(
        initial=1)) + q_pos
    distinct = np.bincount(arm_of_row[np.unique(cell_key, return_index=True)[1]],
                           minlength=n_arms)
    full = n_seeds * n_questions
    regular = (rows == full) & (answered == full) & (distinct == full)
    # Arms in the order the per-trait loops visit them: trait, then first appearance.
    order = np.lexsort((np.arange(n_arms), arm_trait))
    t_labels = np.asarray(t_uniq, dtype=object)[arm_trait]
    c_labels = np.asarray(c_uniq, dtype=object)[np.asarray(arm_keys, dtype=np.int64)
                                               % max(1, len(c_uniq))]
    keys = tuple(zip(t_labels[order].tolist(), c_labels[order].tolist(), strict=True))
    # Seed labels per arm (pairs are in first-appearance order within each arm).
    seed_labels = np.asarray(s_uniq, dtype=object)[np.asarray(pair_keys, dtype=np.int64)
                                                  % max(1, len(s_uniq))]
    by_arm = pd.Series(np.arange(len(pair_arm))).groupby(pair_arm, sort=True).indices
    seeds_of = {a: tuple(seed_labels[idx]) for a, idx in by_arm.items()}
    seeds = tuple(seeds_of.get(int(a), ()) for a in order)
    position = np.empty(n_arms, dtype=np.int64)
    position[order] = np.arange(n_arms)
    stacks, where = [], {}
    shape_of = n_seeds * (n_questions.max(initial=0) + 1) + n_questions
    for shape in np.unique(shape_of[regular]):
        members = np.flatnonzero(regular & (shape_of == shape))
        members = members[np.argsort(position[members], kind="stable")]
        s, q = int(n_seeds[members[0]]), int(n_questions[members[0]])
        slot = np.full(n_arms, -1, dtype=np.int64)
        slot[members] = np.arange(len(members))
        in_stack = slot[arm_of_row] >= 0
        k = slot[arm_of_row[in_stack]]
        h = np.empty((len(members), s, q))
        nn = np.empty((len(members), s, q))
        h[k, seed_pos[in_stack], q_pos[in_stack]] = hits[in_stack]
        nn[k, seed_pos[in_stack], q_pos[in_stack]] = n[in_stack]
        index = len(stacks)
        stacks.append(ArmStack(position[members], h, nn))
        for row, a in enumerate(members):
            where[keys[position[a]]] = (index, row)
    return ArmIndex(keys, seeds, tuple(stacks), where)
