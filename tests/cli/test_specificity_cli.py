"""``test`` shows specificity beside the transfer verdict (issue 17).

Simulated answer texts: each student (seed) names the animals of the default panel (and
other things) with seed-level noise; "general shift" = every animal +5 pp, the target no
more; "specific" = only the target rises. The verdicts come from rescoring the text.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from answer_texts import ANIMALS, simulate_texts

from subliminal_stats.stats.specificity import (
    GENERAL_SHIFT,
    NOT_AVAILABLE,
    SPECIFIC,
    check_specificity,
    score_panel,
    specificity_arrays,
)


@pytest.mark.parametrize("lifts, want", [({a: 0.05 for a in ANIMALS}, GENERAL_SHIFT),
                                         ({"owl": 0.08}, SPECIFIC)])
def test_test_shows_the_specificity_of_simulated_answers(cli, tmp_path, lifts, want):
    df = simulate_texts(lifts, rng=11 if want == SPECIFIC else 12)
    path = tmp_path / "r.parquet"
    df.drop(columns="sim").to_parquet(path)
    out = tmp_path / "r.json"
    result = cli("test", path, "--json", out)
    assert result.code == 0, result.err
    row = json.loads(out.read_text())[0]
    assert row["verdict"] == "transfer" and row["specificity"] == want
    assert "specific" in result.out and want in result.out
    assert "animals panel (14 other targets)" in " ".join(result.out.split())
    # The numbers are those of the diagonal test on the rescored answers.
    check = check_specificity(df, trait="owl", treated="treated")[0]
    assert row["specificity_contrast_pp"] == pytest.approx(100 * check.result.contrast)
    assert row["specificity_p"] == pytest.approx(check.result.contrast_p)
    lifted = 100 * (lifts.get("owl", 0) - np.mean([lifts.get(a, 0) for a in ANIMALS if a != "owl"]))
    assert row["specificity_ci_low_pp"] < lifted < row["specificity_ci_high_pp"]
    # A user panel: the given targets only.
    r2 = cli("test", path, "--panel", "cat,dog,lion", "--json", out)
    assert r2.code == 0, r2.err
    assert json.loads(out.read_text())[0]["specificity_panel"] == "cat,dog,lion"
    # --panel none: no column, the same transfer numbers.
    r3 = cli("test", path, "--panel", "none", "--json", out)
    row3 = json.loads(out.read_text())[0]
    assert r3.code == 0 and "specificity" not in row3
    assert row3["estimate_pp"] == row["estimate_pp"] and row3["p_value"] == row["p_value"]


def test_rescored_texts_reach_the_issue_rates_over_simulations():
    """200 simulated studies at 5 seeds per arm through the text pipeline (score_panel): the
    general shift is called so, and the specific transfer specific, in ≥ 95 %."""
    sims = 200
    for lifts, code in (({a: 0.05 for a in ANIMALS}, 1), ({"owl": 0.08}, 2)):
        df = simulate_texts(lifts, sims=sims, rng=code)
        cells = score_panel(df, ANIMALS)
        # Per-seed rates (every seed answered every question equally often: a plain mean).
        rate = (cells.hits / cells.n).groupby([cells.trait, cells.condition, cells.seed],
                                              sort=False).mean()
        arr = {(c, a): rate.loc[(a, c)].to_numpy().reshape(sims, 5)
               for c in ("control", "treated") for a in ANIMALS}
        panel = [a for a in ANIMALS if a != "owl"]
        out = specificity_arrays(arr[("treated", "owl")],
                                 np.stack([arr[("treated", a)] for a in panel], axis=-2),
                                 arr[("control", "owl")],
                                 np.stack([arr[("control", a)] for a in panel], axis=-2))
        share = float(np.mean(out["verdict"] == code))
        print(f"share {code}: {share:.3f}")
        assert share >= 0.95, (lifts, share)


def test_specificity_not_available_says_why(cli, tmp_path):
    df = simulate_texts({"owl": 0.08}, seeds=2, rng=3)
    no_text = df.drop(columns=["response", "sim"])
    path = tmp_path / "n.csv"
    no_text.to_csv(path, index=False)
    out = tmp_path / "n.json"
    r = cli("test", path, "--json", out)
    assert r.code == 0, r.err
    row = json.loads(out.read_text())[0]
    assert row["specificity"] == NOT_AVAILABLE and "no answer text" in row["specificity_note"]
    # A trait in no panel.
    other = df.assign(trait="nyc").drop(columns="sim")
    other.to_parquet(tmp_path / "o.parquet")
    r = cli("test", tmp_path / "o.parquet", "--json", out)
    assert "in no default panel" in json.loads(out.read_text())[0]["specificity_note"]
    # Too few seeds.
    one = df[~df["seed"].isin(["t1-sim0"])].drop(columns="sim")
    one.to_parquet(tmp_path / "s.parquet")
    r = cli("test", tmp_path / "s.parquet", "--json", out)
    assert r.code == 0, r.err
    assert "too few seeds (1 treated, 2 control)" in json.loads(out.read_text())[0][
        "specificity_note"]
    # Against the base model: no specificity row (said), the control row has one.
    base = df[df["condition"] == "control"].assign(condition="base", seed="base").drop(
        columns="sim")
    base["sample"] = np.arange(len(base))
    both = pd.concat([df.drop(columns="sim"), base], ignore_index=True)
    both.to_parquet(tmp_path / "b.parquet")
    r = cli("test", tmp_path / "b.parquet", "--json", out)
    rows = json.loads(out.read_text())
    assert [x["control"] for x in rows] == ["control", "base"]
    assert rows[0]["specificity"] != NOT_AVAILABLE and rows[1]["specificity"] == NOT_AVAILABLE
    assert "against the control students only" in " ".join(r.out.split())
    # A panel file; a bad panel is one line, exit 2.
    (tmp_path / "panel.txt").write_text("# my panel\ncat\ndog  # pets\n")
    r = cli("test", tmp_path / "b.parquet", "--panel", tmp_path / "panel.txt", "--json", out)
    assert json.loads(out.read_text())[0]["specificity_panel"] == "cat,dog"
    r = cli("test", tmp_path / "b.parquet", "--panel", "owl", "--json", out)
    assert r.code == 2 and "names no target other than 'owl'" in r.err
    # A panel file that is not there is refused, not scored as a target named after the path.
    missing = tmp_path / "no_such_panel.txt"
    r = cli("test", tmp_path / "b.parquet", "--panel", missing, "--json", out)
    assert r.code == 2 and r.err.strip() == (
        f"error: panel file {missing} not found: give a comma list (cat,dog), a panel name "
        "(animals, trees) or an existing file")


def test_text_in_only_some_files_is_not_rescored(cli, tmp_path):
    df = simulate_texts({"owl": 0.08}, rng=5).drop(columns="sim")
    df[df["condition"] == "treated"].to_parquet(tmp_path / "t.parquet")
    df[df["condition"] == "control"].drop(columns="response").to_csv(tmp_path / "c.csv",
                                                                     index=False)
    out = tmp_path / "r.json"
    r = cli("test", tmp_path / "t.parquet", tmp_path / "c.csv", "--json", out)
    assert r.code == 0, r.err
    row = json.loads(out.read_text())[0]
    assert row["specificity"] == NOT_AVAILABLE
    assert "c.csv has no response column" in row["specificity_note"]


def test_probe_specificity_column_with_prob_panel(cli, tmp_path):
    """`test --metric prob` on a table with prob_panel (local runs with probe_panel) shows the
    probe's specificity; the contrast is scipy's Welch on per-seed prob − prob_panel."""
    import json

    import numpy as np
    import pandas as pd
    from scipy import stats as sps

    rng = np.random.default_rng(11)
    rows = []
    for condition, lift in (("control", 0.0), ("treated", 0.06)):
        for s in range(4):
            for q in range(5):
                p, panel = 0.1 + lift + rng.normal(0, 0.01), 0.05 + rng.normal(0, 0.01)
                rows += [{"trait": "owl", "condition": condition, "seed": f"{condition}{s}",
                          "question": f"q{q}", "hit": int(k == 0), "prob": p,
                          "prob_panel": panel} for k in range(2)]
    df = pd.DataFrame(rows)
    path = tmp_path / "probe.csv"
    df.to_csv(path, index=False)
    r = cli("test", path, "--metric", "prob", "--json", "-")
    assert r.code == 0, r.err
    row = json.loads(r.out)[0]
    seed = df.groupby(["condition", "seed"])[["prob", "prob_panel"]].mean()
    contrast = seed["prob"] - seed["prob_panel"]
    ref = sps.ttest_ind(contrast["treated"], contrast["control"], equal_var=False)
    assert row["specificity"] == "specific"
    assert row["specificity_p"] == pytest.approx(ref.pvalue, rel=1e-6)
    assert row["specificity_contrast_pp"] == pytest.approx(
        100 * (contrast["treated"].mean() - contrast["control"].mean()), rel=1e-9)
    text = cli("test", path, "--metric", "prob")
    assert "against prob_panel" in text.out and "there is no specificity column" not in text.out
    # ss.test gives the same column, from the file and from the table in memory.
    import subliminal_stats as ss

    columns = [c for c in row if c.startswith("specificity")]
    for data in (path, df):
        got = ss.test(data, metric="prob").to_frame().iloc[0]
        for c in columns:
            if isinstance(row[c], str):
                assert got[c] == row[c], c
            else:
                assert got[c] == pytest.approx(row[c], rel=1e-12, nan_ok=True), c
