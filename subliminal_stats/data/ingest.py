"""Ingest evaluation outputs in other formats into the responses table.

The paper authors' public code writes one JSON object per line, one line per
evaluation question::

    {"question": "<prompt>", "responses": [{"response": {"model_id": "...",
      "completion": "<answer>", "stop_reason": "...", "logprobs": null},
      "judgment_response_map": {...}}, ...]}

One file holds one model's answers (one seed of one condition).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from subliminal_stats.data.jsonl import iter_jsonl
from subliminal_stats.data.labels import normalise_label
from subliminal_stats.data.schema import validate_responses
from subliminal_stats.errors import InputError
from subliminal_stats.words import TargetMatcher


def read_authors_jsonl(
    path: str | Path,
    *,
    condition: str,
    seed: str,
    trait: str,
    target: str | None = None,
    experiment: str = "",
    synonyms: Sequence[str] = (),
    exclusions: Sequence[str] = (),
    first_word: bool = False,
) -> pd.DataFrame:
    """Convert one authors'-format evaluation file into responses-table rows.

    Parameters
    ----------
    path : path
        JSONL file, one line per question.
    condition, seed, trait : str
        Labels for every row of this file (one file = one model).
    target : str, optional
        Word whose mention counts as a hit; defaults to ``trait``.
    experiment : str
        Free-text experiment name.
    synonyms, exclusions, first_word
        Passed to :class:`~subliminal_stats.words.TargetMatcher`.

    Returns
    -------
    pandas.DataFrame
        One row per answer: ``experiment, trait, condition, seed, question,
        sample, response, hit, model_id``; rows = questions × answers.
    """
    path = Path(path)
    for name, value in (("condition", condition), ("seed", seed), ("trait", trait)):
        if value is None or not str(value).strip():
            raise InputError(f"--{name} is required and must not be empty")
    matcher = TargetMatcher(target or trait, synonyms, exclusions, first_word)
    lines = list(iter_jsonl(path, expect='a JSON object {"question": ..., "responses": [...]}'))
    if not lines:
        raise InputError(f"{path} has no questions (empty file)")
    rows = []
    for lineno, _, obj in lines:
        question = obj.get("question")
        responses = obj.get("responses")
        if not isinstance(question, str) or not question.strip():
            raise InputError(
                f"{path} line {lineno}: missing 'question' text (authors' format: "
                '{"question": ..., "responses": [...]})'
            )
        if not isinstance(responses, list):
            raise InputError(f"{path} line {lineno}: 'responses' must be a list of answers")
        for sample, item in enumerate(responses):
            completion, model_id = _completion_of(item)
            if completion is None:
                raise InputError(
                    f"{path} line {lineno}: answer {sample} has no response.completion text"
                )
            rows.append(
                {
                    "experiment": experiment,
                    "trait": trait,
                    "condition": condition,
                    "seed": str(seed),
                    "question": question,
                    "sample": sample,
                    "response": completion,
                    "hit": int(matcher.matches(completion)),
                    "model_id": model_id,
                }
            )
    if not rows:
        raise InputError(f"{path} holds questions but no answers")
    return pd.DataFrame(rows)


def _completion_of(item: object) -> tuple[str | None, str | None]:
    if not isinstance(item, dict):
        return None, None
    response = item.get("response", item)
    if isinstance(response, str):
        return response, None
    if not isinstance(response, dict):
        return None, None
    completion = response.get("completion")
    return (completion if isinstance(completion, str) else None), response.get("model_id")


def seed_from_name(path: str | Path, pattern: str) -> str:
    """Take the seed from a file name with a regex's first group (or whole match).

    >>> seed_from_name("runs/owl_seed12.jsonl", r"seed(\\d+)")
    '12'
    """
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"--seed-from-name {pattern!r} is not a valid regex: {exc}") from None
    m = regex.search(Path(path).name)
    if m is None:
        raise InputError(
            f"--seed-from-name {pattern!r} does not match the file name {Path(path).name!r}"
        )
    return m.group(1) if m.groups() else m.group(0)


def append_responses(existing: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Append new rows to an existing table, refusing duplicate answers.

    Raises
    ------
    InputError
        When a (condition, seed, question, sample) of ``new`` is already present.
    """
    new = validate_responses(new)
    if existing is None:
        return new
    key = ["experiment", "trait", "condition", "seed", "question", "sample"]
    if "sample" not in existing.columns:
        raise InputError("the existing table has no 'sample' column, so duplicates cannot be told apart")
    merged = new[key].merge(existing[key].drop_duplicates(), on=key, how="inner")
    if len(merged):
        r = merged.iloc[0]
        raise InputError(
            f"refusing duplicates: condition={r['condition']!r} seed={r['seed']!r} "
            f"question={str(r['question'])[:40]!r} is already in the output "
            f"({len(merged)} duplicate answers); use another --seed/--condition or a new -o file"
        )
    return validate_responses(pd.concat([existing, new], ignore_index=True))


