"""Hierarchical binomial simulator of a subliminal-learning evaluation.

Model (logit scale), the same questions in every arm (crossed with seeds)::

    logit p[arm, seed, question] = intercept[arm] + u[seed] + v[question]
    u ~ N(0, seed_sd²)   (0 for a single unseeded model such as the base)
    v ~ N(0, question_sd²), shared by every arm
    hits[arm, seed, question] ~ Binomial(answers_per_question, p)

Arrays are generated for many simulated experiments at once (leading axis =
simulation), which keeps the calibration tests fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit


@dataclass(frozen=True)
class ArmSpec:
    """One condition of a simulated design.

    ``seeded=False`` marks a single model without seed variation (the base).
    """

    label: str
    intercept: float
    n_seeds: int
    seeded: bool = True
    #: This arm's between-seed SD on the logit scale (``None``: the design's ``seed_sd``).
    #: Treated students spread more than controls when the transfer varies by student.
    seed_sd: float | None = None


@dataclass(frozen=True)
class SimulatedCells:
    """Cell counts for ``n_sims`` simulated experiments.

    Attributes
    ----------
    hits : dict label → int array (n_sims, seeds, questions)
    answers_per_question : int
    question_effects : float array (n_sims, questions)
        The simulated logit-scale question effects (shared by every arm).
    true_mean : dict label → float array (n_sims,)
        The arm's expected mean per-seed rate over the seed distribution, given
        that simulation's questions (Gauss–Hermite quadrature); for an unseeded
        arm, its exact rate. Differences of these are the true effects used for
        interval coverage.
    """

    arms: tuple[ArmSpec, ...]
    hits: dict = field(repr=False)
    answers_per_question: int
    true_mean: dict = field(repr=False)
    question_effects: np.ndarray = field(repr=False, default=None)

    @property
    def n_sims(self) -> int:
        return next(iter(self.hits.values())).shape[0]

    def rates(self, label: str) -> np.ndarray:
        """Per-(seed, question) rates (n_sims, seeds, questions)."""
        return self.hits[label] / self.answers_per_question

    def seed_rates(self, label: str) -> np.ndarray:
        """Per-seed rates (n_sims, seeds): mean over questions of cell rates."""
        return self.rates(label).mean(axis=-1)


def _expected_rate(intercept, question_effects, seed_sd, n_nodes=40):
    """E_u[mean_q expit(intercept + u + v_q)], u ~ N(0, seed_sd²); (n_sims,)."""
    if seed_sd == 0:
        return expit(intercept + question_effects).mean(axis=-1)
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    eta = intercept + question_effects[..., None] + seed_sd * nodes  # (n_sims, Q, nodes)
    return (expit(eta) @ weights).mean(axis=-1)


def single_model_rates(goal, question_effects, *, iterations: int = 40):
    """Per-question rates ``expit(b + v_q)`` of one unseeded model whose mean over the questions
    is ``goal`` (one ``b`` per simulation, by Newton's method); (n_sims, Q).

    The base model of a simulated null: its true rate is set to what the null says it is.
    """
    v = np.asarray(question_effects, dtype=float)
    goal = np.asarray(goal, dtype=float)
    b = np.log(goal / (1 - goal))
    for _ in range(iterations):
        pb = expit(b[:, None] + v)
        b = b - (pb.mean(axis=1) - goal) / np.maximum((pb * (1 - pb)).mean(axis=1), 1e-300)
    return expit(b[:, None] + v)


def expected_logit(intercept, question_effects, seed_sd, n_nodes=40):
    """E_u[logit(mean_q expit(intercept + u + v_q))], u ~ N(0, seed_sd²); (n_sims,).

    The log-odds estimand of :func:`~subliminal_stats.stats.arrays.logit_t`: each student's
    log-odds of its rate over the questions, averaged over students. ``log r − log(1 − r)``
    with ``1 − r`` summed from ``expit(−η)`` stays finite where a rate rounds to 0 or 1.
    """
    eta = intercept + np.asarray(question_effects, dtype=float)[..., None]  # (n_sims, Q, 1)
    if seed_sd == 0:
        return (np.log(expit(eta).mean(axis=-2)) - np.log(expit(-eta).mean(axis=-2)))[..., 0]
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    eta = eta + seed_sd * nodes  # (n_sims, Q, nodes)
    per_node = np.log(expit(eta).mean(axis=-2)) - np.log(expit(-eta).mean(axis=-2))
    return per_node @ weights


def simulate_cells(
    *,
    n_sims: int = 1000,
    arms: tuple[ArmSpec, ...] | None = None,
    seeds_per_arm: int = 5,
    n_questions: int = 50,
    answers_per_question: int = 20,
    intercept: float = -2.0,
    effect: float = 0.0,
    seed_sd: float = 0.4,
    question_sd: float = 0.8,
    include_base: bool = False,
    rng=None,
    truth: bool = True,
) -> SimulatedCells:
    """Simulate per-cell hit counts for many experiments at once.

    Parameters
    ----------
    n_sims : int
        Number of simulated experiments.
    arms : tuple of ArmSpec, optional
        Full design; by default ``control`` (``intercept``) and ``treated``
        (``intercept + effect``) with ``seeds_per_arm`` seeds each, plus an
        unseeded single-model ``base`` at ``intercept`` when ``include_base``.
    seeds_per_arm, n_questions, answers_per_question : int
    intercept, effect : float
        Logit-scale control intercept and treated shift.
    seed_sd, question_sd : float
        Logit-scale SDs of the seed and (crossed) question random effects
        (an :class:`ArmSpec` may set its own ``seed_sd``).
    rng : seed or numpy Generator
    truth : bool
        Compute each arm's true mean by quadrature (``true_mean``); ``False`` leaves it
        empty, for simulations that need only the data (it is about a third of the time).

    Returns
    -------
    SimulatedCells
    """
    rng = np.random.default_rng(rng)
    if arms is None:
        arms = (
            ArmSpec("control", intercept, seeds_per_arm),
            ArmSpec("treated", intercept + effect, seeds_per_arm),
        )
        if include_base:
            arms = (ArmSpec("base", intercept, 1, seeded=False),) + arms
    v = rng.normal(0.0, question_sd, size=(n_sims, n_questions))
    hits, true_mean = {}, {}
    for arm in arms:
        sd = (seed_sd if arm.seed_sd is None else arm.seed_sd) if arm.seeded else 0.0
        u = rng.normal(0.0, sd, size=(n_sims, arm.n_seeds, 1)) if sd > 0 else 0.0
        p = np.broadcast_to(expit(arm.intercept + u + v[:, None, :]),
                            (n_sims, arm.n_seeds, n_questions))
        hits[arm.label] = rng.binomial(answers_per_question, p).astype(np.int32)
        if truth:
            true_mean[arm.label] = _expected_rate(arm.intercept, v, sd)
    return SimulatedCells(tuple(arms), hits, int(answers_per_question), true_mean, v)


def cells_frame(sim: SimulatedCells, i: int, *, labels=None) -> pd.DataFrame:
    """Simulation ``i`` as a cells frame ``condition, seed, question, hits, n``.

    Seed labels ``"0"…`` repeat across arms (seeds are nested in their arm); questions
    are ``q000…``. This is the input of the mixed models.
    """
    frames = []
    for label in labels or [a.label for a in sim.arms]:
        h = sim.hits[label][i]
        g, q = h.shape
        frames.append(pd.DataFrame({
            "condition": label,
            "seed": np.repeat(np.arange(g).astype(str), q),
            "question": np.tile([f"q{j:03d}" for j in range(q)], g),
            "hits": h.ravel().astype(np.int64),
            "n": sim.answers_per_question,
        }))
    return pd.concat(frames, ignore_index=True)


def simulate_cell_frame(seeds_per_arm: int, *, n_questions: int = 50,
                        answers_per_question: int = 20, intercept: float = -2.0,
                        seed_sd: float = 0.4, question_sd: float = 0.8, effect: float = 0.0,
                        rng=None) -> pd.DataFrame:
    """One simulated control-vs-treated experiment as a cells frame (:func:`cells_frame`).

    The same model as :func:`simulate_cells` (it is that function with ``n_sims=1``).
    """
    sim = simulate_cells(n_sims=1, seeds_per_arm=seeds_per_arm, n_questions=n_questions,
                         answers_per_question=answers_per_question, intercept=intercept,
                         effect=effect, seed_sd=seed_sd, question_sd=question_sd, rng=rng)
    return cells_frame(sim, 0)


def simulate_responses(
    *,
    traits=("owl",),
    seeds_per_arm: int = 3,
    n_questions: int = 20,
    answers_per_question: int = 10,
    base_answers_per_question: int | None = None,
    intercept: float = -2.0,
    effect: float = 1.4,
    seed_sd: float = 0.4,
    question_sd: float = 0.8,
    include_base: bool = True,
    experiment: str = "simulated",
    rng=None,
) -> pd.DataFrame:
    """A simulated responses table (one row per answer), same model as :func:`simulate_cells`.

    Conditions ``control`` and ``treated`` (``seeds_per_arm`` seeds each) and, with
    ``include_base``, a single-seed ``base``. ``effect`` is the treated shift on the
    logit scale (may be a sequence, one per trait).

    Returns
    -------
    pandas.DataFrame with columns experiment, trait, condition, seed, question, sample, hit.
    """
    rng = np.random.default_rng(rng)
    effects = np.broadcast_to(np.asarray(effect, dtype=float), (len(traits),))
    base_n = answers_per_question if base_answers_per_question is None else base_answers_per_question
    frames = []
    for trait, eff in zip(traits, effects, strict=True):
        arms = [("control", intercept, seeds_per_arm, True, answers_per_question),
                ("treated", intercept + eff, seeds_per_arm, True, answers_per_question)]
        if include_base:
            arms.insert(0, ("base", intercept, 1, False, base_n))
        v = rng.normal(0.0, question_sd, size=n_questions)
        for label, icpt, g, seeded, n in arms:
            u = rng.normal(0.0, seed_sd, size=(g, 1)) if seeded else np.zeros((g, 1))
            p = expit(icpt + u + v[None, :])  # (g, Q)
            # One uniform per answer: hit = u < p (rows ordered seed, question, sample).
            hit = rng.random((g, n_questions, n)) < p[..., None]
            seeds = [f"{label}-{s}" for s in range(g)] if seeded else [label]
            frames.append(pd.DataFrame({
                "experiment": experiment,
                "trait": trait,
                "condition": label,
                "seed": np.repeat(np.array(seeds, dtype=object), n_questions * n),
                "question": np.tile(np.repeat([f"q{q:02d}" for q in range(n_questions)], n), g),
                "sample": np.tile(np.arange(n), g * n_questions),
                "hit": hit.ravel().astype(np.int8),
            }))
    return pd.concat(frames, ignore_index=True)
