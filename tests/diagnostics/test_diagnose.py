"""compare, the verdict, the split-half null check, and the tables and figure."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from subliminal_stats.diagnostics import (
    DISTINGUISHABLE,
    NO_EVIDENCE,
    TeacherData,
    compare,
    pairs_of,
    split_half_null,
)
from subliminal_stats.diagnostics.diagnose import holm
from subliminal_stats.diagnostics.presentation import (
    auroc_chart,
    chart_bytes,
    pair_markdown,
    summary_markdown,
)
from subliminal_stats.errors import InputError


def test_holm_is_statsmodels_holm():
    p = [0.01, 0.04, 0.03, 0.2]
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])
    out = holm([0.02, float("nan"), 0.04])
    assert np.isnan(out[1]) and np.allclose([out[0], out[2]], multipletests([0.02, 0.04], method="holm")[1])


def test_split_half_null_of_a_real_teacher_stays_at_alpha(lion):
    # ≥ 200 random halves of one teacher (real Qwen lion outputs, 200 vs 200 sequences):
    # every family and the verdict reject in at most 5 % of splits (+1.5 points: binomial SD
    # at 200 splits); fixed seed, so the numbers below are reproducible
    check = split_half_null(lion, splits=200, resamples=99, rng=3, bag_sizes=(1, 8))
    assert check.splits == 200
    for family, rate in check.rates.items():
        assert rate <= 0.065, (family, check.rejections)
    assert check.verdict_rate <= 0.065, check.to_dict()
    assert check.format_rejections / 200 <= 0.065


def test_planted_difference_is_distinguishable_and_reported(lion):
    # B: the same teacher with every 7 in 30 % of sequences rewritten to 777 — content differs
    gen = np.random.default_rng(0)
    shifted = []
    for numbers in lion.numbers:
        n = list(numbers)
        if gen.random() < 0.3:
            n[0] = 777
        shifted.append(", ".join(map(str, n)))
    b = TeacherData.from_responses("planted", shifted)
    res = compare(lion, b, resamples=199, rng=1, bag_sizes=(1, 8))
    assert res.verdict == DISTINGUISHABLE and "number frequencies" in res.by_what
    top = res.numbers.top(1, direction="b")[0]
    assert top["feature"] == "777" and top["p_adjusted"] <= 0.01
    md = pair_markdown(res, top=3)
    assert "| 777 |" in md and "**distinguishable**" in md
    table = summary_markdown([res])
    assert table.count("\n") == 3 and "distinguishable (number frequencies" in table
    d = res.to_dict(top=2)
    # only 777 gained share in B (every other number lost some to it)
    assert d["verdict"] == DISTINGUISHABLE and len(d["numbers"]["top_a"]) == 2
    assert [r["feature"] for r in d["numbers"]["top_b"]] == ["777"]
    assert chart_bytes(auroc_chart([res]), ".svg").startswith(b"<svg")


def test_two_real_teachers_on_the_small_fixture(lion, dolphin):
    res = compare(lion, dolphin, resamples=199, rng=0)
    assert res.shared_prompts == 7
    assert res.verdict in (DISTINGUISHABLE, NO_EVIDENCE)
    assert set(res.family_p) == {"number frequencies", "digit positions", "detector"}
    assert all(res.family_p_holm[k] >= res.family_p[k] for k in res.family_p)
    assert [r.k for r in res.detector.content.rows] == [1, 8, 16, 64]


def test_pairs():
    a, b, c = (TeacherData.from_responses(n, ["1, 2", "3, 4"]) for n in "abc")
    assert [(x.name, y.name) for x, y in pairs_of([a, b, c], "each")] == [("a", "b"), ("a", "c"), ("b", "c")]
    rest = pairs_of([a, b, c], "rest")
    assert [(x.name, y.name, len(y)) for x, y in rest] == [("a", "rest of a", 4), ("b", "rest of b", 4),
                                                          ("c", "rest of c", 4)]
    with pytest.raises(InputError, match="share a name"):
        pairs_of([a, a])
    with pytest.raises(InputError, match="at least two"):
        pairs_of([a])
