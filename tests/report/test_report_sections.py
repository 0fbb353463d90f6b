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
    # Two-sample t, α = 0.05, 80 % power (noncentral t on 2n − 2 df) with the default test's
    # critical value on Hsu's n − 1 df: d = 1 → 17.61 → 18 per arm; d = 2 → 6.02 → 7 (the
    # textbook pooled t: 16.71 → 17 and 5.09 → 6).
    assert sections.seeds_plan(effect=0.10, sd_between_seeds=0.10).seeds_per_arm == 18
    plan = sections.seeds_plan(effect=0.10, sd_between_seeds=0.05)
    assert plan.seeds_per_arm == 7 and plan.power >= 0.8
    from subliminal_stats.stats.power import power_at, welch_power

    assert welch_power(6, 0.10, 0.05, 0.05, df_rule="hsu") < 0.8  # 7 is the smallest
    assert power_at(5, 2.0) < 0.8 < power_at(6, 2.0)  # the pooled t's 6
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
    from subliminal_stats.stats.methods import SCORE_DEFAULT_METHOD

    # A score has no binomial log-odds: its default is Welch's t on per-seed means.
    assert first["control"] == "control" and first["method"] == SCORE_DEFAULT_METHOD == "welch"
    ref = sps.ttest_ind(t, c, equal_var=False)
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


# --- specificity, defences and doses (issue 17) --------------------------------------------

import glob  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from repo_paths import SHARED_DATA  # noqa: E402

PHANTOM = SHARED_DATA / "phantom_transfer/gemma-3-12b-it"
needs_phantom = pytest.mark.skipif(not PHANTOM.exists(),
                                   reason="phantom-transfer data not in ../shared/data")
NYC_DEFENCES = ["random", "filter-k1-direct", "filter-k16-direct", "filter-base-untrained",
                "oracle"]


def _phantom_cells(pattern: str, entity: str) -> pd.DataFrame:
    """The published per-question rates (stats.json) as counts; the base model, evaluated
    beside every arm, pooled as one model."""
    from subliminal_stats.stats.counts import rates_to_cells

    rows = []
    for path in sorted(glob.glob(str(PHANTOM / pattern))):
        parts = Path(path).parts
        arm, seed = parts[-4].split("-lora-8-seed-")
        stats_json = json.loads(Path(path).read_text())
        base = parts[-2] == "base"
        for q, value in enumerate(stats_json["specific"]["values"]):
            rows.append({"trait": entity, "condition": "base" if base else arm,
                         "seed": "base" if base else seed, "question": f"q{q:02d}",
                         "rate": value, "n": stats_json["n_samples_per_question"]})
    return rates_to_cells(pd.DataFrame(rows))


def _nyc() -> pd.DataFrame:
    return _phantom_cells("nyc/filter_exp_nonjunk/gemma-3-12b-it/*/eval-nyc/*/stats.json", "nyc")


@needs_phantom
def test_defence_section_on_the_phantom_nyc_experiment():
    from scipy import stats as sps

    cells = _nyc()
    view = sections.defence_check(cells, trait="nyc", undefended="undefended",
                                  defences=NYC_DEFENCES, reference="base", margin_pp=5.0)
    seeds = view.seeds.set_index(["condition", "seed"])["rate"]
    published = {"undefended": (0.427, 0.532, 0.576), "random": (0.371, 0.446, 0.470),
                 "filter-k16-direct": (0.184, 0.211, 0.167),
                 "filter-k1-direct": (0.321, 0.269, 0.264), "oracle": (0.159, 0.154, 0.164)}
    for arm, rates in published.items():
        assert [seeds[(arm, s)] for s in ("42", "43", "44")] == pytest.approx(rates, abs=6e-4)
    rows = view.rows.set_index("defence")
    u = np.array(published["undefended"])
    base = cells[cells["condition"] == "base"]
    b = float((base["hits"] / base["n"]).mean())
    # Base variance by hand: Σ_q (1/Q)² p̃(1 − p̃)/n_q with p̃ = (H + 1)/(N + 2).
    p_tilde = (base["hits"].sum() + 1) / (base["n"].sum() + 2)
    v_base = float(((1 / len(base)) ** 2 / base["n"]).sum() * p_tilde * (1 - p_tilde))
    for arm in NYC_DEFENCES:
        d = np.array([seeds[(arm, s)] for s in ("42", "43", "44")])
        row = rows.loc[arm]
        assert row["efficacy"] == pytest.approx((u.mean() - d.mean()) / (u.mean() - b), abs=2e-3)
        assert row["undefended_effect_pp"] == pytest.approx(100 * (u.mean() - b), abs=0.1)
        # TOST at δ = 5 pp: its 90 % interval is the seeds' t interval (df ≤ 2·(3 − 1))
        # widened by the base model's variance; none lies inside ±5 pp here.
        se = np.sqrt(d.var(ddof=1) / 3 + v_base)
        assert row["tost_difference_pp"] == pytest.approx(100 * (d.mean() - b), abs=1e-9)
        half = (row["tost_ci_high_pp"] - row["tost_ci_low_pp"]) / 2
        assert 100 * sps.t.ppf(0.95, 4) * se - 1e-9 <= half <= 100 * sps.t.ppf(0.95, 2) * se + 1e-9
        assert not row["equivalent"] and "±5 pp" in row["tost_verdict"]
    # Measured (Fieller, Welch df): oracle removes 72.9 % [57.7, 80.3] of the undefended
    # effect, random 17.1 % [−18.2, 40.3]; filter k16 67.0 % [52.8, 76.5] (wider with the
    # defences owner's Hsu df now being calibrated: oracle [54.8, 80.9]).
    assert rows.loc["oracle", "efficacy_ci_low"] > 0.5 and rows.loc["random", "efficacy_ci_low"] < 0
    assert rows["efficacy_bounded"].all()
    shown = sections.defence_display(view)
    assert "TOST δ = 5 pp: diff [90 % CI]" in shown.columns
    assert list(view.summary["condition"]) == ["base", "undefended", *NYC_DEFENCES]
    with pytest.raises(InputError, match="no arm 'filter-k2'"):
        sections.defence_check(cells, trait="nyc", undefended="undefended",
                               defences=["filter-k2"], reference="base")
    with pytest.raises(InputError, match="margin must be a positive"):
        sections.defence_check(cells, trait="nyc", undefended="undefended",
                               defences=["oracle"], reference="base", margin_pp=0)


