"""The teacher-dataset level: datasets as replicates, seeds nested inside them (issue 17 §6).

A student is trained on one teacher dataset (numbers sampled from a teacher with or without
the trait). With one dataset per arm, the trait is confounded with that dataset and seeds
replicate student training only. With several datasets per arm, the **dataset** is the
replicate: two datasets from the same teacher differ (sampling, filtering), and every student
trained on a dataset shares that dataset's draw. Treating the seeds as independent then
counts one dataset draw several times: its test is anti-conservative whenever the
between-dataset SD is above 0 (measured by :func:`calibrate_datasets`).

Model (logit scale, questions crossed and shared)::

    logit p[arm, dataset, seed, q] = b_arm + w_dataset + u_seed + v_q
    w ~ N(0, dataset_sd²), u ~ N(0, seed_sd²), v ~ N(0, question_sd²)

Inference (:func:`compare_datasets`): per-seed rates → per-dataset means (each dataset
weighs the same) → Welch over datasets, df capped at ``2 (min datasets − 1)`` as the default
test's is capped over seeds.

Calibration (:func:`calibrate_datasets`, 240 scenarios: 2/3/5 datasets × 1/2/5 seeds per
dataset, dataset SD 0/0.2/0.5/1.0 and seed SD 0.1/0.4 logit, rates 1 % and 12 %, 50
questions × 20 answers; 2,000 simulations each, rng 20261203, ~3.5 min on one core):

* nulls (144): dataset-level Welch ≤ 4.75 % false positives in every scenario; the seed-level
  Welch that ignores datasets 5.75 % at dataset SD 0 but 37.9 %, 49.5 % and 54.2 % (worst
  scenario) at dataset SD 0.2, 0.5 and 1.0 — the reason the level exists;
* effects (+1 logit, 96): dataset-level coverage ≥ 93.75 % at dataset SD ≤ 0.2, down to
  90.85 % at dataset SD 1.0 and a 1 % rate (skewed dataset means: the default test's own
  limit on skewed arms) — 10 of 96 scenarios below 93.5 %; ``dataset-hsu`` 92.65 % there
  (3 below) at half the power; ignoring datasets covers 42–60 %. :func:`variance_split` gives the two-level variance split
(between datasets, between seeds within a dataset; balanced one-way ANOVA, method of moments).

Planning (:func:`plan_datasets`): the variance of an arm mean with D datasets of S seeds is
``σ_d² / D + σ_s² / (D S)``; for a budget of students (and optionally a cost per dataset in
students), the design with the highest power of the dataset-level test, with the closed-form
optimum seeds per dataset ``S* = sqrt(c σ_s² / σ_d²)`` and a check by simulation
(:func:`simulated_power`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A
from subliminal_stats.stats.grid import mean_rate_intercept

__all__ = ["DatasetComparison", "DatasetPlan", "DatasetScenario", "VarianceSplit",
           "DATASET_METHODS", "calibrate_datasets", "compare_datasets", "compare_datasets_frame", "dataset_means",
           "dataset_scenarios", "needs_dataset_level", "plan_datasets",
           "seed_rates_with_datasets", "simulate_two_level", "simulated_power",
           "variance_split"]


# --------------------------------------------------------------------------- inference


def _rates_and_labels(rates, datasets, name):
    r = np.asarray(rates, dtype=float).ravel()
    labels = np.asarray(datasets, dtype=object).ravel()
    if r.size != labels.size:
        raise InputError(f"the {name} arm has {r.size} per-seed rates but {labels.size} dataset "
                         "labels: give one dataset label per seed")
    if r.size == 0 or not np.isfinite(r).all():
        raise InputError(f"the {name} arm needs finite per-seed rates")
    if any(lab is None or (isinstance(lab, float) and math.isnan(lab)) for lab in labels):
        raise InputError(f"the {name} arm has a seed without a dataset label: label every seed "
                         "(the teacher dataset it was trained on)")
    return r, labels.astype(str)


def dataset_means(rates, datasets):
    """Per-dataset means of per-seed rates.

    Returns
    -------
    (labels, means, seeds) : arrays, sorted by label — ``seeds`` the seeds per dataset.
    """
    r, labels = _rates_and_labels(rates, datasets, "given")
    uniq, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=r) / counts
    return uniq, means, counts


def needs_dataset_level(*datasets_per_arm) -> bool:
    """True when every arm has ≥ 2 teacher datasets (datasets are then the replicates)."""
    return all(np.unique(np.asarray(d, dtype=object).astype(str)).size >= 2
               for d in datasets_per_arm)


@dataclass(frozen=True)
class VarianceSplit:
    """Two-level variance of one arm's per-seed rates (proportions², rate scale)."""

    between_datasets: float  # σ_d²: the spread of dataset means beyond what seeds explain
    within_datasets: float  # σ_s²: between seeds trained on the same dataset
    n_datasets: int
    n_seeds: int
    seeds_per_dataset: float  # n0 of the unbalanced ANOVA (= S when balanced)
    note: str = ""

    @property
    def dataset_share(self) -> float:
        """σ_d² / (σ_d² + σ_s²): the intraclass correlation of seeds sharing a dataset."""
        total = self.between_datasets + self.within_datasets
        return self.between_datasets / total if total > 0 else math.nan


