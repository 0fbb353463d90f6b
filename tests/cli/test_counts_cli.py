"""Counts tables through the CLI (issue 17): ``test``/``check``/``export`` read them like the
responses table, to the last digit; ``ingest rates`` on the phantom-transfer NYC data gives the
published per-arm rates.

The phantom-transfer fixture (tests/fixtures/counts/phantom_nyc, see its README) always runs;
the same checks on ../shared/data/phantom_transfer skip when it is absent.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REPO_ROOT, SHARED_DATA

from subliminal_stats.stats import cell_counts
from subliminal_stats.stats.simulation import simulate_responses

FIXTURE = REPO_ROOT / "tests/fixtures/counts/phantom_nyc"
SHARED = SHARED_DATA / "phantom_transfer/gemma-3-12b-it"
NYC = "nyc/filter_exp_nonjunk/gemma-3-12b-it"
#: Published trait rates (nyc, gemma student, seeds 42/43/44): ../shared/data/phantom_transfer
#: README, the same numbers as tests/stats/test_defences_counts.py.
PUBLISHED = {"undefended": (0.427, 0.532, 0.576), "random": (0.371, 0.446, 0.470),
             "filter-k16-direct": (0.184, 0.211, 0.167), "filter-k1-direct": (0.321, 0.269, 0.264),
             "oracle": (0.159, 0.154, 0.164)}
SEEDS = ("42", "43", "44")


@pytest.fixture(scope="module")
def answers():
    df = simulate_responses(traits=("owl", "cat"), seeds_per_arm=4, n_questions=10,
                            answers_per_question=8, include_base=True, rng=21)
    return df


def _json(cli, *args):
    r = cli(*args)
    assert r.code == 0, r.err
    return r.out


def test_test_check_export_identical_on_answers_and_counts(cli, tmp_path, answers):
    rows = tmp_path / "responses.parquet"
    answers.to_parquet(rows, index=False)
    counts_csv = tmp_path / "counts.csv"
    counts_pq = tmp_path / "counts.parquet"
    cell_counts(answers).to_csv(counts_csv, index=False)
    cell_counts(answers).to_parquet(counts_pq, index=False)
    flags = ["--method", "welch,pooled-t,permutation,bootstrap-bca", "--resamples", "500",
             "--rng", "4", "--json", "-"]
    want = _json(cli, "test", rows, *flags)
    # 2 traits × (4 methods vs control + the 2 of them offered against the one-seed base).
    assert len(json.loads(want)) == 2 * (4 + 2)
    for counts in (counts_csv, counts_pq):
        assert _json(cli, "test", counts, *flags) == want
    # check: the same arms and answer counts (the file name differs in no JSON field).
    assert json.loads(_json(cli, "check", counts_pq, "--json", "-")) == \
        json.loads(_json(cli, "check", rows, "--json", "-"))
    # export reads through read_responses: counts give the same table.
    for what in ("tests", "summary"):
        want = _json(cli, "export", rows, "--what", what, "-o", "-", "--format", "csv")
        assert _json(cli, "export", counts_csv, "--what", what, "-o", "-", "--format", "csv") \
            == want


def test_score_metric_identical_on_answers_and_score_sums(cli, tmp_path, answers):
    # A [0, 1] score travels in a counts table as METRIC_sum per cell.
    scored = answers.assign(prob=np.clip(0.4 * answers["hit"]
                                         + 0.5 * np.random.default_rng(3).random(len(answers)), 0, 1))
    rows = tmp_path / "scored.parquet"
    scored.to_parquet(rows, index=False)
    keys = ["trait", "condition", "seed", "question"]
    sums = (scored.groupby(keys, sort=False)
            .agg(hits=("hit", "sum"), n=("hit", "size"), prob_sum=("prob", "sum")).reset_index())
    counts = tmp_path / "scored_counts.csv"
    sums.to_csv(counts, index=False)
    want = _json(cli, "test", rows, "--metric", "prob", "--json", "-")
    assert json.loads(want) and _json(cli, "test", counts, "--metric", "prob", "--json", "-") == want
    bad = cli("test", counts, "--metric", "score")
    assert bad.code == 2 and "'score_sum'" in bad.err and len(bad.err.strip().splitlines()) == 1


def test_answers_and_counts_files_in_one_call(cli, tmp_path, answers):
    owl = tmp_path / "owl.parquet"
    answers[answers["trait"] == "owl"].to_parquet(owl, index=False)
    cat = tmp_path / "cat_counts.csv"
    cell_counts(answers[answers["trait"] == "cat"]).to_csv(cat, index=False)
    everything = tmp_path / "all.parquet"
    answers.to_parquet(everything, index=False)
    flags = ["--method", "welch", "--json", "-"]
    assert _json(cli, "test", owl, cat, *flags) == _json(cli, "test", everything, *flags)


def test_bad_counts_and_rates_are_one_line_exit_2(cli, tmp_path, answers):
    counts = cell_counts(answers)
    bad = tmp_path / "bad.csv"
    counts.assign(hits=counts["n"] + 1).to_csv(bad, index=False)
    r = cli("test", bad)
    assert r.code == 2 and r.err.strip() == (
        f"error: {bad}: row 1 has hits 9 of n 8: need 0 ≤ hits ≤ n (a count, or a [0, 1] score "
        "summed, over the cell's n answers)")
    rates = tmp_path / "treated.csv"
    pd.DataFrame({"model": "m", "prompt": ["a", "b"], "p": [0.5, 0.125]}).to_csv(rates, index=False)
    out = tmp_path / "counts.parquet"
    r = cli("ingest", "rates", rates, "--map", "seed=model,question=prompt,rate=p", "--set",
            "trait=owl", "--n", "10", "--name", "{condition}.csv", "-o", out)
    assert r.code == 2 and not out.exists()
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "treated.csv row 2: rate 0.125 × n 10 = 1.25 is not a whole" \
        in lines[0]
    r = cli("ingest", "rates", rates, "--n", "0", "-o", out)
    assert r.code == 2


def _phantom(cli, tmp_path, root):
    out = tmp_path / "counts.parquet"
    r = cli("ingest", "rates", str(root / NYC / "*" / "eval-nyc" / "*" / "stats.json"),
            "--preset", "phantom-transfer", "-o", out)
    assert r.code == 0, r.err
    assert "950 cells (180000 answers) from 36 file(s)" in r.out
    assert "18 evaluations of one model added up per question" in r.err
    return out


def _check_published(cli, out):
    # Per-seed rates of the counts the CLI wrote: the published ones (3 decimals).
    cells = pd.read_parquet(out)
    seed_rates = cells.assign(rate=cells.hits / cells.n).groupby(["condition", "seed"])["rate"]
    seed_rates = seed_rates.mean()
    for arm, rates in PUBLISHED.items():
        assert [seed_rates[(arm, s)] for s in SEEDS] == pytest.approx(list(rates), abs=5e-4), arm
    base = float(seed_rates[("base", "base")])
    # `check`: per arm, the pooled rate of its 3 × 50 × 100 answers = the mean of its seeds.
    arms = {a["condition"]: a for a in json.loads(_json(cli, "check", out, "--json", "-"))["arms"]}
    for arm, rates in PUBLISHED.items():
        assert arms[arm]["seeds"] == 3 and arms[arm]["answers"] == 15_000
        assert arms[arm]["hit_rate"] == pytest.approx(np.mean(rates), abs=5e-4)
    assert arms["base"]["answers"] == 18 * 5000
    # `test`: each arm against the base model, the estimate = its mean rate − the base rate.
    flags = [f"--treated={arm}" for arm in PUBLISHED]
    results = json.loads(_json(cli, "test", out, *flags, "--control", "base", "--json", "-"))
    assert [r["treated"] for r in results] == list(PUBLISHED)
    for r in results:
        assert r["trait"] == "nyc" and r["n_seeds_treated"] == 3 and r["n_seeds_control"] == 1
        assert r["estimate"] == pytest.approx(np.mean(PUBLISHED[r["treated"]]) - base, abs=5e-4)
        assert f"{len(PUBLISHED)} test(s)" in r["family"]
    return cells


def test_phantom_nyc_fixture_gives_the_published_rates(cli, tmp_path):
    _check_published(cli, _phantom(cli, tmp_path, FIXTURE))


@pytest.mark.skipif(not SHARED.exists(), reason="phantom-transfer data not in ../shared/data")
def test_phantom_nyc_shared_data_gives_the_published_rates(cli, tmp_path):
    cells = _check_published(cli, _phantom(cli, tmp_path, SHARED))
    # The fixture is the shared data trimmed: the same counts.
    (tmp_path / "f").mkdir()
    fixture = pd.read_parquet(_phantom(cli, tmp_path / "f", FIXTURE))
    keys = ["condition", "seed", "question", "hits", "n"]
    pd.testing.assert_frame_equal(fixture[keys], cells[keys])


def test_trait_report_frames_identical_on_answers_and_counts(tmp_path, answers):
    # `report trait` reads through report.sections.trait_check (read_responses): the frames it
    # renders are the same for the counts table (rendering itself is the report's own test).
    import warnings

    from subliminal_stats.report.sections import trait_check

    rows = tmp_path / "responses.parquet"
    answers.to_parquet(rows, index=False)
    counts = tmp_path / "counts.csv"
    cell_counts(answers).to_csv(counts, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = trait_check(str(rows), trait="owl"), trait_check(str(counts), trait="owl")
    assert a.verdict == b.verdict
    for name in ("summary", "seeds", "tests"):
        pd.testing.assert_frame_equal(getattr(a, name).reset_index(drop=True),
                                      getattr(b, name).reset_index(drop=True), check_exact=True)
