"""Is the probe's rise owl-specific? The same probe for a panel of other animals.

For the base model and each student of the run, the exact probability of each
animal as the next word after "My favorite animal is the", on the first 20 of the
run's 50 questions (the pipeline's own probe, `LocalBackend.next_word_probability`).
Writes `specificity.csv` (condition, seed, question, animal, prob) and prints
treated − control per animal with the default test (pooled t on per-seed means,
Holm across the animals) and the treated/control ratio of the means.

Needs the run folder with its LoRA adapters (not committed; `manifest.json`
names where they were) and the local extra:

    .venv/bin/python data/runs/owl_numbers_local/specificity.py [RUN_FOLDER]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ANIMALS = ("owl", "dog", "cat", "eagle", "lion", "dolphin")
#: The first questions of the run's 50: the probe costs one forward pass per spelling
#: (4 per animal) and question, about 7 minutes for all seven models on 2 cores.
N_QUESTIONS = 20


def measure(run_folder: Path | None) -> pd.DataFrame:
    from subliminal_stats.backends.local import LocalBackend
    from subliminal_stats.evaluation.questions import PROBE_LEAD_INS, load_questions

    manifest = json.loads((HERE / "manifest.json").read_text())
    ev = manifest["config"]["evaluation"]
    questions = load_questions(ev["questions"], limit=min(N_QUESTIONS, ev["n_questions"]))
    lead_in = ev["probe_lead_in"] or PROBE_LEAD_INS[manifest["config"]["category"]]
    models = [("base", "base", None)]
    for name, path in manifest["students"].items():
        arm, seed = name.rsplit("-seed", 1)
        adapter = Path(path) if run_folder is None else run_folder / "train" / Path(path).name
        models.append(("control" if arm == "control" else "treated", seed, adapter))
    rows = []
    for condition, seed, adapter in models:
        backend = LocalBackend(adapter=adapter, torch_threads=2)
        for question in questions:
            probs = backend.next_word_probability(({"role": "user", "content": question},),
                                                  lead_in, list(ANIMALS))
            rows.extend({"condition": condition, "seed": seed, "question": question,
                         "animal": a, "prob": p} for a, p in probs.items())
        print(f"measured {condition} {seed}", file=sys.stderr)
    return pd.DataFrame(rows)


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    from subliminal_stats.stats import compare_metric, results_frame

    table = frame.rename(columns={"animal": "trait"})
    tests = results_frame(compare_metric(table, "prob", treated="treated", control="control"))
    means = table.groupby(["trait", "condition", "seed"])["prob"].mean().groupby(
        ["trait", "condition"]).mean().unstack("condition")
    out = tests.set_index("trait")[["estimate_pp", "ci_low_pp", "ci_high_pp", "p_value",
                                    "p_adjusted"]]
    out["base_pct"] = 100 * means["base"]
    out["control_pct"] = 100 * means["control"]
    out["treated_pct"] = 100 * means["treated"]
    out["treated_over_control"] = means["treated"] / means["control"]
    return out.loc[list(ANIMALS)]


def main() -> None:
    path = HERE / "specificity.csv"
    if not path.exists():
        run_folder = Path(sys.argv[1]) if len(sys.argv) > 1 else None
        measure(run_folder).to_csv(path, index=False)
    out = summarize(pd.read_csv(path, dtype={"seed": str}))
    print("| animal | base % | control % | treated % | treated / control | treated − control pp "
          f"[95 % CI] | p (Holm over {len(ANIMALS)}) |")
    print("|---|---|---|---|---|---|---|")
    for animal, r in out.iterrows():
        print(f"| {animal} | {r.base_pct:.3f} | {r.control_pct:.3f} | {r.treated_pct:.3f} | "
              f"{r.treated_over_control:.2f} | {r.estimate_pp:+.3f} [{r.ci_low_pp:+.3f}, "
              f"{r.ci_high_pp:+.3f}] | {r.p_adjusted:.3g} |")


if __name__ == "__main__":
    main()
