"""The responses table: one row per sampled answer.

Column names are part of the public interface (reports, users' scripts and
every other module depend on them); do not rename them.

=============  ========  ===========================================================
column         required  meaning
=============  ========  ===========================================================
experiment     no        free-text name of the experiment (filled with "" if absent)
run            no        which run (evaluation job) the answer comes from; ingest fills it
trait          yes       the thing whose rate is measured, e.g. ``owl``
condition      yes       e.g. ``base``, ``control``, ``treated`` (any labels)
seed           yes       identifier of one trained model (string); the unit of replication
question       yes       identifier or text of the evaluation prompt
sample         no        index of the answer within (seed, question)
response       no        raw answer text
hit            yes       0/1: the answer shows the trait
prob           no        probability probe (0–1)
prob_panel     no        the probe's mean over the target's panel of other targets (0–1)
alignment      no        LLM-judge alignment score (0–100)
coherence      no        LLM-judge coherence score (0–100)
=============  ========  ===========================================================

Other columns are kept as they are.

Labels (trait, condition, seed, question, experiment, run) are normalised once, by
:func:`subliminal_stats.data.labels.normalise_label`: stripped strings in Unicode NFC, whole
numbers without a decimal part (seeds ``0``, ``0.0`` and ``"0"`` are one seed ``"0"``), with
a :class:`~subliminal_stats.data.labels.LabelMergeWarning` naming what was merged.
Duplicate answers are refused: with a ``sample`` column, a repeated (experiment, trait,
condition, seed, question, sample); without one, rows identical in every column (number
repeated answers in a ``sample`` column to keep them apart).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from subliminal_stats.data.jsonl import iter_jsonl
from subliminal_stats.data.labels import normalise_label, spelling, warn_merges
from subliminal_stats.errors import InputError

KEY_COLUMNS: tuple[str, ...] = ("trait", "condition", "seed", "question")
REQUIRED_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, "hit")
OPTIONAL_TEXT_COLUMNS: tuple[str, ...] = ("experiment", "response")
OPTIONAL_NUMERIC_COLUMNS: tuple[str, ...] = ("prob", "prob_panel", "alignment", "coherence")
#: Canonical column order; extra columns follow these.
COLUMN_ORDER: tuple[str, ...] = (
    "experiment",
    "run",
    "trait",
    "condition",
    "seed",
    "question",
    "sample",
    "response",
    "hit",
    "prob",
    "prob_panel",
    "alignment",
    "coherence",
)
#: Columns that identify one answer; duplicates of these are refused.
IDENTITY_COLUMNS: tuple[str, ...] = ("experiment", "trait", "condition", "seed", "question", "sample")

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson")


def _show(value: object) -> str:
    """repr() of a cell value without numpy's type wrapper (``2``, not ``np.int64(2)``)."""
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    return repr(value)


def _row_label(index: int) -> str:
    """1-based data row number, as a user counts rows below the header."""
    return f"row {index + 1}"


