"""DataFrame glue for the reports: load bundled data, call the statistics, word the verdict.

The ``.qmd`` reports stay short by calling these functions; every number here
comes from :mod:`subliminal_stats.stats` (no statistics are computed in this
module, except reading the paper's published summaries back).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from subliminal_stats.data.schema import read_responses, select
from subliminal_stats.errors import InputError
from subliminal_stats.report.render import repository_root


def data_dir() -> Path:
    return repository_root() / "data"


# --- the paper's published numbers -------------------------------------------------------


def paper_fig3() -> pd.DataFrame:
    """Figure 3 of arXiv 2507.14805 v1 as a tidy frame (``rate`` also as ``mean``)."""
    frame = pd.read_csv(data_dir() / "paper" / "fig3_trait_rates.csv")
    return frame.assign(mean=frame["rate"])


def paper_fig8() -> pd.DataFrame:
    """Figure 8 of arXiv 2507.14805 v1: student × teacher increase, the paper's significance mark."""
    return pd.read_csv(data_dir() / "paper" / "fig8_cross_model.csv")


def paper_differences(fig3: pd.DataFrame) -> pd.DataFrame:
    """Per trait, treated − control and treated − base in percentage points, from the published bars."""
    wide = fig3.pivot_table(index=["category", "trait"], columns="condition", values="rate", sort=False)
    wide = wide.reset_index()
    wide["treated_minus_control_pp"] = 100 * (wide["treated"] - wide["control"])
    wide["treated_minus_base_pp"] = 100 * (wide["treated"] - wide["base"])
    wide["control_minus_base_pp"] = 100 * (wide["control"] - wide["base"])
    return wide


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
    method: str = "welch",
    confidence_level: float = 0.95,
) -> TraitCheck:
    """Summary, test and verdict for one trait of a responses table.

    The same call as ``subliminal-stats test DATA --trait T --treated ... --control ...``
    (:func:`subliminal_stats.stats.compare`), so the report's numbers equal the CLI's.
    ``base`` is compared as well when that condition is present (empty: skip).
    """
    from subliminal_stats.stats import compare, results_frame, summarize

    if isinstance(data, pd.DataFrame):
        df, source = data, "the table"
    else:
        df = read_responses(data)
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
    results = compare(df, traits=[chosen], treated=treated, control=control,
                      base=base if base and base in conditions else None,
                      method=method, confidence_level=confidence_level)
    tests = results_frame(results)
    verdict = verdict_sentence(tests, treated=treated, control=control)
    return TraitCheck(chosen, summary, seed_rates_frame(df), tests, verdict, treated, control,
                      base if base and base in conditions else None)


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
    seen: dict[str, None] = {}
    for items in tests.get("warnings", []):
        for item in items if isinstance(items, (list, tuple)) else [items]:
            if item and isinstance(item, str):
                seen[item] = None
    return list(seen)


__all__ = [
    "paper_fig3",
    "paper_fig8",
    "paper_differences",
    "bundled_runs",
    "TraitCheck",
    "trait_check",
    "seed_rates_frame",
    "verdict_sentence",
    "warnings_list",
]
