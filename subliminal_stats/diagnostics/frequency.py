"""Two-sample permutation tests of feature frequencies, with multiplicity across features.

For each feature j (a number, or a digit at a position) the statistic compares its share
of all numbers in sample A with its share in sample B,

    z_j = (r_A − r_B) / sqrt(p_j (1 − p_j) (1/N_A + 1/N_B)),

with r the share, N the numbers in each sample and p_j the pooled share. The z is only a
scale that makes features comparable: its reference distribution comes from permuting
whole **sequences** between the samples (numbers within a sequence are dependent), so the
tests are exact at any sample size.

- **Per feature**: Westfall–Young step-down max-T adjusted p-values (strong control of
  the family-wise error rate across all features, from the same permutations).
- **Omnibus**: Σ z_j² against its permutation distribution (power against many small
  differences).

Effect sizes: shares per 1,000 numbers with cluster-robust (ratio-estimator, by sequence)
95 % intervals for the difference and the ratio A/B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import stats

from subliminal_stats.diagnostics.permutation import Permuter
from subliminal_stats.errors import InputError

ALTERNATIVES = ("two-sided", "greater", "less")
#: Permutations are processed in blocks of this many, to bound memory.
_BLOCK = 128


@dataclass(frozen=True)
class FrequencyTest:
    """Result of :func:`frequency_test`.

    Attributes
    ----------
    labels : list of str
        Feature names.
    count_a, count_b : ndarray
        Occurrences of each feature in A and B.
    total_a, total_b : float
        Numbers in A and B (the denominators of the shares).
    share_a, share_b : ndarray
        Shares per 1,000 numbers.
    diff, diff_low, diff_high : ndarray
        A − B per 1,000 numbers with its 95 % interval.
    ratio, ratio_low, ratio_high : ndarray
        Share ratio A/B with its 95 % interval (0.5 added to zero counts).
    z : ndarray
        Standardised differences (A over B positive).
    p_adjusted : ndarray
        Max-T step-down adjusted p per feature.
    omnibus_p : float
        Permutation p of Σ z² (two-sided), or of the squared z in the alternative's direction
        only (Σ max(z, 0)² for ``"greater"``, Σ min(z, 0)² for ``"less"``), so that a
        one-sided family p is never carried by shares that differ the other way.
    min_adjusted_p : float
        Smallest adjusted p (the max-T test of "no feature differs").
    resamples : int
    alternative : str
    """

    labels: list[str]
    count_a: np.ndarray
    count_b: np.ndarray
    total_a: float
    total_b: float
    share_a: np.ndarray
    share_b: np.ndarray
    diff: np.ndarray
    diff_low: np.ndarray
    diff_high: np.ndarray
    ratio: np.ndarray
    ratio_low: np.ndarray
    ratio_high: np.ndarray
    z: np.ndarray
    p_adjusted: np.ndarray
    omnibus_p: float
    min_adjusted_p: float
    resamples: int
    alternative: str

    @property
    def p_value(self) -> float:
        """One p for the family: Bonferroni of the omnibus and the max-T test (both valid)."""
        return min(1.0, 2 * min(self.omnibus_p, self.min_adjusted_p))

    def top(self, n: int = 10, *, direction: str = "a") -> list[dict]:
        """The ``n`` features most over-represented in A (``direction="a"``) or in B."""
        sign = 1.0 if direction == "a" else -1.0
        present = (self.count_a + self.count_b) > 0
        order = [j for j in np.argsort(-sign * self.z, kind="stable") if present[j]]
        rows = []
        for j in order[:n]:
            if sign * self.z[j] <= 0:
                break
            rows.append({"feature": self.labels[j], "count_a": int(self.count_a[j]),
                         "count_b": int(self.count_b[j]),
                         "per_1000_a": float(self.share_a[j]), "per_1000_b": float(self.share_b[j]),
                         "diff": float(self.diff[j]), "diff_low": float(self.diff_low[j]),
                         "diff_high": float(self.diff_high[j]), "ratio": float(self.ratio[j]),
                         "ratio_low": float(self.ratio_low[j]), "ratio_high": float(self.ratio_high[j]),
                         "z": float(self.z[j]), "p_adjusted": float(self.p_adjusted[j])})
        return rows

    def to_dict(self, *, top: int = 10) -> dict:
        return {"omnibus_p": self.omnibus_p, "min_adjusted_p": self.min_adjusted_p,
                "p_value": self.p_value, "resamples": self.resamples,
                "alternative": self.alternative, "features": len(self.labels),
                "features_present": int(((self.count_a + self.count_b) > 0).sum()),
                "significant_features": int((self.p_adjusted <= 0.05).sum()),
                "numbers_a": self.total_a, "numbers_b": self.total_b,
                "top_a": self.top(top, direction="a"), "top_b": self.top(top, direction="b")}


def _z(sum_a: np.ndarray, n_a: np.ndarray, total_counts: np.ndarray, total_n: float) -> np.ndarray:
    """z for every feature (rows) and permutation (columns); broadcasting."""
    n_b = total_n - n_a
    r_a = sum_a / n_a
    r_b = (total_counts[:, None] - sum_a) / n_b if sum_a.ndim == 2 else (total_counts - sum_a) / n_b
    pooled = total_counts / total_n
    if sum_a.ndim == 2:
        pooled = pooled[:, None]
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (r_a - r_b) / se
    return np.where(se > 0, z, 0.0)


def _oriented(z: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "two-sided":
        return np.abs(z)
    return z if alternative == "greater" else -z


def _omnibus(z: np.ndarray, alternative: str):
    """Σ over features (axis 0) of the squared z in the alternative's direction."""
    return (np.maximum(_oriented(z, alternative), 0.0) ** 2).sum(axis=0)