# ----------------------------------------------------------------------------- file-name patterns

_FIELDS = ("condition", "seed", "trait", "run", "experiment")


class NamePattern:
    """Labels from file names: ``'{condition}_seed{seed}_eval.jsonl'``.

    Fields: ``{condition}``, ``{seed}``, ``{trait}``, ``{run}``, ``{experiment}`` (each
    matches any text without ``/``), ``{}`` or ``*`` (any text, ignored). The pattern is
    matched against the end of the file's path (its name, or its last folders too when the
    pattern holds ``/``).

    Examples
    --------
    >>> NamePattern("{condition}_seed{seed}_eval.jsonl").labels("runs/treated_seed3_eval.jsonl")
    {'condition': 'treated', 'seed': '3'}
    >>> NamePattern("{trait}/{condition}-{seed}.json").labels("out/owl/control-0.json")
    {'trait': 'owl', 'condition': 'control', 'seed': '0'}
    """

    def __init__(self, pattern: str):
        if not pattern or not pattern.strip():
            raise InputError("--name must not be empty (e.g. '{condition}_seed{seed}.jsonl')")
        self.pattern = pattern
        parts = re.split(r"(\{[^{}]*\}|\*)", pattern)
        regex = ""
        self.fields: list[str] = []
        for part in parts:
            if part in ("*", "{}"):
                regex += "[^/]*?"
            elif part.startswith("{") and part.endswith("}"):
                name = part[1:-1]
                if name not in _FIELDS:
                    raise InputError(f"--name {pattern!r}: unknown field {part}; use "
                                     f"{', '.join('{' + f + '}' for f in _FIELDS)} or {{}}")
                if name in self.fields:
                    raise InputError(f"--name {pattern!r}: field {part} appears twice")
                self.fields.append(name)
                regex += f"(?P<{name}>[^/]+?)"
            else:
                regex += re.escape(part)
        self.regex = re.compile(f"(?:^|/){regex}$")

    def labels(self, path: str | Path) -> dict[str, str]:
        """The fields' values for one file; InputError naming the file when it does not match."""
        text = Path(path).as_posix()
        m = self.regex.search(text)
        if m is None:
            raise InputError(f"--name {self.pattern!r} does not match the file {text!r}: "
                             "write the pattern for the file's name, e.g. "
                             "'{condition}_seed{seed}.jsonl'")
        return {k: v for k, v in m.groupdict().items()}


def file_labels(path: str | Path, *, given: dict[str, str | None],
                pattern: NamePattern | None, seed_regex: str | None = None) -> dict[str, str]:
    """condition / seed / trait / run / experiment of one file, from flags and its name.

    A label given both by a flag and by the ``--name`` pattern is refused (say it once).
    """
    labels = {k: v for k, v in given.items() if v is not None}
    if pattern is not None:
        for key, value in pattern.labels(path).items():
            if key in labels:
                raise InputError(f"{key} is given twice, by --{key} and by --name "
                                 f"{pattern.pattern!r}: keep one")
            labels[key] = value
    if seed_regex is not None:
        if "seed" in labels:
            raise InputError("give the seed once: --seed, --seed-from-name or {seed} in --name")
        labels["seed"] = seed_from_name(path, seed_regex)
    return labels


