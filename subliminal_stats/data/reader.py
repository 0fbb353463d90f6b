"""Answers → per-cell counts as the data is read: memory grows with cells, not with answers.

:func:`read_cells` streams Parquet row groups (key columns read as Arrow dictionaries, so a
label is decoded once per row group, not once per row), CSV chunks and JSONL line chunks,
validates each batch with vectorised checks and reduces it at once to counts per
(trait, condition, seed, question) — the table the statistics work on
(:func:`subliminal_stats.stats.cell_counts` gives the same table from answers in memory;
the results are identical: ``tests/data/test_reader.py``).

What is checked, with the same one-line messages as :func:`~subliminal_stats.data.schema.
validate_responses` (file, column, row, fix):

* required columns present; no empty key; ``hit`` 0/1; ``sample`` whole numbers; ``prob``
  in [0, 1]; ``alignment``/``coherence`` numeric; the tested score column present, filled
  and in [0, 1];
* duplicate answers: with a ``sample`` column, a (run, experiment, trait, condition, seed,
  question, sample) seen twice. Samples below 64 are tracked as one 64-bit mask per cell;
  others (rare) one entry per answer. Without ``sample``, two rows identical in every column
  are refused: an answer then has no identity, so rows appended twice cannot be told from
  repeated answers — number the answers in a ``sample`` column (0, 1, … within each seed and
  question). Kept as one 64-bit row hash per answer (8 bytes an answer: give ``sample`` for
  large tables);
* runs: the same (trait, condition, seed) labels from different runs (the ``run`` column, or
  the file when there is none) are refused unless ``same_seeds=True`` — seeds labelled
  ``0, 1, 2`` in two runs are six models, not three;
* labels: one normalisation (:mod:`~subliminal_stats.data.labels`) with a warning naming
  what it merged.

Counts tables (one row per cell, ``hits`` of ``n``: :mod:`~subliminal_stats.data.counts`)
are read the same way, detected by their columns (``n`` and ``hits`` or ``METRIC_sum``, no
``hit``): ``n`` a whole number ≥ 1, ``hits`` a whole number in [0, n] (a score sum in
[0, n]); a cell given twice in one run is refused, and so is a cell given both as counts
and as answer rows of the same run. Answers files and counts files may be given together
(cells are cells; the runs rule applies across them as across answers files); one file
holds one of the two tables.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from subliminal_stats.data.counts import CELL_COLUMNS, is_counts_table, score_sum_column
from subliminal_stats.data.jsonl import iter_jsonl
from subliminal_stats.data.labels import LabelRegistry, normalise_label
from subliminal_stats.errors import InputError

__all__ = ["ANSWER_TEXT_COLUMNS", "CELL_COLUMNS", "READABLE_SUFFIXES", "default_run",
           "file_columns", "is_counts_file", "iter_frames", "read_answer_texts", "read_cells",
           "runs_note"]

KEYS = ("trait", "condition", "seed", "question")
#: Internal identity of a cell: the run and experiment as well (summed out at the end).
_INTERNAL = ("run", "experiment", *KEYS)
READABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".jsonl", ".ndjson", ".json")
_NUMERIC = ("prob", "alignment", "coherence")
_HIT_WORDS = {"0": 0, "1": 1, "true": 1, "false": 0, "0.0": 0, "1.0": 1}
#: Rows per batch: bounded memory whatever the file size.
BATCH_ROWS = 1 << 20


def default_run(path: str | Path) -> str:
    """The run of a file without a ``run`` column: the path as given (unique per file)."""
    return str(path)


# ------------------------------------------------------------------------------ file reading


def _check_file(path: Path) -> str:
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory, expected a responses file")
    suffix = path.suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        raise InputError(f"{path}: unknown file type '{suffix or '(none)'}'; "
                         "use .csv, .parquet, .jsonl or .json")
    return suffix


def _string_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def iter_frames(path: str | Path, *, columns: Sequence[str] | None = None,
                batch_rows: int = BATCH_ROWS,
                row_groups: Sequence[int] | None = None) -> Iterator[pa.RecordBatch | pd.DataFrame]:
    """Batches of a responses file: Arrow record batches (Parquet) or DataFrames (CSV, JSON).

    Parquet string columns among ``columns`` come as Arrow dictionaries; ``row_groups``
    reads only those row groups of a Parquet file. Memory: one batch.

    Raises
    ------
    InputError
        Missing, empty, unreadable or corrupt file (one line naming it).
    """
    path = Path(path)
    suffix = _check_file(path)
    try:
        if suffix in (".parquet", ".pq"):
            schema = pq.read_schema(path)
            wanted = [c for c in (columns or schema.names) if c in schema.names]
            dict_cols = [c for c in wanted if _string_type(schema.field(c).type)]
            handle = pq.ParquetFile(path, read_dictionary=dict_cols)
            if handle.metadata.num_rows == 0:
                yield pa.RecordBatch.from_pylist([], schema=pa.schema(
                    [schema.field(c) for c in wanted]))
                return
            yield from handle.iter_batches(batch_size=batch_rows, columns=wanted,
                                           row_groups=row_groups)
        elif suffix == ".csv":
            text_cols = {c: str for c in ("seed", "question", "trait", "condition",
                                          "experiment", "run")}
            reader = pd.read_csv(path, dtype=text_cols, chunksize=batch_rows,
                                 usecols=(lambda c: c in columns) if columns else None)
            with reader:
                yield from reader
        elif suffix == ".json":
            yield _json_array(path)
        else:
            chunk: list[dict] = []
            size = max(1, min(batch_rows, 200_000))
            for _, _, obj in iter_jsonl(path):
                chunk.append(obj)
                if len(chunk) >= size:
                    yield pd.DataFrame.from_records(chunk)
                    chunk = []
            if chunk:
                yield pd.DataFrame.from_records(chunk)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (is it a binary file?)") from None
    except Exception as exc:  # pyarrow and pandas raise their own types for corrupt files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {path} as {suffix[1:]}: {first}") from None


def file_columns(path: str | Path) -> list[str]:
    """The column names of a table file, read cheaply (Parquet schema, CSV header, the first
    JSONL object; a ``.json`` array is read whole)."""
    path = Path(path)
    suffix = _check_file(path)
    if suffix in (".parquet", ".pq"):
        try:
            return list(pq.read_schema(path).names)
        except Exception:  # corrupt files: the reader says so with its own message
            return []
    if suffix == ".csv":
        try:
            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
        except Exception:
            return []
    if suffix == ".json":
        try:
            return [str(c) for c in _json_array(path).columns]
        except InputError:
            return []
    try:
        for _, _, obj in iter_jsonl(path):
            return list(obj)
    except InputError:
        return []
    return []


#: Columns :func:`read_answer_texts` reads (the keys, the text and the given hit).
ANSWER_TEXT_COLUMNS = ("experiment", "trait", "condition", "seed", "question", "response", "hit")


def read_answer_texts(paths: Sequence[str | Path], *, experiment: str | None = None,
                      traits: Sequence[str] | None = None
                      ) -> tuple[pd.DataFrame | None, str | None]:
    """The answers' text (``response``) with their keys, labels normalised as :func:`read_cells`
    normalises them, for rescoring the same answers against other targets (specificity).

    Only :data:`ANSWER_TEXT_COLUMNS` are read (a Parquet or CSV file without a ``response``
    column is known from its schema, no rows read).

    Returns
    -------
    (answers, missing)
        ``answers``: a DataFrame of those columns, or None when no file has a ``response``
        column, or when only some do — then ``missing`` names the first file without one
        (rescoring only the files with text would test a part of the answers).
    """
    wanted = list(ANSWER_TEXT_COLUMNS)
    frames, without = [], []
    for path in paths:
        if str(path).lower().endswith((".parquet", ".pq", ".csv")) and \
                "response" not in file_columns(path):
            without.append(path)
            continue
        for batch in iter_frames(path, columns=wanted):
            frame = batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()
            if "response" not in frame.columns:
                without.append(path)
                break
            frames.append(frame[[c for c in wanted if c in frame.columns]])
    if not frames:
        return None, None
    if without:
        return None, str(without[0])
    df = pd.concat(frames, ignore_index=True)
    for col in ("experiment", "trait", "condition", "seed", "question"):
        if col in df.columns:
            codes, uniques = pd.factorize(df[col].astype(object), use_na_sentinel=True)
            labels = pd.Series([normalise_label(u) for u in uniques] + [None], dtype=object)
            df[col] = labels.to_numpy()[codes]
    if experiment is not None and "experiment" in df.columns:
        df = df[df["experiment"] == experiment]
    if traits:
        df = df[df["trait"].isin(list(traits))]
    return df, None


def is_counts_file(path: str | Path) -> bool:
    """Whether a table file is a counts table (:func:`~subliminal_stats.data.counts.
    is_counts_table` of its columns)."""
    return is_counts_table(file_columns(path))


def _json_array(path: Path) -> pd.DataFrame:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}); a table is a JSON array of objects, or JSONL") from None
    if isinstance(data, dict):
        for key in ("rows", "data", "samples", "records"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: expected a JSON array of objects (one per answer)")
    return pd.DataFrame.from_records(data)


# ------------------------------------------------------------------------------ column helpers


def _names(batch) -> list[str]:
    return list(batch.schema.names) if isinstance(batch, pa.RecordBatch) else list(batch.columns)


def _column(batch, name):
    return batch.column(name) if isinstance(batch, pa.RecordBatch) else batch[name]


def _len(batch) -> int:
    return batch.num_rows if isinstance(batch, pa.RecordBatch) else len(batch)


def _raw(col, i: int):
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return col[i].as_py()
    return col.iloc[i]


def _show(value: object) -> str:
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    return repr(value)


def _factor(col) -> tuple[np.ndarray, list, bool]:
    """``(codes, uniques, textual)``: codes index ``uniques``; -1 marks a null."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if isinstance(col, pa.Array):
        textual = _string_type(col.type.value_type if pa.types.is_dictionary(col.type)
                               else col.type)
        enc = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
        indices = enc.indices
        if indices.null_count:
            indices = pc.fill_null(indices, -1)
        # int32 indices as they come: numpy gathers with them as fast, and no copy is made.
        return (indices.to_numpy(zero_copy_only=False), enc.dictionary.to_pylist(), textual)
    textual = not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col))
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), list(uniques), textual


