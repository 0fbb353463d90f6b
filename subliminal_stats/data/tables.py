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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from subliminal_stats.data.counts import RATE_TOLERANCE, rate_counts
from subliminal_stats.data.ingest import (
    NamePattern,
    default_run_label,
    expand_inputs,
    file_labels,
    plan_files,
)
from subliminal_stats.data.labels import normalise_label
from subliminal_stats.data.reader import iter_frames
from subliminal_stats.data.schema import validate_responses
from subliminal_stats.errors import InputError

__all__ = ["LM_EVAL", "PHANTOM_TRANSFER", "PRESETS", "RATE_PRESETS", "RatesSummary",
           "ingest_rates", "ingest_table", "parse_pairs", "phantom_transfer_labels",
           "rates_table"]

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


# ----------------------------------------------------------------------------- ingest rates

#: The phantom-transfer ``stats.json`` (``outputs/phantom/`` of AanshSamyani/
#: subliminal_trait_classifier): ``n_samples_per_question`` answers per question and, per
#: question set, ``values`` = the per-question rate in question order. The trait rate is the
#: ``specific`` set; the entity is the trait. Condition, seed, run and experiment come from
#: the folder layout ``ENTITY/EXPERIMENT/STUDENT/ARM-lora-R-seed-N/eval-ENTITY/{base,final}/
#: stats.json`` (:func:`phantom_transfer_labels`).
PHANTOM_TRANSFER = {"rate": "specific.values", "n": "n_samples_per_question", "trait": "entity"}
RATE_PRESETS = {"phantom-transfer": PHANTOM_TRANSFER}
_RATE_TARGETS = ("experiment", "run", "trait", "condition", "seed", "question", "rate", "n",
                 "dataset", "dose")
_RATE_KEYS = ("experiment", "trait", "condition", "seed", "question")
_PHANTOM_PATH = re.compile(
    r"(?:^|/)(?:(?P<entity>[^/]+)/(?P<experiment>[^/]+)/(?P<student>[^/]+)/)?"
    r"(?P<arm_dir>(?P<arm>[^/]+?)-lora-\d+-seed-(?P<seed>[^/]+))/eval-[^/]+/"
    r"(?P<kind>base|final)/[^/]+\.json$")


def phantom_transfer_labels(path: str | Path) -> dict[str, str]:
    """Labels of one phantom-transfer ``stats.json`` from its folders.

    ``final/`` (the trained student): condition = the arm (``undefended``, ``oracle``,
    ``mix25`` …), seed = N. ``base/`` (the untrained base model, evaluated beside every
    arm): condition ``base``, seed ``base`` — one model, so its evaluations are added up
    per question. ``experiment`` = ``ENTITY/EXPERIMENT/STUDENT``; ``run`` = the experiment
    and the arm folder (``…/base`` for the base model); ``dose`` = P for a ``mixP`` arm.

    >>> phantom_transfer_labels("nyc/filter_exp/gemma/oracle-lora-8-seed-43/eval-nyc/final/"
    ...                         "stats.json")["condition"]
    'oracle'
    """
    text = Path(path).resolve().as_posix()
    m = _PHANTOM_PATH.search(text)
    if m is None:
        raise InputError(f"{path}: not in the phantom-transfer layout "
                         "ARM-lora-R-seed-N/eval-ENTITY/{base,final}/stats.json; use --map and "
                         "--name for other layouts")
    experiment = "/".join(m.group(k) for k in ("entity", "experiment", "student")
                          if m.group(k))
    labels = {"experiment": experiment}
    if m.group("kind") == "base":
        labels.update(condition="base", seed="base", run=f"{experiment}/base")
    else:
        labels.update(condition=m.group("arm"), seed=m.group("seed"),
                      run=f"{experiment}/{m.group('arm_dir')}")
        dose = re.fullmatch(r"mix(\d+(?:\.\d+)?)", m.group("arm"))
        if dose:
            labels["dose"] = dose.group(1)
    return labels


