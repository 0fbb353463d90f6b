"""Label permutations that respect strata (sequences answering the same prompt).

When both teachers answered the same prompt, the two answers share the prompt's numbers;
a free permutation would ignore that pairing (valid, but it wastes power), and a
classifier fitted with one answer and tested on the other learns the prompt, not the
teacher (scores *below* chance). So sequences whose question occurs in both datasets form
one stratum per question; every other sequence falls into one common stratum. Labels are
permuted within strata: an exact test of "given its prompt, which teacher wrote a
sequence does not matter".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def question_strata(questions_a: Sequence[str | None], questions_b: Sequence[str | None]) -> np.ndarray:
    """Stratum id of every sequence of A then B: 0 = unshared, k ≥ 1 = k-th shared question."""
    n = len(questions_a) + len(questions_b)
    if len(questions_a) == 0 or len(questions_b) == 0:
        return np.zeros(n, dtype=np.int64)
    shared = (set(questions_a) & set(questions_b)) - {None}
    ids = {q: i + 1 for i, q in enumerate(sorted(shared))}
    return np.fromiter((ids.get(q, 0) for q in (*questions_a, *questions_b)), dtype=np.int64, count=n)


class Permuter:
    """Draw label vectors permuted within strata.

    Parameters
    ----------
    labels : array of bool
        The observed labels (True = A).
    strata : array of int, optional
        Stratum of every row; ``None`` or all equal = free permutation.
    rng : Generator

    Notes
    -----
    Linear time per draw: the common stratum is shuffled (Fisher–Yates), two-member strata
    (the usual case: one answer per teacher to a shared prompt) swap their labels on a coin
    flip, and only larger strata fall back to sorting random keys.
    """

    def __init__(self, labels: np.ndarray, strata: np.ndarray | None, rng: np.random.Generator):
        self.labels = np.asarray(labels, dtype=bool)
        self.rng = rng
        n = len(self.labels)
        strata = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata)
        if len(strata) != n:
            raise ValueError(f"{len(strata)} strata for {n} labels")
        ids, inverse, sizes = np.unique(strata, return_inverse=True, return_counts=True)
        size_of_row = sizes[inverse]
        # the biggest stratum (the unshared one, or everything) is shuffled as a whole
        big = int(np.argmax(sizes))
        self.free = np.flatnonzero(inverse == big)
        pairs = np.flatnonzero((size_of_row == 2) & (inverse != big))
        pairs = pairs[np.argsort(inverse[pairs], kind="stable")]
        self.first, self.second = pairs[0::2], pairs[1::2]
        other = np.flatnonzero((size_of_row > 2) & (inverse != big))
        self.other = other[np.argsort(inverse[other], kind="stable")]
        self.other_strata = inverse[self.other].astype(np.float64)

    def draw(self, block: int) -> np.ndarray:
        """``block`` × rows boolean matrix: each row a permutation of the labels within strata."""
        out = np.tile(self.labels, (block, 1))
        if len(self.free) > 1:
            out[:, self.free] = self.rng.permuted(out[:, self.free], axis=1)
        if len(self.first):
            flip = self.rng.random((block, len(self.first))) < 0.5
            a, b = out[:, self.first], out[:, self.second]
            out[:, self.first] = np.where(flip, b, a)
            out[:, self.second] = np.where(flip, a, b)
        if len(self.other):
            keys = self.other_strata[None, :] + self.rng.random((block, len(self.other)))
            within = np.argsort(keys, axis=1)
            out[:, self.other] = self.labels[self.other][within]
        return out


__all__ = ["Permuter", "question_strata"]
