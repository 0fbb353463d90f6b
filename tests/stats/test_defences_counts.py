"""Per-cell counts, many conditions vs one control, defences (efficacy, TOST) and doses.

Real data: ../shared/data/phantom_transfer (public per-question rates, see its README);
those tests skip when it is absent. Calibration of the new intervals: fixed-seed simulations.
"""

from __future__ import annotations

import glob
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from repo_paths import SHARED_DATA

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A
from subliminal_stats.stats import compare, simulate_responses
from subliminal_stats.stats.cells import cell_counts
from subliminal_stats.stats.counts import counts_to_cells, rates_to_cells
from subliminal_stats.stats.defences import dose_trend, efficacy, tost

PHANTOM = SHARED_DATA / "phantom_transfer/gemma-3-12b-it"


def test_counts_table_gives_the_same_results_as_answer_rows():
    rows = simulate_responses(traits=("owl", "cat"), seeds_per_arm=3, include_base=True, rng=3)
    counts = counts_to_cells(cell_counts(rows))
    a = compare(rows, base="base", method="welch,pooled-t,permutation")
    b = compare(counts, base="base", method="welch,pooled-t,permutation")
    assert [r.to_row() for r in a] == [r.to_row() for r in b]
    # In another row order only the last floating-point digits move (summation order).
    shuffled = compare(counts_to_cells(cell_counts(rows).sample(frac=1.0, random_state=1)),
                       base="base", method="welch,pooled-t,permutation")
    for x, y in zip(a, shuffled, strict=True):
        assert (x.trait, x.control, x.method, x.verdict) == (y.trait, y.control, y.method,
                                                             y.verdict)
        assert (y.estimate, y.p_value, y.ci_low) == pytest.approx((x.estimate, x.p_value,
                                                                   x.ci_low), rel=1e-9)
    with pytest.raises(InputError, match="row 1"):
        counts_to_cells(cell_counts(rows).assign(hits=-1))


def test_rates_with_known_n_become_counts_and_odd_rates_are_refused():
    df = pd.DataFrame({"trait": "nyc", "condition": "a", "seed": "42", "question": ["q1", "q2"],
                       "rate": [0.43, 0.07]})
    cells = rates_to_cells(df, n=100)
    assert cells["hits"].tolist() == [43, 7] and cells["n"].tolist() == [100, 100]
    with pytest.raises(InputError, match="not a whole number"):
        rates_to_cells(df.assign(rate=[0.435, 0.07]), n=100)


def test_many_conditions_against_one_control_form_one_family():
    frames = []
    for label, effect, rng in (("a", 1.4, 1), ("b", 0.0, 2), ("c", 0.6, 3)):
        df = simulate_responses(seeds_per_arm=4, include_base=False, effect=effect, rng=rng)
        df = df[df["condition"] == "treated"].assign(condition=label,
                                                     seed=lambda d, lab=label: lab + d["seed"])
        frames.append(df)
    control = simulate_responses(seeds_per_arm=4, include_base=False, rng=9)
    data = pd.concat(frames + [control[control["condition"] == "control"]], ignore_index=True)
    results = compare(data, treated=["a", "b", "c"])
    assert [r.treated for r in results] == ["a", "b", "c"]
    assert all("3 test(s)" in r.family and "'a', 'b', 'c'" in r.family for r in results)
    p = [r.p_value for r in results]
    from statsmodels.stats.multitest import multipletests

    assert [r.p_adjusted for r in results] == pytest.approx(list(multipletests(p,
                                                                               method="holm")[1]))


@pytest.mark.parametrize("n_seeds, sd_ratio", [(3, 1.0), (3, 4.0), (5, 1.0), (10, 3.0)])
def test_tost_false_positive_rate_at_the_margin(n_seeds, sd_ratio):
    # True difference exactly at the margin: "equivalent" must be claimed ≤ 6.5 % of the time.
    rng = np.random.default_rng(n_seeds * 10 + int(sd_ratio))
    delta, sims = 0.02, 4000
    hits = 0
    d = rng.normal(0.10 + delta, 0.01 * sd_ratio, (sims, n_seeds))
    r = rng.normal(0.10, 0.01, (sims, n_seeds))
    for i in range(sims):
        hits += tost(d[i], r[i], margin=delta).equivalent
    assert hits / sims <= 0.065, hits / sims


def test_tost_detects_equivalence_with_enough_seeds():
    rng = np.random.default_rng(5)
    claims = [tost(rng.normal(0.10, 0.005, 10), rng.normal(0.10, 0.005, 10), margin=0.02).equivalent
              for _ in range(200)]
    assert np.mean(claims) > 0.95


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_efficacy_interval_coverage(n_seeds):
    # Undefended 50 %, defended 10 %, reference 5 % (per-seed SDs 6, 3, 1 pp): efficacy 0.889.
    rng = np.random.default_rng(n_seeds)
    truth = (0.50 - 0.10) / (0.50 - 0.05)
    sims, covered = 3000, 0
    u = rng.normal(0.50, 0.06, (sims, n_seeds))
    d = rng.normal(0.10, 0.03, (sims, n_seeds))
    r = rng.normal(0.05, 0.01, (sims, n_seeds))
    for i in range(sims):
        e = efficacy(u[i], d[i], r[i])
        covered += e.ci_low <= truth <= e.ci_high
    assert covered / sims >= 0.935, covered / sims


