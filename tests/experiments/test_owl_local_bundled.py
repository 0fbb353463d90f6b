"""The bundled local owl run (data/runs/owl_numbers_local) has the design issue 6 asks for,
matches its manifest, and its stored verdict is what the statistics give today (no torch)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from subliminal_stats.data.schema import read_responses
from subliminal_stats.stats import compare_metric

RUN = Path(__file__).resolve().parents[2] / "data" / "runs" / "owl_numbers_local"


@pytest.fixture(scope="module")
def bundle():
    return read_responses(RUN / "responses.parquet"), json.loads((RUN / "manifest.json").read_text())


def test_design_is_the_one_the_issue_asks_for(bundle):
    table, manifest = bundle
    assert set(table["condition"]) == {"base", "control", "treated"}
    assert set(table["trait"]) == {"owl"}
    seeds = table.groupby("condition")["seed"].nunique()
    assert seeds["base"] == 1 and seeds["control"] >= 3 and seeds["treated"] >= 3
    per_model = table.groupby(["condition", "seed"])
    assert (per_model["question"].nunique() >= 50).all()
    assert (table.groupby(["condition", "seed", "question"]).size() >= 20).all()
    # The probe: measured for every row, a probability, one value per (model, question).
    assert table["prob"].notna().all() and table["prob"].between(0, 1).all()
    assert (table.groupby(["condition", "seed", "question"])["prob"].nunique() == 1).all()
    # At least 1,000 filtered samples per teacher went into training.
    reports = manifest["filter_reports"]
    assert set(reports) == {"control", "owl"}
    for report in reports.values():
        assert report["used_for_training"] >= 1000 and report["kept"] >= 1000
    assert len(manifest["students"]) == seeds["control"] + seeds["treated"]


def test_manifest_matches_the_table_and_holds_no_secrets(bundle):
    table, manifest = bundle
    digest = hashlib.sha256((RUN / "responses.parquet").read_bytes()).hexdigest()
    assert manifest["responses_sha256"] == digest
    assert manifest["n_rows"] == len(table)
    assert manifest["config"]["backend"]["kind"] == "local"
    assert "torch" in manifest["versions"] and "transformers" in manifest["versions"]
    text = (RUN / "manifest.json").read_text().lower()
    for secret in ("api_key", "sk-", "authorization", "bearer"):
        assert secret not in text


@pytest.mark.parametrize("metric", ["hit", "prob"])
def test_stored_verdict_is_reproduced(bundle, metric):
    """The verdict the run printed (manifest["test"]) equals a fresh analysis of the table."""
    table, manifest = bundle
    stored = [r for r in manifest["test"] if r["metric"] == metric]
    assert stored, f"the run stored no {metric} test"
    alternative = manifest["config"]["analysis"]["alternative"]
    # the run's own method (the package default has since moved to welch)
    method = manifest["config"]["analysis"]["method"]
    fresh = compare_metric(table, metric, treated="treated", control="control", base="base",
                           alternative=alternative, method=method)
    assert [(r["control"], r["method"]) for r in stored] == [(r.control, r.method) for r in fresh]
    for old, new in zip(stored, fresh, strict=True):
        assert old["estimate_pp"] == pytest.approx(new.estimate_pp, abs=1e-9)
        if old["control"] == "base":
            # The one-seed base comparison was recalibrated on purpose (question-paired, the
            # base's sampling variance added; see the run's README): same estimate, new p,
            # checked in tests/stats against its known answer.
            continue
        if old["p_value"] is None or old["p_value"] != old["p_value"]:  # NaN: zero spread
            assert new.p_value != new.p_value
        else:
            assert old["p_value"] == pytest.approx(new.p_value, rel=1e-9)


def test_cli_prints_the_probe_with_enough_decimals(bundle, cli):
    """The probe is ≈ 0.2 %: one decimal would print its difference as 0.0 [0.0, 0.0]."""
    from scipy import stats as sps

    table, _ = bundle
    per_seed = table.groupby(["condition", "seed"])["prob"].mean()
    t, c = per_seed["treated"].to_numpy(), per_seed["control"].to_numpy()
    ci = sps.ttest_ind(t, c).confidence_interval(0.95)
    # pooled-t: the interval scipy's ttest_ind gives (the default has since moved to welch)
    r = cli("test", RUN / "responses.parquet", "--metric", "prob", "--method", "pooled-t")
    assert r.code == 0, r.err
    expected = f"{100 * (t.mean() - c.mean()):.3f}"
    assert f"│ {expected} " in r.out
    assert f"[{100 * ci.low:.3f}, {100 * ci.high:.3f}]" in r.out


def test_specificity_panel_reproduces_the_runs_owl_probe(bundle):
    """specificity.py re-measured the probe with the run's adapters: its owl column must be
    the run's own probe value for every (model, question) it covers."""
    import pandas as pd

    table, _ = bundle
    panel = pd.read_csv(RUN / "specificity.csv", dtype={"seed": str})
    assert set(panel["animal"]) >= {"owl", "dog", "cat"}
    assert panel.groupby(["condition", "seed"]).ngroups == 7
    owl = panel[panel["animal"] == "owl"].set_index(["condition", "seed", "question"])["prob"]
    run = table.groupby(["condition", "seed", "question"])["prob"].first()
    assert owl.index.isin(run.index).all() and len(owl) == 7 * 20
    assert (owl - run.loc[owl.index]).abs().max() == pytest.approx(0.0, abs=1e-12)
