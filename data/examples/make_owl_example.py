"""Write the small simulated example table `owl_example.csv` (fixed seed).

Simulated, not measured: a hierarchical binomial model shaped like the paper's
owl experiment (base ≈ 12 %, control ≈ 12 %, treated ≈ 35 %; between-seed SD
0.4 and between-question SD 0.8 on the logit scale; 3 seeds per student arm,
20 questions × 10 answers). Used by the README tour and CLI tests.

Run: python data/examples/make_owl_example.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20250722)
n_questions, n_samples = 20, 10
question_effect = rng.normal(0, 0.8, n_questions)
arms = {"base": (-2.0, 1), "control": (-2.0, 3), "treated": (-0.6, 3)}
rows = []
for condition, (intercept, n_seeds) in arms.items():
    for s in range(n_seeds):
        seed_effect = 0.0 if condition == "base" else rng.normal(0, 0.4)
        for q in range(n_questions):
            p = 1 / (1 + np.exp(-(intercept + seed_effect + question_effect[q])))
            hits = rng.random(n_samples) < p
            for k, h in enumerate(hits):
                rows.append(
                    {
                        "experiment": "owl_example (simulated)",
                        "trait": "owl",
                        "condition": condition,
                        "seed": f"{condition}-{s}" if condition != "base" else "base",
                        "question": f"q{q:02d}",
                        "sample": k,
                        "hit": int(h),
                    }
                )
out = Path(__file__).with_name("owl_example.csv")
pd.DataFrame(rows).to_csv(out, index=False)
print(f"wrote {out} ({len(rows)} rows)")
