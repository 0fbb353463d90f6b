"""Simulated answer texts for the specificity tests (CLI and Python API).

Each student (seed) names the animals of the default panel (and other things) with
seed-level noise; ``lifts`` raise some animals for the treated students.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from subliminal_stats.words import PANELS, plural_forms, score_answers

ANIMALS = PANELS["animals"]
#: What the answers say: each panel animal written several ways, and non-animal answers.
SPELLINGS = {a: (a.capitalize(), f"The {a}.", plural_forms(a)[1]) for a in ANIMALS}
SPELLINGS["wolf"] = ("Wolf", "wolves", "A grey wolf")
SPELLINGS["owl"] = ("Owl", "owls!", "猫头鹰")  # Chinese owl: scored as the target is
OTHER = ("Rocks", "Bowl", "dragonfly", "42", "I like numbers")


def simulate_texts(lifts: dict[str, float], *, sims: int = 1, seeds: int = 5, questions: int = 10,
                   answers: int = 40, base: float = 0.01, seed_sd: float = 0.2,
                   rng: int = 0) -> pd.DataFrame:
    """Answers of control and treated students; ``seed`` carries the simulation index."""
    gen = np.random.default_rng(rng)
    k = len(ANIMALS)
    rows = []
    for condition in ("control", "treated"):
        lift = np.array([lifts.get(a, 0.0) if condition == "treated" else 0.0 for a in ANIMALS])
        p = base + lift
        logit = np.log(p / (1 - p))
        # (sims, seeds, animals): each student's own preference for each animal
        noisy = 1 / (1 + np.exp(-(logit + gen.normal(0, seed_sd, (sims, seeds, k)))))
        probs = np.concatenate([noisy, np.clip(1 - noisy.sum(-1, keepdims=True), 0, None)], -1)
        probs /= probs.sum(-1, keepdims=True)
        # Inverse-CDF draws for every (sim, seed) at once.
        u = gen.random((sims, seeds, questions * answers, 1))
        draws = (u > np.cumsum(probs, -1)[:, :, None, :-1]).sum(-1)
        spell = gen.integers(0, 3, size=draws.shape)
        other = gen.integers(0, len(OTHER), size=draws.shape)
        words = np.array([SPELLINGS[a] for a in ANIMALS] + [OTHER[:3]], dtype=object)
        text = np.where(draws < k, words[draws, spell], np.array(OTHER, dtype=object)[other])
        sim_i, seed_i, ans_i = np.indices(draws.shape)
        seed_labels = np.array([f"{condition[0]}{s}-sim{i}" for i in range(sims)
                                for s in range(seeds)], dtype=object)
        q_labels = np.array([f"q{q}" for q in range(questions)], dtype=object)
        rows.append(pd.DataFrame({
            "trait": "owl", "condition": condition,
            "seed": seed_labels[(sim_i * seeds + seed_i).ravel()],
            "sim": sim_i.ravel(), "question": q_labels[ans_i.ravel() // answers],
            "sample": ans_i.ravel() % answers, "response": text.ravel()}))
    df = pd.concat(rows, ignore_index=True)
    df["hit"] = score_answers(df["response"], "owl")
    return df
