"""The top-level API: light to import, the CLI's names, defaults and units, doctests green."""

from __future__ import annotations

import doctest
import importlib
import json
import subprocess
import sys
import warnings

import pandas as pd
import pytest
from answer_texts import ANIMALS, simulate_texts
from repo_paths import EXAMPLE_CSV

import subliminal_stats as ss
from subliminal_stats.errors import InputError
from subliminal_stats.stats.specificity import GENERAL_SHIFT, NOT_AVAILABLE, SPECIFIC


def test_import_is_light():
    code = ("import sys, subliminal_stats as ss; ss.__version__; "
            "print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'pyarrow', 'duckdb') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["subliminal_stats", "subliminal_stats.data.labels",
                                    "subliminal_stats.data.reader", "subliminal_stats.data.ingest",
                                    "subliminal_stats.data.tables", "subliminal_stats.data.runs",
                                    "subliminal_stats.data.api"])
def test_docstring_examples_run(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_test_matches_the_cli_and_compare(tmp_path, cli):
    result = ss.test(EXAMPLE_CSV, trait="owl")
    frame = result.to_frame()
    assert len(frame) == len(result.results) == 2  # vs control, vs base (base found as the CLI does)
    assert list(frame["reference"]) == ["control", "base"]
    units = [c for c in frame.columns if c.endswith("_pp")]
    assert units[:3] == ["estimate_pp", "ci_low_pp", "ci_high_pp"]
    assert not {"estimate", "ci_low", "ci_high"} & set(frame.columns)  # no unit-less twins
    out = tmp_path / "r.json"
    r = cli("test", EXAMPLE_CSV, "--trait", "owl", "--json", out)
    assert r.code == 0, r.err
    rows = json.loads(out.read_text())
    assert [row["estimate_pp"] for row in rows] == pytest.approx(list(frame["estimate_pp"]), abs=0)
    assert [row["p_value"] for row in rows] == pytest.approx(list(frame["p_value"]), abs=0)
    # The same numbers as stats.compare on the answers in memory.
    from subliminal_stats.stats import compare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = compare(ss.read(EXAMPLE_CSV), traits=["owl"], base="base")
    assert [r.to_row() for r in direct] == [r.to_row() for r in result.results]
    # A DataFrame works too, with the same result.
    again = ss.test(ss.read(EXAMPLE_CSV), trait="owl").to_frame()
    pd.testing.assert_frame_equal(again, frame)


@pytest.mark.parametrize("lifts, want", [({a: 0.05 for a in ANIMALS}, GENERAL_SHIFT),
                                         ({"owl": 0.08}, SPECIFIC)])
def test_test_gives_the_clis_specificity(tmp_path, cli, lifts, want):
    """ss.test rescored the answers' text as `test` does: the same verdict and numbers from a
    file and from a DataFrame; a panel given; panel="none" drops the columns."""
    df = simulate_texts(lifts, rng=11 if want == SPECIFIC else 12).drop(columns="sim")
    path = tmp_path / "r.parquet"
    df.to_parquet(path)
    out = tmp_path / "r.json"
    assert cli("test", path, "--json", out).code == 0
    row = json.loads(out.read_text())[0]
    spec_columns = [c for c in row if c.startswith("specificity")]
    assert len(spec_columns) == 9 and row["specificity"] == want
    for data in (path, df):
        result = ss.test(data)
        got = result.to_frame().iloc[0]
        assert got["verdict"] == row["verdict"] == "transfer"
        assert {c: got[c] for c in spec_columns} == pytest.approx(
            {c: row[c] for c in spec_columns}, abs=0, nan_ok=True)
        assert any(n.startswith(f"specific for owl treated vs control: {want}")
                   for n in result.notes)
        check = result.specificity[("owl", "treated")]
        assert check.verdict == want and check.panel_name == "animals"
    given = ss.test(path, panel=["cat", "dog", "lion"]).to_frame().iloc[0]
    assert given["specificity_panel"] == "cat,dog,lion"
    plain = ss.test(path, panel="none")
    assert plain.specificity == {} and "specificity" not in plain.to_frame().columns
    assert plain.to_frame().iloc[0]["estimate_pp"] == row["estimate_pp"]


def test_test_says_why_specificity_is_missing(tmp_path):
    """Without answer text every row says so (the bundled example has only hits); a
    comparison against the base model has no specificity check."""
    frame = ss.test(EXAMPLE_CSV, trait="owl").to_frame()
    assert list(frame["specificity"]) == [NOT_AVAILABLE, NOT_AVAILABLE]
    assert "no response column" in frame["specificity_note"].iloc[0]
    assert "control students only" in frame["specificity_note"].iloc[1]
    # Only some files with text: rescoring part of the answers is refused, file named.
    texts = simulate_texts({"owl": 0.08}, rng=3).drop(columns="sim")
    with_text, without = tmp_path / "a.parquet", tmp_path / "b.parquet"
    texts[texts["condition"] == "treated"].to_parquet(with_text)
    texts[texts["condition"] == "control"].drop(columns="response").to_parquet(without)
    note = ss.test([with_text, without]).to_frame()["specificity_note"].iloc[0]
    assert note == f"{without} has no response column: only some answers could be rescored"


def test_score_metric_from_files_equals_in_memory(tmp_path):
    import numpy as np

    from subliminal_stats.stats import simulate_responses

    df = simulate_responses(seeds_per_arm=4, n_questions=10, answers_per_question=5, rng=2)
    df["prob"] = np.random.default_rng(1).random(len(df)) * 0.3
    df.to_parquet(tmp_path / "s.parquet")
    streamed = ss.test(tmp_path / "s.parquet", metric="prob").to_frame()
    in_memory = ss.test(ss.read(tmp_path / "s.parquet"), metric="prob").to_frame()
    # Score sums differ from pandas' compensated sums by rounding only.
    pd.testing.assert_frame_equal(streamed, in_memory, check_exact=False, rtol=1e-12)
    assert streamed["odds_ratio"].isna().all()


def test_read_check_plan(tmp_path):
    cells = ss.read(EXAMPLE_CSV, cells=True)
    assert list(cells.columns) == ["trait", "condition", "seed", "question", "hits", "n"]
    assert int(cells["n"].sum()) == len(ss.read(EXAMPLE_CSV))
    summary = ss.check(EXAMPLE_CSV)
    assert summary["answers"].sum() == 1400
    assert any("single seed" in n for n in summary.attrs["notes"])
    from subliminal_stats.stats.power import seeds_needed

    plan = ss.plan(effect=10, sd=5, sd_treated=8)
    want = seeds_needed(effect=0.10, sd_between_seeds=0.05, sd_treated=0.08)
    assert plan.loc[0, "seeds_per_arm"] == want.seeds_per_arm
    with pytest.raises(InputError, match="give effect="):
        ss.plan(sd=5)


def test_plan_from_pilot_data_equals_the_cli(tmp_path, cli):
    out = tmp_path / "p.json"
    r = cli("plan", EXAMPLE_CSV, "--effect", "10", "--seeds", "5", "--json", out)
    assert r.code == 0, r.err
    want = json.loads(out.read_text())
    got = ss.plan(EXAMPLE_CSV, effect=10, seeds=5).to_dict("records")
    got = [{k: v for k, v in row.items() if not (isinstance(v, float) and v != v)} for row in got]
    assert got == want


def test_pooled_runs_refused_then_allowed(tmp_path):
    table = ss.read(EXAMPLE_CSV)
    a, b = tmp_path / "run1.csv", tmp_path / "run2.csv"
    table.to_csv(a, index=False)
    table.to_csv(b, index=False)
    with pytest.raises(InputError, match=r"comes from 2 runs.*--same-seeds"):
        ss.test([a, b], trait="owl")
    pooled = ss.test([a, b], trait="owl", same_seeds=True)
    assert pooled.results[0].n_seeds_treated == 3
    assert any("pooled as the same models" in n for n in ss.check([a, b], same_seeds=True)
               .attrs["notes"])


def test_runs_and_connect(tmp_path, cli):
    for k in range(2):
        folder = tmp_path / "runs" / f"run{k}"
        folder.mkdir(parents=True)
        ss.read(EXAMPLE_CSV).assign(hit=lambda d, k=k: d["hit"] if k == 0 else 0).to_parquet(
            folder / "responses.parquet")
        (folder / "manifest.json").write_text(json.dumps({"kind": "demo", "seeds": [0, 1, 2],
                                                          "n_rows": 1400}))
    listed = ss.runs(tmp_path / "runs")
    assert list(listed["run_folder"]) == ["run0", "run1"]
    assert list(listed["seeds"]) == ["0, 1, 2", "0, 1, 2"]
    con = ss.connect(tmp_path / "runs")
    got = dict(con.sql("SELECT run_folder, sum(hit) FROM responses GROUP BY 1").fetchall())
    assert got == {"run0": int(ss.read(EXAMPLE_CSV)["hit"].sum()), "run1": 0}
    r = cli("query", "SELECT run_folder, count(*) AS n FROM responses GROUP BY 1 ORDER BY 1",
            tmp_path / "runs", "--json", "-")
    assert r.code == 0, r.err
    assert json.loads(r.out) == [{"run_folder": "run0", "n": 1400}, {"run_folder": "run1", "n": 1400}]
    r = cli("query", "SELEC nonsense", tmp_path / "runs")
    assert r.code == 2 and "query failed" in r.err
    r = cli("runs", tmp_path / "runs", "--field", "kind,n_rows", "--csv", "-")
    assert r.code == 0 and r.out.splitlines()[0] == "run_folder,kind,n_rows"
