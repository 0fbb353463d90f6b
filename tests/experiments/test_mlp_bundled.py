"""The bundled MLP run (data/runs/mlp_digits) is complete and matches its manifest (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from subliminal_stats.data.schema import read_responses

RUN = Path(__file__).resolve().parents[2] / "data" / "runs" / "mlp_digits"
CONDITIONS = {"reference", "teacher", "aux_same_init", "aux_diff_init", "all_same_init", "all_diff_init"}


def test_bundled_run_is_complete_and_matches_manifest():
    table = read_responses(RUN / "responses.parquet")
    manifest = json.loads((RUN / "manifest.json").read_text())
    assert set(table["condition"]) == CONDITIONS
    assert table["experiment"].eq("mlp_digits").all() and table["trait"].eq("digits").all()
    seeds = sorted(table["seed"].unique(), key=int)
    assert len(seeds) >= 25 and seeds == [str(s) for s in manifest["seeds"]]
    n_test = manifest["data"]["n_test"]
    assert table["question"].nunique() == n_test == 360
    assert len(table) == 6 * len(seeds) * n_test
    per_seed = table.groupby(["condition", "seed"])["hit"].mean().unstack("condition")
    for cond, summary in manifest["accuracy_per_condition"].items():
        assert per_seed[cond].mean() == pytest.approx(summary["mean"], abs=1e-12)
    assert manifest["config"]["model"]["hidden"] == [256, 256]
    assert "torch" in manifest["versions"] and len(manifest["data"]["sha256"]) == 64
    assert (RUN / "responses.parquet").stat().st_size < 200_000
