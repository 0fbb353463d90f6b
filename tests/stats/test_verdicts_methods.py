"""One vocabulary: the verdict words, the method registry, the multiplicity family."""

from __future__ import annotations

import math

import pytest

from subliminal_stats.errors import InputError
from subliminal_stats.stats import compare, simulate_responses
from subliminal_stats.stats.methods import METHODS, offered_methods, parse_methods
from subliminal_stats.stats.verdicts import (
    CANNOT_REACH,
    LOWER,
    NO_EVIDENCE,
    NOT_AVAILABLE,
    TRANSFER,
    verdict_of,
)


def test_verdict_words_and_boundaries():
    assert verdict_of(p=0.05, estimate=0.1, alpha=0.05) == TRANSFER  # p ≤ α rejects
    assert verdict_of(p=1 / 20, estimate=0.1, alpha=0.05) == TRANSFER
    assert verdict_of(p=0.0501, estimate=0.1, alpha=0.05) == NO_EVIDENCE
    assert verdict_of(p=0.01, estimate=-0.1, alpha=0.05) == LOWER
    assert verdict_of(p=0.2, estimate=0.1, alpha=0.05, min_p=0.1) == CANNOT_REACH
    assert verdict_of(p=math.nan, estimate=0.0, alpha=0.05) == NOT_AVAILABLE
    assert TRANSFER == "transfer" and NO_EVIDENCE == "no evidence"
    assert CANNOT_REACH == "design cannot reach α"


def test_printed_names_are_accepted():
    for name in offered_methods():
        assert parse_methods(name) == [name]
    assert parse_methods("glmm") == ["glmm-map"] and parse_methods("gee") == ["gee-bias-reduced"]
    assert parse_methods("t-vs-single-model") == ["welch"]
    with pytest.raises(InputError, match="shown by `calibrate` only"):
        parse_methods("naive-pooled-z")
    with pytest.raises(InputError, match="unknown method 'ttest'"):
        parse_methods("ttest")
    # Every row name calibrate prints is in the registry.
    from subliminal_stats.stats.grid import FAST_METHODS

    assert set(FAST_METHODS) <= set(METHODS)


def test_verdict_agrees_with_the_family_adjusted_interval():
    df = simulate_responses(traits=("owl", "cat", "dog", "eel"), effect=(1.4, 0.0, 0.6, 0.3),
                            seeds_per_arm=5, include_base=False, rng=4)
    for adjust in ("holm", "bh", "none"):
        for r in compare(df, adjust=adjust):
            excludes = r.ci_low_adjusted > 0 or r.ci_high_adjusted < 0
            assert excludes == (r.verdict in (TRANSFER, LOWER)), (adjust, r.trait)
            assert r.family and ("4 test(s)" in r.family or adjust == "none")
            assert "owl" in r.family or adjust == "none"
    # With one test the adjusted interval is the interval.
    one = compare(df, traits="owl")[0]
    assert (one.ci_low_adjusted, one.ci_high_adjusted) == pytest.approx((one.ci_low, one.ci_high))


def test_holm_adjusted_interval_is_bonferroni_for_the_smallest_p():
    df = simulate_responses(traits=("owl", "cat"), effect=(1.4, 0.0), seeds_per_arm=5,
                            include_base=False, rng=4)
    r = min(compare(df, method="welch"), key=lambda x: x.p_value)
    from subliminal_stats.stats.arrays import t_inference

    ref = t_inference(r.estimate, r.estimate / r.statistic, r.df, confidence_level=1 - 0.05 / 2)
    assert (r.ci_low_adjusted, r.ci_high_adjusted) == pytest.approx((float(ref.ci_low),
                                                                     float(ref.ci_high)))
    # The default: the Bonferroni interval on the log-odds scale, read at the control's rate.
    r = min(compare(df), key=lambda x: x.p_value)
    assert r.method == "logit-t"
    shift = math.log(r.odds_ratio)
    ref = t_inference(shift, shift / r.statistic, r.df, confidence_level=1 - 0.05 / 2)
    p = r.reference_rate
    lo = 1 / (1 + math.exp(-(math.log(p / (1 - p)) + float(ref.ci_low)))) - p
    hi = 1 / (1 + math.exp(-(math.log(p / (1 - p)) + float(ref.ci_high)))) - p
    assert (r.ci_low_adjusted, r.ci_high_adjusted) == pytest.approx((lo, hi))