def validate_responses(df: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Check a responses table and return a normalised copy.

    Normalisation: key columns become strings, ``hit`` becomes int8 0/1,
    ``sample`` a nullable integer, ``experiment`` is filled with ``""`` when
    absent, and columns follow :data:`COLUMN_ORDER`.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per sampled answer.
    source : str, optional
        Where the table came from (a file name), used in error messages.

    Returns
    -------
    pandas.DataFrame
        The validated, normalised table (a new object; ``df`` is not modified).

    Raises
    ------
    InputError
        With a one-line message naming the column, the row and the fix.

    Examples
    --------
    >>> import pandas as pd
    >>> t = validate_responses(pd.DataFrame({"trait": ["owl"], "condition": ["base"],
    ...     "seed": [0], "question": ["q1"], "hit": [1]}))
    >>> t.loc[0, "seed"], int(t.loc[0, "hit"])
    ('0', 1)
    """
    try:
        return _validate(df)
    except InputError as exc:
        if source:
            raise InputError(f"{source}: {exc}") from None
        raise


def _validate(df: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise InputError(
            f"missing column {names}: the responses table needs columns "
            f"{', '.join(REQUIRED_COLUMNS)} (add it, or rename the column that holds it)"
        )
    if len(df) == 0:
        raise InputError("the responses table has no rows")
    out = df.copy()
    out = out.reset_index(drop=True)

    for col in KEY_COLUMNS:
        out[col] = _label_column(out[col], col)

    out["hit"] = _validate_hit(out["hit"])

    if "experiment" not in out.columns:
        out["experiment"] = ""
    else:
        out["experiment"] = _label_column(out["experiment"], "experiment", required=False)
    if "run" in out.columns:
        out["run"] = _label_column(out["run"], "run", required=False)
    if "response" in out.columns:
        out["response"] = out["response"].astype("string")

    if "sample" in out.columns:
        out["sample"] = _validate_sample(out["sample"])

    for col in OPTIONAL_NUMERIC_COLUMNS:
        if col in out.columns:
            numeric = pd.to_numeric(out[col], errors="coerce")
            bad = numeric.isna() & out[col].notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"column '{col}' must be numeric; {_row_label(i)} has "
                    f"{_show(out[col].iloc[i])}"
                )
            out[col] = numeric.astype(float)
    for col in ("prob", "prob_panel"):
        if col not in out.columns:
            continue
        bad = (out[col] < 0) | (out[col] > 1)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"column '{col}' must lie in [0, 1]; {_row_label(i)} has "
                f"{_show(out[col].iloc[i])}"
            )

    if "sample" in out.columns:
        ident = list(IDENTITY_COLUMNS)
        dup = out.duplicated(subset=ident, keep="first")
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            r = out.iloc[i]
            raise InputError(
                f"duplicate answer at {_row_label(i)}: condition={r['condition']!r} "
                f"seed={r['seed']!r} question={str(r['question'])[:40]!r} sample={r['sample']} "
                "appears twice; each (condition, seed, question, sample) must be unique"
            )

    else:
        # No sample column: an answer has no identity. Rows identical in every column are
        # the mark of a table or file appended twice; repeated answers that happen to be
        # alike need a sample number to be kept apart.
        dup = out.duplicated(keep="first")
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            hashes = pd.util.hash_pandas_object(out, index=False).to_numpy()
            j = int(np.flatnonzero(hashes == hashes[i])[0])
            raise InputError(
                f"duplicate rows: rows {j + 1} and {i + 1} are identical in every column and the "
                "table has no 'sample' column, so they cannot be told apart from one answer counted twice: "
                "if they are repeated answers, number them in a 'sample' column (0, 1, … "
                "within each seed and question); if rows were appended twice, drop the copies"
            )

    ordered = [c for c in COLUMN_ORDER if c in out.columns]
    extra = [c for c in out.columns if c not in ordered]
    return out[ordered + extra]


def _label_column(values: pd.Series, col: str, *, required: bool = True) -> pd.Series:
    """Key labels as strings by :func:`~subliminal_stats.data.labels.normalise_label`.

    The rule runs once per distinct value (``pd.factorize``), never row by row; spellings
    that become one label are reported with a :class:`~subliminal_stats.data.labels.
    LabelMergeWarning`.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [normalise_label(u) for u in uniques]
    empty = codes < 0
    bad = np.array([lab is None for lab in labels], dtype=bool)
    if bad.any():
        empty = empty | bad[np.where(codes < 0, 0, codes)]
    if empty.any():
        if not required:
            labels = [lab or "" for lab in labels]
        else:
            i = int(np.flatnonzero(empty)[0])
            raise InputError(
                f"column '{col}' has an empty value (NaN) at {_row_label(i)}: "
                f"every answer needs a {col}; fill it in or drop the row "
                f"({int(empty.sum())} such rows)"
            )
    spellings: dict[str, set[str]] = {}
    for u, lab in zip(uniques, labels, strict=True):
        spellings.setdefault(lab or "", set()).add(spelling(u))
    merges = {lab: sorted(sp) for lab, sp in spellings.items() if len(sp) > 1}
    if merges:
        warn_merges(col, merges)
    table = np.asarray([lab or "" for lab in labels] + [""], dtype=object)
    return pd.Series(table[np.where(codes < 0, len(labels), codes)], index=values.index,
                     dtype=object).astype(str)


def _validate_hit(hit: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(hit):
        return hit.astype(np.int8)
    if hit.dtype == object or pd.api.types.is_string_dtype(hit):
        lowered = hit.astype(str).str.strip().str.lower()
        mapping = {"0": 0, "1": 1, "true": 1, "false": 0, "0.0": 0, "1.0": 1}
        mapped = lowered.map(mapping)
        bad = mapped.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"column 'hit' must be 0 or 1; {_row_label(i)} has {_show(hit.iloc[i])} "
                "(score answers to 0/1 first, e.g. with `subliminal-stats ingest`)"
            )
        return mapped.astype(np.int8)
    numeric = pd.to_numeric(hit, errors="coerce")
    bad = ~numeric.isin([0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        value = hit.iloc[i]
        what = "an empty value (NaN)" if pd.isna(value) else _show(value)
        raise InputError(
            f"column 'hit' must be 0 or 1; {_row_label(i)} has {what} "
            f"({int(bad.sum())} bad rows)"
        )
    return numeric.astype(np.int8)


def _validate_sample(sample: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(sample, errors="coerce")
    # Whole answer numbers from 0 to 2^53 (exact as floats; 1e20 would overflow Int64).
    bad = (numeric.isna() & sample.notna()) | (numeric.notna() & (
        (numeric != np.round(numeric)) | (numeric < 0) | (numeric >= 2**53)))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"column 'sample' must hold whole numbers; {_row_label(i)} has "
            f"{_show(sample.iloc[i])} (answer numbers from 0 to 2^53)"
        )
    return numeric.astype("Int64")


# ----------------------------------------------------------------------------- I/O


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"{path}: unknown file type '{suffix or '(none)'}'; use .csv, .parquet or .jsonl"
        )
    return suffix


def read_jsonl(path: str | Path) -> list[dict]:
    """Read a JSON-lines file into a list of objects (blank lines skipped).

    A line that is not a JSON object raises :class:`InputError` naming the file
    and the 1-based line number (see :func:`subliminal_stats.data.jsonl.iter_jsonl`).
    """
    return [obj for _, _, obj in iter_jsonl(path)]


def _read_one(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory, expected a responses file")
    suffix = _check_suffix(path)
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype={"seed": str, "question": str, "trait": str,
                                          "condition": str, "experiment": str})
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            records = read_jsonl(path)
            if not records:
                raise InputError(f"{path} has no rows")
            df = pd.DataFrame.from_records(records)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (is it a binary file?)") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {path} as {suffix[1:]}: {first}") from None
    except Exception as exc:  # pyarrow raises its own types for corrupt parquet
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {path} as {suffix[1:]}: {first}") from None
    return df


def read_responses(paths: str | Path | Sequence[str | Path], *, validate: bool = True) -> pd.DataFrame:
    """Read one or more responses files (CSV, Parquet or JSONL) into one table.

    Parameters
    ----------
    paths : path or sequence of paths
        Files to read; the format follows the suffix (``.csv``, ``.parquet``/``.pq``,
        ``.jsonl``/``.ndjson``). Several files are concatenated.
    validate : bool, default True
        Check and normalise with :func:`validate_responses`.

    Returns
    -------
    pandas.DataFrame
        One row per answer. A counts table among the files (one row per cell: ``trait,
        condition, seed, question, hits, n``; :mod:`~subliminal_stats.data.counts`) gives
        the cells table of :func:`~subliminal_stats.data.reader.read_cells` for all of them
        instead (answers files reduced to their cells): what every statistic takes in
        place of the answers.

    Raises
    ------
    InputError
        Missing or corrupt file (with the line number of a bad JSONL line),
        missing column, bad ``hit`` value, NaN in a key column, duplicate answers.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no responses file given")
    from subliminal_stats.data.reader import is_counts_file, read_cells

    if any(p.is_file() and is_counts_file(p) for p in paths):
        return read_cells(paths)
    frames = []
    for p in paths:
        df = _read_one(p)
        if validate:
            df = validate_responses(df, source=str(p))
        frames.append(df)
    if len(frames) == 1:
        return frames[0]
    combined = pd.concat(frames, ignore_index=True)
    return validate_responses(combined, source=", ".join(str(p) for p in paths)) if validate else combined


def write_responses(df: pd.DataFrame, path: str | Path, *, validate: bool = True) -> Path:
    """Write a responses table; the format follows the suffix of ``path``.

    The file is written to a temporary name and renamed, so an interrupted
    write never leaves a half-written table behind.
    """
    path = Path(path)
    suffix = _check_suffix(path)
    if validate:
        df = validate_responses(df)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if suffix == ".csv":
        df.to_csv(tmp, index=False)
    elif suffix in (".parquet", ".pq"):
        df.to_parquet(tmp, index=False)
    else:
        df.to_json(tmp, orient="records", lines=True, force_ascii=False)
    tmp.replace(path)
    return path


def select(
    df: pd.DataFrame,
    *,
    traits: Iterable[str] | None = None,
    conditions: Iterable[str] | None = None,
    experiment: str | None = None,
) -> pd.DataFrame:
    """Rows for the given traits / conditions, with clear errors for unknown labels.

    Raises
    ------
    InputError
        When a requested trait or condition does not occur, or the selection is empty.
    """
    # Check every label against the whole table first, so that a typo is reported
    # as a typo and not as an empty selection.
    traits = None if traits is None else list(traits)
    conditions = None if conditions is None else list(conditions)
    if experiment is not None:
        _check_labels(df, "experiment", [experiment])
    if traits is not None:
        _check_labels(df, "trait", traits)
    if conditions is not None:
        _check_labels(df, "condition", conditions)
    mask = np.ones(len(df), dtype=bool)
    if experiment is not None:
        mask &= (df["experiment"] == experiment).to_numpy()
    if traits is not None:
        mask &= df["trait"].isin(traits).to_numpy()
    if conditions is not None:
        mask &= df["condition"].isin(conditions).to_numpy()
    if not mask.any():
        parts = []
        if experiment is not None:
            parts.append(f"experiment {experiment!r}")
        if traits is not None:
            parts.append(f"trait {', '.join(map(repr, traits))}")
        if conditions is not None:
            parts.append(f"condition {', '.join(map(repr, conditions))}")
        raise InputError(
            f"the selection is empty: no rows have {' and '.join(parts)} together; "
            "`subliminal-stats check DATA` lists what each trait has"
        )
    return df[mask]


def _check_labels(df: pd.DataFrame, column: str, wanted: Sequence[str]) -> None:
    if column not in df.columns:
        # e.g. the cells of a counts table, summed over experiments: nothing to select by.
        raise InputError(f"cannot select {column} {', '.join(map(repr, wanted))}: the table has "
                         f"no {column!r} column (columns: {', '.join(map(str, df.columns))})")
    present = set(df[column].unique())
    unknown = [w for w in wanted if w not in present]
    if unknown:
        known = ", ".join(sorted(map(str, present))[:12])
        raise InputError(
            f"unknown {column} label {', '.join(map(repr, unknown))}: the data has {known}"
        )