def variance_split(rates, datasets) -> VarianceSplit:
    """Between-dataset and within-dataset (between-seed) variance of per-seed rates.

    One-way random-effects ANOVA, method of moments: ``MSW`` pooled within datasets,
    ``MSB = Σ n_i (m_i − m)² / (D − 1)``, ``σ_d² = max(0, (MSB − MSW) / n0)`` with
    ``n0 = (N − Σ n_i² / N) / (D − 1)``. Needs ≥ 2 datasets; σ_s² needs a dataset with ≥ 2
    seeds (otherwise NaN, said in ``note``: with one seed per dataset the two levels cannot
    be told apart, though the dataset-level test is still valid).
    """
    r, labels = _rates_and_labels(rates, datasets, "given")
    uniq, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    d, n = uniq.size, r.size
    if d < 2:
        raise InputError("a variance split needs at least 2 teacher datasets in the arm")
    means = np.bincount(inverse, weights=r) / counts
    grand = r.mean()
    ss_within = float(((r - means[inverse]) ** 2).sum())
    df_within = n - d
    msb = float((counts * (means - grand) ** 2).sum() / (d - 1))
    n0 = (n - float((counts**2).sum()) / n) / (d - 1)
    if df_within == 0:
        return VarianceSplit(math.nan, math.nan, d, n, n0,
                             "one seed per dataset: the dataset and seed levels cannot be told "
                             "apart (their sum is the spread of the seeds)")
    msw = ss_within / df_within
    between = max(0.0, (msb - msw) / n0)
    note = "" if msb >= msw else "between-dataset variance estimated below 0, set to 0"
    return VarianceSplit(between, msw, d, n, n0, note)


@dataclass(frozen=True)
class DatasetComparison:
    """Treated − control on per-dataset means (Welch over datasets)."""

    estimate: float
    se: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float
    n_datasets_treated: int
    n_datasets_control: int
    split_treated: VarianceSplit | None
    split_control: VarianceSplit | None
    unit: str = "dataset"
    note: str = ""
    method: str = "dataset-welch"


#: Dataset-level tests: Welch over datasets with the default test's capped df (default), or
#: Hsu's ``min datasets − 1`` df (conservative: covers ≥ 92.6 % where the default covers
#: 90 %, at half the power; see the module notes).
DATASET_METHODS = ("dataset-welch", "dataset-hsu")


