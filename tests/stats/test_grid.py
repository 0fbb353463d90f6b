"""The scenario grid: the shipped table, its bounds for the default, and that it reruns exactly.

The table (calibration_table.GRID_CSV) was written by
``subliminal-stats calibrate --write-table --n-sims 1000`` (about 8 minutes on one core).
Each scenario has its own random stream, so any cell reruns alone to the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from subliminal_stats.stats.grid import (
    GRID_COLUMNS,
    GRID_RULES,
    Scenario,
    default_scenarios,
    grid_frame,
    grid_summary,
    mean_rate_intercept,
    run_scenario,
)


@pytest.fixture(scope="module")
def grid():
    frame = grid_frame()
    assert len(frame), "calibration_table.GRID_CSV is empty: run calibrate --write-table"
    return frame


def test_every_scenario_and_method_is_in_the_table_with_1000_sims(grid):
    assert list(grid.columns) == list(GRID_COLUMNS)
    scenarios = default_scenarios()
    kinds = {k: sum(s.kind == k for s in scenarios) for k in ("null", "effect", "spread")}
    assert kinds == {"null": 360, "effect": 432, "spread": 24}
    per_method = grid.groupby(["comparison", "method"]).size()
    assert (per_method == len(scenarios)).all()
    assert grid["n_sims"].min() >= GRID_RULES["min_null_sims"]
    # The grid spans what the issue asks for.
    null = grid[grid["kind"] == "null"]
    assert set(null["rate"]) == {0.001, 0.01, 0.12, 0.5, 0.9}
    assert set(null["seed_sd"]) == {0.1, 0.4, 1.0}
    assert {(a, b) for a, b in zip(null["seeds_treated"], null["seeds_control"],
                                   strict=True)} >= {(3, 5), (2, 10), (2, 2), (10, 10)}
    eff = grid[grid["kind"] == "effect"]
    assert set(eff["effect"]) == {0.3, 1.4, 4.5}
    assert (eff["treated_sd"] / eff["seed_sd"]).round(6).isin([1.0, 3.0]).all()


def test_welch_keeps_its_level_in_every_null_cell(grid):
    welch = grid[(grid["method"] == "welch") & (grid["kind"] == "null")]
    assert len(welch) == 360
    assert welch["rejection_rate"].max() <= GRID_RULES["max_fpr"]
    # ... where plain Satterthwaite and pooled variance do not.
    for method in ("welch-satterthwaite", "pooled-t"):
        other = grid[(grid["method"] == method) & (grid["kind"] == "null")]
        assert other["rejection_rate"].max() > GRID_RULES["max_fpr"], method
    summary = grid_summary(grid).set_index(["comparison", "method"])
    assert summary.loc[("vs control", "welch"), "worst_fpr"] <= 0.065


def test_welch_coverage_where_it_holds_and_where_it_cannot(grid):
    eff = grid[(grid["kind"] == "effect") & (grid["comparison"] == "vs control")]
    welch = eff[eff["method"] == "welch"]
    se = np.sqrt(0.935 * 0.065 / welch["n_sims"])
    # Treated logit SD ≤ 0.4: within two Monte Carlo SEs of 93.5 % in all but 10 of 216 cells,
    # 9 of them with 2 treated seeds against 10 controls (the capped df is liberal there).
    mild = welch[welch["treated_sd"] <= 0.4]
    assert len(mild) == 216
    short = mild[mild["coverage"] < 0.935 - 2 * se[mild.index]]
    assert len(short) <= 10 and int((short["seeds_treated"] == 2).sum()) >= len(short) - 1
    assert mild["coverage"].median() >= 0.94
    # Heavily skewed treated arms (logit SD 1.2–3.0, a rare trait in a few students): no
    # t interval on 2–10 seeds covers the mean rate; the table says so instead of hiding it
    # (why the default is the log-odds t, tests/stats/test_logit_t.py).
    skewed = welch[welch["treated_sd"] >= 1.2]
    assert skewed["coverage"].min() < 0.8
    # Welch covers better than pooled variance wherever spreads differ.
    pooled = eff[eff["method"] == "pooled-t"].set_index(list(GRID_COLUMNS[:9]))["coverage"]
    w = welch.set_index(list(GRID_COLUMNS[:9]))["coverage"]
    unequal = w.index.get_level_values("treated_sd") > w.index.get_level_values("seed_sd")
    assert (w[unequal] >= pooled[unequal] - 0.02).mean() > 0.95


def test_rate_scale_base_comparison_is_not_calibrated_the_log_odds_one_is(grid):
    base = grid[(grid["method"] == "t-vs-single-model") & (grid["kind"] == "null")]
    by_sd = base.groupby("seed_sd")["rejection_rate"].max()
    assert by_sd[1.0] > 0.10  # skewed per-seed rates against a constant: nothing holds
    small = base[(base["seeds_treated"] == 10) & (base["seed_sd"] == 0.1)]
    assert small["rejection_rate"].max() <= GRID_RULES["max_fpr"]
    # The former question-clustered SE is worse in the null cells on average.
    old = grid[(grid["method"] == "clustered-vs-single-model") & (grid["kind"] == "null")]
    assert old["rejection_rate"].mean() > base["rejection_rate"].mean()
    # On the log-odds scale (the base as the typical student) both bounds hold in every cell.
    logit = grid[(grid["method"] == "logit-t") & (grid["comparison"] == "vs base")]
    assert len(logit[logit["kind"] == "null"]) == 360
    assert logit.loc[logit["kind"] == "null", "rejection_rate"].max() <= GRID_RULES["max_fpr"]
    assert logit.loc[logit["kind"] == "effect", "coverage"].min() >= GRID_RULES["min_coverage"]


@pytest.mark.parametrize("index", [0, 257, 431, 700])
def test_a_cell_reruns_to_the_stored_numbers(grid, index):
    scenarios = default_scenarios()
    sc = scenarios[index]
    rows = run_scenario(sc, n_sims=int(grid["n_sims"].iloc[0]), rng=[20261201, index])
    stored = grid.iloc[index * len(rows):(index + 1) * len(rows)]
    for row, (_, s) in zip(rows, stored.iterrows(), strict=True):
        assert (row["method"], row["kind"]) == (s["method"], s["kind"])
        assert row["rejection_rate"] == pytest.approx(s["rejection_rate"], abs=1e-6)
        if not math.isnan(row["coverage"]):
            assert row["coverage"] == pytest.approx(s["coverage"], abs=1e-6)


def test_mean_rate_intercept_gives_the_rate():
    rng = np.random.default_rng(0)
    for rate, sd in ((0.001, 1.0), (0.12, 0.4), (0.9, 3.0)):
        b = mean_rate_intercept(rate, sd, 0.8)
        z = rng.normal(size=400_000) * math.hypot(sd, 0.8)
        assert np.mean(1 / (1 + np.exp(-(b + z)))) == pytest.approx(rate, rel=0.02)


def test_spread_row_is_reported_unbound(grid):
    spread = grid[grid["kind"] == "spread"]
    assert set(spread["method"]) >= {"welch", "pooled-t"}
    summary = grid_summary(grid).set_index(["comparison", "method"])
    assert math.isfinite(summary.loc[("vs control", "welch"), "spread_worst_fpr"])
    # Not a bound, but Welch does better there than pooled variance.
    assert summary.loc[("vs control", "welch"), "spread_worst_fpr"] < \
        summary.loc[("vs control", "pooled-t"), "spread_worst_fpr"]
    assert isinstance(Scenario("spread", 3, 3, 0.1, 0.1, 0.3, 0.0, 50, 50).label, str)


def test_write_table_keeps_the_other_tables(tmp_path):
    from subliminal_stats.stats import calibration_table
    from subliminal_stats.stats.calibration import write_table

    scenarios = default_scenarios()[:2]
    path, summary = write_table(tmp_path / "table.py", n_sims=1000, rng=7, scenarios=scenarios)
    namespace: dict = {}
    exec(compile((tmp_path / "table.py").read_text(), path, "exec"), namespace)
    for name in ("TABLE", "MIXED_FPR"):
        new, old = namespace[name], getattr(calibration_table, name)
        assert new.keys() == old.keys()
        for key in old:  # NaN coverage (p-only methods) compares unequal to itself
            assert np.allclose(new[key], old[key], equal_nan=True), key
    import io

    import pandas as pd

    frame = pd.read_csv(io.StringIO(namespace["GRID_CSV"]), keep_default_na=False,
                        na_values=[""])
    assert len(frame) == 2 * 12 and set(frame["kind"]) == {"null"}
    assert set(summary["method"]) >= {"welch", "pooled-t"}
