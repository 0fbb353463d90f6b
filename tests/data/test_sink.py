"""Appends: streamed, locked (two real processes lose nothing), atomic, never over an input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from subliminal_stats.data import read_cells, read_responses
from subliminal_stats.data.ingest import NamePattern, ingest_authors
from subliminal_stats.data.sink import output_lock
from subliminal_stats.errors import InputError

ANSWERS = ["Owl", "Dog", "owls!", "Cat"]


def authors_file(path: Path, questions: int = 6, answers: int = 5, offset: int = 0) -> Path:
    lines = [json.dumps({"question": f"Q{q}: favourite animal?", "responses": [
        {"response": {"model_id": "m", "completion": ANSWERS[(q + a + offset) % 4]}}
        for a in range(answers)]}) for q in range(questions)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def expected_hits(questions=6, answers=5, offset=0) -> int:
    return sum(ANSWERS[(q + a + offset) % 4].lower().startswith("owl")
               for q in range(questions) for a in range(answers))


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_whole_study_in_one_call_and_append(tmp_path, suffix):
    for condition in ("control", "treated"):
        for seed in range(3):
            authors_file(tmp_path / "evals" / f"{condition}_seed{seed}_eval.jsonl", offset=seed)
    out = tmp_path / f"responses{suffix}"
    files = sorted((tmp_path / "evals").glob("*.jsonl"))
    s = ingest_authors(files[:4], out, name="{condition}_seed{seed}_eval.jsonl", trait="owl")
    assert (s.added, s.existing) == (4 * 30, 0)
    s = ingest_authors(files[4:], out, name="{condition}_seed{seed}_eval.jsonl", trait="owl")
    assert (s.added, s.existing, s.total) == (2 * 30, 120, 180)
    table = read_responses(out)
    assert len(table) == 180 and sorted(set(table["seed"])) == ["0", "1", "2"]
    assert set(table["run"]) == {f"evals/{c}_seed{k}_eval" for c in ("control", "treated")
                                 for k in range(3)}
    hits = table.groupby(["condition", "seed"])["hit"].sum().to_dict()
    assert hits[("treated", "2")] == expected_hits(offset=2)
    cells = read_cells(out)  # one run per (condition, seed): no pooling to refuse
    assert cells["n"].sum() == 180
    # The same answers again: refused, and the file is unchanged.
    before = out.read_bytes()
    with pytest.raises(InputError, match=r"refusing duplicates: condition='treated' seed='2'"):
        ingest_authors(files[5:], out, name="{condition}_seed{seed}_eval.jsonl", trait="owl")
    assert out.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_labels_and_outputs_checked_before_any_work(tmp_path):
    a = authors_file(tmp_path / "a.jsonl")
    with pytest.raises(InputError, match="also an input"):
        ingest_authors([a], a, condition="c", seed="1", trait="owl")
    with pytest.raises(InputError, match=r"no file matches"):
        ingest_authors([tmp_path / "none*.jsonl"], tmp_path / "o.parquet", condition="c",
                       seed="1", trait="owl")
    with pytest.raises(InputError, match=r"would label all 2 files as one model"):
        ingest_authors([a, authors_file(tmp_path / "b.jsonl")], tmp_path / "o.parquet",
                       condition="c", seed="1", trait="owl")
    with pytest.raises(InputError, match=r"does not match the file"):
        ingest_authors([a], tmp_path / "o.parquet", name="{condition}_seed{seed}.jsonl",
                       trait="owl")
    with pytest.raises(InputError, match=r"unknown field \{cond\}"):
        NamePattern("{cond}.jsonl")
    with pytest.raises(InputError, match=r"condition is given twice"):
        ingest_authors([tmp_path / "a.jsonl"], tmp_path / "o.parquet", name="{condition}.jsonl",
                       condition="c", seed="1", trait="owl")
    assert not (tmp_path / "o.parquet").exists()


def test_lock_held_elsewhere_gives_one_line_error(tmp_path):
    out = tmp_path / "r.parquet"
    a = authors_file(tmp_path / "a.jsonl")
    code = ("import sys, time; from subliminal_stats.data.sink import output_lock\n"
            "with output_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=r"being written by another process .*r.parquet.lock"):
            ingest_authors([a], out, condition="c", seed="1", trait="owl", lock_timeout=1)
    finally:
        holder.kill()
        holder.wait()
    with output_lock(out, timeout=5):  # released when the holder died
        pass


def test_two_processes_append_to_one_file_lose_nothing(tmp_path):
    files = [authors_file(tmp_path / f"seed{k}.jsonl", questions=30, answers=40, offset=k)
             for k in range(4)]
    out = tmp_path / "all.parquet"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "subliminal_stats", "ingest", "authors", str(f), "--condition",
         "treated", "--seed", str(k), "--trait", "owl", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for k, f in enumerate(files)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, results
    table = pd.read_parquet(out)
    assert len(table) == 4 * 30 * 40
    assert table.groupby("seed")["hit"].sum().to_dict() == {
        str(k): expected_hits(30, 40, k) for k in range(4)}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
