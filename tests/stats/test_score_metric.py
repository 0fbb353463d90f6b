"""Testing a score column (the probability probe) instead of 0/1 hits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from subliminal_stats.errors import InputError
from subliminal_stats.stats import score_cells


def _table():
    rows = []
    probs = {("control", "c1"): [0.10, 0.12], ("control", "c2"): [0.08, 0.10],
             ("control", "c3"): [0.11, 0.13], ("treated", "t1"): [0.20, 0.18],
             ("treated", "t2"): [0.15, 0.17], ("treated", "t3"): [0.22, 0.26]}
    for (condition, seed), per_q in probs.items():
        for q, p in enumerate(per_q):
            for sample in range(3):  # the probe repeats on every answer row of a question
                rows.append({"trait": "owl", "condition": condition, "seed": seed,
                             "question": f"q{q}", "sample": sample, "hit": sample == 0,
                             "prob": p})
    return pd.DataFrame(rows), probs


def test_score_cells_mean_per_question():
    df, probs = _table()
    cells = score_cells(df, "prob")
    assert len(cells) == 12 and (cells["n"] == 3).all()
    rate = (cells["hits"] / cells["n"]).round(12)
    assert sorted(rate) == sorted(round(p, 12) for v in probs.values() for p in v)


def test_cli_metric_prob_equals_pooled_t_on_seed_means(tmp_path, cli):
    df, probs = _table()
    path = tmp_path / "r.csv"
    df.to_csv(path, index=False)
    r = cli("test", path, "--metric", "prob", "--method", "pooled-t", "--json",
            tmp_path / "out.json")
    assert r.code == 0, r.err
    row = json.loads((tmp_path / "out.json").read_text())[0]
    treated = [np.mean(v) for (c, _), v in probs.items() if c == "treated"]
    control = [np.mean(v) for (c, _), v in probs.items() if c == "control"]
    ref = sps.ttest_ind(treated, control, equal_var=True)
    assert row["estimate_pp"] == pytest.approx(100 * (np.mean(treated) - np.mean(control)))
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert row["ci_low_pp"] == pytest.approx(100 * ci.low) and row["ci_high_pp"] == pytest.approx(100 * ci.high)
    assert row["odds_ratio"] is None or np.isnan(row["odds_ratio"])


@pytest.mark.parametrize("args,message", [
    (["--metric", "alignment"], "--metric 'alignment': no such column"),
    (["--metric", "prob", "--method", "glmm"], "--method glmm needs 0/1 answers"),
])
def test_metric_errors(tmp_path, cli, args, message):
    df, _ = _table()
    path = tmp_path / "r.csv"
    df.to_csv(path, index=False)
    r = cli("test", path, *args)
    assert r.code == 2 and message in r.err


def test_score_out_of_range():
    df, _ = _table()
    df.loc[0, "prob"] = 7.0
    df = df.rename(columns={"prob": "score"})
    with pytest.raises(InputError, match=r"must lie in \[0, 1\]"):
        score_cells(df, "score")


def test_compare_metric_on_a_score_uses_seed_methods_only():
    from subliminal_stats.stats import SCORE_METHODS, compare_metric

    df, probs = _table()
    results = compare_metric(df, "prob", method="all", n_resamples=200, rng=0)
    assert [r.method for r in results] == list(SCORE_METHODS)
    treated = [np.mean(v) for (c, _), v in probs.items() if c == "treated"]
    control = [np.mean(v) for (c, _), v in probs.items() if c == "control"]
    for r in results:
        assert r.estimate == pytest.approx(np.mean(treated) - np.mean(control))
        assert np.isnan(r.odds_ratio) and r.method_detail.endswith("on mean prob")
    # On hits it is compare() itself: the odds ratio is there.
    assert not np.isnan(compare_metric(df, "hit")[0].odds_ratio)
    with pytest.raises(InputError, match="needs 0/1 answers"):
        compare_metric(df, "prob", method="lmm")
