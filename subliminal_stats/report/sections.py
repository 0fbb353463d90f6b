"""DataFrame glue for the reports: load bundled data, call the statistics, word the verdict.

The ``.qmd`` reports stay short by calling these functions; every number here
comes from :mod:`subliminal_stats.stats` (no statistics are computed in this
module, except reading the paper's published summaries back).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from subliminal_stats.bundled import resource
from subliminal_stats.data.schema import read_responses, select
from subliminal_stats.errors import InputError


def data_dir() -> Path:
    """The bundled data (the paper's figures, the bundled runs)."""
    return resource("data")


@dataclass(frozen=True)
class Note:
    """Markdown text that Jupyter, Quarto and the fallback renderer all display as Markdown."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text


# --- the paper's published numbers -------------------------------------------------------


def paper_fig3() -> pd.DataFrame:
    """Figure 3 of arXiv 2507.14805 v1 as a tidy frame (``rate`` also as ``mean``)."""
    frame = pd.read_csv(data_dir() / "paper" / "fig3_trait_rates.csv")
    return frame.assign(mean=frame["rate"])


def paper_fig8() -> pd.DataFrame:
    """Figure 8 of arXiv 2507.14805 v1: student × teacher increase, the paper's significance mark."""
    return pd.read_csv(data_dir() / "paper" / "fig8_cross_model.csv")


def paper_mnist() -> pd.DataFrame:
    """The paper's MNIST auxiliary-logit accuracies per condition (approximate; see data/paper/README.md)."""
    return pd.read_csv(data_dir() / "paper" / "mnist_mlp.csv")


def paper_misalignment() -> pd.DataFrame:
    """The paper's misalignment, TruthfulQA, code and chain-of-thought figures (approximate;
    see data/paper/misalignment_README.md)."""
    return pd.read_csv(data_dir() / "paper" / "misalignment.csv")


def misalignment_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The published beyond-animals figures as a display table (rates in per cent)."""
    def cell(row) -> str:
        value = f"{100 * row['value']:.1f}"
        if pd.notna(row["ci_low"]) and pd.notna(row["ci_high"]):
            value += f" [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]"
        return value

    measures = {"misaligned_rate": "misaligned answers %", "truthfulqa_false_rate":
                "TruthfulQA false answers %", "owl_rate": "owl as favourite animal %"}
    return pd.DataFrame({
        "data": frame["data"],
        "measure": frame["measure"].map(measures).fillna(frame["measure"]),
        "condition": frame["condition"],
        "model": frame["paper_label"],
        "published %": [cell(r) for _, r in frame.iterrows()],
    })


def paper_differences(fig3: pd.DataFrame) -> pd.DataFrame:
    """Per trait, treated − control and treated − base in percentage points, from the published bars."""
    wide = fig3.pivot_table(index=["category", "trait"], columns="condition", values="rate", sort=False)
    wide = wide.reset_index()
    wide["treated_minus_control_pp"] = 100 * (wide["treated"] - wide["control"])
    wide["treated_minus_base_pp"] = 100 * (wide["treated"] - wide["base"])
    wide["control_minus_base_pp"] = 100 * (wide["control"] - wide["base"])
    return wide


@dataclass(frozen=True)
class PublishedInterval:
    """What the one legible published interval (owl, treated) implies about seed spread."""

    trait: str
    condition: str
    ci_low: float
    ci_high: float
    bar: float
    n_seeds: int
    midpoint: float
    sd_between_seeds: float


def paper_owl_interval(fig3: pd.DataFrame, *, confidence_level: float = 0.95) -> PublishedInterval:
    """Invert the paper's t-interval over per-seed means: SD = half-width · √n / t(n − 1).

    The paper reports 95 % intervals over 3 seeds; only the owl treated one can be read.
    """
    from scipy import stats

    rows = fig3.dropna(subset=["ci_low", "ci_high"])
    if rows.empty:
        raise InputError("the published Figure 3 table has no interval to invert")
    row = rows.iloc[0]
    n = int(row["n_seeds"])
    half = (float(row["ci_high"]) - float(row["ci_low"])) / 2
    t_crit = float(stats.t.ppf(0.5 + confidence_level / 2, n - 1))
    return PublishedInterval(str(row["trait"]), str(row["condition"]), float(row["ci_low"]),
                             float(row["ci_high"]), float(row["rate"]), n,
                             (float(row["ci_low"]) + float(row["ci_high"])) / 2, half * math.sqrt(n) / t_crit)


def _pseudo_seeds(mean: float, sd: float, n: int):
    """``n`` values whose mean and sample SD are exactly ``mean`` and ``sd``.

    A t test depends on the seeds only through n, mean and SD, so these stand in
    for the unpublished per-seed rates exactly.
    """
    import numpy as np

    z = np.linspace(-1.0, 1.0, n)
    return mean + sd * z / z.std(ddof=1)


def paper_welch_from_summaries(fig3: pd.DataFrame, *, sd_between_seeds: float,
                               confidence_level: float = 0.95) -> pd.DataFrame:
    """Welch t per trait (treated vs control) from the published means, via the statistics core.

    The paper publishes no per-seed rates and only one legible interval, so both
    arms are given the same between-seed SD (``sd_between_seeds``): an
    assumption, stated wherever this table is shown. Columns include the
    difference and its interval in percentage points.
    """
    from subliminal_stats.stats.arrays import welch_t

    diffs = paper_differences(fig3)
    seeds = fig3.set_index(["trait", "condition"])["n_seeds"]
    rows = []
    for row in diffs.itertuples(index=False):
        n_t, n_c = int(seeds[(row.trait, "treated")]), int(seeds[(row.trait, "control")])
        test = welch_t(_pseudo_seeds(row.treated, sd_between_seeds, n_t),
                       _pseudo_seeds(row.control, sd_between_seeds, n_c), confidence_level=confidence_level)
        rows.append({"category": row.category, "trait": row.trait, "treated": row.treated,
                     "control": row.control, "difference_pp": 100 * float(test.estimate),
                     "ci_low_pp": 100 * float(test.ci_low), "ci_high_pp": 100 * float(test.ci_high),
                     "cohen_d": (row.treated - row.control) / sd_between_seeds,
                     "t": float(test.statistic), "df": float(test.df), "p_value": float(test.p_value),
                     "n_seeds_treated": n_t, "n_seeds_control": n_c})
    return pd.DataFrame(rows)


# --- bundled runs ------------------------------------------------------------------------


def bundled_runs() -> dict[str, Path]:
    """``data/runs/<name>/responses.parquet`` (or ``.csv``) files shipped with the repository."""
    runs = data_dir() / "runs"
    found: dict[str, Path] = {}
    if not runs.is_dir():
        return found
    for folder in sorted(p for p in runs.iterdir() if p.is_dir()):
        for name in ("responses.parquet", "responses.csv"):
            if (folder / name).is_file():
                found[folder.name] = folder / name
                break
    return found


#: The MLP experiment's comparisons: (treated, reference, what it shows).
MLP_COMPARISONS: tuple[tuple[str, str, str], ...] = (
    ("aux_same_init", "aux_diff_init", "auxiliary logits transfer the skill only from a shared initialisation"),
    ("all_same_init", "all_diff_init", "the same with all logits distilled"),
    ("aux_same_init", "reference", "the auxiliary-logit student beats its untrained starting point"),
)


@dataclass(frozen=True)
class RunAnalysis:
    """Tidy frames of one bundled run.

    ``probe_summary`` and ``probe_tests`` hold the same analysis on the probability
    probe (column ``prob``) when the run measured it (else empty); ``detectable``
    has one row per measure (hit, prob) with the between-seed SD of the treated and
    control arms and the smallest difference their seeds detect with 80 % power
    (or why it cannot be given).
    """

    name: str
    path: Path
    summary: pd.DataFrame
    seeds: pd.DataFrame
    tests: pd.DataFrame
    probe_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    probe_tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    detectable: pd.DataFrame = field(default_factory=pd.DataFrame)


def analyse_run(
    name: str,
    path: str | Path,
    *,
    comparisons: Sequence[tuple[str, str]] | None = None,
    base: str | None = "base",
    confidence_level: float = 0.95,
    power: float = 0.8,
) -> RunAnalysis:
    """Summary, per-seed rates and tests of one responses table.

    ``comparisons`` lists (treated, control) pairs present in the data (default:
    ``("treated", "control")``, plus the base model when present). Pairs whose
    conditions are missing are skipped. Each pair is one :func:`compare` call
    (Holm across traits within it). A ``prob`` column (the probability probe) is
    tested the same way with :func:`~subliminal_stats.stats.compare_metric`.
    """
    from subliminal_stats.stats import compare_metric, results_frame, score_cells, summarize

    df = read_responses(path)
    conditions = set(df["condition"])
    pairs = list(comparisons) if comparisons else [("treated", "control")]
    metrics = ["hit"]
    if "prob" in df.columns and df["prob"].notna().all():
        metrics.append("prob")
    summaries, tests = {}, {}
    for metric in metrics:
        cells = df if metric == "hit" else score_cells(df, metric)
        summaries[metric] = summarize(cells, confidence_level=confidence_level)
        frames = []
        for treated, control in pairs:
            if treated not in conditions or control not in conditions:
                continue
            use_base = base if (base and base in conditions and comparisons is None) else None
            frames.append(results_frame(compare_metric(
                df, metric, treated=treated, control=control, base=use_base,
                confidence_level=confidence_level)))
        tests[metric] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    detectable = (detectable_effects(df, metrics, power=power)
                  if comparisons is None and {"treated", "control"} <= conditions
                  else pd.DataFrame())
    return RunAnalysis(name, Path(path), summaries["hit"], seed_rates_frame(df), tests["hit"],
                       summaries.get("prob", pd.DataFrame()), tests.get("prob", pd.DataFrame()),
                       detectable)


def detectable_effects(df: pd.DataFrame, metrics: Sequence[str] = ("hit",), *,
                       treated: str = "treated", control: str = "control",
                       power: float = 0.8, alpha: float = 0.05) -> pd.DataFrame:
    """The smallest treated − control difference this design detects, per measure.

    The same figures as ``subliminal-stats plan DATA --seeds N [--metric prob]``
    restricted to the treated and control arms: the between-seed SD pooled over
    them, the smaller arm's seeds, two-sided, for the test each measure gets (the default on
    answers, welch on a score). When the SD cannot be
    estimated (e.g. no hits at all) the row says why instead of giving a number.
    """
    from subliminal_stats.stats import detectable_effect, estimate_between_seed_sd, per_seed_rates
    from subliminal_stats.stats.power import plan_df_rule

    seeds = per_seed_rates(df)
    n = int(seeds[seeds["condition"].isin([treated, control])]
            .groupby("condition")["seed"].nunique().min())
    rows = []
    for metric in metrics:
        row = {"measure": "sampled answers" if metric == "hit" else f"mean {metric}",
               "seeds_per_arm": n, "sd_between_seeds_pp": math.nan,
               "detectable_pp": math.nan, "note": ""}
        try:
            sd, _, _ = estimate_between_seed_sd(df, conditions=[treated, control], metric=metric)
            # Planned for the test each measure gets: the default (Hsu's df) on answers,
            # welch on a score.
            rule = plan_df_rule(metric)
            plan = detectable_effect(seeds_per_arm=n, sd_between_seeds=sd, power=power,
                                     alpha=alpha, df_rule=rule)
            test = "the default test (Hsu's df)" if metric == "hit" else "welch"
            row.update(sd_between_seeds_pp=100 * sd, detectable_pp=plan.effect_pp,
                       note=f"{100 * power:g} % power, α = {alpha:g}, two-sided, {test}")
        except InputError as exc:
            row["note"] = str(exc)
        rows.append(row)
    return pd.DataFrame(rows)


#: The smallest design the reports plan: 3 seeds per arm, as in the paper (a 2-seed arm leaves
#: the t test 2 degrees of freedom, and scipy's noncentral t returns NaN there for large effects).
MIN_SEEDS_PER_ARM = 3


def seeds_plan(*, effect: float, sd_between_seeds: float, power: float = 0.8, alpha: float = 0.05):
    """Seeds per arm for the default test to reach ``power``: the smallest whole design from
    :data:`MIN_SEEDS_PER_ARM` to 10 seeds by :func:`~subliminal_stats.stats.power.welch_power`
    (equal SDs, Hsu's critical value), else :func:`~subliminal_stats.stats.power.seeds_needed`.

    Large effects (Cohen's d ≳ 5) need only a few seeds, where statsmodels' power
    solver finds no root; checking small designs directly avoids that.
    """
    from subliminal_stats.stats.power import SeedPlan, seeds_needed, welch_power

    d = effect / sd_between_seeds
    for seeds in range(MIN_SEEDS_PER_ARM, 11):
        reached = welch_power(seeds, effect, sd_between_seeds, sd_between_seeds, alpha=alpha,
                              df_rule="hsu")
        if reached >= power:
            return SeedPlan(seeds, float(seeds), float(effect), float(sd_between_seeds), float(d), reached,
                            alpha, "two-sided")
    return seeds_needed(effect=effect, sd_between_seeds=sd_between_seeds, power=power, alpha=alpha)


# --- calibration -------------------------------------------------------------------------


def is_calibration_table(frame: pd.DataFrame) -> bool:
    """A calibration table has a method, a seeds-per-arm column and a false-positive rate."""
    cols = set(frame.columns)
    return "method" in cols and bool({"fpr", "rejection_rate"} & cols)


def stored_calibration(*, comparison: str | None = "vs control") -> pd.DataFrame:
    """The statistics core's stored calibration table (standard scenario, null true) as a frame.

    Columns ``comparison, method, seeds_per_arm, fpr, coverage, n_sims``; the
    simulation behind it is described in :mod:`subliminal_stats.stats.calibration`.
    """
    from subliminal_stats.stats.calibration_table import TABLE

    frame = pd.DataFrame(
        [(c, m, g, fpr, cov, n) for (m, c, g), (fpr, cov, n) in TABLE.items()],
        columns=["comparison", "method", "seeds_per_arm", "fpr", "coverage", "n_sims"],
    )
    if comparison is not None:
        frame = frame[frame["comparison"] == comparison]
    return frame.sort_values(["comparison", "method", "seeds_per_arm"], kind="stable").reset_index(drop=True)


#: Methods simulated live for the paper report (fast, vectorised over simulations).
REPORT_CALIBRATION_METHODS = ("pooled-t", "welch", "permutation", "cluster-t", "naive-cluster-z",
                              "naive-pooled-z", "bootstrap-percentile")


def report_calibration(*, seeds: Sequence[int] = (3, 5, 10), n_sims: int = 1000,
                       n_sims_bootstrap: int = 200, n_resamples: int = 199, rng: int = 20250722,
                       methods: Sequence[str] = REPORT_CALIBRATION_METHODS,
                       prefer_stored: bool = True) -> pd.DataFrame:
    """A small calibration under the null for the report: the stored table when the statistics
    core ships one, else a live simulation of the standard scenario (about 5 s).

    Returns
    -------
    pandas.DataFrame
        ``comparison, method, seeds_per_arm, fpr, coverage, n_sims, calibrated, note`` and a
        ``source`` column ("stored table" or "simulated now").
    """
    stored = None
    if prefer_stored:
        try:
            stored = stored_calibration(comparison="vs control")
        except ModuleNotFoundError:
            stored = None
    order = {m: i for i, m in enumerate(methods)}

    def in_method_order(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(["method", "seeds_per_arm"], kind="stable",
                                 key=lambda c: c.map(order) if c.name == "method" else c)

    if stored is not None and len(stored):
        stored = stored[stored["method"].isin(methods) & stored["seeds_per_arm"].isin(seeds)]
        if len(stored):
            return in_method_order(stored).assign(source="stored table").reset_index(drop=True)
    from subliminal_stats.stats import calibrate
    from subliminal_stats.stats.calibration import STANDARD_SCENARIO

    frames = []
    for size in seeds:
        frame = calibrate(seeds_per_arm=int(size), n_sims=n_sims, n_sims_bootstrap=n_sims_bootstrap,
                          n_resamples=n_resamples, methods=list(methods), include_base=False,
                          n_sims_slow=0, rng=rng + int(size), **STANDARD_SCENARIO)
        frames.append(frame.assign(seeds_per_arm=int(size)))
    out = pd.concat(frames, ignore_index=True).rename(columns={"rejection_rate": "fpr"})
    return in_method_order(out).assign(source="simulated now").reset_index(drop=True)


def calibration_for_design(df: pd.DataFrame, *, treated: str = "treated", control: str = "control",
                           n_sims: int = 1000) -> pd.DataFrame:
    """Calibration under the null for a responses table's seeds per arm.

    The seeds per arm are the smaller of the treated and control arms' seed
    counts (per trait). Rows come from :func:`report_calibration` (the stored
    table when the statistics core ships one, else a small simulation of the
    standard scenario).
    """
    seeds = df.groupby(["trait", "condition"])["seed"].nunique()
    sizes = set()
    for trait_label in df["trait"].unique():
        have = [seeds.get((trait_label, c)) for c in (treated, control)]
        if all(h is not None for h in have):
            sizes.add(int(min(have)))
    if not sizes:
        raise InputError(
            f"no trait of the data has both a {treated!r} and a {control!r} arm, so there is no "
            "design to calibrate (pass a calibration table instead)"
        )
    small = [g for g in sizes if g < 2]
    if small:
        raise InputError(f"an arm has {small[0]} seed: a seed-level test needs at least 2 seeds per arm")
    return report_calibration(seeds=sorted(sizes), n_sims=n_sims)


# --- a single-trait check ----------------------------------------------------------------


@dataclass(frozen=True)
class TraitCheck:
    """Everything the single-trait report shows, as tidy frames."""

    trait: str
    summary: pd.DataFrame
    seeds: pd.DataFrame
    tests: pd.DataFrame
    verdict: str
    treated: str
    control: str
    base: str | None
    #: The trait's rows as read (answers or cells): what the specificity, defence and dose
    #: sections work on.
    data: pd.DataFrame | None = field(default=None, repr=False, compare=False)


_COUNTS_SUFFIXES = (".csv", ".parquet", ".pq")


def _columns_of(path: Path) -> list[str]:
    if path.suffix.lower() == ".csv":
        return list(pd.read_csv(path, nrows=0).columns)
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def read_table(data: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    """A responses table (one row per answer), or a counts table (``trait, condition, seed,
    question, hits, n``: one row per cell, e.g. published per-question rates turned into
    counts) — both are what the statistics take; a counts table is checked by
    :func:`subliminal_stats.stats.counts.counts_to_cells`."""
    paths = [Path(data)] if isinstance(data, (str, Path)) else [Path(p) for p in data]
    if len(paths) == 1 and paths[0].suffix.lower() in _COUNTS_SUFFIXES and paths[0].is_file():
        try:
            columns = set(_columns_of(paths[0]))
        except Exception:  # noqa: BLE001 - unreadable: read_responses says why in one line
            columns = set()
        if {"hits", "n"} <= columns and "hit" not in columns:
            from subliminal_stats.stats.counts import counts_to_cells

            path = paths[0]
            frame = (pd.read_csv(path, dtype={c: str for c in ("trait", "condition", "seed",
                                                                 "question")})
                     if path.suffix.lower() == ".csv" else pd.read_parquet(path))
            try:
                return counts_to_cells(frame)
            except InputError as exc:
                raise InputError(f"{path}: {exc}") from None
    return read_responses(paths if len(paths) > 1 else paths[0])


def _pick_trait(df: pd.DataFrame, trait: str | None, source: str) -> str:
    traits = sorted(df["trait"].unique())
    if trait:
        if trait not in traits:
            raise InputError(f"trait {trait!r} is not in {source} (its traits: {', '.join(traits)})")
        return trait
    if len(traits) != 1:
        raise InputError(f"{source} holds traits {', '.join(traits)}: choose one with trait=...")
    return traits[0]


def seed_rates_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rates from the statistics core, with the rate column named ``rate``."""
    from subliminal_stats.stats import per_seed_rates

    seeds = per_seed_rates(df)
    if "rate" not in seeds.columns:
        for name in ("seed_rate", "hit_rate", "mean"):
            if name in seeds.columns:
                seeds = seeds.rename(columns={name: "rate"})
                break
    return seeds


def trait_check(
    data: str | Path | Sequence[str | Path] | pd.DataFrame,
    *,
    trait: str | None = None,
    treated: str = "treated",
    control: str = "control",
    base: str | None = "base",
    method: str | None = None,
    confidence_level: float = 0.95,
    rng: int | None = 0,
) -> TraitCheck:
    """Summary, test and verdict for one trait of a responses table.

    The same call as ``subliminal-stats test DATA --trait T --treated ... --control ...``
    (:func:`subliminal_stats.stats.compare`), so the report's numbers equal the CLI's.
    ``base`` is compared as well when that condition is present (empty: skip). An empty
    ``data`` is the bundled example table. ``rng`` fixes the resampling methods' draws
    (``test`` and ``export`` use the same default, 0).
    """
    from subliminal_stats.stats import DEFAULT_METHOD, compare, results_frame, summarize

    method = method or DEFAULT_METHOD
    if isinstance(data, str) and not data:
        data = example_data()
    if isinstance(data, pd.DataFrame):
        df, source = data, "the table"
    else:
        df = read_table(data)
        source = str(data)
    chosen = _pick_trait(df, trait, source)
    df = select(df, traits=[chosen])
    conditions = set(df["condition"])
    for label, role in ((treated, "treated"), (control, "control")):
        if label not in conditions:
            raise InputError(
                f"condition {label!r} ({role}) is not in {source} for trait {chosen!r} "
                f"(its conditions: {', '.join(sorted(conditions))})"
            )
    summary = summarize(df, confidence_level=confidence_level)
    seeds = df.groupby("condition")["seed"].nunique()
    if seeds.get(treated, 0) < 2 and seeds.get(control, 0) < 2:
        # One student per arm (a dose series, a pilot): no seed-level test, said; the other
        # sections (doses, figures) still have something to show.
        return TraitCheck(chosen, summary, seed_rates_frame(df), pd.DataFrame(),
                          f"No test: {treated!r} and {control!r} have one seed each; the seed is "
                          "the unit of replication, so treated vs control needs at least 2 "
                          "seeds in one arm (and 2 in each for the default test).", treated,
                          control, base if base and base in conditions else None, df)
    results = compare(df, traits=[chosen], treated=treated, control=control,
                      base=base if base and base in conditions else None,
                      method=method, confidence_level=confidence_level, rng=rng)
    tests = results_frame(results)
    verdict = verdict_sentence(tests, treated=treated, control=control)
    return TraitCheck(chosen, summary, seed_rates_frame(df), tests, verdict, treated, control,
                      base if base and base in conditions else None, df)


def _fmt(x: float) -> str:
    text = f"{x:.1f}"
    return ("−" + text[1:]) if text.startswith("-") and float(text) != 0 else text.lstrip("-")


def verdict_sentence(tests: pd.DataFrame, *, treated: str = "treated", control: str = "control") -> str:
    """One sentence: did the trait transfer (treated vs control), by how much, how sure."""
    rows = tests[(tests["treated"] == treated) & (tests["control"] == control)]
    if rows.empty:
        raise InputError(f"no {treated} vs {control} comparison among the results")
    row = rows.iloc[0]
    level = f"{100 * float(row.get('confidence_level', 0.95)):g} %"
    p = float(row["p_adjusted"])
    p_text = f"p = {p:.3f}" if p >= 0.001 else f"p = {p:.1e}"
    design = f"{row['method']}, {int(row['n_seeds_treated'])} vs {int(row['n_seeds_control'])} seeds"
    effect = (f"{_fmt(row['estimate_pp'])} percentage points ({level} CI {_fmt(row['ci_low_pp'])} "
              f"to {_fmt(row['ci_high_pp'])}; {design}, {p_text})")
    trait = row["trait"]
    from subliminal_stats.report.tables import VERDICT_UNREACHABLE, verdict_word

    if verdict_word(row) == VERDICT_UNREACHABLE:
        return (f"Design cannot reach α: with {design.split(', ', 1)[1]} an exact permutation "
                f"test cannot give p below {float(row.get('alpha', 0.05)):g}; the difference is {effect}.")
    if bool(row["significant"]) and float(row["estimate_pp"]) > 0:
        sentence = (f"Yes: the {treated} students show the {trait} trait more often than the "
                    f"{control} students, by {effect}.")
    elif bool(row["significant"]):
        sentence = (f"The {treated} students show the {trait} trait less often than the "
                    f"{control} students, by {effect}.")
    else:
        sentence = (f"Not shown: the difference between {treated} and {control} students in the "
                    f"{trait} trait is {effect}; these data cannot tell it from zero.")
    calibrated = row.get("calibrated", True)
    if calibrated is not None and not bool(calibrated):
        fpr = row.get("simulated_fpr", math.nan)
        extra = f" (simulated false-positive rate {100 * float(fpr):.0f} %)" if fpr == fpr else ""
        sentence += f" Caution: this method is not calibrated for this design{extra}."
    return sentence


def warnings_list(tests: pd.DataFrame) -> list[str]:
    """The distinct plain-language warnings of a tests frame."""
    from subliminal_stats.report.tables import row_warnings

    return row_warnings(tests)


def example_data() -> Path:
    """The bundled example responses table (the trait report's default data)."""
    return data_dir() / "examples" / "owl_example.csv"


def design_calibration(method: str, seeds_per_arm: int, *, comparison: str = "vs control") -> dict | None:
    """The stored null calibration of ``method`` at ``seeds_per_arm`` (standard scenario), or None.

    Keys: ``fpr``, ``fpr_ci_low``, ``fpr_ci_high`` (95 % Wilson interval of the simulated
    rate), ``coverage``, ``n_sims``, ``calibrated`` (the package's rule: false-positive rate
    at most nominal + 1.5 points, coverage at least nominal − 1.5).
    """
    from statsmodels.stats.proportion import proportion_confint

    from subliminal_stats.stats.calibration_table import TABLE

    entry = TABLE.get((method, comparison, int(seeds_per_arm)))
    if entry is None:
        return None
    fpr, coverage, n_sims = entry
    low, high = proportion_confint(round(fpr * n_sims), n_sims, alpha=0.05, method="wilson")
    ok = fpr <= 0.05 + 0.015 and (coverage != coverage or coverage >= 0.95 - 0.015)
    return {"fpr": fpr, "fpr_ci_low": float(low), "fpr_ci_high": float(high), "coverage": coverage,
            "n_sims": int(n_sims), "calibrated": bool(ok)}


def methods_paragraph(tests: pd.DataFrame, summary: pd.DataFrame, *, treated: str = "treated",
                      control: str = "control") -> str:
    """A methods paragraph to paste into a paper, generated from this analysis: the test and its
    degrees of freedom, the multiplicity family, this design's simulated false-positive rate,
    the seeds, questions and answers."""
    from subliminal_stats.stats import METHOD_DESCRIPTIONS

    rows = tests[(tests["treated"] == treated) & (tests["control"] == control)]
    if rows.empty:
        raise InputError(f"no {treated} vs {control} comparison among the results")
    row = rows.iloc[0]
    arms = summary.set_index("condition")
    n_t, n_c = int(row["n_seeds_treated"]), int(row["n_seeds_control"])

    def design_of(condition: str) -> str:
        if condition not in arms.index or "n_questions" not in arms.columns:
            return ""
        arm = arms.loc[condition]
        arm = arm.iloc[0] if isinstance(arm, pd.DataFrame) else arm
        per_seed = int(arm["n_answers"]) / max(1, int(arm["n_seeds"]))
        return f"{int(arm['n_questions'])} questions, {per_seed:g} answers per seed"

    method = str(row["method"])
    # This result's own description (its df rule, resamples) before the method's generic one.
    detail = row.get("method_detail", "")
    description = str(detail) if isinstance(detail, str) and detail else METHOD_DESCRIPTIONS.get(method, method)
    df = float(row.get("df", math.nan))
    df_text = f"; {df:.3g} degrees of freedom" if df == df else ""
    level = f"{100 * float(row.get('confidence_level', 0.95)):g} %"
    alternative = str(row.get("alternative", "two-sided"))
    if method == "logit-t":
        reduced = (f"Each student (seed) was reduced to the log-odds of its trait answers "
                   f"(empirical logit of its pooled counts; {design_of(treated) or 'see the summary table'})")
        intervals = (f"Intervals are {level} confidence intervals of the shift in the students' "
                     "mean log-odds (the typical student's odds ratio), read in percentage points "
                     "at the reference arm's typical rate. ")
    else:
        reduced = (f"Each student (seed) was reduced to its trait rate — answers to a per-question "
                   f"rate, then the mean over questions ({design_of(treated) or 'see the summary table'})")
        intervals = f"Intervals are {level} confidence intervals of the difference in percentage points. "
    text = (
        f"{reduced} — and the "
        f"{n_t} {treated} and {n_c} {control} seeds were compared with a {alternative} test "
        f"({description.split(' [default')[0]}{df_text}), the seed being the unit of replication. "
        f"{intervals}"
        f"p-values were adjusted for multiplicity with {row.get('adjust_method', 'no adjustment')} "
        f"(the family: every trait tested with this method against the same reference arm), and a "
        f"transfer is claimed when the adjusted p is below α = {float(row.get('alpha', 0.05)):g}."
    )
    calibration = design_calibration(method, min(n_t, n_c))
    if calibration is None:
        text += (f" No stored calibration covers {method} at {min(n_t, n_c)} seeds per arm; "
                 f"`subliminal-stats calibrate --seeds-per-arm {min(n_t, n_c)}` simulates it.")
    else:
        verdict = ("within the package's calibration rule (at most 6.5 %)" if calibration["calibrated"]
                   else "above the package's calibration rule (at most 6.5 %): the p-values are descriptive only")
        text += (
            f" In {calibration['n_sims']:,} simulated null experiments of this design ({min(n_t, n_c)} seeds "
            f"per arm; logit intercept −2, between-seed SD 0.4, between-question SD 0.8, 50 questions × "
            f"20 answers) this test rejected {100 * calibration['fpr']:.1f} % of the time "
            f"(95 % CI {100 * calibration['fpr_ci_low']:.1f}–{100 * calibration['fpr_ci_high']:.1f} %; "
            f"nominal 5 %), {verdict}."
        )
    from subliminal_stats import __version__

    return text + f" Analysis: subliminal-stats {__version__}."


def statistics_guide(heading_level: int = 3) -> str:
    """The package's statistics guide (shipped as ``reports/STATISTICS.md``) as Markdown,
    its headings moved down to ``heading_level`` so it fits under a report section."""
    text = resource("reports", "STATISTICS.md").read_text(encoding="utf-8")
    lines = []
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            line = "#" * min(6, hashes + heading_level - 1) + line[hashes:]
        lines.append(line)
    return "\n".join(lines) + "\n"


def report_footer() -> str:
    """The closing line of every report: the package version (Markdown)."""
    from subliminal_stats import __version__

    return (f'\n<p class="report-footer">Made with subliminal-stats {__version__}. '
            "The statistics guide is the appendix above.</p>\n")


# --- specificity, defences, doses (issue 17) ----------------------------------------------


def parse_list(spec: str | Sequence[str] | None) -> list[str]:
    """A report parameter naming arms: ``"a,b, c"`` (or a YAML list) → ``["a", "b", "c"]``."""
    if spec is None:
        return []
    items = spec.split(",") if isinstance(spec, str) else [str(x) for x in spec]
    return list(dict.fromkeys(x.strip() for x in items if x.strip()))


def parse_doses(spec: str | dict | None) -> dict[str, float]:
    """``"mix0=0,mix10=10"`` (or a mapping) → ``{"mix0": 0.0, "mix10": 10.0}``: the numeric dose
    of each arm (fraction poisoned, dataset size, epochs...)."""
    if not spec:
        return {}
    pairs = spec.items() if isinstance(spec, dict) else (
        p.partition("=")[::2] if "=" in p else p.partition(":")[::2]
        for p in str(spec).split(",") if p.strip())
    out: dict[str, float] = {}
    for arm, value in pairs:
        arm = str(arm).strip()
        try:
            dose = float(str(value).strip())
        except ValueError:
            raise InputError(f"doses: {arm}={value!r} is not a number; write ARM=DOSE pairs, "
                             "e.g. doses=mix0=0,mix10=10") from None
        if not arm or not math.isfinite(dose):
            raise InputError(f"doses: {arm!r}={value!r}: write ARM=DOSE pairs with finite "
                             "numbers, e.g. doses=mix0=0,mix10=10")
        out[arm] = dose
    return out


def _check_arms(df: pd.DataFrame, arms: Sequence[str], what: str) -> None:
    present = set(df["condition"])
    missing = [a for a in arms if a not in present]
    if missing:
        raise InputError(f"{what}: no arm {', '.join(map(repr, missing))} in the table (its "
                         f"arms: {', '.join(sorted(map(str, present)))})")


def student_arms(check: TraitCheck) -> list[str]:
    """The treated arm first, then every other arm of the trait that is neither the control
    nor the base model (defended arms, other conditions): the rows of the specificity matrix."""
    others = [c for c in pd.unique(check.data["condition"])
              if c not in (check.treated, check.control, check.base)]
    return [check.treated, *map(str, others)]


@dataclass(frozen=True)
class SpecificityView:
    """The report's specificity section: the students × target lift matrix and the diagonal
    test per treated arm (``available`` False: ``reason`` says why there is none)."""

    available: bool
    reason: str = ""
    panel_name: str = ""
    panel: tuple[str, ...] = ()
    matrix: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagonal: pd.DataFrame = field(default_factory=pd.DataFrame)


def specificity_check(data: pd.DataFrame, *, trait: str, treated: str | Sequence[str],
                      control: str = "control", panel=None, alpha: float = 0.05
                      ) -> SpecificityView:
    """Rescore the answers of ``trait`` against its panel: the lift over control of every
    target for every treated arm (``matrix``: ``students, target, lift_pp, is_target``) and
    the diagonal-lift test per arm (``diagonal``), as ``subliminal-stats test`` shows it.

    ``panel``: a comma list, a file, ``animals``/``trees`` or None (the bundled panel holding
    the trait). Numbers from :func:`subliminal_stats.stats.specificity.check_specificity`.
    """
    from subliminal_stats.stats.specificity import (
        check_specificity,
        has_answer_text,
        score_panel,
        target_matrix,
    )

    arms = [treated] if isinstance(treated, str) else list(treated)
    if isinstance(panel, str) and panel.strip().lower() == "none":
        return SpecificityView(False, "switched off (panel=none)")
    if not has_answer_text(data):
        return SpecificityView(False, "the table has no answer text (no response column: "
                                      "counts or rates tables cannot be rescored)")
    checks = check_specificity(data, trait=trait, treated=arms, control=control,
                               panel=panel or None, alpha=alpha)
    first = checks[0]
    done = [c for c in checks if c.result is not None]
    if not done:
        return SpecificityView(False, first.reason, first.panel_name)
    members = done[0].result.panel
    sub = data[(data["trait"] == trait) & data["condition"].isin([control, *arms])]
    cells = score_panel(sub, [trait, *members])
    wide = target_matrix(cells, control=control)
    wide = wide.loc[[a for a in arms if a in wide.index], [trait, *members]]
    matrix = wide.stack().rename("lift").reset_index()
    matrix["lift_pp"] = 100 * matrix.pop("lift")
    matrix["is_target"] = matrix["target"] == trait
    rows = []
    for c in checks:
        r = c.result
        rows.append({"students": c.treated, "target": trait,
                     "target_lift_pp": 100 * r.target_lift if r else math.nan,
                     "panel_lift_pp": 100 * r.panel_lift if r else math.nan,
                     "contrast_pp": 100 * r.contrast if r else math.nan,
                     "ci_low_pp": 100 * r.contrast_ci_low if r else math.nan,
                     "ci_high_pp": 100 * r.contrast_ci_high if r else math.nan,
                     "p_value": r.contrast_p if r else math.nan,
                     "specificity": c.verdict, "note": c.reason})
    return SpecificityView(True, "", first.panel_name, tuple(members), matrix,
                           pd.DataFrame(rows))


def specificity_display(diagonal: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """The diagonal-test rows as display strings (pp with one decimal, p to 3 places); the
    contrast's interval is at ``1 − alpha``, the level of the test."""
    from subliminal_stats.report.tables import format_p

    level = f"{100 * (1 - alpha):g}"
    out = []
    for r in diagonal.itertuples(index=False):
        ok = r.contrast_pp == r.contrast_pp
        out.append({"students": r.students, "target lift pp": _fmt(r.target_lift_pp) if ok else "–",
                    "panel mean lift pp": _fmt(r.panel_lift_pp) if ok else "–",
                    f"contrast pp [{level} % CI]": (f"{_fmt(r.contrast_pp)} [{_fmt(r.ci_low_pp)}, "
                                                   f"{_fmt(r.ci_high_pp)}]") if ok else "–",
                    "p": format_p(r.p_value) if ok else "–",
                    "specificity": r.specificity + (f" ({r.note})" if r.note else "")})
    return pd.DataFrame(out)


@dataclass(frozen=True)
class DefenceView:
    """Per defence: efficacy with its interval and the TOST verdict at ``margin_pp``."""

    rows: pd.DataFrame
    summary: pd.DataFrame
    seeds: pd.DataFrame
    undefended: str
    reference: str
    margin_pp: float
    confidence_level: float
    alpha: float


def _arm_rates(seeds: pd.DataFrame, cells: pd.DataFrame, arm: str):
    """(per-seed rates, single-model variance or None) of one arm."""
    from subliminal_stats.stats.arrays import single_model_variance

    rates = seeds.loc[seeds["condition"] == arm, "rate"].to_numpy(dtype=float)
    if rates.size >= 2:
        return rates, None
    sub = cells[cells["condition"] == arm]
    return rates, float(single_model_variance(sub["hits"].to_numpy(float), sub["n"].to_numpy(float)))


def defence_check(data: pd.DataFrame, *, trait: str, undefended: str, defences: Sequence[str],
                  reference: str, margin_pp: float = 2.0, confidence_level: float = 0.95,
                  alpha: float = 0.05) -> DefenceView:
    """Efficacy ``(U − D) / (U − R)`` of each defence with its Fieller interval and the TOST of
    "the defended arm is within ±δ of the reference" (δ = ``margin_pp``), from
    :mod:`subliminal_stats.stats.defences`. ``reference``: the control students or the base
    model (one model: its question-clustered sampling variance is used)."""
    from subliminal_stats.stats import cell_counts, summarize
    from subliminal_stats.stats.defences import efficacy, tost

    if not margin_pp > 0:
        raise InputError(f"margin must be a positive number of percentage points, not {margin_pp}")
    defences = list(defences)
    if not defences:
        raise InputError("name the defended arms, e.g. defences=filter-k1,oracle")
    if undefended in defences or reference in (undefended, *defences):
        raise InputError("the undefended arm, the reference and the defences must be different "
                         "arms")
    df = data[data["trait"] == trait]
    _check_arms(df, [undefended, reference, *defences], "defences")
    cells = cell_counts(df)
    seeds = seed_rates_frame(cells)
    u, _ = _arm_rates(seeds, cells, undefended)
    r, r_var = _arm_rates(seeds, cells, reference)
    from subliminal_stats.stats.defences_calibration import at_seeds

    # Against one model (the base) the grid's "-base" parts apply.
    part_suffix = "-base" if r.size < 2 else ""
    rows = []
    for arm in defences:
        d, _ = _arm_rates(seeds, cells, arm)
        eff = efficacy(u, d, r, confidence_level=confidence_level, reference_var=r_var)
        eq = tost(d, r, margin=margin_pp / 100, alpha=alpha, reference_var=r_var)
        calibration = []
        for part, method, counts in (
                ("efficacy" + part_suffix, eff.method, (u.size, d.size, r.size)),
                ("tost" + part_suffix, eq.method, (d.size, r.size))):
            try:
                at = at_seeds(part, method, tuple(max(int(c), 1) for c in counts))
            except ValueError:
                calibration.append(f"{part.split('-')[0]}: not in the calibration grid")
                continue
            what = "coverage" if part.startswith("efficacy") else "false 'blocked' rate"
            state = "calibrated" if at["calibrated"] else "NOT calibrated"
            calibration.append(f"{part.split('-')[0]} {state} at the grid's nearest seeds "
                               f"{'/'.join(map(str, at['seeds_used']))} (worst {what} "
                               f"{100 * at['worst']:.1f} %)")
        rows.append({"defence": arm, "n_seeds": int(d.size),
                     "defended_rate": float(d.mean()),
                     "undefended_effect_pp": 100 * eff.undefended_effect,
                     "defended_effect_pp": 100 * eff.defended_effect,
                     "efficacy": eff.estimate, "efficacy_ci_low": eff.ci_low,
                     "efficacy_ci_high": eff.ci_high, "efficacy_bounded": eff.bounded,
                     "efficacy_note": eff.note,
                     # the interval's method and df as stats.defences computed them (its
                     # default is being calibrated: whatever it is, the report names it)
                     "efficacy_method": str(getattr(eff, "method", "fieller")),
                     "efficacy_df": float(eff.df), "tost_df": float(eq.df),
                     "tost_difference_pp": 100 * eq.difference,
                     "tost_ci_low_pp": 100 * eq.ci_low, "tost_ci_high_pp": 100 * eq.ci_high,
                     "tost_p": eq.p_value, "margin_pp": margin_pp, "equivalent": eq.equivalent,
                     "tost_verdict": eq.verdict, "tost_method": eq.method,
                     "tost_note": eq.note, "calibration": "; ".join(calibration)})
    arms = [reference, undefended, *defences]
    summary = summarize(cells[cells["condition"].isin(arms)], confidence_level=confidence_level)
    order = {a: i for i, a in enumerate(arms)}  # reference, undefended, then the defences
    summary = summary.sort_values("condition", key=lambda c: c.map(order), kind="stable")
    return DefenceView(pd.DataFrame(rows), summary.reset_index(drop=True),
                       seeds[seeds["condition"].isin(arms)],
                       undefended, reference, float(margin_pp), float(confidence_level),
                       float(alpha))


def defence_note(row) -> str:
    """The methods line under a defence's table (interval method and df, and any caveat)."""
    text = (f"Efficacy interval: {row['efficacy_method']} ({row['efficacy_df']:.3g} df); TOST: "
            f"{row.get('tost_method', 'two one-sided t tests')} ({row['tost_df']:.3g} df).")
    extras = [row.get(k) for k in ("efficacy_note", "tost_note", "calibration")]
    extras = [e for e in extras if isinstance(e, str) and e]
    if extras:
        text += " " + " ".join(e if e.endswith(".") else e + "." for e in extras)
    return text


def defence_display(view: DefenceView) -> pd.DataFrame:
    """One display row per defence: rates and effects in pp, efficacy in % with its interval,
    the TOST difference with its ``1 − 2α`` interval, p and verdict at the printed δ."""
    from subliminal_stats.report.tables import format_p

    level = f"{100 * view.confidence_level:g} %"
    tost_level = f"{100 * (1 - 2 * view.alpha):g} %"

    def pct(x: float) -> str:
        return _fmt(100 * x) if math.isfinite(x) else ("+∞" if x > 0 else "−∞")

    out = []
    for r in view.rows.itertuples(index=False):
        interval = (f"[{pct(r.efficacy_ci_low)}, {pct(r.efficacy_ci_high)}]" if r.efficacy_bounded
                    else "unbounded")
        out.append({
            "defence": r.defence, "seeds": str(r.n_seeds),
            "rate %": _fmt(100 * r.defended_rate),
            f"{view.undefended} − {view.reference} pp": _fmt(r.undefended_effect_pp),
            f"defended − {view.reference} pp": _fmt(r.defended_effect_pp),
            f"efficacy % [{level} CI]": f"{pct(r.efficacy)} {interval}",
            f"TOST δ = {r.margin_pp:g} pp: diff [{tost_level} CI]":
                f"{_fmt(r.tost_difference_pp)} [{_fmt(r.tost_ci_low_pp)}, {_fmt(r.tost_ci_high_pp)}]",
            "TOST p": format_p(r.tost_p), "verdict": r.tost_verdict})
    return pd.DataFrame(out)


@dataclass(frozen=True)
class DoseView:
    """The dose trend: per-seed points (``condition, seed, dose, rate``) and the test."""

    points: pd.DataFrame
    trend: object
    caveat: str


def dose_check(data: pd.DataFrame, *, trait: str, doses: str | dict | None = None,
               confidence_level: float = 0.95, alpha: float = 0.05) -> DoseView:
    """Slope of per-seed rates on a numeric dose (:func:`subliminal_stats.stats.defences.
    dose_trend`), the dose of each arm from ``doses`` (``ARM=DOSE`` pairs) or a numeric
    ``dose`` column of the table (one value per seed)."""
    from subliminal_stats.stats import cell_counts
    from subliminal_stats.stats.defences import dose_trend

    df = data[data["trait"] == trait]
    mapping = parse_doses(doses)
    seeds = seed_rates_frame(cell_counts(df))
    if mapping:
        _check_arms(df, list(mapping), "doses")
        points = seeds[seeds["condition"].isin(list(mapping))].copy()
        points["dose"] = points["condition"].map(mapping).astype(float)
    elif "dose" in df.columns:
        dose = pd.to_numeric(df["dose"], errors="coerce")
        if dose.isna().any():
            raise InputError("column 'dose' must be a number on every row (or give doses=ARM=DOSE)")
        per_seed = df.assign(dose=dose).groupby(["condition", "seed"])["dose"].agg(["min", "max"])
        if (per_seed["min"] != per_seed["max"]).any():
            raise InputError("column 'dose' differs within one seed: a dose belongs to a trained "
                             "student")
        points = seeds.merge(per_seed["min"].rename("dose").reset_index(), on=["condition", "seed"])
    else:
        raise InputError("no doses: give doses=ARM=DOSE pairs or a numeric 'dose' column")
    points = points.sort_values(["dose", "seed"], kind="stable").reset_index(drop=True)
    trend = dose_trend(points["dose"], points["rate"], confidence_level=confidence_level,
                       alpha=alpha)
    return DoseView(points[["condition", "seed", "dose", "rate"]], trend, trend.note)


def dose_sentence(view: DoseView, *, unit: str = "dose unit") -> str:
    """The trend in one Markdown sentence (slope in pp per ``unit`` with its interval, p)."""
    t = view.trend
    from subliminal_stats.report.tables import format_p

    text = (f"Slope of the per-seed rate on the dose: {100 * t.slope:.3g} pp per {unit} "
            f"(95 % CI {100 * t.ci_low:.3g} to {100 * t.ci_high:.3g}; OLS on {t.n_seeds} seeds at "
            f"{t.n_doses} doses, t on {t.df:g} df, p {format_p(t.p_value)}).")
    if t.smallest_detected_dose is not None:
        text += f" Smallest dose detected against the lowest dose: {t.smallest_detected_dose:g}."
    elif not t.note:
        text += " No dose is detected against the lowest dose (Holm over doses)."
    return text


__all__ = [
    "Note",
    "paper_fig3",
    "paper_fig8",
    "paper_differences",
    "paper_mnist",
    "paper_owl_interval",
    "paper_welch_from_summaries",
    "stored_calibration",
    "calibration_for_design",
    "report_calibration",
    "bundled_runs",
    "MLP_COMPARISONS",
    "RunAnalysis",
    "analyse_run",
    "detectable_effects",
    "seeds_plan",
    "TraitCheck",
    "trait_check",
    "seed_rates_frame",
    "verdict_sentence",
    "warnings_list",
    "example_data",
    "design_calibration",
    "methods_paragraph",
    "statistics_guide",
    "report_footer",
    "read_table",
    "parse_list",
    "parse_doses",
    "SpecificityView",
    "student_arms",
    "specificity_check",
    "specificity_display",
    "DefenceView",
    "defence_check",
    "defence_display",
    "defence_note",
    "DoseView",
    "dose_check",
    "dose_sentence",
]
