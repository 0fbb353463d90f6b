"""Print the Markdown tables of README.md from responses.parquet and sweep.csv (no torch).

    .venv/bin/python data/runs/mlp_digits/summarize.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from subliminal_stats.data.schema import read_responses

HERE = Path(__file__).resolve().parent
CONDITIONS = ("reference", "teacher", "aux_same_init", "aux_diff_init", "all_same_init", "all_diff_init")
#: arXiv 2507.14805 v1, MNIST figure, read off the plot (approximate), 100 runs.
PAPER_MNIST = {"reference": 0.100, "teacher": 0.943, "aux_same_init": 0.528, "aux_diff_init": 0.106,
               "all_same_init": 0.913, "all_diff_init": 0.743}


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    m = float(np.mean(values))
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * stats.sem(values))
    return m, m - half, m + half


def main() -> None:
    table = read_responses(HERE / "responses.parquet")
    per_seed = table.groupby(["condition", "seed"])["hit"].mean().unstack("condition")
    n = per_seed.shape[0]
    print(f"| condition | digits 8x8 accuracy, mean over {n} seeds [95% CI] | sd over seeds | "
          "paper MNIST (approx.) |")
    print("|---|---|---|---|")
    for c in CONDITIONS:
        m, lo, hi = t_interval(per_seed[c].to_numpy())
        print(f"| `{c}` | {m:.3f} [{lo:.3f}, {hi:.3f}] | {per_seed[c].std(ddof=1):.3f} | "
              f"{PAPER_MNIST[c]:.3f} |")
    treated, control = per_seed["aux_same_init"].to_numpy(), per_seed["aux_diff_init"].to_numpy()
    welch = stats.ttest_ind(treated, control, equal_var=False)
    ci = welch.confidence_interval(0.95)
    print(f"\nWelch (scipy) aux_same_init − aux_diff_init: {100 * (treated.mean() - control.mean()):.1f} pp "
          f"[{100 * ci.low:.1f}, {100 * ci.high:.1f}], t = {welch.statistic:.2f}, "
          f"df = {welch.df:.1f}, p = {welch.pvalue:.2g}")

    sweep_path = HERE / "sweep.csv"
    if sweep_path.exists():
        sweep = pd.read_csv(sweep_path)
        k = sweep["seed"].nunique()
        base = per_seed.loc[[str(s) for s in sorted(sweep["seed"].unique())]]
        rows = [(f"student 80 epochs = bundled settings (its seeds 0–{k - 1})", base)]
        for variant, grp in sweep.groupby("variant", sort=False):
            rows.append((variant, grp.pivot(index="seed", columns="condition", values="accuracy")))
        print(f"\n| variant ({k} seeds each) | teacher | aux_same_init | aux_diff_init | same − diff |"
              " all_same_init | all_diff_init |")
        print("|---|---|---|---|---|---|---|")
        for name, acc in rows:
            diff = acc["aux_same_init"].to_numpy() - acc["aux_diff_init"].to_numpy()
            print(f"| {name} | {acc['teacher'].mean():.3f} | {acc['aux_same_init'].mean():.3f} ± "
                  f"{acc['aux_same_init'].std(ddof=1):.3f} | {acc['aux_diff_init'].mean():.3f} | "
                  f"{diff.mean():+.3f} | {acc['all_same_init'].mean():.3f} | {acc['all_diff_init'].mean():.3f} |")


if __name__ == "__main__":
    main()
