"""Why does (or doesn't) the digits 8×8 version show subliminal learning? A small sweep.

Each variant changes one thing in ``pipelines/mlp_digits.toml`` (teacher 20 epochs,
students 80 epochs of uniform noise, 256-256, 3 auxiliary logits). Seeds 0..N-1 use
the same generators as the bundled run, whose seeds 0..4 are the baseline.
Per-seed test accuracies of every condition are appended to ``sweep.csv`` beside
this file; variants already there are skipped (the sweep resumes).

    .venv/bin/python data/runs/mlp_digits/sweep.py [--seeds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
import tomllib
from pathlib import Path

import pandas as pd
import torch

from subliminal_stats.experiments import mlp
from subliminal_stats.experiments.mlp_pipeline import (
    MLPPipelineConfig,
    load_data,
    settings_from_config,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

#: name → overrides of sections of the pipeline file (one change per variant).
VARIANTS: dict[str, dict[str, dict]] = {
    # the amount of distillation (bundled: 80 epochs of 1,437 noise images, batch 64)
    "student 5 epochs": {"student": {"epochs": 5}},
    "student 20 epochs": {"student": {"epochs": 20}},
    "student 40 epochs": {"student": {"epochs": 40}},
    "student batch 1024 (same noise images, 12x fewer steps)": {"student": {"batch_size": 1024}},
    # one change each from the bundled settings
    "noise N(0,1)": {"student": {"noise": "normal"}},
    "noise shuffled pixels (data marginals)": {"student": {"noise": "shuffled_pixels"}},
    "hidden 64-64": {"model": {"hidden": [64, 64]}},
    "10 auxiliary logits": {"model": {"n_aux": 10}},
    "teacher 5 epochs": {"teacher": {"epochs": 5}},
    "student lr 1e-3, 40 epochs": {"student": {"lr": 1e-3, "epochs": 40}},
}


def config_for(overrides: dict[str, dict]) -> MLPPipelineConfig:
    doc = tomllib.loads((REPO / "pipelines" / "mlp_digits.toml").read_text())
    for section, values in overrides.items():
        doc.setdefault(section, {}).update(values)
    return MLPPipelineConfig.model_validate(doc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="run only these variant names")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = HERE / "sweep.csv"
    done = set(pd.read_csv(out)["variant"]) if out.exists() else set()
    for name, overrides in VARIANTS.items():
        if name in done or (args.only and name not in args.only):
            continue
        config = config_for(overrides)
        data = load_data(config)
        t0 = time.perf_counter()
        res = mlp.run_seeds(data, settings_from_config(config), list(range(args.seeds)),
                            base_seed=config.base_seed)
        seconds = time.perf_counter() - t0
        rows = [
            {"variant": name, "condition": cond, "seed": seed, "accuracy": float(acc)}
            for cond, accs in res.accuracy().items()
            for seed, acc in zip(res.seeds, accs, strict=True)
        ]
        frame = pd.DataFrame(rows)
        frame.to_csv(out, mode="a", header=not out.exists(), index=False)
        means = frame.groupby("condition")["accuracy"].mean()
        print(f"{name}: {seconds:.0f} s; " + ", ".join(f"{c} {means[c]:.3f}" for c in mlp.CONDITIONS),
              flush=True)


if __name__ == "__main__":
    main()
