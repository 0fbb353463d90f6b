"""CLI: `test`, `plan`, `calibrate` on the bundled example; bad input → one line, exit 2."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from repo_paths import EXAMPLE_CSV

from subliminal_stats.stats import ROW_KEYS


def test_test_command_prints_and_writes_json(cli, tmp_path):
    out = tmp_path / "res.json"
    r = cli("test", EXAMPLE_CSV, "--trait", "owl", "--method", "pooled-t", "--json", out)
    assert r.code == 0, r.err
    assert "pooled-t" in r.out and "t-vs-single-model" in r.out  # base found by default
    assert "18.5" in r.out  # treated − control in pp
    rows = json.loads(out.read_text())
    assert len(rows) == 2
    for row in rows:
        assert set(ROW_KEYS) <= set(row)
    assert rows[0]["control"] == "control" and rows[1]["control"] == "base"
    assert rows[0]["estimate_pp"] == pytest.approx(18.5)
    assert rows[0]["significant"] is True and rows[0]["method"] == "pooled-t"


def test_test_command_options(cli, tmp_path):
    out = tmp_path / "res.json"
    r = cli("test", EXAMPLE_CSV, "--method", "permutation,welch", "--alternative", "greater",
            "--adjust", "bh", "--confidence-level", "0.9", "--json", out)
    assert r.code == 0, r.err
    assert "smallest attainable p is 0.05" in r.out  # one-sided 3 vs 3: 1/20
    rows = json.loads(out.read_text())
    perm = [x for x in rows if x["method"] == "permutation"][0]
    assert perm["ci_high_pp"] is None  # one-sided interval: +inf written as null
    assert perm["alternative"] == "greater" and perm["confidence_level"] == 0.9
    assert rows[0]["adjust_method"].startswith("Benjamini-Hochberg")


def test_test_command_all_zero_prints_reason(cli, tmp_path):
    df = pd.read_csv(EXAMPLE_CSV)
    df["hit"] = 0
    path = tmp_path / "zeros.csv"
    df.to_csv(path, index=False)
    r = cli("test", path, "--method", "welch")
    assert r.code == 0, r.err
    assert "n/a" in r.out and "zero spread between seeds" in r.out
    # The default knows each seed's binomial variance: defined, and no evidence.
    r = cli("test", path, "--json", "-")
    assert r.code == 0, r.err
    assert {(x["method"], x["verdict"], x["p_value"]) for x in json.loads(r.out)} == {
        ("logit-t", "no evidence", 1.0)}
    assert "nan" not in r.out.lower().replace("nan", "", 0) or "NaN" not in r.out


@pytest.mark.parametrize("args, fragment", [
    (["--control", "ctrl"], "unknown condition label 'ctrl'"),
    (["--trait", "cat"], "unknown trait label 'cat'"),
    (["--alternative", "bigger"], "--alternative must be"),
    (["--method", "magic"], "unknown method 'magic'"),
    (["--adjust", "bonferroni"], "adjust must be"),
    (["--confidence-level", "95"], "confidence_level"),
])
def test_test_command_bad_input(cli, args, fragment):
    r = cli("test", EXAMPLE_CSV, *args)
    assert r.code == 2
    assert fragment in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_test_command_one_seed_per_arm(cli, tmp_path):
    df = pd.read_csv(EXAMPLE_CSV)
    df = df[df["seed"].isin(["base", "control-0", "treated-0"])]
    path = tmp_path / "one.csv"
    df.to_csv(path, index=False)
    r = cli("test", path)
    assert r.code == 2 and "one seed each" in r.err


def test_plan_command(cli):
    r = cli("plan", "--effect", "10", "--sd", "5")
    assert r.code == 0, r.err
    assert "7 (exact 6.02)" in r.out
    r = cli("plan", EXAMPLE_CSV, "--seeds", "5")
    assert r.code == 0, r.err
    assert "estimated from pilot data" in r.out and "detectable effect" in r.out
    r = cli("plan", "--effect", "10")
    assert r.code == 2 and "--sd" in r.err


def test_plan_command_on_a_score_and_on_all_zero_hits(cli, tmp_path):
    df = pd.read_csv(EXAMPLE_CSV)
    df = df[df["trait"] == "owl"].copy()
    # One probe value per seed, as the pipeline stores it (repeated on every answer row).
    probe = {s: 0.01 * (1 + i) for i, s in enumerate(sorted(df["seed"].unique()))}
    df["prob"] = df["seed"].map(probe)
    df["hit"] = 0
    path = tmp_path / "probe.csv"
    df.to_csv(path, index=False)
    # Independent figure: pooled within-arm SD of the per-seed probe values (arms of >= 2 seeds).
    per_seed = df.groupby(["condition", "seed"])["prob"].first()
    arms = [g.to_numpy() for _, g in per_seed.groupby(level="condition") if len(g) >= 2]
    ss = sum(((a - a.mean()) ** 2).sum() for a in arms)
    sd_pp = 100 * math.sqrt(ss / sum(len(a) - 1 for a in arms))
    r = cli("plan", path, "--seeds", "3", "--metric", "prob")
    assert r.code == 0, r.err
    assert f"between-seed SD of per-seed mean prob: {sd_pp:.3g} pp" in r.out
    r = cli("plan", path, "--seeds", "3")
    assert r.code == 2 and "between-seed SD 0" in r.err and "--metric prob" in r.err
    assert len(r.err.strip().splitlines()) == 1
    r = cli("plan", path, "--seeds", "3", "--metric", "nope")
    assert r.code == 2 and "no such column" in r.err


def test_calibrate_command(cli, tmp_path):
    out = tmp_path / "cal.json"
    r = cli("calibrate", "--seeds-per-arm", "3", "--questions", "20", "--answers", "10",
            "--n-sims", "1000", "--n-sims-bootstrap", "50", "--resamples", "200",
            "--n-sims-slow", "0", "--json", out)
    assert r.code == 0, r.err
    assert "pooled-t" in r.out and "naive-pooled-z" in r.out and "NO" in r.out
    rows = json.loads(out.read_text())
    default = [x for x in rows if x["method"] == "pooled-t" and x["comparison"] == "vs control"][0]
    assert default["n_sims"] == 1000 and 0.02 < default["rejection_rate"] < 0.08
    assert not math.isnan(default["coverage"])
    r = cli("calibrate", "--seeds-per-arm", "1")
    assert r.code == 2 and "at least 2" in r.err


def test_help_texts_have_examples(cli):
    for command in ("test", "plan", "calibrate"):
        r = cli(command, "--help")
        assert r.code == 0
        assert "Example" in r.out


def test_test_command_experiment_filter_and_mixing_warning(cli, tmp_path):
    df = pd.read_csv(EXAMPLE_CSV)
    other = df.assign(experiment="rerun")
    path = tmp_path / "two_experiments.csv"
    pd.concat([df, other]).to_csv(path, index=False)
    r = cli("test", path)
    assert r.code == 0 and "the table holds 2 experiments" in r.out
    r = cli("test", path, "--experiment", "rerun", "--method", "welch")
    assert r.code == 0 and "experiments" not in r.out and "18.5" in r.out
    r = cli("test", path, "--experiment", "nope")
    assert r.code == 2 and "unknown experiment label 'nope'" in r.err


def test_test_command_default_is_logit_t_with_verdict_family_and_calibration(cli, tmp_path):
    r = cli("test", EXAMPLE_CSV, "--trait", "owl", "--json", "-")
    assert r.code == 0, r.err
    rows = json.loads(r.out)  # '-' = stdout: only the JSON there, the tables on stderr
    assert [(x["method"], x["control"]) for x in rows] == [("logit-t", "control"),
                                                           ("logit-t", "base")]
    assert "Trait rate per arm" in r.err and "multiplicity family: Holm over 1 test(s)" in r.err
    for row in rows:
        assert row["verdict"] in ("transfer", "lower", "no evidence", "design cannot reach α",
                                  "n/a")
        assert row["verdict"] == ("transfer" if row["significant"] and row["estimate_pp"] > 0
                                  else row["verdict"])
        assert row["family"] and row["calibration_sims"] >= 1000
        assert row["calibration"].startswith(("calibrated", "borderline", "NOT CALIBRATED"))


def test_test_command_accepts_less_and_printed_names(cli, tmp_path):
    out = tmp_path / "less.json"
    r = cli("test", EXAMPLE_CSV, "--trait", "owl", "--alternative", "less", "--json", out)
    assert r.code == 0, r.err
    rows = json.loads(out.read_text())
    assert all(row["alternative"] == "less" for row in rows)
    assert rows[0]["ci_low_pp"] is None  # one-sided 'less': (-inf, high]
    assert rows[0]["verdict"] == "no evidence"  # the treated rate is higher, not lower
    for name in ("glmm-map", "glmm", "gee-bias-reduced", "t-vs-single-model"):
        r = cli("test", EXAMPLE_CSV, "--trait", "owl", "--method", name, "--json", "-")
        assert r.code == 0, (name, r.err)
        printed = {row["method"] for row in json.loads(r.out)}
        assert printed, name
    r = cli("test", EXAMPLE_CSV, "--method", "naive-pooled-z")
    assert r.code == 2 and "shown by `calibrate` only" in r.err


def test_one_sided_permutation_at_alpha_is_transfer_and_its_interval_excludes_zero(cli, tmp_path):
    # 3 vs 3 one-sided: smallest p = 1/20 = 0.05 = α. A p of 0.050 must read "transfer",
    # consistent with an interval that excludes 0 (the former code said "no evidence").
    out = tmp_path / "perm.json"
    r = cli("test", EXAMPLE_CSV, "--trait", "owl", "--method", "permutation", "--alternative",
            "greater", "--json", out)
    assert r.code == 0, r.err
    perm = [x for x in json.loads(out.read_text()) if x["method"] == "permutation"][0]
    assert perm["p_value"] == pytest.approx(0.05)
    assert perm["ci_low_pp"] > 0 and perm["verdict"] == "transfer"


def test_json_dash_for_plan_and_calibrate(cli):
    r = cli("plan", "--effect", "10", "--sd", "5", "--sd-treated", "10", "--json", "-")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert rows[0]["sd_treated_pp"] == 10 and rows[0]["seeds_per_arm"] >= 6
    r = cli("calibrate", "--seeds-per-arm", "3", "--n-questions", "10", "--answers-per-question",
            "10", "--n-sims", "200", "--n-sims-bootstrap", "0", "--n-sims-slow", "0",
            "--json", "-")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert {x["calibration"] for x in rows if not x["method"].startswith("naive")} == {
        "unknown (200 simulations)"}


def test_plan_alternative_less_and_two_sds(cli):
    r = cli("plan", "--effect", "10", "--sd", "5", "--alternative", "less")
    assert r.code == 0, r.err
    assert "less" in r.out
    one = cli("plan", "--effect", "10", "--sd", "5", "--alternative", "greater")
    assert one.out.split("seeds needed")[1].split("\n")[0] == \
        r.out.split("seeds needed")[1].split("\n")[0]
    r = cli("plan", EXAMPLE_CSV, "--effect", "10")
    assert r.code == 0, r.err
    assert "80 % upper bound" in r.out and "treated" in r.out


def test_calibrate_data_estimates_the_design(cli, tmp_path):
    out = tmp_path / "cal.json"
    r = cli("calibrate", EXAMPLE_CSV, "--trait", "owl", "--n-sims", "1000", "--json", out)
    assert r.code == 0, r.err
    assert "design: owl vs control: 3 treated seeds" in r.out
    rows = json.loads(out.read_text())
    welch = [x for x in rows if x["method"] == "welch" and x["comparison"] == "vs control"]
    assert {x["scenario"] for x in welch} >= {"null (arms like control)", "effect (as estimated)",
                                               "spread (same mean)"}
    assert all(x["n_sims"] == 1000 for x in welch)
    assert any(x["comparison"] == "vs base" for x in rows)


def test_many_traits_print_one_line_per_shared_note(cli, tmp_path):
    # 12 traits: one "conservative" line and one "no answer text" line, not 12 of each.
    from subliminal_stats.stats import simulate_responses

    df = simulate_responses(traits=tuple(f"t{i:02d}" for i in range(12)), seeds_per_arm=3,
                            n_questions=10, answers_per_question=20, include_base=False, rng=3)
    path = tmp_path / "many.csv"
    df.to_csv(path, index=False)
    r = cli("test", path)
    assert r.code == 0, r.err
    notes = [line for line in r.out.splitlines() if line.startswith("note:")]
    assert sum("comparisons are conservative for their design" in n for n in notes) == 1
    assert not any("conservative here" in n for n in notes)
    assert sum("specific — for 12 traits (t00 treated, t01 treated, t02 treated, …)" in n
               for n in notes) == 1
    rows = json.loads(cli("test", path, "--json", "-").out)
    flagged = sum(any(w.startswith("conservative here") for w in x["warnings"]) for x in rows)
    assert f"note: {flagged} of 12 comparisons" in r.out