def compare_datasets(treated_rates, treated_datasets, control_rates, control_datasets, *,
                     alternative: str = "two-sided", confidence_level: float = 0.95,
                     method: str = "dataset-welch") -> DatasetComparison:
    """Treated vs control with teacher datasets as the replicates and seeds nested.

    Parameters
    ----------
    treated_rates, control_rates : array-like
        Per-seed rates (0–1) of each arm.
    treated_datasets, control_datasets : array-like
        The teacher dataset of each seed (labels; datasets are nested in their arm).

    Returns
    -------
    DatasetComparison
        Welch's t on the per-dataset means (df capped at ``2 (min datasets − 1)``), with each
        arm's :func:`variance_split` (None when the split is not estimable).

    Raises
    ------
    InputError
        When an arm has fewer than 2 datasets: then datasets cannot be replicates, and the
        seed-level test is the only one possible (its seeds replicate training only, and
        the trait is confounded with the arm's one dataset — say so).
    """
    tr, tl = _rates_and_labels(treated_rates, treated_datasets, "treated")
    cr, cl = _rates_and_labels(control_rates, control_datasets, "control")
    if not needs_dataset_level(tl, cl):
        counts = f"{np.unique(tl).size} and {np.unique(cl).size}"
        raise InputError(f"the dataset level needs at least 2 teacher datasets per arm (treated "
                         f"and control have {counts}): compare on seeds instead, whose seeds "
                         "then replicate student training only")
    if method not in DATASET_METHODS:
        raise InputError(f"method must be one of {', '.join(DATASET_METHODS)}, not {method!r}")
    _, tm, _ = dataset_means(tr, tl)
    _, cm, _ = dataset_means(cr, cl)
    res = A.welch_t(tm, cm, alternative=alternative, confidence_level=confidence_level,
                    df_rule="hsu" if method == "dataset-hsu" else "capped")
    splits = []
    for r, lab in ((tr, tl), (cr, cl)):
        s = variance_split(r, lab)
        splits.append(None if math.isnan(s.within_datasets) else s)
    note = ""
    if any(s is None for s in splits):
        note = "one seed per dataset in an arm: its variance split is not estimable"
    return DatasetComparison(float(res.estimate), float(res.se), float(res.df),
                             float(res.p_value), float(res.ci_low), float(res.ci_high),
                             int(tm.size), int(cm.size), splits[0], splits[1], "dataset", note,
                             method)


def check_one_dataset_per_seed(df) -> None:
    """InputError naming the first seed with more than one ``dataset`` label.

    A seed trained on two datasets is an error, not something to average over.
    """
    per_seed = df.groupby(["trait", "condition", "seed"], sort=False)["dataset"].nunique()
    if (per_seed > 1).any():
        t, c, sd = per_seed[per_seed > 1].index[0]
        raise InputError(f"seed {sd!r} of condition {c!r} (trait {t!r}) has more than one "
                         "dataset label: each student is trained on one teacher dataset")


