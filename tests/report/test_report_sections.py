"""Report glue: the paper's published numbers read back, bundled-run analysis, planning."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from subliminal_stats.errors import InputError
from subliminal_stats.report import sections


def test_published_fig3_reads_back_the_issue_table():
    fig3 = sections.paper_fig3()
    assert len(fig3) == 30 and set(fig3["condition"]) == {"base", "control", "treated"}
    owl = fig3[fig3["trait"] == "owl"].set_index("condition")["rate"]
    assert owl.to_dict() == {"base": 0.125, "control": 0.130, "treated": 0.619}
    diffs = sections.paper_differences(fig3).set_index("trait")
    assert diffs.loc["owl", "treated_minus_control_pp"] == pytest.approx(48.9)
    assert diffs.loc["willow", "treated_minus_control_pp"] == pytest.approx(6.0)
    assert diffs.loc["oak", "control_minus_base_pp"] == pytest.approx(7.5)


def test_owl_interval_inverts_to_the_between_seed_sd():
    owl = sections.paper_owl_interval(sections.paper_fig3())
    # Half-width 0.0295; t(0.975, 2) = 4.302653 (tables); SD = 0.0295 · √3 / 4.302653.
    assert owl.sd_between_seeds == pytest.approx(0.0295 * math.sqrt(3) / 4.302653, rel=1e-6)
    assert owl.midpoint == pytest.approx(0.6195)


def test_welch_from_published_summaries_matches_a_hand_computation():
    sd = 0.02
    table = sections.paper_welch_from_summaries(sections.paper_fig3(), sd_between_seeds=sd).set_index("trait")
    willow = table.loc["willow"]
    # Equal SDs and n: t = diff / (sd · √(2/3)), df = 4 (Welch–Satterthwaite reduces to 2n − 2).
    t = 0.060 / (sd * math.sqrt(2 / 3))
    assert willow["t"] == pytest.approx(t)
    from scipy import stats

    assert willow["p_value"] == pytest.approx(2 * stats.t.sf(t, 4))
    assert willow["df"] == pytest.approx(4.0)
    half = stats.t.ppf(0.975, 4) * sd * math.sqrt(2 / 3)
    assert (willow["ci_low_pp"], willow["ci_high_pp"]) == pytest.approx((100 * (0.06 - half), 100 * (0.06 + half)))
    assert willow["cohen_d"] == pytest.approx(3.0)
    # Same answer as scipy's t test from summary statistics.
    ref = stats.ttest_ind_from_stats(0.070, sd, 3, 0.010, sd, 3, equal_var=False)
    assert willow["t"] == pytest.approx(ref.statistic) and willow["p_value"] == pytest.approx(ref.pvalue)


def test_seeds_plan_reaches_the_power_and_matches_the_textbook_values():
    # Two-sample t, α = 0.05, 80 % power (noncentral t): d = 1 → 16.71 → 17 per arm; d = 2 → 5.09 → 6.
    assert sections.seeds_plan(effect=0.10, sd_between_seeds=0.10).seeds_per_arm == 17
    plan = sections.seeds_plan(effect=0.10, sd_between_seeds=0.05)
    assert plan.seeds_per_arm == 6 and plan.power >= 0.8
    from subliminal_stats.stats.power import power_at

    assert power_at(5, 2.0) < 0.8  # 6 is the smallest that reaches it
    # d ≈ 8.4 (the paper's owl spread, a 10 pp effect): the 3-seed floor already has ~100 % power.
    big = sections.seeds_plan(effect=0.10, sd_between_seeds=0.0119)
    assert big.seeds_per_arm == sections.MIN_SEEDS_PER_ARM and big.power > 0.999


def _mlp_table(rng) -> pd.DataFrame:
    accuracy = {"reference": 0.1, "teacher": 0.95, "aux_same_init": 0.55, "aux_diff_init": 0.1,
                "all_same_init": 0.8, "all_diff_init": 0.3}
    rows = []
    for condition, mean in accuracy.items():
        for seed in range(4):
            hits = rng.random(60) < np.clip(mean + rng.normal(0, 0.03), 0, 1)
            rows += [{"trait": "digits", "condition": condition, "seed": str(seed), "question": f"img{i}",
                      "hit": int(h)} for i, h in enumerate(hits)]
    return pd.DataFrame(rows)


def test_analyse_run_runs_the_mlp_comparisons(tmp_path):
    from subliminal_stats.stats import compare

    df = _mlp_table(np.random.default_rng(7))
    path = tmp_path / "responses.parquet"
    df.to_parquet(path)
    run = sections.analyse_run("mlp_digits", path,
                               comparisons=[(t, c) for t, c, _ in sections.MLP_COMPARISONS])
    assert list(zip(run.tests["treated"], run.tests["control"], strict=True)) == [
        (t, c) for t, c, _ in sections.MLP_COMPARISONS]
    direct = compare(df, treated="aux_same_init", control="aux_diff_init")[0]
    first = run.tests.iloc[0]
    assert first["estimate_pp"] == pytest.approx(direct.estimate_pp)
    assert first["p_value"] == pytest.approx(direct.p_value)
    assert set(run.seeds["condition"]) == set(df["condition"]) and "rate" in run.seeds
    assert len(run.summary) == 6


def test_analyse_run_tests_the_probe_and_gives_detectable_effects(tmp_path):
    from scipy import stats as sps

    from subliminal_stats.stats import simulate_responses

    df = simulate_responses(seeds_per_arm=3, n_questions=10, answers_per_question=5, rng=3)
    seeds = sorted(df.loc[df["condition"] != "base", "seed"].unique())
    probe = {s: 0.001 * (2 + i % 3) + (0.002 if s.startswith("treated") else 0.0)
             for i, s in enumerate(seeds)}
    probe.update({s: 0.002 for s in df.loc[df["condition"] == "base", "seed"].unique()})
    df["prob"] = df["seed"].map(probe)
    path = tmp_path / "responses.parquet"
    df.to_parquet(path)
    run = sections.analyse_run("owl_local", path)
    first = run.probe_tests.iloc[0]
    t = [probe[s] for s in seeds if s.startswith("treated")]
    c = [probe[s] for s in seeds if s.startswith("control")]
    from subliminal_stats.stats import DEFAULT_METHOD

    assert first["control"] == "control" and first["method"] == DEFAULT_METHOD
    ref = sps.ttest_ind(t, c, equal_var=DEFAULT_METHOD == "pooled-t")
    assert first["estimate_pp"] == pytest.approx(100 * (np.mean(t) - np.mean(c)))
    assert first["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert set(run.probe_tests["control"]) == {"control", "base"}
    assert run.probe_summary.set_index("condition").loc["treated", "mean"] == pytest.approx(np.mean(t))
    # Detectable effect on the probe: pooled SD of the two arms, 3 seeds, 80 % power, two-sided.
    sd = math.sqrt((np.var(t, ddof=1) + np.var(c, ddof=1)) / 2)
    # Cohen's d from the noncentral t directly (the code under test uses statsmodels' solver):
    # two-sided power with df = 4 and noncentrality d·sqrt(3/2) equals 0.8.
    from scipy.optimize import brentq

    crit = sps.t.ppf(0.975, 4)

    def power(d):
        nc = d * math.sqrt(3 / 2)
        return sps.nct.sf(crit, 4, nc) + sps.nct.cdf(-crit, 4, nc)

    d = brentq(lambda x: power(x) - 0.8, 0.1, 20, xtol=1e-12)
    probe_row = run.detectable.set_index("measure").loc["mean prob"]
    assert probe_row["sd_between_seeds_pp"] == pytest.approx(100 * sd)
    assert probe_row["detectable_pp"] == pytest.approx(100 * sd * d, rel=1e-6)
    # All-zero hits: no figure, and the row says why.
    zeros = df.assign(hit=0)
    zeros.to_parquet(path)
    row = sections.analyse_run("owl_local", path).detectable.iloc[0]
    assert math.isnan(row["detectable_pp"]) and "between-seed SD 0" in row["note"]


def test_bundled_runs_and_trait_check_errors(tmp_path):
    for name, path in sections.bundled_runs().items():
        assert path.name in ("responses.parquet", "responses.csv") and path.parent.name == name
    df = _mlp_table(np.random.default_rng(1))
    with pytest.raises(InputError, match="condition 'treated' \\(treated\\) is not in"):
        sections.trait_check(df)
    check = sections.trait_check(df, treated="aux_same_init", control="aux_diff_init", base=None)
    assert check.verdict.startswith("Yes: the aux_same_init students show the digits trait more often")
