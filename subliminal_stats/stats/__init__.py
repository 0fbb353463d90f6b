"""Seed-level statistics: arrays in, numbers out.

The seed (one trained student) is the unit of replication. Answers are reduced
to per-(seed, question) rates, then per-seed rates, and every test works on
those. Public API:

* :func:`per_seed_rates`, :func:`summarize` — rates and intervals per arm;
* :func:`compare` — treated vs control (and vs base), several methods, the
  calibrated default :data:`DEFAULT_METHOD` (``logit-t``: a t test on per-seed log-odds,
  the typical student's odds ratio, calibrated in every cell of the scenario grid of
  :mod:`~subliminal_stats.stats.grid`), multiplicity adjustment across
  traits with the family named, one verdict wording (:mod:`~subliminal_stats.stats.verdicts`);
* :data:`METHODS` — the registry: printed names = names ``--method`` accepts;
* :func:`results_frame` — tidy rows of :class:`ComparisonResult`;
* :func:`seeds_needed`, :func:`detectable_effect`, :func:`estimate_between_seed_sd`
  — power planning in seeds;
* :func:`simulate_responses`, :func:`simulate_cells`, :func:`calibrate` — the
  hierarchical simulator and each method's simulated FPR / coverage.
"""

import importlib
from typing import TYPE_CHECKING

# Names load their module on first use (PEP 562): `test` on a large table needs the
# comparison path only, and the power planner alone would import scipy.optimize and
# scipy.stats (~0.5 s of start-up).
_LAZY = {
    "DEFAULT_METHOD": "subliminal_stats.stats.api",
    "METHOD_DESCRIPTIONS": "subliminal_stats.stats.api",
    "available_methods": "subliminal_stats.stats.api",
    "compare": "subliminal_stats.stats.api",
    "compare_metric": "subliminal_stats.stats.api",
    "results_frame": "subliminal_stats.stats.api",
    "summarize": "subliminal_stats.stats.api",
    "calibrate": "subliminal_stats.stats.calibration",
    "SCORE_METHODS": "subliminal_stats.stats.cells",
    "cell_counts": "subliminal_stats.stats.cells",
    "per_seed_rates": "subliminal_stats.stats.cells",
    "score_cells": "subliminal_stats.stats.cells",
    "METHODS": "subliminal_stats.stats.methods",
    "parse_methods": "subliminal_stats.stats.methods",
    "SeedPlan": "subliminal_stats.stats.power",
    "detectable_effect": "subliminal_stats.stats.power",
    "estimate_between_seed_sd": "subliminal_stats.stats.power",
    "power_at": "subliminal_stats.stats.power",
    "seeds_needed": "subliminal_stats.stats.power",
    "ROW_KEYS": "subliminal_stats.stats.results",
    "ComparisonResult": "subliminal_stats.stats.results",
    "ConfidenceInterval": "subliminal_stats.stats.results",
    "simulate_cells": "subliminal_stats.stats.simulation",
    "simulate_responses": "subliminal_stats.stats.simulation",
    "CANNOT_REACH": "subliminal_stats.stats.verdicts",
    "LOWER": "subliminal_stats.stats.verdicts",
    "NO_EVIDENCE": "subliminal_stats.stats.verdicts",
    "NOT_AVAILABLE": "subliminal_stats.stats.verdicts",
    "TRANSFER": "subliminal_stats.stats.verdicts",
    "VERDICTS": "subliminal_stats.stats.verdicts",
    "verdict": "subliminal_stats.stats.verdicts",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from subliminal_stats.stats.api import (
        DEFAULT_METHOD,
        METHOD_DESCRIPTIONS,
        available_methods,
        compare,
        compare_metric,
        results_frame,
        summarize,
    )
    from subliminal_stats.stats.calibration import calibrate
    from subliminal_stats.stats.cells import SCORE_METHODS, cell_counts, per_seed_rates, score_cells
    from subliminal_stats.stats.methods import METHODS, parse_methods
    from subliminal_stats.stats.power import (
        SeedPlan,
        detectable_effect,
        estimate_between_seed_sd,
        power_at,
        seeds_needed,
    )
    from subliminal_stats.stats.results import ROW_KEYS, ComparisonResult, ConfidenceInterval
    from subliminal_stats.stats.simulation import simulate_cells, simulate_responses
    from subliminal_stats.stats.verdicts import (
        CANNOT_REACH,
        LOWER,
        NO_EVIDENCE,
        NOT_AVAILABLE,
        TRANSFER,
        VERDICTS,
        verdict,
    )


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CANNOT_REACH",
    "LOWER",
    "METHODS",
    "NOT_AVAILABLE",
    "NO_EVIDENCE",
    "TRANSFER",
    "VERDICTS",
    "parse_methods",
    "verdict",
    "DEFAULT_METHOD",
    "METHOD_DESCRIPTIONS",
    "ROW_KEYS",
    "ComparisonResult",
    "ConfidenceInterval",
    "SeedPlan",
    "available_methods",
    "calibrate",
    "cell_counts",
    "score_cells",
    "SCORE_METHODS",
    "compare",
    "compare_metric",
    "detectable_effect",
    "estimate_between_seed_sd",
    "per_seed_rates",
    "power_at",
    "results_frame",
    "seeds_needed",
    "simulate_cells",
    "simulate_responses",
    "summarize",
]