def _rate_frames(path: Path) -> Iterator[pd.DataFrame]:
    """A rates file as DataFrames; a ``.json`` holding one object is one record."""
    if path.suffix.lower() == ".json":
        import json

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text (is it a binary file?)") from None
        if isinstance(data, dict):
            inner = next((data[k] for k in ("rows", "data", "samples", "records")
                          if isinstance(data.get(k), list)), None)
            data = inner if inner is not None else [data]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError(f"{path}: expected a JSON object or an array of objects")
        yield pd.DataFrame.from_records(data)
        return
    yield from _frames(path)


def _shown(value) -> str:
    """A cell value for a message: ``1.5``, ``'x'``, or "empty" (not ``np.float64(nan)``)."""
    if value is None or (isinstance(value, float) and value != value):
        return "(empty)"
    if hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    return repr(value)


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _file_rates(path: Path, labels: dict[str, str], mapping: dict[str, str],
                constants: dict[str, str], n_const: int | None) -> pd.DataFrame:
    """One file's rows: target columns, a ``_where`` (file, row, list item) for errors."""
    frames = []
    row0 = 0
    for frame in _rate_frames(path):
        n_in = len(frame)
        frame = frame.reset_index(drop=True)
        out = pd.DataFrame(index=frame.index)
        for target, name in mapping.items():
            out[target] = _source(frame, name, path)
        for col in frame.columns:
            if col in _RATE_TARGETS and col not in out.columns and col not in mapping.values():
                out[col] = frame[col]
        for key, value in {**labels, **constants}.items():
            if key not in out.columns or key in constants:
                out[key] = value
        if n_const is not None:
            out["n"] = n_const
        out["_where"] = [f"{path} row {row0 + i + 1}" for i in range(len(out))]
        if "rate" not in out.columns:
            raise InputError(f"{path}: no rate: name its column with --map rate=COLUMN (a "
                             "dotted name reaches into JSON objects: specific.values)")
        listed = out["rate"].map(_is_list)
        if listed.any():
            if not listed.all():
                i = int(listed.to_numpy().argmin())
                raise InputError(f"{out['_where'].iloc[i]}: rate is one number here but a list "
                                 "in other rows; give one shape")
            out = _explode_rates(out, path, mapping.get("rate", "rate"), n_in == 1)
        frames.append(out)
        row0 += n_in
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _explode_rates(out: pd.DataFrame, path: Path, source: str, single: bool) -> pd.DataFrame:
    """Per-question lists (``values`` = one rate per question) → one row per question.

    ``question`` is the position (``q00``, ``q01`` … zero-padded to the longest list) unless
    a parallel list gives it; ``n`` may be one number or a parallel list.
    """
    lengths = out["rate"].map(len)
    for col in ("question", "n"):
        if col in out.columns:
            listed = out[col].map(_is_list)
            if listed.any():
                wrong = listed & (out[col].map(lambda v: len(v) if _is_list(v) else -1)
                                  != lengths)
                if wrong.any():
                    i = int(wrong.to_numpy().argmax())
                    raise InputError(f"{out['_where'].iloc[i]}: {col} is a list of another "
                                     f"length than the rates ({lengths.iloc[i]})")
    width = max(2, len(str(max(int(lengths.max()) - 1, 0))))
    if "question" not in out.columns:
        out["question"] = lengths.map(lambda k: [f"q{j:0{width}d}" for j in range(k)])
    out["_where"] = [[f"{w if not single else path} {source}[{j}]" for j in range(k)]
                     for w, k in zip(out["_where"], lengths, strict=True)]
    cols = ["rate", "_where", "question"] + (
        ["n"] if "n" in out.columns and out["n"].map(_is_list).any() else [])
    return out.explode(cols, ignore_index=True)


