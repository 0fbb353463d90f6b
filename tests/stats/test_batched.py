"""The vectorised pass over many traits gives exactly what the one-trait-at-a-time path gives.

``compare`` (default log-odds t, grid calibration) and ``summarize`` stack the arms whose every
seed answered every question (``cells.arm_index``) and compute them together; below
``api.BATCH_MIN_COMPARISONS`` they run one at a time. Same numbers, to the last digit, on a
table that mixes every case the batch must hand back or take: irregular arms (a seed that
skipped questions), 2 to 5 seeds, a one-seed base, several treated arms, zero-spread arms.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from subliminal_stats.stats import api, compare, simulate_responses, summarize
from subliminal_stats.stats.cells import arm_index, cell_counts


def _table() -> pd.DataFrame:
    frames = []
    for t in range(24):
        df = simulate_responses(traits=(f"t{t}",), seeds_per_arm=2 + t % 4, n_questions=6,
                                answers_per_question=5, effect=0.3 * (t % 3), rng=t)
        if t % 5 == 0:  # a control seed skipped a question: this trait goes one at a time
            seed = df.loc[df["condition"] == "control", "seed"].iloc[0]
            question = df["question"].iloc[0]
            df = df[~((df["seed"] == seed) & (df["question"] == question)
                      & (df["condition"] == "control"))]
        if t % 7 == 3:  # a second treated arm
            extra = df[df["condition"] == "treated"].copy()
            extra["condition"] = "treated-b"
            extra["seed"] = extra["seed"].astype(str) + "b"
            extra["hit"] = np.random.default_rng(t).integers(0, 2, len(extra))
            df = pd.concat([df, extra])
        if t == 4:  # every seed the same rate: zero spread
            df = df.assign(hit=0)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _rows(results) -> list[dict]:
    return [r.to_row() for r in results]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def _assert_identical(batched: list[dict], one_by_one: list[dict]) -> None:
    assert len(batched) == len(one_by_one)
    for x, y in zip(batched, one_by_one, strict=True):
        assert x.keys() == y.keys()
        different = {k: (x[k], y[k]) for k in x if not _same(x[k], y[k])}
        assert not different, (x["trait"], x["treated"], x["control"], different)


@pytest.mark.parametrize("options", [
    {"base": "base"},
    {"base": "base", "alternative": "greater", "confidence_level": 0.9},
    {"treated": ["treated"], "adjust": "bh"},
])
def test_compare_batched_equals_one_at_a_time(monkeypatch, options):
    df = _table()
    index = arm_index(cell_counts(df))
    assert index.stacks and len(index.where) < len(index.keys)  # both paths are exercised
    batched = _rows(compare(df, **options))
    monkeypatch.setattr(api, "BATCH_MIN_COMPARISONS", 10**9)
    one_by_one = _rows(compare(df, **options))
    _assert_identical(batched, one_by_one)
    assert any(r["control"] == "base" for r in batched) == ("base" in options)


def test_compare_batched_several_treated_arms(monkeypatch):
    df = _table()
    df = df[df["trait"].isin(["t3", "t10", "t17"]) | (df["condition"] != "treated-b")]
    keep = sorted(set(df.loc[df["condition"] == "treated-b", "trait"]))
    df = df[df["trait"].isin(keep)]
    many = pd.concat([df.assign(trait=df["trait"] + f"-{k}") for k in range(4)])
    options = {"treated": ["treated", "treated-b"], "base": "base"}
    batched = _rows(compare(many, **options))
    monkeypatch.setattr(api, "BATCH_MIN_COMPARISONS", 10**9)
    _assert_identical(batched, _rows(compare(many, **options)))


def test_summarize_batched_equals_one_at_a_time(monkeypatch):
    df = _table()
    batched = summarize(df, confidence_level=0.9)
    monkeypatch.setattr(api, "BATCH_MIN_COMPARISONS", 10**9)
    one_by_one = summarize(df, confidence_level=0.9)
    pd.testing.assert_frame_equal(batched, one_by_one, check_exact=True)
    zero = batched[(batched["trait"] == "t4") & (batched["condition"] == "treated")]
    assert zero["note"].iloc[0].startswith("every seed has rate 0 %")


def test_arm_index_matches_arm_data():
    from subliminal_stats.stats.cells import arm_data, split_by_trait

    cells = cell_counts(_table())
    index = arm_index(cells)
    by_trait = split_by_trait(cells)
    assert list(index.keys) == [(t, c) for t, tc in by_trait.items() for c in tc.conditions]
    irregular = 0
    for trait, condition in index.keys:
        stacked = index.arm(trait, condition)
        arm = arm_data(by_trait[trait], trait=trait, condition=condition)
        if stacked is None:
            irregular += 1
            assert not arm.asked.all()
            continue
        assert stacked.seeds == arm.seeds
        np.testing.assert_array_equal(stacked.hits, arm.hits)
        np.testing.assert_array_equal(stacked.n, arm.n)
    assert irregular == 5  # the control arms of t0, t5, t10, t15, t20
