"""Speed of the mixed-model comparisons (stats/mixed.py) against naive library use.

Run:  .venv/bin/python benchmarks/bench_mixed.py [--repeats 3]

For each design (seeds per arm × 50 questions × 130 answers per question) it times
- ``lmm_comparison`` vs the same MixedLM fit from statsmodels' default start values;
- ``glmm_comparison`` vs ``BinomialBayesMixedGLM.from_formula`` on the raw answer
  rows (patsy builds dense dummy columns for every seed and question);
- ``gee_comparison`` (no naive counterpart: the bias-reduced GEE on raw answer rows
  needs an n×n solve per seed, which is out of reach at 6,500 answers per seed).
Printed: median seconds per fit and the ratio naive / ours. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

from subliminal_stats.stats import mixed


def _median_seconds(func, *args, repeats: int, **kwargs) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _naive_lmm(cells: pd.DataFrame) -> float:
    import statsmodels.formula.api as smf

    frame = cells.assign(
        rate=cells["hits"] / cells["n"],
        treated=(cells["condition"] == "treated").astype(float),
        seed_key=cells["condition"] + "/" + cells["seed"],
        one=1,
    )
    model = smf.mixedlm(
        "rate ~ treated",
        frame,
        groups="one",
        re_formula="0",
        vc_formula={"seed": "0 + C(seed_key)", "question": "0 + C(question)"},
    )
    return float(model.fit(reml=True).fe_params["treated"])


def _naive_glmm(cells: pd.DataFrame) -> float:
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    rows = cells.loc[cells.index.repeat(cells["n"])].copy()
    within = rows.groupby(level=0).cumcount().to_numpy()
    rows["hit"] = (within < rows["hits"].to_numpy()).astype(float)
    rows["treated"] = (rows["condition"] == "treated").astype(float)
    rows["seed_key"] = rows["condition"] + "/" + rows["seed"]
    model = BinomialBayesMixedGLM.from_formula(
        "hit ~ treated",
        {"seed": "0 + C(seed_key)", "question": "0 + C(question)"},
        rows.reset_index(drop=True),
        vcp_p=mixed.GLMM_VC_PRIOR_SD,
        fe_p=mixed.GLMM_FE_PRIOR_SD,
    )
    return float(model.fit_map(rng=0).fe_mean[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds-per-arm", type=int, nargs="+", default=[3, 5, 10])
    args = parser.parse_args()
    import statsmodels.api  # noqa: F401  (its import re-enables ConvergenceWarning)

    warnings.simplefilter("ignore")
    arms = {"trait": "bench", "treated": "treated", "control": "control"}
    print(f"{'design':<32}{'method':<10}{'ours s':>9}{'naive s':>9}{'ratio':>8}")
    for g in args.seeds_per_arm:
        cells = mixed.simulate_cells(
            g, n_questions=50, answers_per_question=130, effect=0.3, rng=np.random.default_rng(g)
        )
        label = f"{g} seeds/arm, {int(cells['n'].sum()):,} answers"
        ours = _median_seconds(mixed.lmm_comparison, cells, repeats=args.repeats, **arms)
        naive = _median_seconds(_naive_lmm, cells, repeats=args.repeats)
        print(f"{label:<32}{'lmm':<10}{ours:>9.2f}{naive:>9.2f}{naive / ours:>7.1f}x")
        ours = _median_seconds(mixed.glmm_comparison, cells, repeats=args.repeats, **arms)
        naive = _median_seconds(_naive_glmm, cells, repeats=1)
        print(f"{label:<32}{'glmm-map':<10}{ours:>9.2f}{naive:>9.2f}{naive / ours:>7.1f}x")
        ours = _median_seconds(mixed.gee_comparison, cells, repeats=args.repeats, **arms)
        print(f"{label:<32}{'gee':<10}{ours:>9.2f}{'-':>9}{'-':>8}")


if __name__ == "__main__":
    main()
