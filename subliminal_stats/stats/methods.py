"""The one registry of methods: the names printed in every output are the names ``--method`` accepts.

Each :class:`Method` says what it compares, whether :func:`~subliminal_stats.stats.compare`
offers it, whether it works on a [0, 1] score (not only 0/1 answers) and older spellings
it still accepts (``glmm`` → ``glmm-map``). Calibration-only rows (the naive tests shown to
over-reject, ``cluster-t``) are listed with ``offered=False`` so that ``calibrate`` prints
names from the same place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from subliminal_stats.errors import InputError

__all__ = ["DEFAULT_METHOD", "METHODS", "SCORE_DEFAULT_METHOD", "Method", "default_method", "offered_methods", "parse_methods",
           "resolve_method"]


@dataclass(frozen=True)
class Method:
    """One statistical method.

    Attributes
    ----------
    name : str
        Printed in results and accepted by ``--method``.
    description : str
    kind : str
        ``"seed"`` (per-seed rates of two seeded arms), ``"single"`` (a seeded arm against a
        one-seed model such as the base), ``"model"`` (mixed model on cells) or
        ``"reference"`` (calibration only).
    offered : bool
        Whether :func:`~subliminal_stats.stats.compare` runs it.
    scores : bool
        Works on per-seed means of a score in [0, 1].
    aliases : tuple of str
        Other spellings accepted.
    """

    name: str
    description: str
    kind: str
    offered: bool = True
    scores: bool = False
    aliases: tuple[str, ...] = ()


#: The calibrated default (chosen on the scenario grid, see :mod:`~subliminal_stats.stats.grid`):
#: the only method that keeps both bounds in every cell, skewed treated arms included.
DEFAULT_METHOD = "logit-t"

#: The default for a score in [0, 1] (a mean probability has no binomial log-odds): the
#: rate-scale Welch t, calibrated for the nulls of the grid but not for skewed effects.
SCORE_DEFAULT_METHOD = "welch"


def default_method(metric: str = "hit") -> str:
    """The default test for ``metric``: :data:`DEFAULT_METHOD` on 0/1 answers (``"hit"``),
    :data:`SCORE_DEFAULT_METHOD` on a score in [0, 1]."""
    return DEFAULT_METHOD if metric == "hit" else SCORE_DEFAULT_METHOD

METHODS: dict[str, Method] = {m.name: m for m in (
    Method("welch", "Welch t on per-seed rates, Welch–Satterthwaite df capped at 2 (min seeds − 1): "
           "the mean rate difference (its interval under-covers when treated seeds are skewed; "
           "the default for scores)", "seed", scores=True),
    Method("logit-t", "t on per-seed log-odds, each arm's own variance (at least its binomial "
           "variance), Hsu's df: the typical student's odds ratio, read in pp at the reference's "
           "rate [calibrated in every cell of the scenario grid, skewed arms included]", "seed"),
    Method("pooled-t", "Student t (pooled variance) on per-seed rates, df = n1 + n2 − 2 "
           "(under-covers when the treated seeds spread more than the controls)", "seed",
           scores=True),
    Method("welch-hsu", "Welch t with Hsu's df = min(n1, n2) − 1: valid for any variance ratio, "
           "conservative (the close alternative to the default on the grid)", "seed",
           scores=True),
    Method("permutation", "exact permutation of seed labels (Monte Carlo when > 20,000 "
           "relabellings)", "seed", scores=True),
    Method("bootstrap-bca", "two-level bootstrap (seeds, then questions), BCa interval — "
           "descriptive", "seed", scores=True),
    Method("bootstrap-percentile", "two-level bootstrap (seeds, then questions), percentile — "
           "descriptive", "seed", scores=True),
    Method("lmm", "linear mixed model on per-(seed, question) rates, t on seed df", "model"),
    Method("glmm-map", "logistic GLMM (BinomialBayesMixedGLM.fit_map) — approximate, not a "
           "frequentist test", "model", aliases=("glmm",)),
    Method("gee-bias-reduced", "binomial GEE, clusters = seeds, bias-reduced sandwich, t on seed "
           "df", "model", aliases=("gee",)),
    Method("t-vs-single-model", "question-paired t of each seed against a one-seed model (the "
           "base): per-seed differences on shared questions, plus the model's binomial variance; "
           "what welch and pooled-t run against a one-seed arm", "single", scores=True),
    Method("welch-satterthwaite", "Welch t with the plain Satterthwaite df (no cap): liberal "
           "when an arm has 2 seeds", "reference", offered=False),
    Method("clustered-vs-single-model", "former base comparison: the one-seed model as a noisy "
           "constant with a question-clustered SE (counts question spread the shared questions "
           "cancel)", "reference", offered=False),
    Method("cluster-t", "seed-clustered SE of the pooled proportion, t on 2G − 2 df", "reference",
           offered=False),
    Method("naive-cluster-z", "NAIVE: seed-clustered SE with z", "reference", offered=False),
    Method("naive-pooled-z", "NAIVE: two-proportion z on every answer as independent",
           "reference", offered=False),
)}

_ALIASES = {alias: m.name for m in METHODS.values() for alias in m.aliases}


def offered_methods() -> tuple[str, ...]:
    """Every method :func:`~subliminal_stats.stats.compare` runs against seeded arms (order of
    the registry; ``t-vs-single-model`` is what the t methods become against one seed)."""
    return tuple(m.name for m in METHODS.values() if m.offered and m.kind != "single")


def resolve_method(name: str) -> str:
    """The registry name for ``name`` (an alias is mapped); InputError when unknown."""
    name = name.strip()
    if name in METHODS and METHODS[name].offered:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    if name in METHODS:
        raise InputError(f"method {name!r} is shown by `calibrate` only (it is not a test the "
                         f"package offers); choose one of {', '.join(offered_methods())}")
    raise InputError(f"unknown method {name!r}: choose one of {', '.join(offered_methods())}, "
                     "t-vs-single-model, a comma list, or 'all'")


def parse_methods(method: str | Sequence[str] | None, *, scores_only: bool = False) -> list[str]:
    """Registry names from ``--method`` (a name, a comma list, ``all`` or a sequence).

    ``t-vs-single-model`` stands for ``welch`` (what the rate-scale t tests are called against
    a one-seed arm). With ``scores_only``, ``all`` means the methods that take a score.
    """
    if method is None:
        return [DEFAULT_METHOD]
    names = [m.strip() for m in method.split(",") if m.strip()] if isinstance(method, str) \
        else [str(m) for m in method]
    if names == ["all"]:
        return [m for m in offered_methods() if not scores_only or METHODS[m].scores]
    out: list[str] = []
    for name in names:
        canonical = resolve_method(name)
        if canonical == "t-vs-single-model":
            canonical = "welch"  # what the rate-scale t methods run against a one-seed arm
        if canonical not in out:
            out.append(canonical)
    if not out:
        raise InputError("--method is empty: name a method or 'all'")
    return out
