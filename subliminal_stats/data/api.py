"""Data-side helpers behind the ``check`` command and the top-level ``ss.check``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from subliminal_stats.data.jsonl import json_safe
from subliminal_stats.data.outputs import atomic_write, check_output_path, is_stdout
from subliminal_stats.data.reader import read_cells, runs_note
from subliminal_stats.data.schema import select

__all__ = ["check_table", "summarise_cells"]


def summarise_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (trait, condition): ``seeds, questions, answers, hits, hit_rate`` (raw, pooled).

    Examples
    --------
    >>> cells = pd.DataFrame({"trait": "owl", "condition": ["c", "c", "t"], "seed": ["1", "2", "3"],
    ...                       "question": "q", "hits": [1, 0, 2], "n": [2, 2, 4]})
    >>> summarise_cells(cells)[["condition", "seeds", "answers", "hit_rate"]].to_dict("records")
    [{'condition': 'c', 'seeds': 2, 'answers': 4, 'hit_rate': 0.25}, {'condition': 't', 'seeds': 1, 'answers': 4, 'hit_rate': 0.5}]
    """
    grouped = cells.groupby(["trait", "condition"], sort=True)
    out = grouped.agg(seeds=("seed", "nunique"), questions=("question", "nunique"),
                      answers=("n", "sum"), hits=("hits", "sum")).reset_index()
    out["hit_rate"] = out["hits"] / out["answers"]
    out.attrs = dict(cells.attrs)
    return out


def check_table(
    data: str | Path | Sequence[str | Path],
    *,
    traits: Sequence[str] | None = None,
    conditions: Sequence[str] | None = None,
    experiment: str | None = None,
    same_seeds: bool = False,
    json_out: str | Path | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Validate responses files (streaming) and summarise them per trait and condition.

    Returns
    -------
    (summary, notes)
        ``summary`` from :func:`summarise_cells`; ``notes`` sentences worth printing
        (one-seed arms, several experiments, pooled runs).
    """
    paths = [data] if isinstance(data, (str, Path)) else list(data)
    if json_out is not None and not is_stdout(json_out):
        check_output_path(json_out, inputs=paths)
    cells = read_cells(paths, experiment=experiment, same_seeds=same_seeds)
    if traits or conditions:
        # Every label is checked against the whole table first (a typo is reported as a
        # typo, not as an empty selection), as schema.select does for answers.
        attrs = dict(cells.attrs)
        cells = select(cells, traits=traits or None, conditions=conditions or None)
        cells.attrs = attrs
    summary = summarise_cells(cells)
    summary.attrs = dict(cells.attrs)
    notes = []
    single = summary[summary["seeds"] < 2]
    if len(single):
        labels = ", ".join(f"{r.trait}/{r.condition}" for r in single.itertuples())
        notes.append(f"{labels} has a single seed; tests treat it as a fixed reference (base "
                     "model), not as a replicated arm")
    experiments = cells.attrs.get("experiments", [])
    if len(experiments) > 1 and experiment is None:
        notes.append(f"the table holds {len(experiments)} experiments "
                     f"({', '.join(map(repr, experiments[:4]))}); answers with the same trait, "
                     "condition and seed labels are pooled across them — select one with "
                     "--experiment")
    pooled = runs_note(cells)
    if pooled:
        notes.append(pooled)
    if json_out is not None:
        rows = json_safe(summary.replace({np.nan: None}).to_dict("records"))
        text = json.dumps({"answers": int(cells.attrs.get("rows", 0)), "arms": rows,
                           "notes": notes}, indent=2) + "\n"
        atomic_write(json_out, text)
    return summary, notes
