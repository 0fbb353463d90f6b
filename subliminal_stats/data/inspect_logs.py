"""``ingest inspect``: inspect_ai evaluation logs (``.eval`` / ``.json``) into the responses table.

Read with inspect_ai's own log reader (the optional extra ``inspect``:
``pip install 'subliminal-stats[inspect]'``), one sample at a time:

=====================  ===================================================================
responses column       from the log
=====================  ===================================================================
question               the sample's ``id``
sample                 its ``epoch`` − 1 (epochs are repeated answers)
response               ``output.completion``
hit                    the chosen scorer's value: ``C``/``I`` (inspect's CORRECT /
                       INCORRECT), ``True``/``False`` or 0/1; other values (``P``, 0.5…)
                       need ``--threshold`` (hit = value ≥ threshold) and are kept in a
                       column named after the scorer
condition, seed, trait flags (``--condition``…), a file-name pattern (``--name``), or a
                       mapping from the log (``--map seed=metadata.seed``)
run                    the log file's name (without suffix)
model_id               ``eval.model``
=====================  ===================================================================

Log fields ``--map`` can name: ``model``, ``task``, ``run_id``, ``eval_id``, ``task_id``,
``created``, and ``metadata.KEY``, ``task_args.KEY``, ``model_args.KEY``,
``sample.metadata.KEY`` (per sample).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd

from subliminal_stats.data.ingest import NamePattern, file_labels
from subliminal_stats.data.labels import normalise_label
from subliminal_stats.data.schema import validate_responses
from subliminal_stats.data.tables import parse_pairs
from subliminal_stats.errors import InputError

__all__ = ["find_logs", "ingest_inspect", "iter_log_chunks"]

_VALUES = {"C": 1.0, "I": 0.0, "CORRECT": 1.0, "INCORRECT": 0.0, "N": 0.0}
_LOG_SUFFIXES = (".eval", ".json")
CHUNK_ROWS = 65_536


def _inspect():
    try:
        from inspect_ai import log
    except ImportError:
        raise InputError("reading inspect_ai logs needs inspect_ai: pip install "
                         "'subliminal-stats[inspect]' (or pip install inspect-ai)") from None
    return log


def find_logs(items: Sequence[str | Path]) -> list[Path]:
    """Log files given, and every ``.eval``/``.json`` log inside folders given (recursively)."""
    import glob

    out: list[Path] = []
    for item in items:
        text = str(item)
        matched = [Path(m) for m in sorted(glob.glob(text))] if any(c in text for c in "*?[") \
            else [Path(text)]
        if not matched:
            raise InputError(f"no file matches {text!r}")
        for path in matched:
            if path.is_dir():
                logs = sorted(p for p in path.rglob("*") if p.suffix in _LOG_SUFFIXES
                              and p.is_file() and not p.name.startswith("."))
                if not logs:
                    raise InputError(f"{path} holds no inspect_ai logs (.eval or .json)")
                out.extend(logs)
            elif not path.exists():
                raise InputError(f"file not found: {path}")
            else:
                out.append(path)
    if not out:
        raise InputError("no inspect_ai log given")
    return out


def _field(header, name: str, sample=None):
    spec = header.eval
    if name.startswith("sample.metadata."):
        return None if sample is None else (sample.metadata or {}).get(name.split(".", 2)[2])
    head, _, key = name.partition(".")
    if key and head in ("metadata", "task_args", "model_args"):
        return (getattr(spec, head, None) or {}).get(key)
    if name in ("model", "task", "run_id", "eval_id", "task_id", "created"):
        return getattr(spec, name, None)
    raise InputError(f"--map: unknown log field {name!r}; use model, task, run_id, eval_id, "
                     "task_id, created, metadata.KEY, task_args.KEY, model_args.KEY or "
                     "sample.metadata.KEY")


def _hit_of(value, scorer: str, threshold: float | None, path: Path, sample_id) -> tuple[int, float]:
    """(hit, score) of one score value."""
    if isinstance(value, bool):
        return int(value), float(value)
    if isinstance(value, str):
        score = _VALUES.get(value.strip().upper())
        if score is None and value.strip().upper() == "P":
            score = 0.5
        if score is None:
            try:
                score = float(value)
            except ValueError:
                raise InputError(f"{path}: sample {sample_id!r}: scorer {scorer!r} gave {value!r}, "
                                 "not a score (C/I, 0/1 or a number)") from None
    elif isinstance(value, (int, float)):
        score = float(value)
    else:
        raise InputError(f"{path}: sample {sample_id!r}: scorer {scorer!r} gave "
                         f"{type(value).__name__} {value!r}; choose a scorer with one value "
                         "per sample (--scorer NAME)")
    if threshold is not None:
        return int(score >= threshold), score
    if score not in (0.0, 1.0):
        raise InputError(f"{path}: sample {sample_id!r}: scorer {scorer!r} gave {value!r}, "
                         "not 0/1: pass --threshold X (hit = score ≥ X; the score is kept in a "
                         f"column {scorer!r})")
    return int(score), score


def iter_log_chunks(path: Path, *, labels: dict[str, str], mapping: dict[str, str],
                    scorer: str | None, threshold: float | None,
                    chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """One log's samples as validated responses chunks (one sample in memory at a time)."""
    log = _inspect()
    try:
        header = log.read_eval_log(str(path), header_only=True)
    except Exception as exc:  # inspect_ai raises its own types for a file that is no log
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {path} as an inspect_ai log: {first}") from None
    if header.status != "success":
        raise InputError(f"{path}: the evaluation's status is {header.status!r}, not 'success' "
                         "(samples may be missing): finish or rerun it (inspect eval-retry)")
    names = [s.name for s in (header.results.scores if header.results else [])]
    if scorer is None:
        unique = list(dict.fromkeys(names))
        if len(unique) != 1:
            raise InputError(f"{path}: the log has scorers {', '.join(map(repr, unique)) or 'none'}"
                             ": choose one with --scorer NAME")
        scorer = unique[0]
    elif names and scorer not in names:
        raise InputError(f"{path}: no scorer {scorer!r}; the log has {', '.join(map(repr, names))}")
    fixed = dict(labels)
    per_sample = {}
    for target, source in mapping.items():
        if source.startswith("sample."):
            per_sample[target] = source
        else:
            value = _field(header, source)
            if value is None:
                raise InputError(f"{path}: --map {target}={source}: the log has no {source}")
            fixed[target] = str(value)
    missing = [k for k in ("trait", "condition", "seed") if k not in fixed and k not in per_sample]
    if missing:
        raise InputError(f"{path}: no {', '.join(missing)} label: give --{missing[0]}, put "
                         f"{{{missing[0]}}} in --name, or map it from the log "
                         f"(--map {missing[0]}=metadata.{missing[0]})")
    model = header.eval.model
    rows: list[dict] = []
    keep_score = threshold is not None
    for sample in log.read_eval_log_samples(str(path), all_samples_required=False):
        if sample.error is not None:
            raise InputError(f"{path}: sample {sample.id!r} epoch {sample.epoch} ended in an "
                             f"error ({str(sample.error.message)[:80]}): rerun it first")
        score = (sample.scores or {}).get(scorer)
        if score is None:
            raise InputError(f"{path}: sample {sample.id!r} epoch {sample.epoch} has no "
                             f"{scorer!r} score")
        hit, value = _hit_of(score.value, scorer, threshold, path, sample.id)
        row = {**fixed, "question": str(sample.id), "sample": int(sample.epoch) - 1,
               "response": sample.output.completion if sample.output else None,
               "hit": hit, "model_id": model}
        for target, source in per_sample.items():
            row[target] = _field(header, source, sample)
        if keep_score:
            row[scorer] = value
        rows.append(row)
        if len(rows) >= chunk_rows:
            yield validate_responses(pd.DataFrame(rows), source=str(path))
            rows = []
    if rows:
        yield validate_responses(pd.DataFrame(rows), source=str(path))


