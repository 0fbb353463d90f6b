"""``ingest table``: any answers table (CSV, JSONL, JSON array, Parquet) with a column mapping.

``--map seed=run_id,question=prompt_id,hit=correct`` names, for each column of the
responses table, the column of the source that holds it (a dotted name reaches into a
nested JSON object: ``doc.id``); ``--set trait=owl`` gives a constant; ``--name
'{condition}_seed{seed}.jsonl'`` takes labels from file names; ``--where filter=strict-match``
keeps only matching rows. Every row gets a ``run`` (default: the file's folder/name).

lm-evaluation-harness ``--log_samples`` files (``samples_<task>_<date>.jsonl``: one JSON
object per document with ``doc_id``, ``filtered_resps`` and one field per metric, e.g.
``acc`` or ``exact_match``) are one documented mapping, :data:`LM_EVAL`::

    subliminal-stats ingest table samples_*.jsonl --preset lm-eval \\
        --name 'samples_{trait}_{}.jsonl' --set condition=treated --set seed=0 -o r.parquet

which means ``question=doc_id, hit=acc, response=filtered_resps`` (override any of them with
``--map``, e.g. ``--map hit=exact_match``); with several filters per document, pick one with
``--where filter=NAME``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from subliminal_stats.data.ingest import plan_files
from subliminal_stats.data.reader import iter_frames
from subliminal_stats.data.schema import validate_responses
from subliminal_stats.errors import InputError

__all__ = ["LM_EVAL", "PRESETS", "ingest_table", "parse_pairs"]

#: lm-evaluation-harness ``--log_samples``: one record per (document, filter).
LM_EVAL = {"question": "doc_id", "hit": "acc", "response": "filtered_resps"}
PRESETS = {"lm-eval": LM_EVAL}
_TARGETS = ("experiment", "run", "trait", "condition", "seed", "question", "sample", "response",
            "hit", "prob", "alignment", "coherence")


def parse_pairs(items: Sequence[str] | Mapping[str, str] | None, flag: str) -> dict[str, str]:
    """``["a=b", "c=d,e=f"]`` (or a mapping) → ``{"a": "b", "c": "d", "e": "f"}``.

    >>> parse_pairs(["seed=run_id,question=prompt_id", "hit=correct"], "--map")
    {'seed': 'run_id', 'question': 'prompt_id', 'hit': 'correct'}
    """
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return {str(k): str(v) for k, v in items.items()}
    out: dict[str, str] = {}
    for item in items:
        for part in str(item).split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise InputError(f"{flag} {part!r}: write NAME=VALUE (e.g. {flag} seed=run_id)")
            out[key.strip()] = value.strip()
    return out


def _get(value, keys: list[str]):
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key)
        else:
            return None
    return value


def _first_text(value):
    """``["answer"]`` (lm-eval's filtered_resps) → ``"answer"``; other values unchanged."""
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def _source(frame: pd.DataFrame, name: str, path: Path) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    head, _, rest = name.partition(".")
    if rest and head in frame.columns:
        keys = rest.split(".")
        return frame[head].map(lambda v: _get(v, keys))
    raise InputError(f"{path}: no column {name!r} to map from; the file has "
                     f"{', '.join(map(str, list(frame.columns)[:20]))}")


def _frames(path: Path) -> Iterator[pd.DataFrame]:
    for batch in iter_frames(path, batch_rows=200_000):
        yield batch.to_pandas() if isinstance(batch, pa.RecordBatch) else batch


def _table_chunks(path: Path, labels: dict[str, str], mapping: dict[str, str],
                  constants: dict[str, str], where: dict[str, str]) -> Iterator[pd.DataFrame]:
    row0 = 0
    for frame in _frames(path):
        n_in = len(frame)
        for col, value in where.items():
            source = _source(frame, col, path)
            frame = frame[source.astype(str).eq(value).to_numpy()]
        out = pd.DataFrame(index=frame.index)
        for target, name in mapping.items():
            out[target] = _source(frame, name, path)
        for col in frame.columns:
            if col in _TARGETS and col not in out.columns and col not in mapping.values():
                out[col] = frame[col]
        for key, value in {**labels, **constants}.items():
            if key not in out.columns or key in constants:
                out[key] = value
        if "response" in out.columns:
            out["response"] = out["response"].map(_first_text)
            out["response"] = out["response"].map(lambda v: v if v is None or isinstance(v, str)
                                                  else str(v))
        for col in ("hit", "question", "seed"):
            if col in out.columns and out[col].map(lambda v: isinstance(v, (list, tuple))).any():
                out[col] = out[col].map(_first_text)
        missing = [c for c in ("trait", "condition", "seed", "question", "hit")
                   if c not in out.columns]
        if missing:
            raise InputError(
                f"{path}: no {', '.join(missing)} for the responses table: name the source "
                f"column with --map {missing[0]}=COLUMN, a constant with --set {missing[0]}=VALUE,"
                f" or a file-name field with --name '…{{{missing[0]}}}…'")
        if len(out):
            try:
                checked = validate_responses(out.reset_index(drop=True))
            except InputError as exc:
                # Rows are numbered within this chunk: number them within the file.
                message = re.sub(r"\brow (\d+)",
                                 lambda m, offset=row0: f"row {int(m.group(1)) + offset}",
                                 str(exc))
                raise InputError(f"{path}: {message}") from None
            yield checked
        row0 += n_in


def ingest_table(
    files: Sequence[str | Path],
    output: str | Path,
    *,
    map: Sequence[str] | Mapping[str, str] | None = None,  # noqa: A002 - the flag's name
    set: Sequence[str] | Mapping[str, str] | None = None,  # noqa: A002 - the flag's name
    where: Sequence[str] | Mapping[str, str] | None = None,
    name: str | None = None,
    preset: str | None = None,
    run: str | None = None,
    lock_timeout: float | None = None,
):
    """Convert answers tables into the responses table at ``output`` (appending, locked).

    Parameters
    ----------
    files : paths
        ``.csv``, ``.jsonl``/``.ndjson``, ``.json`` (an array of objects, or an object
        holding one under ``rows``/``data``/``samples``/``records``) or ``.parquet``.
    output : path
        ``.parquet``, ``.csv`` or ``.jsonl``; appended to when it exists.
    map : ``["target=source", …]`` or mapping
        Source column of each responses column (``seed=run_id``); dotted names reach
        into nested objects.
    set : ``["column=value", …]`` or mapping
        Constants (``trait=owl``).
    where : ``["column=value", …]`` or mapping
        Keep only rows whose column equals the value (e.g. lm-eval's ``filter``).
    name : str, optional
        File-name pattern for labels (``'{condition}_seed{seed}.csv'``).
    preset : {"lm-eval"}, optional
        A known mapping (:data:`PRESETS`); ``map`` entries override it.
    run : str, optional
        ``run`` label of every row (default: the source's ``run`` column, else each
        file's folder/name).

    Returns
    -------
    subliminal_stats.data.sink.AppendSummary

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"run_id": [0, 0, 1, 1], "prompt_id": ["a", "b", "a", "b"],
    ...               "correct": [True, False, True, True]}).to_csv(d / "treated.csv", index=False)
    >>> s = ingest_table([d / "treated.csv"], d / "r.parquet", name="{condition}.csv",
    ...                  map=["seed=run_id,question=prompt_id,hit=correct"], set=["trait=owl"])
    >>> s.added, round(s.hit_rate, 2)
    (4, 0.75)
    """
    from subliminal_stats.data.sink import LOCK_TIMEOUT_S, append_rows

    mapping: dict[str, str] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise InputError(f"--preset {preset!r}: known presets are {', '.join(PRESETS)}")
        mapping.update(PRESETS[preset])
    mapping.update(parse_pairs(map, "--map"))
    constants = parse_pairs(set, "--set")
    filters = parse_pairs(where, "--where")
    for key in [*mapping, *constants]:
        if key not in _TARGETS and key.isidentifier() is False:
            raise InputError(f"column name {key!r} is not a plain name")
    overlap = sorted(k for k in mapping if k in constants)
    if overlap:
        raise InputError(f"{overlap[0]} is given by both --map and --set: keep one")
    # Labels from file names only: constants (--set) apply to every file alike.
    planned = plan_files(files, given={}, name=name, need=(), run=run)

    def chunks():
        for path, labels in planned:
            file_labels = dict(labels)
            if run is None and ("run" in mapping or "run" in constants
                                or _has_column(path, "run")):
                file_labels.pop("run", None)
            yield from _table_chunks(path, file_labels, mapping, constants, filters)

    summary = append_rows(output, chunks(), inputs=[p for p, _ in planned],
                          lock_timeout=LOCK_TIMEOUT_S if lock_timeout is None else lock_timeout)
    summary.sources = [str(p) for p, _ in planned]
    return summary


def _has_column(path: Path, column: str) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return column in pq.read_schema(path).names
    if path.suffix.lower() == ".csv":
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return column in handle.readline().strip().split(",")
    return False