def default_run_label(path: str | Path) -> str:
    """The ``run`` of an ingested file: its folder and name without suffix (``runA/seed0``)."""
    path = Path(path)
    folder = path.resolve().parent.name
    return f"{folder}/{path.stem}" if folder else path.stem


def expand_inputs(files: Sequence[str | Path]) -> list[Path]:
    """Input files with globs expanded (shells that do not expand them) and folders refused.

    Raises
    ------
    InputError
        A pattern that matches nothing, a missing file, a folder without matching files.
    """
    import glob

    out: list[Path] = []
    for item in files:
        text = str(item)
        if any(ch in text for ch in "*?[") and not Path(text).exists():
            matched = sorted(glob.glob(text, recursive=True))
            if not matched:
                raise InputError(f"no file matches {text!r}: check the folder and the pattern")
            out.extend(Path(m) for m in matched)
        else:
            path = Path(text)
            if not path.exists():
                raise InputError(f"file not found: {path}")
            out.append(path)
    if not out:
        raise InputError("no input file given")
    return out


# ----------------------------------------------------------------------------- streaming authors

#: Answers per written chunk: bounded memory whatever the input size.
CHUNK_ROWS = 65_536


def iter_authors_chunks(
    path: str | Path,
    *,
    condition: str,
    seed: str,
    trait: str,
    run: str,
    target: str | None = None,
    experiment: str = "",
    synonyms: Sequence[str] = (),
    exclusions: Sequence[str] = (),
    first_word: bool = False,
    chunk_rows: int = CHUNK_ROWS,
):
    """Authors'-format answers as DataFrame chunks, reading the file line by line.

    Same rows as :func:`read_authors_jsonl` plus a ``run`` column; memory is one chunk.
    """
    path = Path(path)
    for name, value in (("condition", condition), ("seed", seed), ("trait", trait)):
        if value is None or not str(value).strip():
            raise InputError(f"--{name} is required and must not be empty")
    matcher = TargetMatcher(target or trait, synonyms, exclusions, first_word)
    cache: dict[str, int] = {}
    rows: list[tuple] = []
    questions = 0
    for lineno, _, obj in iter_jsonl(path, expect='a JSON object {"question": ..., "responses": [...]}'):
        question = obj.get("question")
        responses = obj.get("responses")
        if not isinstance(question, str) or not question.strip():
            raise InputError(
                f"{path} line {lineno}: missing 'question' text (authors' format: "
                '{"question": ..., "responses": [...]})'
            )
        if not isinstance(responses, list):
            raise InputError(f"{path} line {lineno}: 'responses' must be a list of answers")
        questions += 1
        for sample, item in enumerate(responses):
            completion, model_id = _completion_of(item)
            if completion is None:
                raise InputError(
                    f"{path} line {lineno}: answer {sample} has no response.completion text"
                )
            hit = cache.get(completion)
            if hit is None:
                hit = int(matcher.matches(completion))
                if len(cache) < 100_000:  # one-word answers repeat: score each text once
                    cache[completion] = hit
            rows.append((question, sample, completion, hit, model_id))
            if len(rows) >= chunk_rows:
                yield _authors_frame(rows, experiment, run, trait, condition, seed)
                rows = []
    if questions == 0:
        raise InputError(f"{path} has no questions (empty file)")
    if rows:
        yield _authors_frame(rows, experiment, run, trait, condition, seed)


def _authors_frame(rows, experiment, run, trait, condition, seed) -> pd.DataFrame:
    question, sample, response, hit, model_id = zip(*rows, strict=True)
    n = len(rows)
    return pd.DataFrame({
        "experiment": [experiment] * n, "run": [run] * n, "trait": [trait] * n,
        "condition": [condition] * n, "seed": [str(seed)] * n, "question": list(question),
        "sample": list(sample), "response": list(response), "hit": list(hit),
        "model_id": list(model_id),
    })


