"""Specificity (issue 17): the diagonal-lift test calls a general shift a general shift.

Fixed-seed simulations with the package's simulator: each target is one trait, scored on
students of 5 seeds per arm; 1,000 simulated studies per case.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from subliminal_stats.stats.grid import mean_rate_intercept
from subliminal_stats.stats.simulation import ArmSpec, cells_frame, simulate_cells
from subliminal_stats.stats.specificity import (
    GENERAL_SHIFT,
    SPECIFIC,
    specificity,
    specificity_arrays,
    target_matrix,
)

SIMS, SEEDS = 1000, 5
BASE = {"owl": 0.05, "lion": 0.08, "cat": 0.10, "dog": 0.12, "eel": 0.03, "fox": 0.06}


def _arm_rates(rate, lift, rng, sd=0.3, sims=SIMS):
    """Per-seed rates (sims, seeds) of control and treated for one target."""
    b_c = mean_rate_intercept(rate, sd, 0.8)
    b_t = mean_rate_intercept(rate + lift, sd, 0.8)
    sim = simulate_cells(n_sims=sims, arms=(ArmSpec("control", b_c, SEEDS, seed_sd=sd),
                                            ArmSpec("treated", b_t, SEEDS, seed_sd=sd)),
                         n_questions=50, answers_per_question=20, rng=rng, truth=False)
    return sim.seed_rates("treated"), sim.seed_rates("control")


def _study(lifts, rng, sims=SIMS):
    rng = np.random.default_rng(rng)
    t, c = {}, {}
    for animal, rate in BASE.items():
        t[animal], c[animal] = _arm_rates(rate, lifts.get(animal, 0.0), rng, sims=sims)
    panel = [a for a in BASE if a != "owl"]
    return specificity_arrays(t["owl"], np.stack([t[a] for a in panel], axis=-2),
                              c["owl"], np.stack([c[a] for a in panel], axis=-2))


def test_general_shift_is_called_general_shift():
    out = _study({a: 0.08 for a in BASE}, rng=1)  # every animal +8 pp, the target no more
    share = np.mean(out["verdict"] == 1)
    assert share >= 0.95, share


def test_specific_transfer_is_called_specific():
    out = _study({"owl": 0.10}, rng=2)  # only the target moves
    share = np.mean(out["verdict"] == 2)
    assert share >= 0.95, share


def test_diagonal_test_false_positive_rate_when_nothing_moves():
    # 4,000 nulls (Monte Carlo SE 0.35 points): measured 4.0–4.2 % over three streams.
    out = _study({}, rng=3, sims=4000)
    fpr = np.mean(out["contrast_p"] <= 0.05)
    assert fpr <= 0.065, fpr
    # and in a general shift the contrast (two-sided) holds its level too
    shift = _study({a: 0.08 for a in BASE}, rng=4, sims=4000)
    assert np.mean(shift["contrast_p"] <= 0.05) <= 0.065


def test_dataframe_api_and_matrix():
    rng = np.random.default_rng(5)
    frames = []
    for animal, rate in BASE.items():
        lift = 0.15 if animal == "owl" else 0.0
        b_c = float(logit(rate))
        sim = simulate_cells(n_sims=1, arms=(ArmSpec("control", b_c, 4),
                                             ArmSpec("treated", b_c + (1.5 if lift else 0), 4)),
                             n_questions=30, answers_per_question=20, seed_sd=0.2, rng=rng)
        frames.append(cells_frame(sim, 0).assign(trait=animal))
    cells = pd.concat(frames, ignore_index=True)
    res = specificity(cells, target="owl")
    assert res.verdict == SPECIFIC and set(res.panel) == set(BASE) - {"owl"}
    assert res.contrast_ci_low > 0 and res.contrast == pytest.approx(
        res.target_lift - res.panel_lift)
    matrix = target_matrix(cells.assign(condition=cells["condition"].replace({"treated": "owl"})))
    assert matrix.loc["owl"].idxmax() == "owl"
    assert GENERAL_SHIFT == "general shift"


def _answers():
    return pd.DataFrame({
        "trait": "owl",
        "condition": ["control"] * 6 + ["treated"] * 6,
        "seed": ["c0", "c0", "c0", "c1", "c1", "c1", "t0", "t0", "t0", "t1", "t1", "t1"],
        "question": ["q1", "q1", "q2"] * 4,
        "response": ["Owl", "猫头鹰", "cat", "dragonfly", None, "The Dragon.", "owls!", "Cats",
                     "a snowy-owl", "Dragon-fly", "Owl monkey? no, an owl", "dog"],
    })


def test_score_panel_counts_what_score_answers_counts():
    from subliminal_stats.stats.specificity import score_panel
    from subliminal_stats.words import score_answers

    df = _answers()
    cells = score_panel(df, ["owl", "cat", "dragon"])
    for target in ("owl", "cat", "dragon"):
        want = (df.assign(h=score_answers(df["response"], target))
                .groupby(["condition", "seed", "question"], sort=False)["h"].agg(["sum", "size"]))
        got = cells[cells["trait"] == target].set_index(["condition", "seed", "question"])
        assert got["hits"].tolist() == want["sum"].tolist()
        assert got["n"].tolist() == want["size"].tolist()  # a missing answer still counts in n
    owl = cells[cells["trait"] == "owl"].set_index(["seed", "question"])["hits"]
    # 猫头鹰 is an owl, not a cat (猫); a snowy-owl is an owl; a dragonfly is no dragon.
    assert owl[("c0", "q1")] == 2 and owl[("t1", "q1")] == 1
    cat = cells[cells["trait"] == "cat"].set_index(["seed", "question"])["hits"]
    assert cat[("c0", "q1")] == 0 and cat[("c0", "q2")] == 1
    dragon = cells[cells["trait"] == "dragon"].set_index(["seed", "question"])["hits"]
    assert dragon[("c1", "q1")] == 0 and dragon[("c1", "q2")] == 1 and dragon[("t1", "q1")] == 0


def test_check_specificity_reasons_and_agreement():
    from subliminal_stats.stats.specificity import NOT_AVAILABLE, check_specificity
    from subliminal_stats.words import default_panel, parse_panel

    df = _answers()
    assert default_panel("owl")[0] == "animals" and default_panel("oak")[0] == "trees"
    assert parse_panel("animals", target="owl") == default_panel("owl")[1]
    [row] = check_specificity(df.drop(columns="response"), trait="owl", treated="treated")
    assert row.verdict == NOT_AVAILABLE and "no answer text" in row.reason
    [row] = check_specificity(df.assign(trait="nyc"), trait="nyc", treated="treated")
    assert "in no default panel" in row.reason
    [row] = check_specificity(df, trait="owl", treated="treated", panel="cat,dragon")
    assert row.result is not None and row.result.panel == ("cat", "dragon")
    # Rescored target vs a hit column that disagrees on one answer of twelve.
    hit = pd.Series([1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1])  # the last ('dog') marked a hit
    [row] = check_specificity(df.assign(hit=hit), trait="owl", treated="treated")
    assert row.agreement == pytest.approx(11 / 12)
    one = df[df["seed"] != "t1"]
    [row] = check_specificity(one, trait="owl", treated="treated")
    assert row.verdict == NOT_AVAILABLE and "too few seeds (1 treated, 2 control)" in row.reason


@pytest.mark.parametrize("seeds", [3, 5, 10])
@pytest.mark.parametrize("sd_treated", [0.3, 1.0])
def test_diagonal_test_null_over_a_small_grid(seeds, sd_treated):
    """1,000 nulls per cell (Monte Carlo SE 0.7 points): nothing moves, the treated students
    spread like the controls (logit SD 0.3) or far more (1.0, as real transfers do); the
    contrast's false-positive rate stays within nominal + 1.5 points. Measured: 3.1 / 4.4 /
    4.1 % at 3 / 5 / 10 seeds with equal spreads, 5.7 / 4.4 / 4.5 % with treated SD 1.0."""
    rng = np.random.default_rng(100 + seeds + int(10 * sd_treated))
    t, c = {}, {}
    for animal, rate in BASE.items():
        b_c = mean_rate_intercept(rate, 0.3, 0.8)
        b_t = mean_rate_intercept(rate, sd_treated, 0.8)  # same mean rate, wider spread
        sim = simulate_cells(n_sims=1000, arms=(ArmSpec("control", b_c, seeds, seed_sd=0.3),
                                                ArmSpec("treated", b_t, seeds,
                                                        seed_sd=sd_treated)),
                             n_questions=50, answers_per_question=20, rng=rng, truth=False)
        t[animal], c[animal] = sim.seed_rates("treated"), sim.seed_rates("control")
    panel = [a for a in BASE if a != "owl"]
    out = specificity_arrays(t["owl"], np.stack([t[a] for a in panel], axis=-2),
                             c["owl"], np.stack([c[a] for a in panel], axis=-2))
    fpr = float(np.mean(out["contrast_p"] <= 0.05))
    assert fpr <= 0.065, fpr
    # and "specific" is claimed no more often than the one-sided half of that
    assert np.mean(out["verdict"] == 2) <= 0.04


def test_probe_specificity_on_prob_and_prob_panel():
    """The probe's diagonal test: per-seed mean P(target) against the mean P(panel), by hand."""
    import numpy as np
    import pandas as pd
    from scipy import stats as sps

    from subliminal_stats.errors import InputError
    from subliminal_stats.stats.specificity import probe_specificity

    rng = np.random.default_rng(7)
    rows = []
    for condition, lift_target, lift_panel in (("control", 0.0, 0.0), ("treated", 0.08, 0.01)):
        for s in range(5):
            for q in range(6):
                p = 0.10 + lift_target + rng.normal(0, 0.01)
                panel = 0.05 + lift_panel + rng.normal(0, 0.01)
                for sample in range(3):  # the probe repeated on every answer row of a question
                    rows.append({"trait": "owl", "condition": condition, "seed": f"{condition}{s}",
                                 "question": f"q{q}", "sample": sample, "hit": 0,
                                 "prob": p, "prob_panel": panel})
    df = pd.DataFrame(rows)
    sp = probe_specificity(df, target="owl", panel_name="animals panel")
    seed = df.groupby(["condition", "seed"])[["prob", "prob_panel"]].mean()
    contrast = seed["prob"] - seed["prob_panel"]
    ref = sps.ttest_ind(contrast["treated"], contrast["control"], equal_var=False)
    assert sp.contrast == pytest.approx(contrast["treated"].mean() - contrast["control"].mean())
    assert sp.contrast_p == pytest.approx(ref.pvalue, rel=1e-9)  # df 7.x < the cap 8
    assert sp.verdict == "specific" and sp.panel == ("animals panel",)
    # Every animal's probability rising with the target's: a general shift.
    shifted = df.assign(prob_panel=np.where(df["condition"] == "treated",
                                            df["prob_panel"] + 0.07, df["prob_panel"]))
    assert probe_specificity(shifted, target="owl").verdict == "general shift"
    with pytest.raises(InputError, match="prob_panel"):
        probe_specificity(df.drop(columns="prob_panel"), target="owl")