def seed_rates_with_datasets(df, *, trait: str | None = None):
    """Per-seed rates with their teacher dataset, from a responses or cells table.

    ``df`` has ``trait, condition, seed, question, dataset`` and either ``hit`` (one row per
    answer) or ``hits`` and ``n`` (per-cell counts). A seed's rate is the mean of its
    per-question rates (each question weighs the same), as everywhere in the package.

    Returns
    -------
    pandas.DataFrame
        ``trait, condition, dataset, seed, rate``, one row per seed.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a DataFrame, got {type(df).__name__}")
    counts = {"hits", "n"}.issubset(df.columns) and "hit" not in df.columns
    needed = ["trait", "condition", "seed", "question", "dataset"] + (
        ["hits", "n"] if counts else ["hit"])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"missing column {', '.join(map(repr, missing))}: the dataset level "
                         "needs a 'dataset' column (the teacher dataset each student was "
                         "trained on) beside trait, condition, seed, question and hit")
    if trait is not None:
        df = df[df["trait"] == trait]
        if not len(df):
            raise InputError(f"no rows for trait {trait!r}")
    if df["dataset"].isna().any():
        row = int(np.flatnonzero(df["dataset"].isna().to_numpy())[0]) + 1
        raise InputError(f"column 'dataset' is empty at row {row}: label every student with "
                         "its teacher dataset")
    check_one_dataset_per_seed(df)
    keys = ["trait", "condition", "dataset", "seed", "question"]
    if counts:
        cells = df.groupby(keys, sort=False)[["hits", "n"]].sum()
        rate = cells["hits"] / cells["n"]
    else:
        rate = df.groupby(keys, sort=False)["hit"].mean()
    out = rate.groupby(level=keys[:-1], sort=False).mean().rename("rate").reset_index()
    return out


def compare_datasets_frame(df, *, treated: str = "treated", control: str = "control",
                           trait: str | None = None, alternative: str = "two-sided",
                           confidence_level: float = 0.95) -> DatasetComparison:
    """:func:`compare_datasets` on a responses/cells table with a ``dataset`` column."""
    rates = seed_rates_with_datasets(df, trait=trait)
    if rates["trait"].nunique() > 1:
        raise InputError(f"several traits ({', '.join(map(str, rates['trait'].unique()))}): "
                         "pass trait=")
    arms = {}
    for role, label in (("treated", treated), ("control", control)):
        arm = rates[rates["condition"] == label]
        if not len(arm):
            raise InputError(f"no {role} condition {label!r}: the data has "
                             f"{', '.join(map(str, rates['condition'].unique()))}")
        arms[role] = arm
    return compare_datasets(arms["treated"]["rate"], arms["treated"]["dataset"],
                            arms["control"]["rate"], arms["control"]["dataset"],
                            alternative=alternative, confidence_level=confidence_level)


# --------------------------------------------------------------------------- simulation


def simulate_two_level(*, n_sims: int, n_datasets: int, seeds_per_dataset: int,
                       intercept: float, dataset_sd: float, seed_sd: float, questions,
                       answers: int, rng) -> np.ndarray:
    """Per-seed rates (n_sims, datasets, seeds) of one arm given shared question effects.

    ``questions`` are the logit question effects (n_sims, Q), shared by every arm.
    """
    v = np.asarray(questions, dtype=float)
    shape = (n_sims, n_datasets, seeds_per_dataset, 1)
    w = rng.normal(0.0, dataset_sd, size=(n_sims, n_datasets, 1, 1)) if dataset_sd > 0 else 0.0
    u = rng.normal(0.0, seed_sd, size=shape) if seed_sd > 0 else 0.0
    p = expit(intercept + w + u + v[:, None, None, :])
    hits = rng.binomial(answers, p)
    return hits.mean(axis=-1) / answers


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _true_mean(intercept, v, sd):
    """E[mean_q expit(b + w + u + v_q)] given v, w + u ~ N(0, sd²) (quadrature); (n_sims,)."""
    return (expit(intercept + v[..., None] + sd * _NODES) @ _WEIGHTS).mean(axis=-1)


@dataclass(frozen=True)
class DatasetScenario:
    """One two-level design (both arms alike but for ``effect``; SDs on the logit scale)."""

    n_datasets: int  # per arm
    seeds_per_dataset: int
    rate: float  # the control arm's expected mean per-seed rate
    dataset_sd: float
    seed_sd: float
    effect: float = 0.0
    answers: int = 20
    questions: int = 50
    question_sd: float = 0.8


def dataset_scenarios() -> list[DatasetScenario]:
    """Nulls (and +1 logit effects for coverage) over 2–5 datasets × 1–5 seeds, dataset SD
    0–1.0, seed SD 0.1–0.4, rates 1 % and 12 %: 240 scenarios."""
    out = []
    for d, s, rate, dsd, ssd, effect in itertools.product(
            (2, 3, 5), (1, 2, 5), (0.01, 0.12), (0.0, 0.2, 0.5, 1.0), (0.1, 0.4),
            (0.0, 1.0)):
        if effect and s == 2:
            continue
        out.append(DatasetScenario(d, s, rate, dsd, ssd, effect))
    return out


def run_dataset_scenario(sc: DatasetScenario, *, n_sims: int = 2000, rng=None,
                         alpha: float = 0.05) -> list[dict]:
    """False-positive rate (null) or coverage (effect) of the dataset-level test and of the
    seed-level Welch that ignores datasets, in one scenario.

    The true effect (for coverage) is the difference of the arms' expected mean per-seed
    rates over datasets and seeds given the simulation's questions (quadrature).
    """
    rng = np.random.default_rng(rng)
    total_sd = math.hypot(sc.dataset_sd, sc.seed_sd)
    b_c = mean_rate_intercept(sc.rate, total_sd, sc.question_sd)
    b_t = b_c + sc.effect
    v = rng.normal(0.0, sc.question_sd, size=(n_sims, sc.questions))
    kw = dict(n_sims=n_sims, n_datasets=sc.n_datasets, seeds_per_dataset=sc.seeds_per_dataset,
              dataset_sd=sc.dataset_sd, seed_sd=sc.seed_sd, questions=v, answers=sc.answers,
              rng=rng)
    t = simulate_two_level(intercept=b_t, **kw)
    c = simulate_two_level(intercept=b_c, **kw)
    truth = (np.zeros(n_sims) if sc.effect == 0 else
             _true_mean(b_t, v, total_sd) - _true_mean(b_c, v, total_sd))
    rows = []
    g = sc.n_datasets * sc.seeds_per_dataset
    for method, (x, y), rule in (
            ("dataset-welch", (t.mean(axis=-1), c.mean(axis=-1)), "capped"),
            ("dataset-hsu", (t.mean(axis=-1), c.mean(axis=-1)), "hsu"),
            ("seed-welch (datasets ignored)", (t.reshape(n_sims, g), c.reshape(n_sims, g)),
             "capped")):
        if x.shape[-1] < 2:
            continue
        res = A.welch_t(x, y, confidence_level=1 - alpha, df_rule=rule)
        rows.append(dict(vars(sc), method=method, n_sims=int(n_sims),
                         rejection_rate=float(np.mean(res.p_value <= alpha)),
                         coverage=float(np.mean((res.ci_low <= truth) & (truth <= res.ci_high)))))
    return rows


def calibrate_datasets(scenarios=None, *, n_sims: int = 2000, rng: int = 20261203,
                       alpha: float = 0.05):
    """Every scenario (default :func:`dataset_scenarios`) → a tidy frame (pandas).

    Columns: the scenario's fields, ``method`` (``dataset-welch``, ``dataset-hsu`` or
    ``seed-welch (datasets ignored)``), ``n_sims``, ``rejection_rate`` (the false-positive rate in nulls),
    ``coverage`` of the ``1 − alpha`` interval. Scenario ``i`` uses stream ``[rng, i]``.
    """
    import pandas as pd

    scenarios = dataset_scenarios() if scenarios is None else list(scenarios)
    rows = []
    for i, sc in enumerate(scenarios):
        rows += run_dataset_scenario(sc, n_sims=n_sims, rng=[rng, i], alpha=alpha)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class DatasetPlan:
    """One design per arm: ``datasets`` × ``seeds_per_dataset`` students."""

    datasets: int
    seeds_per_dataset: int
    students: int
    cost: float
    variance_of_mean: float  # σ_d²/D + σ_s²/(D S)
    power: float


#: Simulations behind each planned power (Monte Carlo SE ≤ 0.35 points).
PLAN_SIMS = 20_000


def _dataset_power(d, s, effect, dataset_sd, seed_sd, alpha, alternative, n_sims=PLAN_SIMS):
    """Power of the dataset-level Welch test (capped df), D datasets of S seeds per arm.

    Each dataset mean is normal with SD ``τ = sqrt(σ_d² + σ_s²/S)``; the test depends on the
    data only through each arm's mean and variance, so those are drawn directly (normal and
    scaled χ²) — exact Monte Carlo in O(n_sims) whatever D. The noncentral t at the
    population df (``power.welch_power``) overstates it by 4–11 points at 3–4 datasets per
    arm: the capped Welch df of the test is random and below 2 (D − 1).
    """
    tau = math.sqrt(dataset_sd**2 + seed_sd**2 / s)
    unit = tau if tau > 0 else 1.0
    rng = np.random.default_rng(20261204)  # common random numbers across the options
    diff = abs(effect) / unit + rng.standard_normal(n_sims) * math.sqrt(2.0 / d)
    var_t = rng.chisquare(d - 1, n_sims) / (d - 1)
    var_c = rng.chisquare(d - 1, n_sims) / (d - 1)
    a, b = var_t / d, var_c / d
    se = np.sqrt(a + b)
    df = np.minimum((a + b) ** 2 / ((a**2 + b**2) / (d - 1)), 2.0 * (d - 1))
    alt = "greater" if alternative == "less" else alternative
    res = A.t_inference(diff, se, df, alternative=alt)
    return float(np.mean(res.p_value <= alpha))


def plan_datasets(*, effect: float, dataset_sd: float, seed_sd: float, students: int,
                  dataset_cost: float = 0.0, alpha: float = 0.05,
                  alternative: str = "two-sided") -> dict:
    """More datasets or more seeds per dataset? The best split of a budget of students.

    Parameters
    ----------
    effect : float
        Treated − control difference to detect (proportion, e.g. 0.05 = 5 pp).
    dataset_sd, seed_sd : float
        Between-dataset SD of dataset means and between-seed SD within a dataset, on the rate
        scale (proportions; e.g. from :func:`variance_split` of a pilot, square-rooted).
    students : int
        Budget per arm, in students (fine-tuning runs), 2 to 100,000.
    dataset_cost : float
        The cost of one more teacher dataset in students (sampling and filtering it): a
        design costs ``D (dataset_cost + S)`` ≤ ``students``. 0: datasets are free, only
        students count.

    Returns
    -------
    dict
        ``best`` (:class:`DatasetPlan`; the most powerful, the cheapest among ties),
        ``options`` (every affordable D ≥ 2 with its largest S), ``optimal_seeds_per_dataset`` (closed form ``sqrt(c σ_s² / σ_d²)``, ∞ when
        σ_d = 0) and ``advice`` — one sentence: more datasets, or more seeds per dataset.

    Notes
    -----
    ``Var(arm mean) = σ_d²/D + σ_s²/(D S)``: with the students fixed (D S = N), only the
    first term depends on the split and falls with D, so without a dataset cost more
    datasets (one seed each) always buy more power and more df. A dataset cost c makes the
    classic two-stage optimum ``S* = sqrt(c σ_s² / σ_d²)``. Power is that of Welch's test
    over datasets with its capped df, by Monte Carlo on each arm's sufficient statistics
    (2,000 draws per option, then :data:`PLAN_SIMS` for the six leaders, SE ≤ 0.35 points;
    D is searched up to 500 and at the whole budget).
    """
    for name, value in (("dataset SD", dataset_sd), ("seed SD", seed_sd),
                        ("dataset cost", dataset_cost)):
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"the {name} must be a finite number ≥ 0, not {value}")
    if not math.isfinite(effect) or effect == 0:
        raise InputError(f"the effect must be a non-zero finite proportion, not {effect}")
    if dataset_sd == 0 and seed_sd == 0:
        raise InputError("both SDs are 0: any difference is detectable; check the pilot data")
    students = int(students)
    if students < 2 or students > 100_000:
        raise InputError(f"the budget must be 2 to 100,000 students per arm, not {students}")
    options = []
    for d in sorted(set(range(2, min(students, 500) + 1)) | {students}):
        s = int(math.floor(students / d - dataset_cost + 1e-9))  # D (c + S) ≤ budget
        if s < 1:
            continue
        var = dataset_sd**2 / d + seed_sd**2 / (d * s)
        # A screening power on 2,000 draws; the leaders are refined below.
        options.append(DatasetPlan(d, s, d * s, d * (dataset_cost + s), var,
                                   _dataset_power(d, s, effect, dataset_sd, seed_sd, alpha,
                                                  alternative, n_sims=2000)))
    if not options:
        raise InputError(f"a budget of {students} students cannot buy 2 datasets of 1 seed at a "
                         f"dataset cost of {dataset_cost:g} students")
    leaders = sorted(range(len(options)), key=lambda i: -options[i].power)[:6]
    for i in leaders:
        o = options[i]
        options[i] = DatasetPlan(o.datasets, o.seeds_per_dataset, o.students, o.cost,
                                 o.variance_of_mean,
                                 _dataset_power(o.datasets, o.seeds_per_dataset, effect,
                                                dataset_sd, seed_sd, alpha, alternative))
    best = max((options[i] for i in leaders), key=lambda o: (round(o.power, 6), -o.cost))
    s_star = (math.inf if dataset_sd == 0 else
              math.sqrt(dataset_cost * seed_sd**2 / dataset_sd**2))
    if best.seeds_per_dataset == 1:
        advice = (f"more datasets: {best.datasets} datasets of 1 seed each (power "
                  f"{100 * best.power:.0f} %) — every student on a new dataset")
    else:
        advice = (f"{best.datasets} datasets × {best.seeds_per_dataset} seeds (power "
                  f"{100 * best.power:.0f} %): at a dataset cost of {dataset_cost:g} students "
                  f"a few seeds per dataset pay (closed-form optimum {s_star:.1f} seeds per "
                  "dataset)")
    return {"best": best, "options": options, "optimal_seeds_per_dataset": s_star,
            "advice": advice}


def simulated_power(*, effect: float, dataset_sd: float, seed_sd: float, datasets: int,
                    seeds_per_dataset: int, n_sims: int = 4000, alpha: float = 0.05,
                    rng=0) -> float:
    """Power of the dataset-level Welch test by simulation (normal rates, the plan's model)."""
    rng = np.random.default_rng(rng)
    shape = (n_sims, datasets, seeds_per_dataset)

    def arm(mu):
        w = rng.normal(0.0, dataset_sd, size=shape[:2] + (1,))
        return (mu + w + rng.normal(0.0, seed_sd, size=shape)).mean(axis=-1)

    res = A.welch_t(arm(effect), arm(0.0))
    return float(np.mean(res.p_value <= alpha))