@needs_phantom
def test_dose_section_on_the_phantom_uk_mix_series():
    from scipy import stats as sps

    cells = _phantom_cells("uk/mix/OLMo-2-1124-13B-Instruct/*/eval-uk/*/stats.json", "uk")
    doses = {"mix0": 0, "mix10": 10, "mix25": 25, "mix50": 50, "mix100": 100}
    view = sections.dose_check(cells, trait="uk", doses="mix0=0,mix10=10,mix25=25,mix50=50,"
                                                        "mix100=100")
    rates = cells.assign(r=cells.hits / cells.n).groupby("condition")["r"].mean()
    ref = sps.linregress(list(doses.values()), [rates[a] for a in doses])
    assert view.trend.slope == pytest.approx(ref.slope) and view.trend.p_value == pytest.approx(
        ref.pvalue)
    # Measured: 0.396 pp per % poisoned, p = 0.007; one seed per dose → the caveat.
    assert 100 * view.trend.slope == pytest.approx(0.396, abs=5e-4)
    assert "1 seed at some dose" in view.caveat and view.trend.smallest_detected_dose is None
    assert "pp per % poisoned" in sections.dose_sentence(view, unit="% poisoned")
    with pytest.raises(InputError, match="is not a number"):
        sections.parse_doses("mix0=zero")


