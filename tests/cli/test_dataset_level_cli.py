"""`test` with a `dataset` column: teacher datasets as replicates, seeds nested (issue 17 §6)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from subliminal_stats.stats import cell_counts
from subliminal_stats.stats.simulation import simulate_responses


@pytest.fixture(scope="module")
def answers():
    df = simulate_responses(seeds_per_arm=6, n_questions=10, answers_per_question=10, rng=5)
    order = {s: i for i, s in enumerate(pd.unique(df["seed"]))}
    # Three teacher datasets per arm, two students on each.
    df["dataset"] = [f"{c}-d{order[s] % 3}" for c, s in zip(df["condition"], df["seed"], strict=True)]
    return df


def _rows(cli, *args):
    r = cli("test", *args, "--json", "-")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_dataset_level_is_welch_on_dataset_means(cli, tmp_path, answers):
    path = tmp_path / "answers.csv"
    answers.to_csv(path, index=False)
    row = next(r for r in _rows(cli, path) if r["control"] == "control")
    # By hand: per-seed rates (mean of per-question rates), per-dataset means, Welch.
    cells = answers.groupby(["condition", "dataset", "seed", "question"])["hit"].mean()
    seed_rates = cells.groupby(level=["condition", "dataset", "seed"]).mean()
    means = seed_rates.groupby(level=["condition", "dataset"]).mean()
    t, c = means["treated"].to_numpy(), means["control"].to_numpy()
    ref = sps.ttest_ind(t, c, equal_var=False)
    # The Satterthwaite df here (3.86) is under the cap 2 (3 − 1) = 4, so scipy's Welch is ours.
    assert row["dataset_level_df"] == pytest.approx(ref.df, rel=1e-12) and ref.df < 4
    assert row["dataset_level_p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert row["dataset_level_estimate_pp"] == pytest.approx(100 * (t.mean() - c.mean()), rel=1e-12)
    low, high = ref.confidence_interval(0.95)
    assert row["dataset_level_ci_low_pp"] == pytest.approx(100 * low, rel=1e-10)
    assert row["dataset_level_ci_high_pp"] == pytest.approx(100 * high, rel=1e-10)
    assert (row["datasets_treated"], row["datasets_control"]) == (3, 3)
    assert row["dataset_level_verdict"] == ("transfer" if ref.pvalue <= 0.05 else "no evidence")
    # The same from the counts table (the dataset column kept beside hits and n).
    counts = (answers.groupby(["trait", "condition", "seed", "question", "dataset"], sort=False)
              .agg(hits=("hit", "sum"), n=("hit", "size")).reset_index())
    counts_path = tmp_path / "counts.csv"
    counts.to_csv(counts_path, index=False)
    assert _rows(cli, counts_path) == _rows(cli, path)


def test_one_dataset_per_arm_is_said(cli, tmp_path, answers):
    path = tmp_path / "one.csv"
    answers.assign(dataset=answers["condition"] + "-data").to_csv(path, index=False)
    r = cli("test", path)
    assert r.code == 0
    assert "the trait is confounded with the arm's dataset" in r.out
    assert "Teacher datasets as replicates" not in r.out


def test_bad_dataset_labels_are_one_line_exit_2(cli, tmp_path, answers):
    two = answers.copy()
    first = two["seed"] == two["seed"].iloc[0]
    two.loc[first & (two["question"] == two["question"].iloc[0]), "dataset"] = "other"
    bad = tmp_path / "two.csv"
    two.to_csv(bad, index=False)
    r = cli("test", bad)
    assert r.code == 2 and "more than one dataset label" in r.err
    assert len(r.err.strip().splitlines()) == 1
    # A file without the column beside files with it.
    with_col, without = tmp_path / "with.csv", tmp_path / "without.csv"
    answers[answers["condition"] != "base"].to_csv(with_col, index=False)
    answers[answers["condition"] == "base"].drop(columns="dataset").to_csv(without, index=False)
    r = cli("test", with_col, without)
    assert r.code == 2 and "no 'dataset' column" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_no_dataset_column_changes_nothing(cli, tmp_path, answers):
    plain = tmp_path / "plain.csv"
    answers.drop(columns="dataset").to_csv(plain, index=False)
    rows = _rows(cli, plain)
    assert not any(k.startswith("dataset_level") for k in rows[0])
    assert np.isfinite(rows[0]["p_value"])
    assert len(cell_counts(answers.drop(columns="dataset"))) > 0


def test_plan_datasets_cli(cli):
    r = cli("plan", "--effect", "5", "--sd", "2", "--dataset-sd", "3", "--students", "12",
            "--json", "-")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    best = next(row for row in rows if row["best"])
    # No cost per dataset: every student on its own dataset wins (Var = σd²/D + σs²/(D S)).
    assert (best["datasets"], best["seeds_per_dataset"]) == (12, 1)
    assert best["variance_of_mean"] == pytest.approx((0.03**2 + 0.02**2) / 12, rel=1e-12)
    # Its power against the noncentral t of Welch with equal arms (df 22, at the cap 2 (12 − 1)),
    # within Monte Carlo error of the plan's 20,000 draws.
    se = np.sqrt(2 * best["variance_of_mean"])
    crit = sps.t.ppf(0.975, 22)
    want = sps.nct.sf(crit, 22, 0.05 / se) + sps.nct.cdf(-crit, 22, 0.05 / se)
    assert best["power"] == pytest.approx(want, abs=0.015)
    bad = cli("plan", "--dataset-sd", "3", "--students", "12")
    assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1