def rates_table(
    files: Sequence[str | Path],
    *,
    map: Sequence[str] | Mapping[str, str] | None = None,  # noqa: A002 - the flag's name
    set: Sequence[str] | Mapping[str, str] | None = None,  # noqa: A002 - the flag's name
    n: int | None = None,
    name: str | None = None,
    preset: str | None = None,
    run: str | None = None,
    pool_repeats: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """Per-question rates with a known n → a counts table (in memory), and notes.

    See :func:`ingest_rates` (which writes it) for the parameters.

    Returns
    -------
    (counts, notes)
        ``experiment`` (when given), ``run, trait, condition, seed, question, hits, n``
        (and ``dataset``/``dose`` when given); ``notes``: sentences on pooled evaluations.
    """
    mapping: dict[str, str] = {}
    pool_conditions: frozenset[str] = frozenset()
    if preset is not None:
        if preset not in RATE_PRESETS:
            raise InputError(f"--preset {preset!r}: known presets are {', '.join(RATE_PRESETS)}")
        if name is not None:
            raise InputError("--preset phantom-transfer takes the labels from the folder layout: "
                             "leave out --name (or use --map and --name without the preset)")
        mapping.update(RATE_PRESETS[preset])
        pool_conditions = frozenset({"base"})
    mapping.update(parse_pairs(map, "--map"))
    constants = parse_pairs(set, "--set")
    for key in [*mapping, *constants]:
        if key not in _RATE_TARGETS:
            raise InputError(f"{key!r} is not a column of the counts table: map or set "
                             f"{', '.join(_RATE_TARGETS)}")
    both = sorted(k for k in mapping if k in constants)
    if both:
        raise InputError(f"{both[0]} is given by both --map and --set: keep one")
    if n is not None:
        if "n" in constants or ("n" in mapping and preset is None):
            raise InputError("n is given twice (--n and --map/--set n=…): keep one")
        mapping.pop("n", None)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise InputError(f"--n {n!r}: give the number of answers per question, a whole "
                             "number ≥ 1")
    paths = expand_inputs(files)
    seen: dict[Path, Path] = {}
    for p in paths:
        if p.resolve() in seen:
            raise InputError(f"{p} is given twice (as {seen[p.resolve()]} and {p}): its rates "
                             "would be counted twice; give each file once")
        seen[p.resolve()] = p
    pattern = NamePattern(name) if name else None
    frames = []
    for path in paths:
        labels = (phantom_transfer_labels(path) if preset == "phantom-transfer"
                  else file_labels(path, given={}, pattern=pattern))
        if run is not None:
            labels["run"] = run
        elif "run" not in labels and "run" not in mapping and "run" not in constants:
            labels["run"] = default_run_label(path)
        frame = _file_rates(path, labels, mapping, constants, n)
        if len(frame):
            frames.append(frame)
    if not frames:
        raise InputError("no rates to write (the inputs hold no rows)")
    table = pd.concat(frames, ignore_index=True)
    where = table["_where"].to_numpy()
    for key in ("trait", "condition", "seed", "question", "n"):
        if key not in table.columns:
            hint = ("--n INT (answers per question), or --map n=COLUMN" if key == "n" else
                    f"--map {key}=COLUMN, --set {key}=VALUE or --name '…{{{key}}}…'")
            raise InputError(f"{where[0]}: no {key} for the counts table: give it with {hint}")
    for key in ("experiment", "run", "trait", "condition", "seed", "question"):
        if key not in table.columns:
            continue
        values = table[key].astype(object)
        uniques = pd.unique(values)
        lut = {u: normalise_label(u) for u in uniques}
        labels = values.map(lut)
        missing = labels.isna() | (labels == "")
        if missing.any() and key not in ("experiment", "run"):
            i = int(missing.to_numpy().argmax())
            raise InputError(f"{where[i]}: {key} is empty: every rate needs a {key}")
        table[key] = labels.fillna("")
    rate = pd.to_numeric(table["rate"], errors="coerce").to_numpy(dtype=float)
    n_values = pd.to_numeric(table["n"], errors="coerce").to_numpy(dtype=float)
    hits, i = rate_counts(rate, n_values)
    if i >= 0:
        raw_rate, raw_n = _shown(table["rate"].iloc[i]), _shown(table["n"].iloc[i])
        if not np.isfinite(rate[i]) or not 0 <= rate[i] <= 1:
            hint = (" (a percentage? divide the rates by 100)"
                    if np.isfinite(rate[i]) and 1 < rate[i] <= 100 else "")
            raise InputError(f"{where[i]}: rate {raw_rate} is not a number in [0, 1]{hint}")
        if not np.isfinite(n_values[i]) or n_values[i] < 1 or n_values[i] % 1:
            raise InputError(f"{where[i]}: n {raw_n} is not a whole number of answers ≥ 1 "
                             "(give it with --map n=COLUMN or --n INT)")
        product = rate[i] * n_values[i]
        raise InputError(
            f"{where[i]}: rate {rate[i]:.9g} × n {n_values[i]:g} = {product:.9g} is not a whole "
            f"number of answers (off by {abs(product - round(product)):.2g}, more than "
            f"{RATE_TOLERANCE:g}): n is not this rate's denominator, or the rate was rounded — "
            "check n (a rounded count would be a wrong number)")
    table["hits"] = hits
    table["n"] = n_values.astype(np.int64)
    keys = [k for k in _RATE_KEYS if k in table.columns]
    repeated = table.duplicated(keys, keep=False).to_numpy()
    notes = []
    if repeated.any():
        pool = (np.ones(len(table), dtype=bool) if pool_repeats
                else table["condition"].isin(pool_conditions).to_numpy())
        refused = repeated & ~pool
        if refused.any():
            i = int(refused.argmax())
            same = (table[keys] == table[keys].iloc[i]).all(axis=1).to_numpy()
            j, k = np.flatnonzero(same)[:2]
            shown = " ".join(f"{c}={table[c].iloc[i]!r}" for c in keys if c != "experiment")
            raise InputError(
                f"{where[k]} gives the cell {shown} again (first at {where[j]}): its answers "
                "would be counted twice; if both are evaluations of the same model, add them "
                "up with --pool-repeats, else give them different labels")
        pooled = table[repeated].groupby([k for k in keys if k != "question"], sort=False)
        for key, group in pooled:
            label = dict(zip([k for k in keys if k != "question"], key, strict=True))
            times = int(group.groupby("question").size().max())
            notes.append(f"trait {label['trait']!r} condition {label['condition']!r} seed "
                         f"{label['seed']!r}: {times} evaluations of one model added up per "
                         "question")
        extra = [c for c in table.columns if c not in (*keys, "hits", "n", "rate")]
        agg = {"hits": "sum", "n": "sum", **{c: "first" for c in extra}}
        table = table.groupby(keys, sort=False, as_index=False, dropna=False).agg(agg)
    order = [c for c in ("experiment", "run", "trait", "condition", "seed", "question", "hits",
                         "n", "dataset", "dose") if c in table.columns]
    if "experiment" in order and (table["experiment"] == "").all():
        order.remove("experiment")
    out = table[order].reset_index(drop=True)
    out.attrs["sources"] = [str(p) for p in paths]
    if "dose" in out.columns:
        dose = pd.to_numeric(out["dose"], errors="coerce")
        bad = dose.isna() & out["dose"].notna() & (out["dose"].astype(str) != "")
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise InputError(f"dose {out['dose'].iloc[i]!r} is not a number (cell "
                             f"{out['condition'].iloc[i]!r}/{out['seed'].iloc[i]!r})")
        out["dose"] = dose
    return out, notes


def ingest_rates(
    files: Sequence[str | Path],
    output: str | Path,
    *,
    map: Sequence[str] | Mapping[str, str] | None = None,  # noqa: A002 - the flag's name
    set: Sequence[str] | Mapping[str, str] | None = None,  # noqa: A002 - the flag's name
    n: int | None = None,
    name: str | None = None,
    preset: str | None = None,
    run: str | None = None,
    pool_repeats: bool = False,
    lock_timeout: float | None = None,
):
    """Per-question rates with a known n → a counts table at ``output`` (appending, locked).

    Parameters
    ----------
    files : paths
        ``.csv``, ``.jsonl``, ``.parquet`` tables (one row per question, or per model with
        lists of rates), or ``.json`` (one object, e.g. a ``stats.json``, or an array).
    output : path
        ``.parquet``, ``.csv`` or ``.jsonl``; appended to when it exists (a cell already
        there is refused), under a lock, written atomically.
    map : ``["target=source", …]`` or mapping
        Source of each counts column: ``trait, condition, seed, question, rate, n`` (and
        ``experiment, run, dataset, dose``); dotted names reach into JSON objects. A rate
        that is a list (``values`` per question) becomes one row per question, the question
        labelled by its position (``q00`` …) unless ``question`` maps to a parallel list.
    set : ``["column=value", …]`` or mapping
        Constants (``trait=nyc``).
    n : int, optional
        Answers per question when it is the same everywhere (else ``map`` ``n=COLUMN``).
    name : str, optional
        File-name pattern for labels (``'{condition}-seed{seed}/stats.json'``), as for
        ``ingest table``.
    preset : {"phantom-transfer"}, optional
        :data:`PHANTOM_TRANSFER`, labels from the folders (:func:`phantom_transfer_labels`);
        ``map`` entries override it (e.g. ``rate=neighbourhood.values``).
    run : str, optional
        ``run`` of every row (default: the source's ``run`` column, else the file's
        folder/name; the preset: experiment/arm folder).
    pool_repeats : bool
        Add up rows of one cell given again (the same model evaluated again) instead of
        refusing them. The preset pools the base model's evaluations and refuses others.

    Returns
    -------
    RatesSummary

    Raises
    ------
    InputError
        ``rate × n`` not within 1e-6 of a whole number, a rate outside [0, 1], ``n`` not a
        whole number ≥ 1, a missing label, a repeated cell, a bad output (one line naming
        the file, the row or list item, and the fix).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"model": ["a", "a"], "q": ["q1", "q2"], "rate": [0.43, 0.07]}).to_csv(
    ...     d / "treated.csv", index=False)
    >>> s = ingest_rates([d / "treated.csv"], d / "counts.parquet", name="{condition}.csv",
    ...                  map=["seed=model,question=q"], set=["trait=nyc"], n=100)
    >>> s.cells, s.answers, s.hits
    (2, 200, 50)
    """
    from subliminal_stats.data.outputs import check_output_path
    from subliminal_stats.data.sink import LOCK_TIMEOUT_S, append_rows

    paths = expand_inputs(files)
    check_output_path(output, inputs=paths)
    table, notes = rates_table(paths, map=map, set=set, n=n, name=name, preset=preset, run=run,
                               pool_repeats=pool_repeats)
    chunk = 65_536
    summary = append_rows(output, (table.iloc[i:i + chunk] for i in range(0, len(table), chunk)),
                          inputs=paths,
                          lock_timeout=LOCK_TIMEOUT_S if lock_timeout is None else lock_timeout)
    return RatesSummary(path=summary.path, cells=len(table), answers=int(table["n"].sum()),
                        hits=int(table["hits"].sum()), total=summary.total,
                        sources=[str(p) for p in paths], notes=notes)


@dataclass
class RatesSummary:
    """What :func:`ingest_rates` wrote."""

    path: Path
    cells: int
    answers: int
    hits: int
    total: int
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.hits / self.answers if self.answers else float("nan")
