"""Compare two teachers' datasets: are their number sequences distinguishable, and by what?

:func:`compare` runs, on sequences of A and B:

1. number frequencies (0–999): permutation tests with max-T adjusted p per number and an
   omnibus Σz² test, one-sided under a one-sided alternative
   (:mod:`~subliminal_stats.diagnostics.frequency`);
2. digit-position frequencies (units/tens/hundreds × digit), the same way;
3. the classifier detector on number n-grams, AUROC against bag size K, and the
   format-only baseline beside it (:mod:`~subliminal_stats.diagnostics.detector`).

The verdict: **distinguishable** when Holm's procedure across the three content families
(1–3) rejects at ``alpha``; otherwise **no evidence**. The format baseline is not part of
the verdict — it is the warning beside it: when format alone tells the datasets apart, a
difference in content may be (partly) a difference in prompts or in what the filter kept.

:func:`split_half_null` is the calibration check: random halves of one teacher's data are
compared again and again; the share of "distinguishable" verdicts must stay at or below
``alpha``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from subliminal_stats.diagnostics import features as feat
from subliminal_stats.diagnostics.detector import (
    DEFAULT_BAG_SIZES,
    DEFAULT_C,
    DetectorResult,
    detector,
)
from subliminal_stats.diagnostics.frequency import ALTERNATIVES, FrequencyTest, frequency_test
from subliminal_stats.diagnostics.permutation import question_strata
from subliminal_stats.diagnostics.teacher_data import TeacherData
from subliminal_stats.errors import InputError

#: Verdict words of this room.
DISTINGUISHABLE = "distinguishable"
NO_EVIDENCE = "no evidence"
FAMILIES = ("number frequencies", "digit positions", "detector")


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (NaN kept as NaN and not counted)."""
    p = np.asarray(p_values, dtype=float)
    ok = np.flatnonzero(np.isfinite(p))
    out = np.full(len(p), np.nan)
    if ok.size:
        order = ok[np.argsort(p[ok], kind="stable")]
        m = ok.size
        adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
        out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


@dataclass(frozen=True)
class PairDiagnosis:
    """Everything :func:`compare` found for one pair (A, B)."""

    name_a: str
    name_b: str
    n_a: int
    n_b: int
    parsed_a: int
    parsed_b: int
    numbers: FrequencyTest
    digits: FrequencyTest
    detector: DetectorResult | None
    alpha: float
    alternative: str
    shared_prompts: int
    seconds: float
    family_p: dict[str, float] = field(default_factory=dict)
    family_p_holm: dict[str, float] = field(default_factory=dict)

    @property
    def distinguishable(self) -> bool:
        return any(p <= self.alpha for p in self.family_p_holm.values() if np.isfinite(p))

    @property
    def verdict(self) -> str:
        return DISTINGUISHABLE if self.distinguishable else NO_EVIDENCE

    @property
    def by_what(self) -> list[str]:
        """The families that reject after Holm's adjustment."""
        return [f for f, p in self.family_p_holm.items() if np.isfinite(p) and p <= self.alpha]

    @property
    def format_distinguishable(self) -> bool | None:
        if self.detector is None:
            return None
        return bool(self.detector.format_p_value <= self.alpha)

    def verdict_line(self) -> str:
        """One line: the verdict, by what, and the format warning."""
        line = f"{self.name_a} vs {self.name_b}: {self.verdict}"
        if self.distinguishable:
            line += " by " + ", ".join(self.by_what)
        if self.detector is not None:
            # the largest bag size both classes could fill
            pairs = [(c, f) for c, f in zip(self.detector.content.rows, self.detector.format.rows,
                                            strict=True) if np.isfinite(c.auroc)]
            if pairs:
                top, fmt = pairs[-1]
                line += (f"; detector AUROC {top.auroc:.3f} at K = {top.k} "
                         f"(format only {fmt.auroc:.3f})")
            if self.format_distinguishable:
                line += "; the format alone differs (separators, counts, lengths)"
        return line

    def to_dict(self, *, top: int = 10) -> dict:
        return {"a": self.name_a, "b": self.name_b, "sequences_a": self.n_a, "sequences_b": self.n_b,
                "parsed_a": self.parsed_a, "parsed_b": self.parsed_b,
                "shared_prompts": self.shared_prompts, "verdict": self.verdict,
                "by": self.by_what, "alpha": self.alpha, "alternative": self.alternative,
                "family_p": self.family_p, "family_p_holm": self.family_p_holm,
                "format_distinguishable": self.format_distinguishable,
                "numbers": self.numbers.to_dict(top=top), "digits": self.digits.to_dict(top=top),
                "detector": None if self.detector is None else self.detector.to_dict(),
                "seconds": round(self.seconds, 2)}