def ingest_inspect(
    logs: Sequence[str | Path],
    output: str | Path,
    *,
    condition: str | None = None,
    seed: str | None = None,
    trait: str | None = None,
    experiment: str = "",
    scorer: str | None = None,
    threshold: float | None = None,
    map: Sequence[str] | Mapping[str, str] | None = None,  # noqa: A002 - the flag's name
    name: str | None = None,
    run: str | None = None,
    lock_timeout: float | None = None,
):
    """Convert inspect_ai logs into ``output`` (appending under a lock; see the module doc).

    Returns
    -------
    subliminal_stats.data.sink.AppendSummary
    """
    from subliminal_stats.data.sink import LOCK_TIMEOUT_S, append_rows

    paths = find_logs(logs)
    mapping = parse_pairs(map, "--map")
    pattern = NamePattern(name) if name else None
    if seed is not None and len(paths) > 1 and "seed" not in mapping and run is None:
        raise InputError(f"--seed {seed!r} would label all {len(paths)} logs as one model; take "
                         "the seed from the log (--map seed=metadata.seed) or its name (--name)")
    planned = []
    seen: dict[tuple, Path] = {}
    for path in paths:
        labels = file_labels(path, given={"condition": condition, "seed": seed, "trait": trait,
                                          "experiment": experiment or None}, pattern=pattern)
        labels.setdefault("run", run or path.stem)
        for key in mapping:
            if key in labels and key != "run":
                raise InputError(f"{key} is given twice, by a flag or --name and by --map: "
                                 "keep one")
        if "run" in mapping:
            labels.pop("run")
        key = tuple(normalise_label(labels.get(k)) for k in ("trait", "condition", "seed"))
        if None not in key and key in seen:
            raise InputError(f"{seen[key]} and {path} both give trait {key[0]!r} condition "
                             f"{key[1]!r} seed {key[2]!r}: label each log's model on its own")
        seen[key] = path
        planned.append((path, labels))

    def chunks():
        for path, labels in planned:
            yield from iter_log_chunks(path, labels=labels, mapping=mapping, scorer=scorer,
                                       threshold=threshold)

    summary = append_rows(output, chunks(), inputs=paths,
                          lock_timeout=LOCK_TIMEOUT_S if lock_timeout is None else lock_timeout)
    summary.sources = [str(p) for p in paths]
    return summary