def _cluster_var(counts: sp.csr_matrix, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(share, variance of the share, total numbers) of each feature in one sample.

    The share r = Σc/Σn is a ratio estimator over sequences; its linearised variance is
    Σ(c_i − r n_i)² / (Σn)² × m/(m − 1) (m sequences).
    """
    total = float(lengths.sum())
    m = counts.shape[0]
    c_sum = np.asarray(counts.sum(axis=0)).ravel()
    c_sq = np.asarray(counts.multiply(counts).sum(axis=0)).ravel()
    c_n = np.asarray(counts.T @ lengths).ravel()
    share = c_sum / total
    ss = c_sq - 2 * share * c_n + share**2 * float(lengths @ lengths)
    var = np.maximum(ss, 0) / total**2 * (m / (m - 1) if m > 1 else 1.0)
    return share, var, total


def frequency_test(counts_a: sp.spmatrix, counts_b: sp.spmatrix, *, labels: list[str],
                   resamples: int = 1000, alternative: str = "two-sided",
                   rng: int | np.random.Generator | None = 0,
                   lengths_a: np.ndarray | None = None,
                   lengths_b: np.ndarray | None = None,
                   strata: np.ndarray | None = None) -> FrequencyTest:
    """Permutation test of every feature's share, A against B.

    Parameters
    ----------
    counts_a, counts_b : sparse matrix
        Sequences × features counts of each sample (e.g. :func:`~.features.number_counts`).
    labels : list of str
        Feature names.
    resamples : int
        Permutations of sequences between the samples.
    alternative : {"two-sided", "greater", "less"}
        "greater": A's share above B's.
    rng : int or Generator
    lengths_a, lengths_b : array, optional
        Denominator per sequence (numbers in it); default: the row sums.
    strata : array of int, optional
        Stratum of every sequence (A's rows, then B's); labels are permuted within
        strata (:func:`~subliminal_stats.diagnostics.permutation.question_strata`).
        Default: free permutation.

    Returns
    -------
    FrequencyTest
    """
    if alternative not in ALTERNATIVES:
        raise InputError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    if resamples < 1:
        raise InputError(f"resamples must be at least 1, got {resamples}")
    gen = np.random.default_rng(rng)
    a, b = sp.csr_matrix(counts_a, dtype=np.float64), sp.csr_matrix(counts_b, dtype=np.float64)
    if a.shape[1] != b.shape[1] or a.shape[1] != len(labels):
        raise InputError("the two samples have different feature columns")
    la = np.asarray(a.sum(axis=1)).ravel() if lengths_a is None else np.asarray(lengths_a, float)
    lb = np.asarray(b.sum(axis=1)).ravel() if lengths_b is None else np.asarray(lengths_b, float)
    if la.sum() <= 0 or lb.sum() <= 0:
        raise InputError("a sample holds no numbers: nothing to compare")
    both = sp.vstack([a, b]).tocsc().T.tocsr()  # features × sequences, for X.T @ labels
    lengths = np.concatenate([la, lb])
    total_counts = np.asarray(both.sum(axis=1)).ravel()
    total_n = float(lengths.sum())
    m_a, m = a.shape[0], a.shape[0] + b.shape[0]

    z_obs = _z(np.asarray(a.sum(axis=0)).ravel(), np.asarray(la.sum()), total_counts, total_n)
    t_obs = _oriented(z_obs, alternative)
    order = np.argsort(-t_obs, kind="stable")
    t_sorted = t_obs[order]
    omni_obs = _omnibus(z_obs, alternative)
    exceed_step = np.zeros(len(labels))
    exceed_omni = 0
    base = np.zeros(m, dtype=bool)
    base[:m_a] = True
    if strata is not None and len(strata) != m:
        raise InputError(f"strata has {len(strata)} entries for {m} sequences")
    permuter = Permuter(base, strata, gen)
    done = 0
    while done < resamples:
        block = min(_BLOCK, resamples - done)
        ind = permuter.draw(block).T.astype(np.float64)  # m × block
        sum_a = np.asarray(both @ ind)                      # features × block
        n_a = lengths @ ind                                 # block
        z = _z(sum_a, n_a[None, :], total_counts, total_n)
        t = _oriented(z, alternative)[order]                # sorted by observed statistic
        # successive maxima from the least to the most extreme observed feature
        tail_max = np.maximum.accumulate(t[::-1], axis=0)[::-1]
        exceed_step += (tail_max >= t_sorted[:, None] - 1e-12).sum(axis=1)
        exceed_omni += int((_omnibus(z, alternative) >= omni_obs - 1e-9).sum())
        done += block
    p_sorted = np.maximum.accumulate((1 + exceed_step) / (1 + resamples))
    p_adj = np.empty(len(labels))
    p_adj[order] = np.minimum(p_sorted, 1.0)

    share_a, var_a, tot_a = _cluster_var(a, la)
    share_b, var_b, tot_b = _cluster_var(b, lb)
    zq = stats.norm.ppf(0.975)
    diff = share_a - share_b
    se = np.sqrt(var_a + var_b)
    ca, cb = np.asarray(a.sum(axis=0)).ravel(), np.asarray(b.sum(axis=0)).ravel()
    # ratio on the log scale; 0.5 added where a count is zero keeps it finite
    adj_a = np.where((ca == 0) | (cb == 0), ca + 0.5, ca) / tot_a
    adj_b = np.where((ca == 0) | (cb == 0), cb + 0.5, cb) / tot_b
    with np.errstate(divide="ignore", invalid="ignore"):
        log_se = np.sqrt(var_a / np.maximum(share_a, adj_a) ** 2 + var_b / np.maximum(share_b, adj_b) ** 2)
        log_se = np.where(np.isfinite(log_se), log_se, np.inf)
    log_ratio = np.log(adj_a) - np.log(adj_b)
    return FrequencyTest(
        labels=list(labels), count_a=ca, count_b=cb, total_a=tot_a, total_b=tot_b,
        share_a=1000 * share_a, share_b=1000 * share_b,
        diff=1000 * diff, diff_low=1000 * (diff - zq * se), diff_high=1000 * (diff + zq * se),
        ratio=np.exp(log_ratio), ratio_low=np.exp(log_ratio - zq * log_se),
        ratio_high=np.exp(log_ratio + zq * log_se), z=z_obs, p_adjusted=p_adj,
        omnibus_p=(1 + exceed_omni) / (1 + resamples), min_adjusted_p=float(p_adj.min()),
        resamples=resamples, alternative=alternative)


def subset_test(counts_a: sp.spmatrix, counts_b: sp.spmatrix, columns, *, resamples: int = 1000,
                alternative: str = "greater", rng=0, lengths_a=None, lengths_b=None,
                label: str = "selected", strata=None) -> FrequencyTest:
    """Permutation test of the combined share of a set of features (e.g. entangled numbers)."""
    cols = np.asarray(list(columns), dtype=int)
    if cols.size == 0:
        raise InputError("no features selected")
    a = sp.csr_matrix(sp.csr_matrix(counts_a)[:, cols].sum(axis=1))
    b = sp.csr_matrix(sp.csr_matrix(counts_b)[:, cols].sum(axis=1))
    la = np.asarray(sp.csr_matrix(counts_a).sum(axis=1)).ravel() if lengths_a is None else lengths_a
    lb = np.asarray(sp.csr_matrix(counts_b).sum(axis=1)).ravel() if lengths_b is None else lengths_b
    return frequency_test(a, b, labels=[label], resamples=resamples, alternative=alternative,
                          rng=rng, lengths_a=la, lengths_b=lb, strata=strata)


__all__ = ["ALTERNATIVES", "FrequencyTest", "frequency_test", "subset_test"]
