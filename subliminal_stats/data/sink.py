"""Appending answers to a responses file: streamed, locked, atomic, never a lost row.

:func:`append_rows` writes chunks of rows (DataFrames) to a table file:

* the output is checked first (:func:`~subliminal_stats.data.outputs.check_output_path`:
  never an input, a folder or a special file);
* a real file lock (``filelock``, ``OUT.lock`` beside the output) is held from reading the
  existing table to the final rename, so two processes appending to one file take turns
  and neither loses the other's rows; a writer that waits too long gets a one-line error;
* the new table is written to a unique temporary file in the output's folder, synced and
  renamed over the output: readers see the old table or the new one, never half;
* memory is one chunk: the existing rows are copied through batch by batch (Parquet row
  groups; CSV and JSONL bytes), and duplicates are looked for per cell
  (trait, condition, seed, question), whose number is small.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from subliminal_stats.data.labels import normalise_label
from subliminal_stats.data.outputs import check_output_path
from subliminal_stats.errors import InputError

__all__ = ["AppendSummary", "LOCK_TIMEOUT_S", "append_rows", "output_lock"]

#: How long a second writer waits for the first before giving up (seconds).
LOCK_TIMEOUT_S = 600.0
_CELL = ("trait", "condition", "seed", "question")
_TEXT = ("experiment", "run", "trait", "condition", "seed", "question", "response", "model_id")
_TYPES = {"sample": pa.int64(), "hit": pa.int8(), "prob": pa.float64(),
          "alignment": pa.float64(), "coherence": pa.float64()}
_OUT_SUFFIXES = (".parquet", ".pq", ".csv", ".jsonl", ".ndjson")


@dataclass
class AppendSummary:
    """What :func:`append_rows` did."""

    path: Path
    added: int = 0
    existing: int = 0
    hits: float = 0.0
    cells: int = 0
    sources: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.existing + self.added

    @property
    def hit_rate(self) -> float:
        return self.hits / self.added if self.added else float("nan")


def output_lock(path: str | Path, timeout: float = LOCK_TIMEOUT_S):
    """The lock of an output file (``PATH.lock``); a context manager raising InputError."""
    from filelock import FileLock, Timeout

    lock_path = Path(f"{path}.lock")

    class _Lock:
        def __enter__(self):
            self._lock = FileLock(str(lock_path), timeout=timeout)
            try:
                self._lock.acquire()
            except Timeout:
                raise InputError(
                    f"{path} is being written by another process (it holds {lock_path}) for "
                    f"over {timeout:g} s: wait for it to finish, then run again") from None
            return self

        def __exit__(self, *exc):
            self._lock.release()
            return False

    return _Lock()


def _arrow(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    frame = frame.copy()
    for col in frame.columns:
        if col in _TEXT:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
            frame[col] = frame[col].map(lambda v: v if v is None else str(v))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for f in table.schema:
        if f.name in _TYPES:
            fields.append(pa.field(f.name, _TYPES[f.name]))
        elif f.name in _TEXT or pa.types.is_null(f.type):
            fields.append(pa.field(f.name, pa.string()))
        else:
            fields.append(f)
    table = table.cast(pa.schema(fields))
    if schema is None:
        return table
    return _conform(table, schema)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    extra = [n for n in table.column_names if n not in schema.names]
    if extra:
        raise InputError(f"the new rows have column {', '.join(map(repr, extra))} that the "
                         "output does not have: write them to a new file")
    columns = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            try:
                columns.append(col.cast(f.type) if col.type != f.type else col)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(f"column {f.name!r} holds {col.type} in the new rows but "
                                 f"{f.type} in the output: write them to a new file") from None
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _cells_of(frame: pd.DataFrame) -> set[tuple]:
    keys = frame[list(_CELL)].drop_duplicates()
    return {tuple(normalise_label(v) for v in row) for row in keys.itertuples(index=False)}


def _existing_cells(path: Path) -> tuple[set[tuple], int, pa.Schema | None, list[str] | None]:
    from subliminal_stats.data.reader import iter_frames

    cells: set[tuple] = set()
    rows = 0
    schema = None
    header = None
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        schema = pq.read_schema(path)
    for batch in iter_frames(path):
        frame = batch.to_pandas() if isinstance(batch, pa.RecordBatch) else batch
        if header is None:
            header = list(frame.columns)
        rows += len(frame)
        if all(c in frame.columns for c in _CELL):
            cells |= _cells_of(frame)
    return cells, rows, schema, header


def append_rows(
    out: str | Path,
    chunks: Iterable[pd.DataFrame],
    *,
    inputs: Sequence[str | Path] = (),
    lock_timeout: float = LOCK_TIMEOUT_S,
    check=None,
) -> AppendSummary:
    """Append chunks of responses rows to ``out`` (created when missing), under a lock.

    Parameters
    ----------
    out : path
        ``.parquet``, ``.csv`` or ``.jsonl`` table.
    chunks : iterable of DataFrame
        The new rows, a chunk at a time (each already validated by the caller).
    inputs : paths
        The files the rows come from (the output may not be one of them).
    lock_timeout : float
        Seconds to wait for another writer of ``out``.
    check : callable, optional
        Called with each chunk before it is written (raise InputError to refuse it).

    Raises
    ------
    InputError
        Bad output path; a (trait, condition, seed, question) already in ``out``; the new
        rows' columns do not fit the existing table; the lock not obtained in time.
    """
    out = check_output_path(out, inputs=inputs)
    suffix = out.suffix.lower()
    if suffix not in _OUT_SUFFIXES:
        raise InputError(f"output {out}: unknown file type '{suffix or '(none)'}'; "
                         "use .parquet, .csv or .jsonl")
    summary = AppendSummary(out)
    with output_lock(out, lock_timeout):
        existing_cells: set[tuple] = set()
        schema = header = None
        if out.exists() and out.stat().st_size > 0:
            existing_cells, summary.existing, schema, header = _existing_cells(out)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        writer = None
        try:
            if suffix in (".parquet", ".pq"):
                if schema is not None:
                    writer = pq.ParquetWriter(tmp, schema)
                    for batch in pq.ParquetFile(out).iter_batches():
                        writer.write_batch(batch)
            elif summary.existing:
                shutil.copyfile(out, tmp)
                _end_with_newline(tmp)
            new_cells: set[tuple] = set()
            for chunk in chunks:
                if len(chunk) == 0:
                    continue
                if check is not None:
                    check(chunk)
                cells = _cells_of(chunk)
                clash = cells & existing_cells
                if clash:
                    t, c, s, q = sorted(clash)[0]
                    raise InputError(
                        f"refusing duplicates: condition={c!r} seed={s!r} question={q[:40]!r} "
                        f"(trait {t!r}) is already in {out.name} ({len(clash)} such cells); "
                        "use another --seed/--condition or a new -o file")
                new_cells |= cells
                if suffix in (".parquet", ".pq"):
                    table = _arrow(chunk, schema)
                    if writer is None:
                        schema = table.schema
                        writer = pq.ParquetWriter(tmp, schema)
                    writer.write_table(table)
                elif suffix == ".csv":
                    if header is None:
                        header = list(chunk.columns)
                        chunk.to_csv(tmp, index=False, mode="w")
                    else:
                        _conform_columns(chunk, header, out).to_csv(tmp, index=False,
                                                                   header=False, mode="a")
                else:
                    with tmp.open("a", encoding="utf-8") as handle:
                        handle.write(chunk.to_json(orient="records", lines=True,
                                                   force_ascii=False))
                summary.added += len(chunk)
                hits = chunk["hit"] if "hit" in chunk.columns else chunk["hits"]  # counts rows
                summary.hits += float(pd.to_numeric(hits, errors="coerce").sum())
            summary.cells = len(new_cells)
            if writer is not None:
                writer.close()
                writer = None
            if summary.added == 0:
                raise InputError("no answers to write (the inputs hold no rows)")
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, out)
        except BaseException:
            if writer is not None:
                writer.close()
            tmp.unlink(missing_ok=True)
            raise
    return summary


def _end_with_newline(path: Path) -> None:
    with path.open("rb+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\n":
            handle.write(b"\n")


def _conform_columns(chunk: pd.DataFrame, header: list[str], out: Path) -> pd.DataFrame:
    extra = [c for c in chunk.columns if c not in header]
    if extra:
        raise InputError(f"the new rows have column {', '.join(map(repr, extra))} that {out.name} "
                         "does not have: write them to a new file (or use .parquet)")
    return chunk.reindex(columns=header)