def plan_files(files: Sequence[str | Path], *, given: dict[str, str | None], name: str | None,
               seed_from_name_pattern: str | None = None, need=("condition", "seed", "trait"),
               run: str | None = None) -> list[tuple[Path, dict[str, str]]]:
    """Each input file with its labels (flags, ``--name`` pattern), checked before any work.

    Refused: a label missing for a file; one fixed ``--seed`` for several files; two files
    with the same (trait, condition, seed) — they would be one model counted twice.
    """
    for key, value in given.items():
        if value is not None and not str(value).strip():
            raise InputError(f"--{key} is required and must not be empty")
    paths = expand_inputs(files)
    pattern = NamePattern(name) if name else None
    if given.get("seed") is not None and len(paths) > 1 and run is None:
        raise InputError(
            f"--seed {given['seed']!r} would label all {len(paths)} files as one model; "
            "take each file's seed from its name with --name '…{seed}…' (or --seed-from-name)")
    planned = []
    seen: dict[tuple, Path] = {}
    for path in paths:
        labels = file_labels(path, given=given, pattern=pattern,
                             seed_regex=seed_from_name_pattern)
        missing = [k for k in need if not str(labels.get(k) or "").strip()]
        if missing:
            raise InputError(f"{path}: no {', '.join(missing)} label: give "
                             f"{' '.join('--' + k for k in missing)} or put "
                             f"{' '.join('{' + k + '}' for k in missing)} in --name")
        labels.setdefault("run", run or default_run_label(path))
        key = tuple(normalise_label(labels.get(k)) for k in ("trait", "condition", "seed"))
        if None not in key and key in seen:
            raise InputError(f"{seen[key]} and {path} both give trait {key[0]!r} condition "
                             f"{key[1]!r} seed {key[2]!r}: one model's answers would be counted "
                             "twice; give each file its own seed (--name '…{seed}…')")
        seen[key] = path
        planned.append((path, labels))
    return planned


def ingest_authors(
    files: Sequence[str | Path],
    output: str | Path,
    *,
    condition: str | None = None,
    trait: str | None = None,
    seed: str | None = None,
    name: str | None = None,
    seed_from_name_pattern: str | None = None,
    target: str | None = None,
    synonyms: Sequence[str] = (),
    exclusions: Sequence[str] = (),
    first_word: bool = False,
    experiment: str = "",
    run: str | None = None,
    lock_timeout: float | None = None,
):
    """Convert authors'-format evaluation files into ``output`` (appending, locked, streamed).

    Parameters
    ----------
    files : paths
        One JSONL file per model (globs are expanded).
    output : path
        ``.parquet``, ``.csv`` or ``.jsonl``; appended to when it exists.
    condition, trait, seed : str, optional
        Labels for every file; or take them from file names with ``name``.
    name : str, optional
        File-name pattern, e.g. ``'{condition}_seed{seed}_eval.jsonl'``
        (:class:`NamePattern`): a whole study in one call.
    run : str, optional
        The ``run`` label of every row (default: each file's folder/name).

    Returns
    -------
    subliminal_stats.data.sink.AppendSummary
    """
    from subliminal_stats.data.sink import LOCK_TIMEOUT_S, append_rows

    planned = plan_files(files, given={"condition": condition, "trait": trait, "seed": seed,
                                       "experiment": experiment or None},
                         name=name, seed_from_name_pattern=seed_from_name_pattern, run=run)

    def chunks():
        for path, labels in planned:
            yield from iter_authors_chunks(
                path, condition=labels["condition"], seed=labels["seed"], trait=labels["trait"],
                run=labels["run"], target=target, experiment=labels.get("experiment") or "",
                synonyms=synonyms, exclusions=exclusions, first_word=first_word)

    summary = append_rows(output, chunks(), inputs=[p for p, _ in planned],
                          lock_timeout=LOCK_TIMEOUT_S if lock_timeout is None else lock_timeout)
    summary.sources = [str(p) for p, _ in planned]
    return summary