def test_efficacy_unbounded_when_nothing_transferred():
    e = efficacy([0.10, 0.12, 0.11], [0.10, 0.11, 0.12], [0.11, 0.10, 0.12])
    assert not e.bounded and math.isinf(e.ci_low) and "unbounded" in e.note


def test_dose_trend_one_seed_per_dose_says_so():
    t = dose_trend([0, 10, 25, 50, 100], [0.01, 0.02, 0.05, 0.11, 0.40])
    assert t.slope > 0 and t.df == 3 and t.smallest_detected_dose is None
    assert "1 seed at some dose" in t.note


# ----------------------------------------------------------------------------- real data


def _phantom_cells(pattern: str, entity: str) -> pd.DataFrame:
    rows = []
    for path in sorted(glob.glob(str(PHANTOM / pattern))):
        parts = Path(path).parts
        arm_dir, kind = parts[-4], parts[-2]
        arm, seed = arm_dir.split("-lora-8-seed-")
        stats_json = json.loads(Path(path).read_text())
        n = stats_json["n_samples_per_question"]
        for q, value in enumerate(stats_json["specific"]["values"]):
            rows.append({"trait": entity, "condition": "base" if kind == "base" else arm,
                         "seed": "base" if kind == "base" else seed, "question": f"q{q:02d}",
                         "rate": value, "n": n, "source": arm_dir})
    return pd.DataFrame(rows)


@pytest.mark.skipif(not PHANTOM.exists(), reason="phantom-transfer data not in ../shared/data")
def test_phantom_nyc_defences_against_the_published_rates():
    raw = _phantom_cells("nyc/filter_exp_nonjunk/gemma-3-12b-it/*/eval-nyc/*/stats.json", "nyc")
    # One base model, evaluated alongside several arms: its evaluations are pooled as one model.
    cells = rates_to_cells(raw.drop(columns="source"))
    seed_rates = (cells.assign(rate=cells.hits / cells.n)
                  .groupby(["condition", "seed"])["rate"].mean())
    published = {"undefended": (0.427, 0.532, 0.576), "random": (0.371, 0.446, 0.470),
                 "filter-k16-direct": (0.184, 0.211, 0.167), "filter-k1-direct": (0.321, 0.269,
                                                                                  0.264),
                 "oracle": (0.159, 0.154, 0.164)}
    for arm, rates in published.items():
        ours = [seed_rates[(arm, s)] for s in ("42", "43", "44")]
        assert ours == pytest.approx(list(rates), abs=6e-4), arm
    arms = sorted(c for c in cells["condition"].unique() if c != "base")
    assert len(arms) == 6
    results = compare(cells, treated=arms, control="base")
    assert {r.treated for r in results} == set(arms)
    assert all("6 test(s)" in r.family for r in results)
    base = cells[cells["condition"] == "base"].groupby("question")[["hits", "n"]].sum()
    base_var = float(A.single_model_variance(base["hits"].to_numpy(), base["n"].to_numpy()))
    base_rate = float((base["hits"] / base["n"]).mean())
    u = np.array([seed_rates[("undefended", s)] for s in ("42", "43", "44")])
    table = {}
    for arm in ("filter-k16-direct", "oracle", "filter-k1-direct", "random"):
        d = np.array([seed_rates[(arm, s)] for s in ("42", "43", "44")])
        e = efficacy(u, d, [base_rate], reference_var=base_var)
        eq = tost(d, [base_rate], margin=0.02, reference_var=base_var)
        table[arm] = (e, eq)
        assert e.ci_low <= e.estimate <= e.ci_high
        assert not eq.equivalent  # no defence brings the rate within 2 pp of the base model
    # The oracle removes most of the effect; random removal much less.
    assert table["oracle"][0].estimate > 0.7 > table["random"][0].estimate


@pytest.mark.skipif(not PHANTOM.exists(), reason="phantom-transfer data not in ../shared/data")
def test_phantom_uk_dose_series():
    raw = _phantom_cells("uk/mix/OLMo-2-1124-13B-Instruct/mix*/eval-uk/final/stats.json", "uk")
    cells = rates_to_cells(raw.drop(columns="source"))
    per_seed = cells.assign(rate=cells.hits / cells.n).groupby("condition")["rate"].mean()
    dose = [float(c.removeprefix("mix")) for c in per_seed.index]
    trend = dose_trend(dose, per_seed.to_numpy())
    assert trend.n_doses == 5 and trend.n_seeds == 5 and trend.slope > 0
    assert trend.smallest_detected_dose is None and "1 seed" in trend.note