def _texts(tmp_path) -> Path:
    """Simulated answer texts (tests/cli): a specific transfer arm and a general-shift arm."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
    try:
        from test_specificity_cli import ANIMALS, simulate_texts
    finally:
        sys.path.pop(0)
    specific = simulate_texts({"owl": 0.08}, rng=11).drop(columns="sim")
    shifted = simulate_texts({a: 0.05 for a in ANIMALS}, rng=12).drop(columns="sim")
    shifted = shifted[shifted["condition"] == "treated"].assign(
        condition="transformed", seed=lambda d: "x" + d["seed"])
    path = tmp_path / "texts.parquet"
    pd.concat([specific, shifted], ignore_index=True).to_parquet(path)
    return path


def test_specificity_section_matrix_and_diagonal(tmp_path):
    from subliminal_stats.words import score_answers

    path = _texts(tmp_path)
    check = sections.trait_check(str(path), trait="owl", base=None)
    arms = sections.student_arms(check)
    assert arms == ["treated", "transformed"]
    view = sections.specificity_check(check.data, trait="owl", treated=arms)
    assert view.available and view.panel_name == "animals" and len(view.panel) == 14
    diag = view.diagonal.set_index("students")
    assert diag.loc["treated", "specificity"] == "specific"
    assert diag.loc["transformed", "specificity"] == "general shift"
    # The matrix by hand: score every answer for the target, per-seed means, arm difference.
    df = pd.read_parquet(path)
    for target in ("owl", "cat", "wolf"):
        hit = score_answers(df["response"], target)
        per_seed = (df.assign(h=hit).groupby(["condition", "seed", "question"])["h"].mean()
                    .groupby(["condition", "seed"]).mean().groupby("condition").mean())
        for arm in arms:
            cell = view.matrix[(view.matrix["students"] == arm) & (view.matrix["target"] == target)]
            assert float(cell["lift_pp"].iloc[0]) == pytest.approx(
                100 * (per_seed[arm] - per_seed["control"]))
    assert view.matrix.loc[view.matrix["is_target"], "target"].eq("owl").all()
    assert diag.loc["treated", "contrast_pp"] == pytest.approx(
        diag.loc["treated", "target_lift_pp"] - diag.loc["treated", "panel_lift_pp"])
    # No text → no section, and why.
    none = sections.specificity_check(check.data.drop(columns="response"), trait="owl",
                                      treated=arms)
    assert not none.available and "no answer text" in none.reason


def _standin_on_path(tmp_path: Path, monkeypatch) -> None:
    """A `quarto` on PATH that runs the stand-in with QUARTO_PYTHON (as test_report_render)."""
    standin = Path(__file__).with_name("quarto_standin.py")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "quarto"
    fake.write_text(f'#!/bin/sh\nexec "$QUARTO_PYTHON" {standin} "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")


def _text_of(html_text: str) -> str:
    text = re.sub(r"<svg.*?</svg>", " ", html_text, flags=re.S)
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", text, flags=re.S)
    import html as _html

    return " ".join(_html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


@needs_phantom
def test_phantom_nyc_report_renders_the_defences_through_the_quarto_standin(
        tmp_path, monkeypatch, cli):
    from subliminal_stats.report.render import missing_quarto_modules

    if missing_quarto_modules(params=True):
        pytest.skip("the report extra (ipykernel, nbclient, papermill) is not installed")
    counts = tmp_path / "nyc_counts.csv"
    _nyc().to_csv(counts, index=False)
    _standin_on_path(tmp_path, monkeypatch)
    out = tmp_path / "out"
    r = cli("report", "trait", counts, "-P", "trait=nyc", "-P", "treated=undefended",
            "-P", "control=base", "-P", "base=", "--defences", ",".join(NYC_DEFENCES),
            "--reference", "base", "--margin", "5", "--renderer", "quarto", "--figures",
            "--dose-unit", "% poisoned", "--out", out)  # "% poisoned": not plain YAML, quoted
    assert r.code == 0, r.err
    page = (out / "trait.html").read_text(encoding="utf-8")
    assert "quarto stand-in" in page and "https://" not in page  # printed Markdown only
    text = _text_of(page)
    assert "Defences" in text and "±5 pp" in text and "δ = 5 pp" in text
    # Each defence's table shows what stats.defences computes (its interval method is being
    # calibrated elsewhere: the report follows it); oracle removes ≈ 73 % of the effect and is
    # not blocked within ±5 pp of the base model.
    view = sections.defence_check(_nyc(), trait="nyc", undefended="undefended",
                                  defences=NYC_DEFENCES, reference="base", margin_pp=5.0)
    shown = sections.defence_display(view).set_index("defence")
    rows = view.rows.set_index("defence", drop=False)
    for arm in NYC_DEFENCES:
        table = text[text.index(f"Defence: {arm}"):][:1200]
        assert shown.loc[arm, "efficacy % [95 % CI]"] in table
        assert shown.loc[arm, "TOST δ = 5 pp: diff [90 % CI]"] in table
        assert sections.defence_note(rows.loc[arm])[:40] in table
    assert shown.loc["oracle", "efficacy % [95 % CI]"].startswith("72.9 [")
    assert "not shown to be blocked (within ±5 pp not established)" in shown.loc["oracle",
                                                                                 "verdict"]
    assert "Specificity not tested: the table has no answer text" in text
    assert (out / "figures" / "defence-rates.svg").is_file()


def test_dose_and_specificity_sections_in_the_fallback_render(tmp_path, cli):
    path = _texts(tmp_path)
    df = pd.read_parquet(path)
    # A dose column: the transformed arm at dose 1, the others at 0 (a toy dose series).
    df["dose"] = (df["condition"] == "transformed").astype(float)
    df.to_parquet(path)
    out = tmp_path / "out"
    r = cli("report", "trait", path, "-P", "base=", "--renderer", "fallback", "--figures",
            "--dose-unit", "% poisoned", "--out", out)
    assert r.code == 0, r.err
    text = _text_of((out / "trait.html").read_text(encoding="utf-8"))
    assert "Specificity" in text and "the bundled animals panel" in text
    assert re.search(r"treated [\d.]+ [−\d.]+ [\d.]+ \[[\d.]+, [\d.]+\] [<\d.]+ specific", text)
    assert "transformed" in text and "general shift" in text
    assert "Doses" in text and "pp per % poisoned" in text
    for name in ("specificity-matrix", "dose-trend"):
        assert (out / "figures" / f"{name}.svg").is_file()
    # --defences with a flag that belongs to the trait report only.
    r = cli("report", "paper", "--defences", "x", "--out", out)
    assert r.code == 2 and "applies to the trait report" in r.err