def _numeric(col) -> tuple[np.ndarray, np.ndarray]:
    """``(values, present)``: float values (NaN where not numeric) and where a value was given."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if isinstance(col, pa.Array):
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode() if hasattr(col, "dictionary_decode") else pc.cast(
                col, col.type.value_type)
        present = ~col.is_null().to_numpy(zero_copy_only=False)
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or \
                pa.types.is_boolean(col.type):
            values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
            return values, present
        col = col.to_pandas()
    if pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=float), np.ones(len(col), dtype=bool)
    present = col.notna().to_numpy()
    values = pd.to_numeric(col, errors="coerce")
    return np.asarray(values, dtype=float), present


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


# ------------------------------------------------------------------------------ the reduction


@dataclass
class _Partial:
    """Cells reduced so far: internal key codes and their sums."""

    codes: list[np.ndarray]        # one array per _INTERNAL key
    hits: np.ndarray
    n: np.ndarray
    first: np.ndarray | None       # global row of the cell's first answer (score order)
    mask: np.ndarray | None        # OR of 1 << sample over samples < 64 (uint64)
    bits: np.ndarray | None        # number of samples < 64 summed (to spot overlaps)

    def __len__(self) -> int:
        return len(self.hits)


@dataclass
class _State:
    metric: str
    registries: dict[str, LabelRegistry]
    partials: list[_Partial] = field(default_factory=list)
    pending: int = 0
    rows: int = 0
    big_samples: list[tuple] = field(default_factory=list)   # (codes..., sample, row)
    row_hashes: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    sources: list[tuple[str, int]] = field(default_factory=list)  # (path, first global row)
    has_sample: bool = False
    batch_rows: int = BATCH_ROWS
    answers: int = 0                                # answers read (a counts row gives n)
    formats: dict[str, str] = field(default_factory=dict)  # file → "answers" / "counts"
    count_keys: list[tuple] = field(default_factory=list)   # (codes..., n, global row)
    sealed: list[tuple] = field(default_factory=list)       # (partial, its run codes) per file


def _radix(sizes: Sequence[int]) -> None:
    total = 1
    for s in sizes:
        total *= max(1, s)
    if total >= 2**62:
        raise InputError("too many distinct labels to count cells (more than 2^62 "
                         "combinations of run, experiment, trait, condition, seed and question)")


def _pack(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    _radix(sizes)
    out = codes[0].astype(np.int64, copy=True)
    for c, s in zip(codes[1:], sizes[1:], strict=True):
        out *= max(1, s)
        out += c
    return out


def _reduce(codes: list[np.ndarray], sizes: list[int], hits: np.ndarray, n: np.ndarray | None,
            first: np.ndarray | None, mask: np.ndarray | None,
            bits: np.ndarray | None) -> tuple[_Partial, np.ndarray]:
    """Group equal key tuples; returns the partial and, per group, whether samples overlapped.

    ``first`` (only needed to order score cells) and ``mask``/``bits`` (only with a
    ``sample`` column) may be None.
    """
    # Pack on the codes' ranges in this batch, not the global label counts: a batch of one
    # file holds a few traits of thousands, so its cells fit a small dense array.
    lows = [int(c.min()) if len(c) else 0 for c in codes]
    spans = [int(c.max()) - lo + 1 if len(c) else 1 for c, lo in zip(codes, lows, strict=True)]
    # A key constant over the batch (a file's run, its one experiment) is left out of the
    # packed code and put back when decoding.
    varying = [i for i, span in enumerate(spans) if span > 1]
    sizes = [spans[i] for i in varying]
    packed = (_pack([codes[i] - lows[i] if lows[i] else codes[i] for i in varying], sizes)
              if varying else np.zeros(len(hits), dtype=np.int64))
    total = int(np.prod([max(1, s) for s in sizes], dtype=np.float64))
    if total <= max(4 * len(packed), 1 << 16):
        # Few possible cells: count into a dense array (no hashing, no sorting).
        counts = (np.bincount(packed, minlength=total) if n is None
                  else np.bincount(packed, weights=n, minlength=total))
        uniq = np.flatnonzero(counts)
        lookup = np.zeros(total, dtype=np.int64)
        lookup[uniq] = np.arange(len(uniq))
        group = lookup[packed]
        out_n = counts[uniq].astype(np.int64)
    else:
        group, uniq = pd.factorize(packed, sort=False)
        out_n = (np.bincount(group, minlength=len(uniq)) if n is None
                 else np.bincount(group, weights=n, minlength=len(uniq))).astype(np.int64)
    k = len(uniq)
    out_hits = np.bincount(group, weights=hits, minlength=k)
    out_first = None
    if first is not None:
        out_first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(out_first, group, first)
    out_mask = out_bits = None
    overlap = np.zeros(k, dtype=bool)
    if mask is not None:
        # OR of the masks per group without ufunc.at: a sum of bit masks has as many bits
        # set as its terms together exactly when no two terms share a bit (a carry always
        # loses one), so summing (in two exact 32-bit halves) both merges the masks and
        # finds a repeated sample.
        if int(mask.max(initial=0)) < 2**32:  # samples below 32: one half is enough
            lo = np.bincount(group, weights=mask.astype(np.float64), minlength=k).astype(np.uint64)
            hi = np.zeros(k, dtype=np.uint64)
        else:
            lo = np.bincount(group, weights=(mask & np.uint64(0xFFFFFFFF)).astype(np.float64),
                             minlength=k).astype(np.uint64)
            hi = np.bincount(group, weights=(mask >> np.uint64(32)).astype(np.float64),
                             minlength=k).astype(np.uint64)
        if n is None and bits is not None and len(bits) and bits.min() == 1:
            out_bits = out_n  # one sample bit per answer row: the bits are the row counts
        else:
            out_bits = np.bincount(group, weights=bits, minlength=k).astype(np.int64)
        overlap = (np.bitwise_count(lo).astype(np.int64)
                   + np.bitwise_count(hi).astype(np.int64)) != out_bits
        out_mask = lo | (hi << np.uint64(32))
    # Decode the packed keys of the groups (few) back into one code array per key.
    rest = np.asarray(uniq, dtype=np.int64)
    decoded: list = [None] * len(codes)
    for i, s in zip(reversed(varying), reversed(sizes), strict=True):
        decoded[i] = (rest % s + lows[i]).astype(np.int32)
        rest = rest // s
    for i, lo in enumerate(lows):
        if decoded[i] is None:
            decoded[i] = np.full(k, lo, dtype=np.int32)
    return _Partial(decoded, out_hits, out_n, out_first, out_mask, out_bits), overlap


def _cat(parts, name):
    values = [getattr(p, name) for p in parts]
    if any(v is None for v in values):
        if name in ("mask", "bits"):
            # A file without a sample column next to one with: no samples to overlap.
            values = [np.zeros(len(p), dtype=np.uint64 if name == "mask" else np.int64)
                      if v is None else v for p, v in zip(parts, values, strict=True)]
        else:
            return None
    return np.concatenate(values)


def _compact(state: _State) -> None:
    if len(state.partials) <= 1:
        return
    parts = state.partials
    sizes = [len(state.registries[k]) for k in _INTERNAL]
    codes = [np.concatenate([p.codes[i] for p in parts]) for i in range(len(_INTERNAL))]
    merged, overlap = _reduce(codes, sizes, _cat(parts, "hits"), _cat(parts, "n"),
                              _cat(parts, "first"), _cat(parts, "mask"), _cat(parts, "bits"))
    if overlap.any():
        _duplicate_found(state, merged, int(np.argmax(overlap)))
    state.partials = [merged]
    state.pending = 0


def _seal(state: _State) -> None:
    """A file read: its cells compacted and set aside with the runs they belong to.

    Cells of different runs never merge (the run is part of a cell's identity), so files
    whose runs differ are joined at the end without counting their cells again
    (:func:`_merge_sealed`); a run shared by several files is merged the full way.
    """
    if not state.partials:
        return
    _compact(state)
    part = state.partials[0]
    runs = np.unique(part.codes[_INTERNAL.index("run")])
    state.sealed.append((part, runs))
    state.partials = []
    state.pending = 0


def _merge_sealed(state: _State) -> None:
    sealed, state.sealed = state.sealed, []
    if len(sealed) == 1:
        state.partials = [sealed[0][0]]
        return
    runs = np.concatenate([r for _, r in sealed])
    parts = [p for p, _ in sealed]
    if len(np.unique(runs)) == len(runs):  # no run in two files: the cells are disjoint
        fields = ("hits", "n", "first", "mask", "bits")
        state.partials = [_Partial([np.concatenate([p.codes[i] for p in parts])
                                    for i in range(len(_INTERNAL))],
                                   *(_cat(parts, name) for name in fields))]
        return
    state.partials = parts
    _compact(state)


def _label_codes(state: _State, name: str, col, batch_len: int, source: str,
                 row0: int) -> np.ndarray:
    """Global label codes of a key column for one batch (vectorised; Python per distinct value)."""
    reg = state.registries[name]
    if col is None:
        raise AssertionError(name)
    codes, uniques, _ = _factor(col)
    if len(uniques) == 0:
        labels: list = []
    else:
        labels = [normalise_label(u) for u in uniques]
    bad = np.array([lab is None for lab in labels], dtype=bool)
    empty = codes < 0
    if bad.any():
        empty = empty | bad[np.where(codes < 0, 0, codes)]
    if empty.any():
        i = _first(empty)
        raise InputError(
            f"{source}: column '{name}' has an empty value (NaN) at row {row0 + i + 1}: "
            f"every answer needs a {name}; fill it in or drop the row "
            f"({int(empty.sum())} such rows)")
    # int32 codes (a registry holds far fewer labels): half the memory traffic of int64 in
    # the reduction that follows.
    lut = np.zeros(len(uniques), dtype=np.int32)
    known = [reg.code(lab) for lab in labels]
    if (sum(c is None for c in known) > 1 or (None in known and isinstance(col, pa.Array)
                                               and pa.types.is_dictionary(col.type))) \
            and not _in_dictionary_order(codes, len(uniques)):
        # New labels: register them in the order their rows first appear (the order
        # stats.cell_counts uses); a Parquet dictionary may list entries in another order,
        # or entries no row of this batch uses.
        order = np.full(len(uniques), np.iinfo(np.int64).max, dtype=np.int64)
        positions = np.arange(len(codes), dtype=np.int64)
        order[codes[::-1]] = positions[::-1]
        js = [j for j in np.argsort(order, kind="stable") if order[j] != np.iinfo(np.int64).max]
    else:
        js = range(len(uniques))  # factorize order is first appearance already
    for j in js:
        lut[j] = reg.code_of(labels[j]) if known[j] is None else known[j]
        reg.note(uniques[j], labels[j])
    return lut[codes]


def _in_dictionary_order(codes: np.ndarray, k: int) -> bool:
    """Whether every entry 0..k-1 is used and first appears in that order (cheap check)."""
    if len(codes) == 0 or codes[0] != 0:
        return False
    running = np.maximum.accumulate(codes)
    return bool(running[-1] == k - 1 and np.all(codes[1:] <= running[:-1] + 1))


def _constant_codes(state: _State, name: str, value: str, n: int) -> np.ndarray:
    reg = state.registries[name]
    label = normalise_label(value)
    if label is None:
        label = ""
    reg.note(value, label)
    return np.full(n, reg.code_of(label), dtype=np.int32)


def _hit_values(col, source: str, row0: int) -> np.ndarray:
    codes, uniques, textual = _factor(col)
    values = np.full(len(uniques), np.nan)
    for j, u in enumerate(uniques):
        if isinstance(u, (bool, np.bool_)):
            values[j] = float(u)
        elif isinstance(u, str):
            values[j] = _HIT_WORDS.get(u.strip().lower(), np.nan)
        else:
            try:
                f = float(u)
            except (TypeError, ValueError):
                continue
            values[j] = f if f in (0.0, 1.0) else np.nan
    hit = np.where(codes >= 0, values[np.where(codes < 0, 0, codes)], np.nan)
    bad = np.isnan(hit)
    if bad.any():
        i = _first(bad)
        raw = _raw(col, i)
        if textual:
            raise InputError(f"{source}: column 'hit' must be 0 or 1; row {row0 + i + 1} has "
                             f"{_show(raw)} (score answers to 0/1 first, e.g. with "
                             "`subliminal-stats ingest`)")
        what = "an empty value (NaN)" if raw is None or (isinstance(raw, float)
                                                          and math.isnan(raw)) else _show(raw)
        raise InputError(f"{source}: column 'hit' must be 0 or 1; row {row0 + i + 1} has {what} "
                         f"({int(bad.sum())} bad rows)")
    return hit


def _hit_fast(col, source: str, row0: int) -> np.ndarray:
    """0/1 hits; integer and boolean Arrow columns without nulls skip the general path."""
    if isinstance(col, pa.Array) and col.null_count == 0 and (
            pa.types.is_integer(col.type) or pa.types.is_boolean(col.type)):
        values = col.to_numpy(zero_copy_only=False)
        if pa.types.is_boolean(col.type):
            return values.astype(np.int8)
        bad = (values != 0) & (values != 1)
        if not bad.any():
            return values
    return _hit_values(col, source, row0)


#: Sample numbers: whole numbers from 0 to 2^53 (exact in a float; bounded memory).
SAMPLE_LIMIT = 2**53


def _sample_values(col, source: str, row0: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sample, present)`` as int64 (0 where absent); InputError naming the row when bad."""
    if isinstance(col, pa.Array) and col.null_count == 0 and pa.types.is_integer(col.type):
        values = col.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        bad = (values < 0) | (values >= SAMPLE_LIMIT)
        if not bad.any():
            return values, np.ones(len(values), dtype=bool)
    values, present = _numeric(col)
    with np.errstate(invalid="ignore"):
        bad = present & (np.isnan(values) | (values != np.round(values)) | (values < 0)
                         | (values >= SAMPLE_LIMIT))
    if bad.any():
        i = _first(bad)
        raise InputError(f"{source}: column 'sample' must hold whole numbers; row "
                         f"{row0 + i + 1} has {_show(_raw(col, i))} (answer numbers from 0 "
                         "to 2^53)")
    return np.where(present, values, 0).astype(np.int64), present


def _check_numeric(col, name: str, source: str, row0: int, *, required: bool,
                   unit: bool) -> np.ndarray:
    values, present = _numeric(col)
    bad = present & np.isnan(values)
    if bad.any():
        i = _first(bad)
        raise InputError(f"{source}: column '{name}' must be numeric; row {row0 + i + 1} has "
                         f"{_show(_raw(col, i))}")
    if required and not present.all():
        i = _first(~present)
        raise InputError(f"{source}: column {name!r} has an empty or non-numeric value at row "
                         f"{row0 + i + 1}; a score must be measured for every row to be tested")
    if unit:
        with np.errstate(invalid="ignore"):
            out = (values < 0) | (values > 1)
        if out.any():
            i = _first(out)
            if name == "prob":
                raise InputError(f"{source}: column 'prob' must lie in [0, 1]; row "
                                 f"{row0 + i + 1} has {_show(_raw(col, i))}")
            raise InputError(f"{source}: column {name!r} must lie in [0, 1] to be tested as a "
                             f"rate (row {row0 + i + 1} has {_show(_raw(col, i))})")
    return values


def _format(state: _State, names: list[str], source: str, row0: int) -> str:
    """"answers" (one row per answer) or "counts" (one row per cell) — by the columns."""
    if "hit" in names and "hits" in names:
        raise InputError(f"{source}: has both 'hit' (one row per answer) and 'hits' (per-cell "
                         "counts): a file holds one of the two tables; drop or rename one")
    kind = "counts" if is_counts_table(names) else "answers"
    if kind == "answers":
        missing = [c for c in (*KEYS, "hit") if c not in names]
        if missing:
            shown = ", ".join(repr(c) for c in missing)
            raise InputError(
                f"{source}: missing column {shown}: the responses table needs columns trait, "
                "condition, seed, question, hit (a counts table: trait, condition, seed, "
                "question, hits, n); add it, or rename the column that holds it "
                "(`ingest table --map` renames columns)")
    earlier = state.formats.setdefault(source, kind)
    if earlier != kind:
        raise InputError(f"{source}: rows from {row0 + 1} are {kind} but the rows before are "
                         f"{earlier}: one file holds one table (answers or per-cell counts)")
    return kind


def _batch(state: _State, batch, source: str, run: str, row0: int, grow0: int) -> None:
    names = _names(batch)
    n_rows = _len(batch)
    kind = _format(state, names, source, row0)
    if kind == "answers" and state.metric != "hit" and state.metric not in names:
        raise InputError(f"{source}: --metric {state.metric!r}: no such column; the table has "
                         f"{', '.join(map(str, names))}")
    codes = _key_codes(state, batch, names, n_rows, source, run, row0)
    if kind == "counts":
        _counts_batch(state, batch, names, codes, source, row0, grow0)
    else:
        state.answers += n_rows
        _answers_batch(state, batch, names, codes, source, row0, grow0, n_rows)
    state.pending += len(state.partials[-1])
    if state.pending > max(1 << 21, 2 * len(state.partials[0])):
        _compact(state)


def _key_codes(state: _State, batch, names, n_rows: int, source: str, run: str,
               row0: int) -> list[np.ndarray]:
    """Global label codes of the internal key columns (run, experiment, trait, …)."""
    codes: list[np.ndarray] = []
    for name in _INTERNAL:
        if name in names:
            col = _column(batch, name)
            if name in ("run", "experiment"):
                # Optional labels: an empty value means "none given" (the file's run, no
                # experiment), as the in-memory reader fills experiment with "".
                codes.append(_optional_codes(state, name, col, run if name == "run" else ""))
            else:
                codes.append(_label_codes(state, name, col, n_rows, source, row0))
        else:
            codes.append(_constant_codes(state, name, run if name == "run" else "", n_rows))
    return codes


def _answers_batch(state: _State, batch, names, codes, source: str, row0: int, grow0: int,
                   n_rows: int) -> None:
    hit = _hit_fast(_column(batch, "hit"), source, row0)
    for name in _NUMERIC:
        if name in names and name != state.metric:
            _check_numeric(_column(batch, name), name, source, row0, required=False,
                           unit=name == "prob")
    if state.metric == "hit":
        weights = hit
    else:
        weights = _check_numeric(_column(batch, state.metric), state.metric, source, row0,
                                 required=True, unit=True)
    # Global row numbers: only for the rare paths that report or order by them.
    need_rows = state.metric != "hit" or "sample" not in names
    grows = np.arange(grow0, grow0 + n_rows, dtype=np.int64) if need_rows else None
    mask = bits = None
    if "sample" in names:
        state.has_sample = True
        col = _column(batch, "sample")
        sample, present = _sample_values(col, source, row0)
        small = present & (sample < 64)
        if small.all():
            mask = np.left_shift(np.uint64(1), sample.astype(np.uint64))
            bits = np.ones(n_rows, dtype=np.int64)
        else:
            mask = np.zeros(n_rows, dtype=np.uint64)
            bits = np.zeros(n_rows, dtype=np.int64)
            mask[small] = np.left_shift(np.uint64(1), sample[small].astype(np.uint64))
            bits[small] = 1
        big = ~small
        if big.any():
            if grows is None:
                grows = np.arange(grow0, grow0 + n_rows, dtype=np.int64)
            state.big_samples.append((*(c[big] for c in codes),
                                      np.where(present[big], sample[big], -1), grows[big]))
    else:
        # Keys hashed by their labels, not by this file's codes: rows of two files compare.
        frame = pd.DataFrame({
            k: pd.util.hash_array(np.asarray(state.registries[k].labels, dtype=object))[c]
            for k, c in zip(_INTERNAL, codes, strict=True)})
        for name in names:
            if name not in _INTERNAL:
                col = _column(batch, name)
                frame[name] = col.to_pandas() if isinstance(col, (pa.Array,
                                                                  pa.ChunkedArray)) else col
        state.row_hashes.append((pd.util.hash_pandas_object(frame, index=False).to_numpy(),
                                 grows))
    sizes = [len(state.registries[k]) for k in _INTERNAL]
    part, overlap = _reduce(codes, sizes, weights, None,
                            None if state.metric == "hit" else grows, mask, bits)
    state.partials.append(part)
    if overlap.any():
        _duplicate_found(state, part, int(np.argmax(overlap)))


#: Answers in one cell of a counts table: whole numbers exact in a float.
N_LIMIT = 2**53


def _counts_batch(state: _State, batch, names, codes, source: str, row0: int,
                  grow0: int) -> None:
    """One batch of a counts table (one row per cell): checked, then reduced like answers."""
    n_rows = _len(batch)
    if "sample" in names:
        raise InputError(f"{source}: a counts table (hits of n per cell) has no 'sample' "
                         "column; drop it, or give one row per answer with 'hit' instead")
    col_n = _column(batch, "n")
    n, present = _numeric(col_n)
    with np.errstate(invalid="ignore"):
        bad = ~present | np.isnan(n) | (n < 1) | (n != np.round(n)) | (n >= N_LIMIT)
    if bad.any():
        i = _first(bad)
        raw = _raw(col_n, i)
        raise InputError(f"{source}: column 'n' must be a whole number of answers ≥ 1; row "
                         f"{row0 + i + 1} has {_show(raw) if present[i] else 'an empty value'} "
                         f"({int(bad.sum())} bad rows)")
    name = "hits" if state.metric == "hit" else score_sum_column(state.metric)
    if name not in names:
        what = ("the hits of each cell" if state.metric == "hit" else
                f"the sum of {state.metric!r} over each cell's n answers (--metric "
                f"{state.metric})")
        raise InputError(f"{source}: counts table without a {name!r} column ({what}); the "
                         f"table has {', '.join(map(str, names))}")
    col_h = _column(batch, name)
    hits, present = _numeric(col_h)
    with np.errstate(invalid="ignore"):
        bad = ~present | np.isnan(hits)
        if state.metric == "hit":
            bad |= hits != np.round(hits)
    if bad.any():
        i = _first(bad)
        need = "a whole number of answers" if state.metric == "hit" else "numeric"
        raise InputError(f"{source}: column {name!r} must be {need}; row {row0 + i + 1} has "
                         f"{_show(_raw(col_h, i)) if present[i] else 'an empty value'}")
    with np.errstate(invalid="ignore"):
        bad = (hits < 0) | (hits > n)
    if bad.any():
        i = _first(bad)
        raise InputError(f"{source}: row {row0 + i + 1} has {name} {_show(_raw(col_h, i))} of n "
                         f"{_show(_raw(col_n, i))}: need 0 ≤ {name} ≤ n (a count, or a [0, 1] "
                         "score summed, over the cell's n answers)")
    grows = np.arange(grow0, grow0 + n_rows, dtype=np.int64)
    # Kept for the end: a cell given twice in one run, or as counts and as answers.
    state.count_keys.append((*(c.astype(np.int32, copy=False) for c in codes), n, grows))
    state.answers += int(n.sum())
    sizes = [len(state.registries[k]) for k in _INTERNAL]
    part, _ = _reduce(codes, sizes, hits, n, None if state.metric == "hit" else grows,
                      None, None)
    state.partials.append(part)


def _count_cell_checks(state: _State) -> None:
    """Counts: a cell once per run, and not also as answer rows of the same run."""
    if not state.count_keys:
        return
    k = len(_INTERNAL)
    cols = [np.concatenate([b[i] for b in state.count_keys]) for i in range(k + 2)]
    sizes = [len(state.registries[key]) for key in _INTERNAL]
    packed = _pack(cols[:k], sizes)
    dup = pd.Index(packed).duplicated(keep="first")
    if dup.any():
        i = _first(np.asarray(dup))
        j = _first(packed == packed[i])
        lab = _labels(state, [c[i] for c in cols[:k]])
        path_a, row_a = _where(state, int(cols[-1][j]))
        path_b, row_b = _where(state, int(cols[-1][i]))
        where = (f"{path_b}: rows {row_a} and {row_b}" if path_a == path_b
                 else f"{path_a} row {row_a} and {path_b} row {row_b}")
        raise InputError(
            f"duplicate cell: {where} both give trait={lab['trait']!r} "
            f"condition={lab['condition']!r} seed={lab['seed']!r} "
            f"question={lab['question'][:40]!r} in run {lab['run']!r}; a counts table has one "
            "row per cell: add up separate evaluations of one model first (`ingest rates "
            "--pool-repeats`), or drop the copy")
    if set(state.formats.values()) != {"answers", "counts"}:
        return
    # Both tables given: a counts cell must not also be answered in the same run.
    part = state.partials[0]
    where = pd.Index(_pack(part.codes, sizes)).get_indexer(packed)
    clash = part.n[where] != cols[k].astype(np.int64)
    if clash.any():
        i = _first(clash)
        lab = _labels(state, [c[i] for c in cols[:k]])
        path, row = _where(state, int(cols[-1][i]))
        raise InputError(
            f"{path}: row {row}: the cell trait={lab['trait']!r} condition={lab['condition']!r} "
            f"seed={lab['seed']!r} question={lab['question'][:40]!r} (run {lab['run']!r}) is "
            "given as counts and as answer rows: its answers would be counted twice; give it "
            "once (or another run label)")


def _optional_codes(state: _State, name: str, col, default: str) -> np.ndarray:
    codes, uniques, _ = _factor(col)
    reg = state.registries[name]
    labels = [normalise_label(u) or default for u in uniques]
    lut = np.array([reg.code_of(lab) for lab in labels] or [0], dtype=np.int32)
    for u, lab in zip(uniques, labels, strict=True):
        reg.note(u, lab)
    missing = codes < 0
    if not missing.any():
        return lut[codes]
    fill = reg.code_of(normalise_label(default) or default)
    return np.where(missing, fill, lut[np.where(missing, 0, codes)])


# ------------------------------------------------------------------------------ duplicates


def _where(state: _State, grow: int) -> tuple[str, int]:
    """(file, 1-based row) of a global row number."""
    src, start = state.sources[0]
    for path, first in state.sources:
        if first <= grow:
            src, start = path, first
    return src, grow - start + 1


def _labels(state: _State, codes: Sequence[int]) -> dict[str, str]:
    return {k: state.registries[k].labels[int(c)] for k, c in zip(_INTERNAL, codes, strict=True)}


def _duplicate_found(state: _State, part: _Partial, g: int) -> None:
    lab = _labels(state, [c[g] for c in part.codes])
    found = _locate_duplicate(state, lab)
    if found is not None:
        path, row, sample = found
        raise InputError(
            f"{path}: duplicate answer at row {row}: condition={lab['condition']!r} "
            f"seed={lab['seed']!r} question={lab['question'][:40]!r} sample={sample} appears "
            "twice; each (condition, seed, question, sample) must be unique")
    raise InputError(
        f"duplicate answer: condition={lab['condition']!r} seed={lab['seed']!r} "
        f"question={lab['question'][:40]!r} has a sample number twice (trait {lab['trait']!r}, "
        f"run {lab['run']!r}); each (condition, seed, question, sample) must be unique — "
        "drop the repeated rows, or renumber 'sample' if they are different answers")


def _normalised(col, n: int) -> np.ndarray:
    codes, uniques, _ = _factor(col)
    labels = np.asarray([normalise_label(u) or "" for u in uniques] + [""], dtype=object)
    return labels[np.where(codes < 0, len(uniques), codes)] if n else labels[:0]


def _locate_duplicate(state: _State, lab: dict[str, str]) -> tuple[str, int, int] | None:
    """Second pass (error path only): the file, row and sample of a repeated answer."""
    seen: set[int] = set()
    for source, _ in state.sources:
        row0 = 0
        for batch in iter_frames(source, batch_rows=state.batch_rows):
            n = _len(batch)
            names = _names(batch)
            match = np.ones(n, dtype=bool)
            for key in _INTERNAL:
                if key in names:
                    values = _normalised(_column(batch, key), n)
                    if key == "run":
                        values = np.where(values == "", default_run(source), values)
                else:
                    values = np.full(n, default_run(source) if key == "run" else "", dtype=object)
                match &= values == lab[key]
            if match.any() and "sample" in names:
                sample, _ = _numeric(_column(batch, "sample"))
                for i in np.flatnonzero(match):
                    value = int(sample[i]) if np.isfinite(sample[i]) else -1
                    if value in seen:
                        return source, row0 + int(i) + 1, value
                    seen.add(value)
            row0 += n
    return None


def _final_duplicate_checks(state: _State) -> None:
    if state.big_samples:
        cols = [np.concatenate([b[i] for b in state.big_samples])
                for i in range(len(_INTERNAL) + 2)]
        frame = pd.DataFrame({f"k{i}": c for i, c in enumerate(cols[:-1])})
        dup = frame.duplicated(keep="first").to_numpy()
        if dup.any():
            i = _first(dup)
            lab = _labels(state, [c[i] for c in cols[:len(_INTERNAL)]])
            path, row = _where(state, int(cols[-1][i]))
            sample = cols[-2][i]
            raise InputError(
                f"{path}: duplicate answer at row {row}: condition={lab['condition']!r} "
                f"seed={lab['seed']!r} question={lab['question'][:40]!r} "
                f"sample={int(sample) if sample >= 0 else 'NA'} appears twice; each "
                "(condition, seed, question, sample) must be unique")
    if state.row_hashes:
        hashes = np.concatenate([h for h, _ in state.row_hashes])
        rows = np.concatenate([r for _, r in state.row_hashes])
        dup = pd.Index(hashes).duplicated(keep="first")
        if dup.any():
            i = _first(np.asarray(dup))
            j = _first(hashes == hashes[i])
            path_a, row_a = _where(state, int(rows[j]))
            path_b, row_b = _where(state, int(rows[i]))
            where = (f"{path_a}: rows {row_a} and {row_b}" if path_a == path_b
                     else f"{path_a} row {row_a} and {path_b} row {row_b}")
            raise InputError(
                f"duplicate rows: {where} are identical in every column and the table has no "
                "'sample' column, "
                "so they cannot be told apart from one answer counted twice: if they are "
                "repeated answers, number them in a 'sample' column (0, 1, … within each seed "
                "and question); if rows were appended twice, drop the copies")


# ------------------------------------------------------------------------------ public API


def runs_note(cells: pd.DataFrame) -> str:
    """A sentence naming the pooled runs recorded by :func:`read_cells` ("" when none)."""
    pooled = cells.attrs.get("pooled_runs") or []
    if not pooled:
        return ""
    t, c, s, runs = pooled[0]
    return (f"seeds with the same labels from different runs were pooled as the same models "
            f"(--same-seeds), e.g. trait {t!r} condition {c!r} seed {s!r} from "
            f"{', '.join(map(repr, runs[:3]))}")


def read_cells(
    paths: str | Path | Sequence[str | Path],
    *,
    metric: str = "hit",
    experiment: str | None = None,
    traits: Sequence[str] | str | None = None,
    same_seeds: bool = False,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Read responses files straight into per-cell counts, streaming; memory grows with cells.

    Parameters
    ----------
    paths : path or sequence of paths
        Responses files: ``.parquet``/``.pq``, ``.csv``, ``.jsonl``/``.ndjson`` or ``.json``
        (an array of objects). Read in order; several files are one table. Each may be a
        counts table instead (one row per cell, ``hits`` of ``n``), alone or beside answers
        files.
    metric : str, default "hit"
        ``"hit"``: ``hits`` counts the 0/1 hits. Another column (a score in [0, 1], e.g.
        ``prob``): ``hits`` is the sum of that score over the cell's answers, as
        :func:`subliminal_stats.stats.score_cells` computes it (a counts table gives it
        as ``METRIC_sum``, e.g. ``prob_sum``).
    experiment : str, optional
        Keep only this experiment's answers.
    traits : str or sequence of str, optional
        Keep only these traits (each must occur).
    same_seeds : bool, default False
        Pool seeds that carry the same (trait, condition, seed) labels in different runs
        (the ``run`` column, or different files when there is none) as one model each.
        By default such tables are refused: the same labels in two runs are usually
        different trained models.
    batch_rows : int
        Answers read per batch (memory bound for the reading itself).
    progress : callable, optional
        Called as ``progress(files_read, files)`` each time a file is read (in the order the
        files finish: two are read at once).

    Returns
    -------
    pandas.DataFrame
        Columns ``trait, condition, seed, question, hits, n`` — the same table, in the same
        order, as ``stats.cell_counts(read_responses(paths))`` (or ``stats.score_cells`` for
        a score), ready for ``stats.compare`` and ``stats.summarize``. ``.attrs`` records
        ``rows`` (answers read: a counts row gives its n), ``table_rows`` (rows read),
        ``formats`` (``answers``/``counts``), ``experiments``, ``runs``, ``sources``, ``merged`` (label
        spellings merged) and ``pooled_runs``.

    Raises
    ------
    InputError
        One line naming the file, column, row and the fix (see the module doc).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> pd.DataFrame({"trait": "owl", "condition": ["control"] * 3 + ["treated"] * 3,
    ...               "seed": [0, 0, 1, 2, 2, 3], "question": "q1", "sample": [0, 1, 0, 0, 1, 0],
    ...               "hit": [0, 1, 0, 1, 1, 0]}).to_csv(path, index=False)
    >>> read_cells(path).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'trait': ['owl', 'owl', 'owl', 'owl'], 'condition': ['control', 'control', 'treated',
     'treated'], 'seed': ['0', '1', '2', '3'], 'question': ['q1', 'q1', 'q1', 'q1'],
     'hits': [1, 0, 2, 0], 'n': [2, 1, 2, 1]}
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no responses file given")
    if not isinstance(batch_rows, int) or not 1 <= batch_rows <= 1 << 24:
        raise InputError(f"batch_rows must be between 1 and {1 << 24}, not {batch_rows!r}")
    seen: dict[Path, Path] = {}
    for p in paths:
        key = p.resolve()
        if key in seen:
            raise InputError(f"{p} is given twice (as {seen[key]} and {p}): its answers would "
                             "be counted twice; give each file once")
        seen[key] = p
    # Each file is read on its own (two at a time: Arrow and numpy release the GIL for most
    # of the work), then the files join in the order given; errors come in that order too.
    # One large Parquet file is read as two halves the same way.
    threads = (os.cpu_count() or 1) > 1
    halves = _halves(paths[0]) if len(paths) == 1 and threads else None
    parts = ([(paths[0], groups, base) for groups, base in halves] if halves
             else [(p, None, 0) for p in paths])
    files = _read_parts(parts, metric=metric, batch_rows=batch_rows, threads=threads,
                        progress=progress)
    if halves and sum(f.rows for f in files) == 0:
        raise InputError(f"{paths[0]}: the responses table has no rows")
    state = _join(files, metric=metric, batch_rows=batch_rows)
    _merge_sealed(state)
    _final_duplicate_checks(state)
    _count_cell_checks(state)
    merged = {}
    for k in _INTERNAL:
        if k == "run":
            continue
        msgs = state.registries[k].warn_merges()
        if msgs:
            merged[k] = state.registries[k].merges()
    return _finish(state, experiment=experiment, traits=traits, same_seeds=same_seeds,
                   merged=merged)


def _label_column(labels: list, codes: np.ndarray):
    """``labels[codes]`` as the column pandas would make of those strings, built in Arrow.

    The object array pandas infers its string dtype from costs ~0.7 s per 5 M cells (a
    Python object per cell); an Arrow ``take`` of the few labels gives the same column.
    """
    values = np.asarray(labels, dtype=object)
    dtype = pd.Series(values[:1]).dtype if len(values) else None
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and \
            all(isinstance(v, str) for v in labels):
        return pd.array(pa.array(labels, type=pa.large_string()).take(pa.array(codes)),
                        dtype=dtype)
    return values[codes]


#: Files read at once by :func:`read_cells`.
READ_THREADS = 2


#: A Parquet file of fewer rows is read in one piece: the halves gain nothing measurable at
#: 2.2 M rows (0.37–0.49 s either way) and 15–25 % at 20 M rows (2.7–2.8 s → 2.1–2.4 s),
#: fresh processes on 2 cores.
HALVES_MIN_ROWS = 4 << 20


def _read_parts(parts, *, metric: str, batch_rows: int, threads: bool, progress) -> list:
    """:func:`_read_file` of each (path, row groups, first row), in order; two at a time with
    ``threads``. ``progress(k, n)`` after each path whose parts are all read."""
    import threading

    paths = list(dict.fromkeys(p for p, _, _ in parts))
    left = {p: sum(q == p for q, _, _ in parts) for p in paths}
    done = []
    lock = threading.Lock()  # parts finish in worker threads

    def finished(path):
        with lock:
            left[path] -= 1
            if left[path]:
                return
            done.append(path)
            count = len(done)
        if progress is not None:
            progress(count, len(paths))

    def read(part):
        return _read_file(part[0], metric=metric, batch_rows=batch_rows, row_groups=part[1],
                          row_base=part[2])

    if not threads or len(parts) < 2:
        files = []
        for part in parts:
            files.append(read(part))
            finished(part[0])
        return files
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        futures = [pool.submit(read, part) for part in parts]
        for part, future in zip(parts, futures, strict=True):
            future.add_done_callback(
                lambda f, path=part[0]: None if f.cancelled() or f.exception() else finished(path))
        try:
            return [f.result() for f in futures]
        finally:
            for f in futures:
                f.cancel()


def _halves(path: Path) -> list[tuple[list[int], int]] | None:
    """Two halves (row groups, first row) of a Parquet file of several row groups; else None."""
    if _check_file(path) not in (".parquet", ".pq"):
        return None
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:  # corrupt: the reader says so with its own message
        return None
    if meta.num_row_groups < 2 or meta.num_rows < HALVES_MIN_ROWS:
        return None
    rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    ends = np.cumsum(rows)[:-1]  # rows before each possible cut 1 … n-1
    cut = int(np.argmin(np.abs(ends - sum(rows) / 2))) + 1
    return [(list(range(cut)), 0), (list(range(cut, len(rows))), int(sum(rows[:cut])))]


def _read_file(path: Path, *, metric: str, batch_rows: int,
               row_groups: Sequence[int] | None = None, row_base: int = 0) -> _State:
    """One file (or some of its row groups, the first at file row ``row_base``) read into its
    own state (its own label codes), its cells sealed."""
    state = _State(metric=metric, registries={k: LabelRegistry(k) for k in _INTERNAL},
                   batch_rows=batch_rows)
    source = str(path)
    # Rows are counted from this part's start; the source entry makes them the file's rows.
    state.sources.append((source, -row_base))
    for batch in iter_frames(path, batch_rows=batch_rows, row_groups=row_groups):
        n = _len(batch)
        if n == 0:
            continue
        _batch(state, batch, source, default_run(path), row_base + state.rows, state.rows)
        state.rows += n
    if state.rows == 0 and row_groups is None:
        raise InputError(f"{source}: the responses table has no rows")
    _seal(state)
    return state


def _join(files: Sequence[_State], *, metric: str, batch_rows: int) -> _State:
    """The files' states as one: labels coded in file order, global row numbers."""
    state = _State(metric=metric, registries={k: LabelRegistry(k) for k in _INTERNAL},
                   batch_rows=batch_rows)
    for part in files:
        luts = [state.registries[k].absorb(part.registries[k]) for k in _INTERNAL]
        offset = state.rows

        def remap(codes, luts=luts):
            return [lut[np.asarray(c)] for lut, c in zip(luts, codes, strict=True)]

        state.sources += [(source, offset + first) for source, first in part.sources
                          if (source, offset + first) not in state.sources]
        for cells, runs in part.sealed:
            state.sealed.append((_Partial(remap(cells.codes), cells.hits, cells.n,
                                          None if cells.first is None else cells.first + offset,
                                          cells.mask, cells.bits),
                                 luts[_INTERNAL.index("run")][runs]))
        k = len(_INTERNAL)
        state.big_samples += [(*remap(b[:k]), b[k], b[k + 1] + offset) for b in part.big_samples]
        state.count_keys += [(*remap(b[:k]), b[k], b[k + 1] + offset) for b in part.count_keys]
        state.row_hashes += [(h, rows + offset) for h, rows in part.row_hashes]
        state.formats.update(part.formats)
        state.answers += part.answers
        state.has_sample |= part.has_sample
        state.rows += part.rows
        # The file's own copies go now: memory holds one copy of the cells, not two.
        part.sealed, part.big_samples, part.count_keys, part.row_hashes = [], [], [], []
    return state


def _finish(state: _State, *, experiment, traits, same_seeds, merged) -> pd.DataFrame:
    part = state.partials[0]
    regs = state.registries
    idx = {k: i for i, k in enumerate(_INTERNAL)}
    keep = np.ones(len(part), dtype=bool)
    experiments = [regs["experiment"].labels[c] for c in pd.unique(part.codes[idx["experiment"]])]
    if experiment is not None:
        if experiment not in regs["experiment"].labels:
            known = ", ".join(sorted(map(str, experiments))[:12])
            raise InputError(f"unknown experiment label {experiment!r}: the data has {known}")
        keep &= part.codes[idx["experiment"]] == regs["experiment"].labels.index(experiment)
    if traits is not None:
        traits = [traits] if isinstance(traits, str) else list(traits)
        unknown = [t for t in traits if t not in regs["trait"].labels]
        if unknown:
            known = ", ".join(sorted(regs["trait"].labels)[:12])
            raise InputError(f"unknown trait label {', '.join(map(repr, unknown))}: the data "
                             f"has {known}")
        wanted = np.array([regs["trait"].labels.index(t) for t in traits])
        keep &= np.isin(part.codes[idx["trait"]], wanted)
    if keep.all():  # no selection: the cells as they are, not a copy
        codes, hits, n, first = part.codes, part.hits, part.n, part.first
    else:
        codes = [c[keep] for c in part.codes]
        hits, n = part.hits[keep], part.n[keep]
        first = None if part.first is None else part.first[keep]
    if len(hits) == 0:
        raise InputError("the selection is empty: no rows have "
                         f"experiment {experiment!r} and trait {', '.join(map(repr, traits or []))}"
                         " together; `subliminal-stats check DATA` lists what each trait has")
    # Runs: the same (trait, condition, seed) from several runs are different models.
    tcs = _pack([codes[idx["trait"]], codes[idx["condition"]], codes[idx["seed"]]],
                [len(regs[k]) for k in ("trait", "condition", "seed")])
    n_runs = max(1, len(regs["run"]))
    _radix([int(tcs.max(initial=0)) + 1, n_runs])
    # One int64 per (seed, run) pair: far cheaper than a DataFrame's drop_duplicates on
    # millions of cells; the pairs table is built only when a seed has several runs.
    pair_codes = pd.unique(tcs * n_runs + codes[idx["run"]])
    several = bool(pd.Index(pair_codes // n_runs).duplicated().any())
    pooled = []
    if several:
        pairs = pd.DataFrame({"tcs": tcs, "run": codes[idx["run"]]}).drop_duplicates()
        counts = pairs.groupby("tcs", sort=False)["run"].agg(["size", "first"])
        for key in counts.index[counts["size"] > 1][:5]:
            first_row = int(np.flatnonzero(tcs == key)[0])
            runs = [regs["run"].labels[r] for r in pairs.loc[pairs["tcs"] == key, "run"]]
            pooled.append((regs["trait"].labels[codes[idx["trait"]][first_row]],
                           regs["condition"].labels[codes[idx["condition"]][first_row]],
                           regs["seed"].labels[codes[idx["seed"]][first_row]], runs))
        if not same_seeds:
            t, c, s, runs = pooled[0]
            n_bad = int((counts["size"] > 1).sum())
            raise InputError(
                f"trait {t!r} condition {c!r} seed {s!r} comes from {len(runs)} runs "
                f"({', '.join(map(repr, runs[:3]))}; {n_bad} such seeds): seeds with the same "
                "label in different runs are different trained models, and pooling them "
                f"would count too few seeds — relabel one run's seeds (e.g. '{runs[-1]}-{s}'), "
                "or pass --same-seeds (same_seeds=True) if they are the same trained models"
                + (f"; or select one of the {len(experiments)} experiments (--experiment)"
                   if experiment is None and len(experiments) > 1 else ""))
    # Sum over run and experiment: one row per (trait, condition, seed, question).
    key4 = [codes[idx[k]] for k in KEYS]
    sizes4 = [len(regs[k]) for k in KEYS]
    packed = _pack(key4, sizes4)
    if not several and (experiment is not None or len(experiments) <= 1):
        # Each seed from one run of one experiment: the cells are unique already.
        uniq = packed
        out_hits, out_n = hits.astype(np.float64, copy=False), n.astype(np.int64, copy=False)
        out_first = first
    else:
        group, uniq = pd.factorize(packed, sort=False)
        k = len(uniq)
        out_hits = np.bincount(group, weights=hits, minlength=k)
        out_n = np.bincount(group, weights=n, minlength=k).astype(np.int64)
        if first is not None:
            out_first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(out_first, group, first)
    if uniq is packed:
        dec = key4  # nothing was summed: the cells' own codes
    else:
        rest = np.asarray(uniq, dtype=np.int64)
        dec = []
        for s in reversed(sizes4):
            dec.append(rest % max(1, s))
            rest = rest // max(1, s)
        dec.reverse()
    runs_seen = [regs["run"].labels[c] for c in pd.unique(codes[idx["run"]])]
    del codes, tcs, pair_codes
    if state.metric == "hit":
        # stats.cell_counts' order: by trait, condition, seed, question, each in order of
        # first appearance in the answers (the codes' order, so the packed codes' order).
        order = np.argsort(np.asarray(uniq, dtype=np.int64), kind="stable")
        hits_col = np.rint(out_hits).astype(np.int64)
    else:
        # stats.score_cells' order: groups in order of their first answer.
        order = np.argsort(out_first, kind="stable")
        hits_col = out_hits
    frame = pd.DataFrame({key: _label_column(regs[key].labels, d[order])
                          for key, d in zip(KEYS, dec, strict=True)})
    frame["hits"] = hits_col[order]
    frame["n"] = out_n[order]
    frame.attrs.update({
        "rows": state.answers,
        "table_rows": state.rows,
        "formats": sorted(set(state.formats.values())),
        "experiments": experiments,
        "runs": runs_seen,
        "sources": [s for s, _ in state.sources],
        "merged": merged,
        "pooled_runs": pooled,
        "metric": state.metric,
    })
    return frame
