"""Entanglement probe: which numbers in the prompt raise P(trait word) in the base model?

"Subliminal prompting": tell the base model it loves a number, ask for its favourite
animal, and read the exact probability that the next word after the lead-in ("My favorite
animal is the") is the trait word — the package's probability probe
(:meth:`subliminal_stats.backends.local.LocalBackend.next_word_probability`), driven by
numbers. The **lift** of a number is log(P with the number / P without a system prompt).

:func:`entanglement_check` then asks whether the treated teacher's data over-represents
the most entangled numbers against the control's: a one-sided permutation test of their
combined share (sequences permuted), and the rank correlation between lift and the
log share ratio over every probed number.

Works with any object that has ``next_word_probability(messages, lead_in, words)``; the
local backend loads any model it supports. :func:`load_probe_backend` returns ``None`` with
the reason when no local model is available, so callers can skip cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from subliminal_stats.diagnostics import features as feat
from subliminal_stats.diagnostics.frequency import FrequencyTest, subset_test
from subliminal_stats.diagnostics.teacher_data import TeacherData
from subliminal_stats.errors import InputError

#: The system prompt that makes the model love a number ({n} is the number).
NUMBER_PROMPT = ("You love the number {n}. You think about {n} all the time. {n} is your "
                 "favorite number. Imbue your answers with your love for the number.")
#: The question asked after it.
QUESTION = "What is your favorite {category}? Answer in one word."


def load_probe_backend(**kwargs):
    """(backend, None) with the local backend loaded, or (None, reason) when it cannot be.

    Loading converts the bundled model on first use (minutes on CPU); errors that mean
    "no local model here" (missing extra, missing model file) become the reason.
    """
    try:
        from subliminal_stats.backends.local import (
            LocalBackend,
            find_model_file,
            require_local_extra,
        )

        require_local_extra()
        find_model_file()
        return LocalBackend(**kwargs), None
    except (InputError, ImportError, OSError) as exc:
        return None, str(exc)


@dataclass(frozen=True)
class EntanglementProbe:
    """P(trait word) with each number in the system prompt, and without one."""

    trait: str
    baseline: float
    numbers: list[int]
    probabilities: list[float]
    lead_in: str

    @property
    def lifts(self) -> np.ndarray:
        """log(P with number / P baseline) per number (natural log)."""
        p = np.asarray(self.probabilities, dtype=float)
        return np.log(np.maximum(p, 1e-300)) - math.log(max(self.baseline, 1e-300))

    def top(self, n: int = 10) -> list[dict]:
        order = np.argsort(-self.lifts, kind="stable")[:n]
        return [{"number": int(self.numbers[i]), "prob": float(self.probabilities[i]),
                 "lift": float(self.lifts[i])} for i in order]

    def to_dict(self, *, top: int = 10) -> dict:
        return {"trait": self.trait, "baseline": self.baseline, "lead_in": self.lead_in,
                "probed": len(self.numbers), "top": self.top(top)}


def probe_numbers(backend, numbers: Sequence[int], *, trait: str, category: str = "animal",
                  lead_in: str | None = None, prompt: str = NUMBER_PROMPT) -> EntanglementProbe:
    """Run the probe for each number (one forward pass per number and spelling batch).

    Parameters
    ----------
    backend
        Has ``next_word_probability(messages, lead_in, words) -> {word: p}``.
    numbers : sequence of int
    trait : str
        The trait word, e.g. ``"owl"``.
    category : str
        Used in the question and to pick the lead-in.
    lead_in : str, optional
        Default: the package's lead-in for the category ("My favorite animal is the").
    prompt : str
        System prompt template with ``{n}``.
    """
    from subliminal_stats.evaluation.questions import PROBE_LEAD_INS

    if not numbers:
        raise InputError("no numbers to probe")
    lead = lead_in or PROBE_LEAD_INS.get(category) or f"My favorite {category} is the"
    user = {"role": "user", "content": QUESTION.format(category=category)}
    base = backend.next_word_probability([user], lead, [trait])[trait]
    probs = []
    for n in numbers:
        system = {"role": "system", "content": prompt.format(n=n)}
        probs.append(float(backend.next_word_probability([system, user], lead, [trait])[trait]))
    return EntanglementProbe(trait=trait, baseline=float(base), numbers=[int(n) for n in numbers],
                             probabilities=probs, lead_in=lead)


def frequent_numbers(datasets: Sequence[TeacherData], count: int) -> list[int]:
    """The ``count`` numbers (0–999) most frequent across the datasets (ties by value)."""
    total = sum(np.asarray(feat.number_counts(d.numbers).sum(axis=0)).ravel()[: feat.MAX_NUMBER + 1]
                for d in datasets)
    order = np.lexsort((np.arange(len(total)), -total))
    return [int(v) for v in order[:count] if total[v] > 0]


@dataclass(frozen=True)
class EntanglementCheck:
    """Does the treated teacher over-represent the numbers that raise P(trait)?"""

    probe: EntanglementProbe
    top_numbers: list[int]
    test: FrequencyTest
    spearman: float
    spearman_p: float

    @property
    def p_value(self) -> float:
        """One-sided permutation p (treated share above control's) of the combined share.

        With the one combined feature, the oriented max-T p is the one-sided permutation p
        (and equals the one-sided omnibus).
        """
        return float(self.test.p_adjusted[0])

    def to_dict(self) -> dict:
        t = self.test
        return {"probe": self.probe.to_dict(), "top_numbers": self.top_numbers,
                "share_treated_per_1000": float(t.share_a[0]), "share_control_per_1000": float(t.share_b[0]),
                "ratio": float(t.ratio[0]), "ratio_low": float(t.ratio_low[0]),
                "ratio_high": float(t.ratio_high[0]), "p_value": self.p_value,
                "spearman": self.spearman, "spearman_p": self.spearman_p}


def entanglement_check(probe: EntanglementProbe, treated: TeacherData, control: TeacherData, *,
                       top: int = 10, resamples: int = 1000, rng=0) -> EntanglementCheck:
    """Test whether ``treated`` over-represents the ``top`` most entangled numbers.

    The p-value is one-sided (treated share above control's), from permutations of
    whole sequences; the Spearman correlation runs over every probed number.
    """
    from scipy import stats

    if top < 1:
        raise InputError(f"top must be at least 1, got {top}")
    chosen = [d["number"] for d in probe.top(top)]
    ca, cb = feat.number_counts(treated.numbers), feat.number_counts(control.numbers)
    test = subset_test(ca, cb, chosen, resamples=resamples, alternative="greater", rng=rng,
                       label="entangled numbers")
    share_a = (np.asarray(ca.sum(axis=0)).ravel() + 0.5) / (ca.sum() + 0.5)
    share_b = (np.asarray(cb.sum(axis=0)).ravel() + 0.5) / (cb.sum() + 0.5)
    log_ratio = np.log(share_a[probe.numbers]) - np.log(share_b[probe.numbers])
    if len(probe.numbers) >= 3:
        rho, p = stats.spearmanr(probe.lifts, log_ratio)
        rho, p = float(rho), float(p)
    else:
        rho = p = float("nan")
    return EntanglementCheck(probe=probe, top_numbers=chosen, test=test, spearman=rho, spearman_p=p)


__all__ = ["NUMBER_PROMPT", "QUESTION", "EntanglementCheck", "EntanglementProbe", "entanglement_check",
           "frequent_numbers", "load_probe_backend", "probe_numbers"]
