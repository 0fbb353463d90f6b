"""The mixed-effects models over seeds, in one import: LMM, logistic GLMM (MAP) and GEE.

Each lives in its own module — :mod:`~subliminal_stats.stats.lmm`,
:mod:`~subliminal_stats.stats.glmm`, :mod:`~subliminal_stats.stats.gee` — on the shared
input checks of :mod:`~subliminal_stats.stats.model_design`. This module only gathers
their public names (``from subliminal_stats.stats import mixed`` keeps working) and the
simulator glue: :func:`simulate_cells` here is the package's one simulator
(:func:`subliminal_stats.stats.simulation.simulate_cells`) returning one experiment as a
cells frame. The simulated false-positive rates are
:data:`subliminal_stats.stats.calibration_table.MIXED_FPR`.
"""

from __future__ import annotations

from subliminal_stats.stats.calibration_table import MIXED_DESIGN, MIXED_FPR
from subliminal_stats.stats.gee import GeeFit, fit_gee, fit_gee_design, gee_comparison
from subliminal_stats.stats.glmm import (
    GLMM_COLLAPSED_SD,
    GLMM_FE_PRIOR_SD,
    GLMM_VC_PRIOR_SD,
    GlmmMapFit,
    fit_glmm_design,
    fit_glmm_map,
    glmm_comparison,
)
from subliminal_stats.stats.lmm import LmmFit, fit_lmm, fit_lmm_design, lmm_comparison
from subliminal_stats.stats.model_design import (
    CALIBRATED_MAX_FPR,
    REQUIRED_COLUMNS,
    ModelDesign,
    prepare_cells,
)
from subliminal_stats.stats.simulation import simulate_cell_frame as simulate_cells

#: Former names, kept so that callers of v0.1 keep working.
SIMULATED_FPR = MIXED_FPR
SIMULATION_DESIGN = MIXED_DESIGN

#: Mixed-model comparisons by the method name they print.
COMPARISONS = {"lmm": lmm_comparison, "glmm-map": glmm_comparison,
               "gee-bias-reduced": gee_comparison}

__all__ = [
    "CALIBRATED_MAX_FPR", "COMPARISONS", "GLMM_COLLAPSED_SD", "GLMM_FE_PRIOR_SD",
    "GLMM_VC_PRIOR_SD", "GeeFit", "GlmmMapFit", "LmmFit", "MIXED_DESIGN", "MIXED_FPR",
    "ModelDesign", "REQUIRED_COLUMNS", "SIMULATED_FPR", "SIMULATION_DESIGN", "fit_gee",
    "fit_gee_design", "fit_glmm_design", "fit_glmm_map", "fit_lmm", "fit_lmm_design",
    "gee_comparison", "glmm_comparison", "lmm_comparison", "prepare_cells", "simulate_cells",
]