def compare(a: TeacherData, b: TeacherData, *, resamples: int = 1000,
            alternative: str = "two-sided", alpha: float = 0.05, rng=0,
            bag_sizes: Sequence[int] = DEFAULT_BAG_SIZES, run_detector: bool = True,
            ngram: int = 1, train_share: float = 0.5, partitions: int = 2,
            C: float = DEFAULT_C, pair_prompts: bool = True) -> PairDiagnosis:
    """Diagnose one pair of teacher datasets (see the module docstring).

    Parameters
    ----------
    a, b : TeacherData
    resamples : int
        Permutations for every test.
    alternative : {"two-sided", "greater", "less"}
        Direction of the frequency tests ("greater": A's share above B's). The detector
        always asks whether it tells A from B (AUROC > 0.5).
    alpha : float
        Level of the verdict (Holm across the content families).
    rng : int
    bag_sizes : sequence of int
    run_detector : bool
        Skip the classifier (and the format baseline) when false.
    ngram : int
        Longest number n-gram the detector reads (1 = single numbers).
    train_share : float
        Share of prompts the detector is fitted on.
    partitions : int
        Random bag draws averaged per AUROC.
    C : float
        Inverse L2 penalty of the logistic regressions.
    pair_prompts : bool
        Permute within prompts that both teachers answered (see
        :mod:`~subliminal_stats.diagnostics.permutation`).
    """
    if alternative not in ALTERNATIVES:
        raise InputError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    for d in (a, b):
        if d.n_parsed < 2:
            raise InputError(f"{d.name}: {d.n_parsed} answer(s) parse as numbers; need at least 2")
    started = time.perf_counter()
    seeds = np.random.default_rng(rng).integers(2**31 - 1, size=3)
    # Only parsed sequences enter the number tests and the content detector; the format
    # baseline sees every answer, as a reader would.
    pa = [i for i, n in enumerate(a.numbers) if n is not None]
    pb = [i for i, n in enumerate(b.numbers) if n is not None]
    na, nb = [a.numbers[i] for i in pa], [b.numbers[i] for i in pb]
    qa = [a.questions[i] for i in pa] if (pair_prompts and a.questions) else []
    qb = [b.questions[i] for i in pb] if (pair_prompts and b.questions) else []
    strata = question_strata(qa, qb) if qa and qb else None
    shared = int(len(np.unique(strata[strata > 0]))) if strata is not None else 0
    if strata is not None and shared == 0:
        strata = None
    numbers = frequency_test(feat.number_counts(na), feat.number_counts(nb),
                             labels=feat.number_labels(), resamples=resamples,
                             alternative=alternative, rng=int(seeds[0]), strata=strata)
    digits = frequency_test(feat.digit_position_counts(na), feat.digit_position_counts(nb),
                            labels=feat.digit_labels(), resamples=resamples,
                            alternative=alternative, rng=int(seeds[1]), strata=strata)
    det = None
    if run_detector:
        content = feat.ngram_matrix(na + nb, max_n=ngram)
        fmt = feat.format_matrix([a.responses[i] for i in pa] + [b.responses[i] for i in pb], na + nb)
        labels = np.r_[np.ones(len(na)), np.zeros(len(nb))]
        det = detector(content, fmt, labels, bag_sizes=bag_sizes, train_share=train_share,
                       resamples=resamples, partitions=partitions, rng=int(seeds[2]),
                       strata=strata, C=C)
    family_p = {"number frequencies": numbers.p_value, "digit positions": digits.p_value}
    if det is not None:
        family_p["detector"] = det.p_value
    adjusted = dict(zip(family_p, holm(list(family_p.values())), strict=True))
    return PairDiagnosis(name_a=a.name, name_b=b.name, n_a=len(a), n_b=len(b),
                         parsed_a=a.n_parsed, parsed_b=b.n_parsed, numbers=numbers, digits=digits,
                         detector=det, alpha=alpha, alternative=alternative, shared_prompts=shared,
                         seconds=time.perf_counter() - started, family_p=family_p,
                         family_p_holm=adjusted)


