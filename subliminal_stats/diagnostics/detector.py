"""A classifier detector, read as AUROC against the bag size K, beside a format baseline.

A logistic regression (scikit-learn, L2) learns to tell sequences of teacher A from those
of teacher B on one part of the data (``train_share`` of the prompts) and scores the other
part. A *bag* is K held-out sequences of one teacher; its score is the mean of its
sequences' log-odds, and the AUROC over bags says how well a reader holding K sequences
could tell the teachers apart. Bags are drawn at random within class; the AUROC averages
``partitions`` random bag draws.

**Why a held-out part, not K-fold scores.** Given the training part, the held-out labels
are exchangeable under "the teachers do not differ" (the model never saw them), so
permuting them — scores fixed, no refit — gives the exact null distribution of the AUROC at
every K: the interval it covers 95 % of the time and a p-value. With K-fold out-of-fold
scores the same shortcut is not exact: each fold's model is trained on the other folds'
labels, so the fold AUROCs are correlated and their mean spreads more than the within-fold
permutations say (measured on split halves of one real teacher: 1.6× the SD, 5 of 12
outside the 95 % null interval), while refitting every permutation costs minutes.

Answers to a prompt that both teachers answered stay on one side of the split (a model
fitted on one answer and tested on its twin learns the prompt and scores *below* chance),
and the permutations stay within those prompts
(:func:`~subliminal_stats.diagnostics.permutation.question_strata`).

A 95 % confidence interval for the AUROC itself (DeLong's variance over the bags, averaged
over bag draws) is reported beside it; it treats the bags as independent given the model,
so read it as approximate.

The **format baseline** runs the same machinery on format-only features
(:func:`~subliminal_stats.diagnostics.features.format_matrix`): a content detector is only
interesting where it beats what the separators, counts and lengths already tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from subliminal_stats.diagnostics.permutation import Permuter
from subliminal_stats.errors import InputError

#: Bag sizes the issue asks for.
DEFAULT_BAG_SIZES = (1, 8, 16, 64)
#: Inverse L2 penalty of both detectors (chosen on lion vs dolphin only).
DEFAULT_C = 0.1


def _sklearn():
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("the classifier detector needs scikit-learn: pip install "
                         "'subliminal-stats[local]' (or pip install scikit-learn)") from None
    return LogisticRegression


def split_groups(groups: np.ndarray, train_share: float, rng) -> np.ndarray:
    """True for the training rows: whole groups (one prompt's answers) go to one side."""
    if not 0 < train_share < 1:
        raise InputError(f"train share must be between 0 and 1, got {train_share}")
    gen = np.random.default_rng(rng)
    _, index = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(index.max()) + 1
    train_group = np.zeros(n_groups, dtype=bool)
    train_group[gen.permutation(n_groups)[: int(round(train_share * n_groups))]] = True
    return train_group[index]


def held_out_scores(features, labels: np.ndarray, train: np.ndarray, *,
                    C: float = DEFAULT_C) -> np.ndarray:
    """Log-odds of class 1 for the held-out rows (``~train``), from a model fitted on ``train``."""
    LogisticRegression = _sklearn()
    y = np.asarray(labels, dtype=int)
    if len(np.unique(y[train])) < 2 or len(np.unique(y[~train])) < 2:
        raise InputError("the training or the held-out part holds one teacher only; give each "
                         "teacher more sequences")
    x_train, x_test = features[train], features[~train]
    if x_train.shape[1] == 0:
        return np.zeros(int((~train).sum()))
    model = LogisticRegression(C=C, solver="liblinear", max_iter=200)
    model.fit(x_train, y[train])
    return model.decision_function(x_test)


def _auc_rows(neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """AUROC (ties count half) for each row: ``neg`` rows × n0 scores, ``pos`` rows × n1."""
    n0, n1 = neg.shape[1], pos.shape[1]
    ranks = stats.rankdata(np.concatenate([neg, pos], axis=1), axis=1)
    return (ranks[:, n0:].sum(axis=1) - n1 * (n1 + 1) / 2) / (n0 * n1)


def _delong_var(neg: np.ndarray, pos: np.ndarray) -> float:
    """DeLong's variance of the AUROC of one set of scores."""
    n0, n1 = len(neg), len(pos)
    if n0 < 2 or n1 < 2:
        return float("nan")
    order = np.sort(neg)
    # placements: share of negatives below each positive (ties half), and vice versa
    v10 = (np.searchsorted(order, pos, "left") + np.searchsorted(order, pos, "right")) / (2 * n0)
    order_p = np.sort(pos)
    v01 = 1 - (np.searchsorted(order_p, neg, "left") + np.searchsorted(order_p, neg, "right")) / (2 * n1)
    return float(v10.var(ddof=1) / n1 + v01.var(ddof=1) / n0)


def _class_orders(scores: np.ndarray, lab: np.ndarray, n_pos: int,
                  gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each class's scores in a random order: (positives, negatives), rows × sequences.

    ``lab`` is rows × n (bool, ``n_pos`` true per row). A random order of all sequences,
    then a stable sort by label (radix sort on booleans), lists each class first in random
    order; bags are then consecutive runs, so one draw serves every K.
    """
    reps, n = lab.shape
    perm = gen.permuted(np.tile(np.arange(n), (reps, 1)), axis=1)
    ordered = np.take_along_axis(lab, perm, axis=1)
    idx = np.take_along_axis(perm, np.argsort(~ordered, axis=1, kind="stable"), axis=1)
    s = scores[idx]
    return s[:, :n_pos], s[:, n_pos:]


def _bag_means(values: np.ndarray, k: int) -> np.ndarray:
    n = (values.shape[1] // k) * k
    return values[:, :n].reshape(values.shape[0], -1, k).mean(axis=2)


@dataclass(frozen=True)
class BagAuroc:
    """AUROC at one bag size: estimate, approximate 95 % CI, permutation null interval and p."""

    k: int
    auroc: float
    ci_low: float
    ci_high: float
    null_low: float
    null_high: float
    p_value: float
    bags_a: int
    bags_b: int

    def to_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, float | np.floating) else v)
                for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class BagCurve:
    """AUROC against K for one detector, with the min-p test across K."""

    rows: list[BagAuroc]
    p_value: float

    def to_dict(self) -> dict:
        return {"p_value": self.p_value, "by_k": [r.to_dict() for r in self.rows]}


def _exceed(null: np.ndarray, value: np.ndarray, alternative: str) -> np.ndarray:
    """Boolean: null replicate at least as extreme as ``value`` (broadcast)."""
    if alternative == "two-sided":
        return np.abs(null - 0.5) >= np.abs(value - 0.5) - 1e-12
    if alternative == "less":
        return null <= value + 1e-12
    return null >= value - 1e-12


def bag_aurocs(scores: np.ndarray, labels: np.ndarray, *,
               bag_sizes: Sequence[int] = DEFAULT_BAG_SIZES, resamples: int = 1000,
               partitions: int = 2, rng=0, alternative: str = "greater",
               strata: np.ndarray | None = None) -> BagCurve:
    """AUROC of bags of K held-out scores, with permutation null interval and p per K.

    Parameters
    ----------
    scores : array
        Held-out scores (higher = more like class 1, "A").
    labels : array of bool/0-1
        True class of each scored row.
    bag_sizes : sequence of int
    resamples : int
        Label permutations (within ``strata``).
    partitions : int
        Random bag draws averaged, for the observed AUROC and for every replicate alike
        (one at K = 1, where bags are the sequences).
    alternative : {"greater", "two-sided", "less"}
        "greater": AUROC above 0.5 (a fitted detector scores A higher).
    strata : array of int, optional

    Returns
    -------
    BagCurve
        One row per K (NaN where a class has fewer than K sequences) and the p-value of
        the smallest per-K p (min-p over K, from the same permutations).
    """
    gen = np.random.default_rng(rng)
    y = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    sizes = [int(k) for k in bag_sizes]
    if any(k < 1 for k in sizes):
        raise InputError(f"bag sizes must be at least 1, got {sizes}")
    usable = [k for k in sizes if n_pos // k >= 2 and n_neg // k >= 2]
    ranks = stats.rankdata(scores)
    permuter = Permuter(y, strata, gen)

    def statistics(lab: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, tuple]]:
        reps = lab.shape[0]
        out, info = {}, {}
        if 1 in usable:  # ranks are fixed: only which rows are positive changes
            out[1] = (lab @ ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
            if reps == 1:
                info[1] = (_delong_var(scores[~lab[0]], scores[lab[0]]), n_pos, n_neg)
        big = [k for k in usable if k > 1]
        if not big:
            return out, info
        total = {k: np.zeros(reps) for k in big}
        var = dict.fromkeys(big, 0.0)
        for _ in range(partitions):
            pos, neg = _class_orders(scores, lab, n_pos, gen)
            for k in big:
                bp, bn = _bag_means(pos, k), _bag_means(neg, k)
                total[k] += _auc_rows(bn, bp)
                if reps == 1:
                    var[k] += _delong_var(bn[0], bp[0])
        for k in big:
            out[k] = total[k] / partitions
            if reps == 1:
                info[k] = (var[k] / partitions, n_pos // k, n_neg // k)
        return out, info

    observed, info = statistics(y[None, :])
    null = {k: [] for k in usable}
    done = 0
    while done < resamples:
        block = min(32, resamples - done)
        values, _ = statistics(permuter.draw(block))
        for k in usable:
            null[k].append(values[k])
        done += block
    z = stats.norm.ppf(0.975)
    rows, p_obs, p_null = [], [], []
    for k in sizes:
        if k not in observed:
            nan = float("nan")
            rows.append(BagAuroc(k, nan, nan, nan, nan, nan, nan, 0, 0))
            continue
        auc = float(observed[k][0])
        dist = np.concatenate(null[k])
        p = float((1 + _exceed(dist, auc, alternative).sum()) / (1 + resamples))
        # each replicate's own p among the others (for the min-p combination over K)
        order = np.argsort(np.argsort(-_oriented(dist, alternative), kind="stable"), kind="stable")
        p_null.append((1 + order) / (1 + resamples))
        p_obs.append(p)
        var, bags_a, bags_b = info[k]
        half = z * np.sqrt(var) if np.isfinite(var) else float("nan")
        rows.append(BagAuroc(k=k, auroc=auc, ci_low=float(max(0.0, auc - half)),
                             ci_high=float(min(1.0, auc + half)),
                             null_low=float(np.quantile(dist, 0.025)),
                             null_high=float(np.quantile(dist, 0.975)), p_value=p,
                             bags_a=int(bags_a), bags_b=int(bags_b)))
    if p_obs:
        min_obs = min(p_obs)
        min_null = np.min(np.vstack(p_null), axis=0)
        combined = float((1 + (min_null <= min_obs + 1e-12).sum()) / (1 + resamples))
    else:
        combined = float("nan")
    return BagCurve(rows=rows, p_value=combined)


def _oriented(values: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "two-sided":
        return np.abs(values - 0.5)
    return values if alternative == "greater" else -values


@dataclass(frozen=True)
class DetectorResult:
    """Content detector and format baseline on the same split."""

    content: BagCurve
    format: BagCurve
    train_share: float
    n_train: int
    n_test: int
    resamples: int

    @property
    def p_value(self) -> float:
        """Content detector, min-p over bag sizes."""
        return self.content.p_value

    @property
    def format_p_value(self) -> float:
        return self.format.p_value

    def to_dict(self) -> dict:
        return {"train_share": self.train_share, "n_train": self.n_train, "n_test": self.n_test,
                "resamples": self.resamples, "content": self.content.to_dict(),
                "format": self.format.to_dict()}


def detector(content_features, format_features, labels, *, bag_sizes=DEFAULT_BAG_SIZES,
             train_share: float = 0.5, resamples: int = 1000, partitions: int = 4, rng=0,
             alternative: str = "greater", strata: np.ndarray | None = None,
             C: float = DEFAULT_C) -> DetectorResult:
    """Fit the content detector and the format baseline on one split; AUROC against K.

    ``strata`` keeps the answers to one shared prompt on one side of the split and
    restricts the permutations to them. Format features are standardised on all rows
    (no labels used).
    """
    gen = np.random.default_rng(rng)
    split_seed, bag_seed = (int(s) for s in gen.integers(2**31 - 1, size=2))
    y = np.asarray(labels, dtype=int)
    groups = np.arange(len(y)) if strata is None else np.where(
        np.asarray(strata) > 0, -np.asarray(strata), np.arange(len(y)))
    train = split_groups(groups, train_share, split_seed)
    fmt = np.asarray(format_features, dtype=np.float64)
    sd = fmt.std(axis=0)
    fmt = (fmt - fmt.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    s_c = held_out_scores(content_features, y, train, C=C)
    s_f = held_out_scores(fmt, y, train, C=C)
    test_strata = None if strata is None else np.asarray(strata)[~train]
    kwargs = dict(bag_sizes=bag_sizes, resamples=resamples, partitions=partitions,
                  alternative=alternative, strata=test_strata)
    y_test = y[~train].astype(bool)
    return DetectorResult(content=bag_aurocs(s_c, y_test, rng=bag_seed, **kwargs),
                          format=bag_aurocs(s_f, y_test, rng=bag_seed + 1, **kwargs),
                          train_share=train_share, n_train=int(train.sum()),
                          n_test=int((~train).sum()), resamples=resamples)


__all__ = ["DEFAULT_BAG_SIZES", "DEFAULT_C", "BagAuroc", "BagCurve", "DetectorResult",
           "bag_aurocs", "detector", "held_out_scores", "split_groups"]