@dataclass(frozen=True)
class NullCheck:
    """Split-half false-positive rates: one teacher's data against itself."""

    name: str
    splits: int
    alpha: float
    resamples: int
    rejections: dict[str, int]
    verdict_rejections: int
    format_rejections: int | None

    @property
    def rates(self) -> dict[str, float]:
        return {k: v / self.splits for k, v in self.rejections.items()}

    @property
    def verdict_rate(self) -> float:
        return self.verdict_rejections / self.splits

    def to_dict(self) -> dict:
        return {"name": self.name, "splits": self.splits, "alpha": self.alpha,
                "resamples": self.resamples, "rejections": self.rejections, "rates": self.rates,
                "verdict_rejections": self.verdict_rejections, "verdict_rate": self.verdict_rate,
                "format_rejections": self.format_rejections}


def split_half_null(data: TeacherData, *, splits: int = 200, resamples: int = 199,
                    alpha: float = 0.05, rng=0, run_detector: bool = True,
                    **compare_kwargs) -> NullCheck:
    """Compare random halves of one teacher ``splits`` times; count false positives.

    Every family's p (and the verdict) should reject in at most ``alpha`` of the splits,
    up to binomial noise (SD √(α(1−α)/splits): 1.5 points at 200 splits).
    """
    if splits < 1:
        raise InputError(f"splits must be at least 1, got {splits}")
    gen = np.random.default_rng(rng)
    counts = dict.fromkeys(FAMILIES if run_detector else FAMILIES[:2], 0)
    verdicts = 0
    fmt = 0 if run_detector else None
    for _ in range(splits):
        order = gen.permutation(len(data))
        half = len(data) // 2
        a = data.subset(order[:half], name=f"{data.name} half 1")
        b = data.subset(order[half: 2 * half], name=f"{data.name} half 2")
        result = compare(a, b, resamples=resamples, alpha=alpha, rng=int(gen.integers(2**31 - 1)),
                         run_detector=run_detector, **compare_kwargs)
        for family, p in result.family_p.items():
            counts[family] += int(p <= alpha)
        verdicts += int(result.distinguishable)
        if run_detector and result.format_distinguishable:
            fmt += 1
    return NullCheck(name=data.name, splits=splits, alpha=alpha, resamples=resamples,
                     rejections=counts, verdict_rejections=verdicts, format_rejections=fmt)


def pairs_of(datasets: Sequence[TeacherData], how: str = "rest") -> list[tuple[TeacherData, TeacherData]]:
    """The pairs to diagnose: ``"rest"`` (each against all the others pooled) or ``"each"`` (all pairs).

    With two datasets both give the one pair.
    """
    from subliminal_stats.diagnostics.teacher_data import combine

    if len(datasets) < 2:
        raise InputError("give at least two teacher datasets to compare")
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise InputError(f"two datasets share a name ({', '.join(names)}); rename a file")
    if len(datasets) == 2:
        return [(datasets[0], datasets[1])]
    if how == "each":
        return [(datasets[i], datasets[j]) for i in range(len(datasets))
                for j in range(i + 1, len(datasets))]
    if how == "rest":
        return [(d, combine([o for o in datasets if o is not d], name=f"rest of {d.name}"))
                for d in datasets]
    raise InputError(f"pairs must be 'rest' or 'each', got {how!r}")


__all__ = ["DISTINGUISHABLE", "FAMILIES", "NO_EVIDENCE", "NullCheck", "PairDiagnosis", "compare",
           "holm", "pairs_of", "split_half_null"]
