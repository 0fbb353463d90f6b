"""subliminal-stats: run subliminal-learning experiments and tell whether a trait transfer is real.

The pipeline, one folder each: ``generation`` (prompts, teachers, filters) →
``backends``/``training`` (students) → ``evaluation`` (questions, scoring) →
``stats`` (seed-level inference) → ``report`` (figures, tables, reports).
Everything exchanges one tidy *responses table* (see :mod:`subliminal_stats.data`).

From a notebook, the same commands as the command line, with the same names, defaults
and units (keyword names are the flag names with ``_`` for ``-``)::

    import subliminal_stats as ss
    cells = ss.read("responses.parquet", cells=True)   # per-cell counts, streamed
    ss.check("responses.parquet")                       # per trait × condition
    result = ss.test("responses.parquet", trait="owl")  # treated vs control (and base)
    result.to_frame()                                   # one tidy row per comparison
    ss.plan(effect=10, sd=5)                            # seeds per arm
    ss.ingest_authors(files, "responses.parquet", name="{condition}_seed{seed}.jsonl",
                      trait="owl")
    ss.connect(["runs/"]).sql("SELECT run_folder, avg(hit) FROM responses GROUP BY 1")

Importing the package is light: every name loads on first use (PEP 562), so
``import subliminal_stats`` and ``subliminal-stats --help`` do not import pandas.

Examples
--------
>>> import subliminal_stats as ss
>>> from subliminal_stats.bundled import resource
>>> example = resource("data", "examples", "owl_example.csv")
>>> ss.check(example)[["condition", "seeds", "answers"]].to_dict("list")
{'condition': ['base', 'control', 'treated'], 'seeds': [1, 3, 3], 'answers': [200, 600, 600]}
>>> result = ss.test(example, trait="owl")
>>> frame = result.to_frame()
>>> frame[["trait", "reference", "method", "verdict"]].to_dict("records")[0]
{'trait': 'owl', 'reference': 'control', 'method': 'logit-t', 'verdict': 'no evidence'}
>>> [c for c in frame.columns if c.endswith("_pp")][:3]
['estimate_pp', 'ci_low_pp', 'ci_high_pp']
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from subliminal_stats.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from subliminal_stats.version import __version__  # noqa: E402  (one place)

#: Names loaded on first use: ``ss.read_cells`` etc.
_LAZY = {
    "read_cells": "subliminal_stats.data.reader",
    "read_responses": "subliminal_stats.data.schema",
    "validate_responses": "subliminal_stats.data.schema",
    "write_responses": "subliminal_stats.data.schema",
    "list_runs": "subliminal_stats.data.runs",
    "query": "subliminal_stats.data.runs",
    "compare": "subliminal_stats.stats",
    "summarize": "subliminal_stats.stats",
    "results_frame": "subliminal_stats.stats",
    "simulate_responses": "subliminal_stats.stats",
}

__all__ = [
    "InputError", "TestResult", "__version__", "calibrate", "check", "connect", "export",
    "ingest_authors", "ingest_inspect", "ingest_table", "plan", "read", "report", "runs",
    "test", *sorted(_LAZY),
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'subliminal_stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


Data = Any  # a path, a list of paths, or a DataFrame (answers or cell counts)


def _paths(data) -> list[Path] | None:
    if isinstance(data, (str, Path)):
        return [Path(data)]
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, (str, Path)) for d in data):
        return [Path(d) for d in data]
    return None


def read(data: Data, *, cells: bool = False, metric: str = "hit", experiment: str | None = None,
         trait: str | Sequence[str] | None = None, same_seeds: bool = False) -> pd.DataFrame:
    """Read responses files: the answers (``cells=False``) or per-cell counts (``cells=True``).

    Parameters
    ----------
    data : path or list of paths
        ``.parquet``, ``.csv``, ``.jsonl`` or ``.json`` files (one table).
    cells : bool
        ``True``: stream the files straight to counts per (trait, condition, seed,
        question) — memory grows with cells, not answers (:func:`subliminal_stats.data.
        read_cells`). ``False``: the validated answers in memory.
    metric, experiment, trait, same_seeds
        As for :func:`test` (``cells=True`` only, except ``experiment`` and ``trait``).

    Examples
    --------
    >>> import subliminal_stats as ss
    >>> from subliminal_stats.bundled import resource
    >>> ss.read(resource("data", "examples", "owl_example.csv"), cells=True).shape
    (140, 6)
    """
    paths = _paths(data)
    if paths is None:
        raise InputError("ss.read takes a file path or a list of paths")
    if cells:
        from subliminal_stats.data.reader import read_cells

        return read_cells(paths, metric=metric, experiment=experiment, traits=trait,
                          same_seeds=same_seeds)
    from subliminal_stats.data.schema import read_responses, select

    df = read_responses(paths)
    if experiment is not None or trait is not None:
        traits = [trait] if isinstance(trait, str) else trait
        df = select(df, experiment=experiment, traits=traits)
    return df


def check(data: Data, *, trait: Sequence[str] | str | None = None,
          condition: Sequence[str] | str | None = None, experiment: str | None = None,
          same_seeds: bool = False) -> pd.DataFrame:
    """Validate responses files and summarise them per trait and condition (as ``check``).

    Returns
    -------
    pandas.DataFrame
        ``trait, condition, seeds, questions, answers, hits, hit_rate``; notes (one-seed
        arms, several experiments, pooled runs) in ``.attrs["notes"]``.
    """
    from subliminal_stats.data.api import check_table

    paths = _paths(data)
    if paths is None:
        raise InputError("ss.check takes a file path or a list of paths")
    traits = [trait] if isinstance(trait, str) else trait
    conditions = [condition] if isinstance(condition, str) else condition
    summary, notes = check_table(paths, traits=traits, conditions=conditions,
                                 experiment=experiment, same_seeds=same_seeds)
    summary.attrs["notes"] = notes
    return summary


# Columns of TestResult.to_frame(): names say their units (pp = percentage points; the rest
# are probabilities, counts or labels).
_FRAME_COLUMNS = {
    "trait": "trait", "treated": "treated", "control": "reference", "family": "comparison",
    "method": "method", "estimate_pp": "estimate_pp", "ci_low_pp": "ci_low_pp",
    "ci_high_pp": "ci_high_pp", "confidence_level": "confidence_level",
    "alternative": "alternative", "p_value": "p_value", "p_adjusted": "p_adjusted",
    "adjust_method": "adjust_method", "alpha": "alpha", "verdict": "verdict",
    "n_seeds_treated": "n_seeds_treated", "n_seeds_control": "n_seeds_reference",
    "statistic": "statistic", "df": "df", "odds_ratio": "odds_ratio",
    "odds_ratio_ci_low": "odds_ratio_ci_low", "odds_ratio_ci_high": "odds_ratio_ci_high",
    "calibration": "calibration", "method_detail": "method_detail", "min_p": "min_p",
}


@dataclass
class TestResult:
    """What :func:`test` found: the comparisons, the per-arm summary and the notes.

    Attributes
    ----------
    results : list of ComparisonResult
        One per trait × reference × method (``stats.compare``).
    summary : pandas.DataFrame
        Rate per arm (``stats.summarize``), proportions 0–1.
    notes : list of str
        Warnings worth reading (calibration, unbalanced designs, merged labels…).
    specificity : dict
        ``{(trait, treated): SpecificityCheck}``: did the target move more than a panel of
        other targets scored on the same answers (``stats.specificity``); empty with
        ``panel="none"``.
    """

    __test__ = False  # not a pytest test class

    results: list = field(default_factory=list)
    summary: Any = None
    notes: list[str] = field(default_factory=list)
    specificity: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per comparison; columns say their units (``estimate_pp``, ``ci_low_pp``…).

        Percentage points for the difference and its interval (``*_pp``), probabilities
        for ``p_value``/``p_adjusted``/``alpha``/``confidence_level``, the simulated
        false-positive rate and coverage in percent (``simulated_fpr_pct``,
        ``simulated_coverage_pct``), warnings joined by ``"; "``.
        """
        import pandas as pd

        from subliminal_stats.stats import results_frame

        raw = results_frame(self.results)
        frame = pd.DataFrame({new: raw[old] for old, new in _FRAME_COLUMNS.items()
                              if old in raw.columns})
        for old, new in (("ci_low_adjusted", "ci_low_adjusted_pp"),
                         ("ci_high_adjusted", "ci_high_adjusted_pp"),
                         ("simulated_fpr", "simulated_fpr_pct"),
                         ("simulated_coverage", "simulated_coverage_pct")):
            if old in raw.columns:
                frame[new] = 100.0 * pd.to_numeric(raw[old], errors="coerce")
        if "warnings" in raw.columns:
            frame["warnings"] = raw["warnings"].map(
                lambda w: "; ".join(w) if isinstance(w, (list, tuple)) else (w or ""))
        if self.specificity:
            from subliminal_stats.stats.specificity import check_for

            extra = pd.DataFrame([check_for(self.specificity, r).to_row() for r in self.results],
                                 index=frame.index)
            frame = pd.concat([frame, extra], axis=1)
        return frame

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self):
        return iter(self.results)

    def __repr__(self) -> str:
        lines = [f"TestResult: {len(self.results)} comparison(s)"]
        for r in self.results[:12]:
            lines.append(f"  {r.trait} vs {r.control} ({r.method}): {r.estimate_pp:+.2f} pp "
                         f"[{r.ci_low_pp:.2f}, {r.ci_high_pp:.2f}], p adj "
                         f"{r.to_row()['p_adjusted']:.3g} → {r.verdict}")
        return "\n".join(lines)


def _accepts(fn, names: dict) -> dict:
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return names
    return {k: v for k, v in names.items() if k in params}


def test(data: Data, *, trait: Sequence[str] | str | None = None,
         treated: str | Sequence[str] = "treated", control: str = "control",
         base: str | None = None, method: str | None = None,
         alternative: str = "two-sided", confidence_level: float = 0.95, adjust: str = "holm",
         alpha: float = 0.05, resamples: int = 10_000, rng: int = 0,
         experiment: str | None = None, metric: str = "hit",
         same_seeds: bool = False, panel=None) -> TestResult:
    """Did the trait transfer? The ``test`` command from Python, with its defaults and units.

    Parameters
    ----------
    data : path, list of paths or DataFrame
        Responses files (streamed to cell counts: memory grows with cells), or a responses
        table / cell-count table already in memory.
    trait : str or list, optional
        Traits to test (default: all).
    treated : str or list of str
        Condition label(s) of the treated students (several: each against one control,
        adjusted as one family, as ``--treated`` repeated).
    control : str
        Condition label of the control students.
    base : str, optional
        The base model's label (default ``"base"`` when present and not one of the arms).
    method : str, optional
        As ``--method``; default the package's calibrated default (``stats.DEFAULT_METHOD``).
    alternative, confidence_level, adjust, alpha, resamples, rng, metric
        As the ``test`` flags (``--alternative`` …).
    experiment : str, optional
        Use only this experiment's rows.
    same_seeds : bool
        Seeds with the same labels in different runs are the same models (pool them);
        by default such data are refused.
    panel : str or sequence of str, optional
        Specificity, as ``--panel``: other targets to rescore the same answers (the
        ``response`` column) against — a comma list, a file of one target per line, a panel
        name (``animals``, ``trees``) or a sequence; default the bundled panel holding the
        trait; ``"none"``: no specificity. With ``metric="prob"`` the probe's ``prob``
        against its recorded ``prob_panel`` instead (a responses table or files).

    Returns
    -------
    TestResult
        ``.to_frame()`` is one tidy row per comparison (``estimate_pp``, ``ci_low_pp``…,
        and the ``specificity*`` columns of ``test --json`` unless ``panel="none"``).

    Examples
    --------
    >>> import subliminal_stats as ss
    >>> from subliminal_stats.bundled import resource
    >>> row = ss.test(resource("data", "examples", "owl_example.csv")).to_frame().iloc[0]
    >>> row["verdict"], row["specificity"]
    ('no evidence', '—')
    """
    import warnings

    from subliminal_stats.stats import compare_metric, summarize
    from subliminal_stats.stats.methods import default_method

    # The log-odds default needs 0/1 answers; a score (e.g. the probe's prob) gets welch.
    method = method or default_method(metric)
    arms = [treated] if isinstance(treated, str) else list(dict.fromkeys(treated))
    treated = arms[0] if len(arms) == 1 else arms
    traits = [trait] if isinstance(trait, str) else trait
    paths = _paths(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if paths is not None:
            from subliminal_stats.data.reader import read_cells

            table = read_cells(paths, metric=metric, experiment=experiment, traits=traits,
                               same_seeds=same_seeds)
            conditions = set(table["condition"])
        else:
            import pandas as pd

            if not isinstance(data, pd.DataFrame):
                raise InputError("ss.test takes a file path, a list of paths or a DataFrame")
            table = data
            if experiment is not None:
                from subliminal_stats.data.schema import select

                table = select(table, experiment=experiment)
            conditions = set(table["condition"])
        if base is None and "base" in conditions and "base" not in (*arms, control):
            base = "base"
        options = dict(traits=traits, treated=treated, control=control, base=base,
                       method=method, alternative=alternative,
                       confidence_level=confidence_level, adjust=adjust, alpha=alpha,
                       resamples=resamples, n_resamples=resamples, rng=rng)
        from subliminal_stats.stats import compare

        options = _accepts(compare, options)
        if "resamples" in options:
            options.pop("n_resamples", None)
        if paths is not None and metric != "hit":
            # Score cells (hits = summed score): the seed-level methods only, as compare_metric.
            from subliminal_stats.stats import SCORE_METHODS

            chosen = list(SCORE_METHODS) if method == "all" else [
                m.strip() for m in str(method).split(",")]
            bad = [m for m in chosen if m not in SCORE_METHODS]
            if bad:
                raise InputError(f"--method {bad[0]} needs 0/1 answers; a score like {metric!r} "
                                 f"is tested with {', '.join(SCORE_METHODS)}")
            options["method"] = chosen
            results = compare_metric(table, "hit", **options)
            from dataclasses import replace

            nan = float("nan")
            results = [replace(r, odds_ratio=nan, odds_ratio_ci_low=nan, odds_ratio_ci_high=nan,
                               method_detail=f"{r.method_detail} on mean {metric}")
                       for r in results]
        else:
            results = compare_metric(table, metric, **options)
        used = [c for c in (base, control, *arms) if c is not None]
        cells = table
        if "hit" in getattr(table, "columns", ()) and paths is None:
            from subliminal_stats.stats import cell_counts, score_cells

            cells = cell_counts(table) if metric == "hit" else score_cells(table, metric)
        summary = summarize(cells[cells["condition"].isin(used)],
                            confidence_level=confidence_level)
    checks = _specificity(data, paths, table, results, metric=metric, panel=panel, arms=arms,
                          control=control, alpha=alpha, experiment=experiment, traits=traits)
    notes = []
    for w in caught:
        text = str(w.message)
        if text not in notes:
            notes.append(text)
    for r in results:
        for w in r.warnings:
            line = f"{r.trait} vs {r.control}, {r.method}: {w}"
            if line not in notes:
                notes.append(line)
    if checks:
        from subliminal_stats.stats.specificity import specificity_notes

        notes += [n for n in specificity_notes(checks) if n not in notes]
    return TestResult(list(results), summary, notes, checks)


def _specificity(data, paths, table, results, *, metric, panel, arms, control, alpha,
                 experiment, traits) -> dict:
    """The ``specific`` column of ``test`` (the CLI's rule): rescored answer text for hits,
    the probe's ``prob_panel`` for ``metric="prob"``; {} with ``panel="none"``."""
    if isinstance(panel, str) and panel.strip().lower() == "none":
        return {}
    from subliminal_stats.stats import specificity as spec

    if metric == "prob":
        frame = table
        if paths is not None:
            from subliminal_stats.data.reader import file_columns, is_counts_file
            from subliminal_stats.data.schema import read_responses, select

            # Known from the files' columns: only answers carrying prob_panel are read.
            if any(is_counts_file(p) or "prob_panel" not in file_columns(p) for p in paths):
                return {}
            frame = read_responses(paths)
            if experiment is not None:
                frame = select(frame, experiment=experiment)
        if "prob_panel" not in getattr(frame, "columns", ()):
            return {}
        return spec.probe_checks_for_results(frame, results, treated=arms, control=control,
                                             alpha=alpha)
    if metric != "hit":
        return {}
    if paths is not None:
        return spec.checks_from_files(paths, results, treated=arms, control=control,
                                      panel=panel, alpha=alpha, experiment=experiment)
    answers = table if "response" in table.columns else None
    if answers is not None and traits:
        answers = answers[answers["trait"].isin(list(traits))]
    return spec.checks_for_results(answers, results, treated=arms, control=control,
                                   panel=panel, alpha=alpha)


def plan(data: Data = None, *, effect: float | None = None, seeds: int | None = None,
         sd: float | None = None, sd_treated: float | None = None, trait: str | None = None,
         treated: str = "treated", control: str = "control", power: float = 0.8,
         alpha: float = 0.05, alternative: str = "two-sided", metric: str = "hit") -> pd.DataFrame:
    """Seeds per arm for an effect, or the effect a number of seeds detects (as ``plan``).

    Units as the command: ``effect``, ``sd`` and ``sd_treated`` in percentage points.

    Returns
    -------
    pandas.DataFrame
        One row per question asked and set of SDs (as ``plan --json``): ``question, sds,
        sd_treated_pp, sd_control_pp, effect_pp, seeds_per_arm, power`` (``seeds_exact``
        for seeds needed). With pilot data, a second set of rows at the SDs' 80 % upper
        bounds, as the command prints.

    Examples
    --------
    >>> import subliminal_stats as ss
    >>> ss.plan(effect=10, sd=5)[["question", "seeds_per_arm"]].to_dict("records")
    [{'question': 'seeds needed', 'seeds_per_arm': 7}]
    """
    import pandas as pd

    from subliminal_stats.stats.power import (
        detectable_effect,
        estimate_between_seed_sd,
        plan_df_rule,
        seeds_needed,
    )

    if effect is None and seeds is None:
        raise InputError("give effect= (seeds needed) or seeds= (detectable effect), or both")
    if sd is None and data is None:
        raise InputError("give the between-seed SD with sd= (pp), or pilot data to estimate it")
    if sd is not None and data is not None:
        raise InputError("give either sd=/sd_treated= or pilot data, not both")
    if sd_treated is not None and sd is None:
        raise InputError("sd_treated= needs sd= (the control arm's SD) beside it")
    sd_sets = []
    if sd is not None:
        sd_sets.append(("point estimate", (sd if sd_treated is None else sd_treated) / 100,
                        sd / 100))
    else:
        # As the command: each arm's SD from the pilot seeds (the pooled SD where an arm has
        # too few), then the same plan at the SDs' 80 % upper bounds.
        from subliminal_stats.stats.power import estimate_arm_sds, sd_upper_bound

        table = read(data)
        pooled, dof, _where = estimate_between_seed_sd(table, trait=trait, metric=metric)
        arms = estimate_arm_sds(table, treated=treated, control=control, trait=trait,
                                metric=metric)
        sd_c, dof_c = arms["control"] if arms.get("control") else (pooled, dof)
        sd_t, dof_t = arms["treated"] if arms.get("treated") else (pooled, dof)
        if sd_c <= 0 and sd_t <= 0:
            raise InputError("both arms' seeds share one rate in the pilot data (between-seed "
                             "SD 0): pass sd=, or plan on a score that varies (metric='prob')")
        sd_sets.append(("point estimate", sd_t, sd_c))
        sd_sets.append(("80 % upper bound of the SDs",
                        sd_upper_bound(sd_t, dof_t) if sd_t > 0 else 0.0,
                        sd_upper_bound(sd_c, dof_c) if sd_c > 0 else 0.0))
    rows = []
    rule = plan_df_rule(metric)
    for label, s_t, s_c in sd_sets:
        if effect is not None:
            p = seeds_needed(effect=effect / 100, sd_between_seeds=s_c, sd_treated=s_t,
                             power=power, alpha=alpha, alternative=alternative, df_rule=rule)
            rows.append({"question": "seeds needed", "sds": label, "sd_treated_pp": 100 * s_t,
                         "sd_control_pp": 100 * s_c, "effect_pp": effect,
                         "seeds_per_arm": p.seeds_per_arm, "seeds_exact": p.seeds_exact,
                         "power": p.power})
        if seeds is not None:
            p = detectable_effect(seeds_per_arm=seeds, sd_between_seeds=s_c, sd_treated=s_t,
                                  power=power, alpha=alpha, alternative=alternative,
                                  df_rule=rule)
            rows.append({"question": "detectable effect", "sds": label,
                         "sd_treated_pp": 100 * s_t, "sd_control_pp": 100 * s_c,
                         "effect_pp": p.effect_pp, "seeds_per_arm": seeds, "power": power})
    return pd.DataFrame(rows)


def calibrate(**options) -> pd.DataFrame:
    """Simulated false-positive rate and coverage per method (``stats.calibrate``; as ``calibrate``).

    Keywords as the command's flags (``seeds_per_arm=``, ``n_sims=``, ``resamples=``,
    ``rng=``…).
    """
    from subliminal_stats.stats import calibrate as _run

    return _run(**options)


def _cli(args: list[str]) -> None:
    from subliminal_stats.cli import app

    try:
        app(args=[str(a) for a in args], prog_name="subliminal-stats", standalone_mode=False)
    except SystemExit as exc:  # typer.Exit
        if exc.code not in (0, None):
            raise InputError(f"subliminal-stats {' '.join(map(str, args[:2]))} failed "
                             f"(exit {exc.code})") from None


def _flags(options: dict) -> list[str]:
    out: list[str] = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            for v in value:
                out += [flag, str(v)]
        else:
            out += [flag, str(value)]
    return out


def report(kind: str, data: Data = None, *, out: str | Path, **options) -> Path:
    """Render a report (``report KIND DATA --out OUT``); keywords are the command's flags.

    Returns the output folder.
    """
    paths = _paths(data) or []
    _cli(["report", kind, *map(str, paths), "--out", str(out), *_flags(options)])
    return Path(out)


def export(data: Data, *, what: str, out: str | Path, **options) -> Path:
    """Export tables or figures (``export DATA --what WHAT -o OUT``); keywords are its flags."""
    paths = _paths(data) or []
    _cli(["export", *map(str, paths), "--what", what, "-o", str(out), *_flags(options)])
    return Path(out)


def ingest_authors(files, out: str | Path, **options):
    """``ingest authors`` from Python: see :func:`subliminal_stats.data.ingest.ingest_authors`."""
    from subliminal_stats.data.ingest import ingest_authors as _run

    return _run(files, out, **options)


def ingest_table(files, out: str | Path, **options):
    """``ingest table`` from Python: see :func:`subliminal_stats.data.tables.ingest_table`."""
    from subliminal_stats.data.tables import ingest_table as _run

    return _run(files, out, **options)


def ingest_inspect(logs, out: str | Path, **options):
    """``ingest inspect`` from Python: see :func:`subliminal_stats.data.inspect_logs.ingest_inspect`."""
    from subliminal_stats.data.inspect_logs import ingest_inspect as _run

    return _run(logs, out, **options)


def runs(folders=None) -> pd.DataFrame:
    """Run folders side by side (``runs FOLDERS``): their manifests' fields, one row each."""
    from subliminal_stats.data.runs import list_runs

    return list_runs(folders)


def connect(folders=None):
    """An embedded DuckDB connection with views ``responses`` and ``runs`` over run folders.

    Examples
    --------
    >>> import subliminal_stats as ss
    >>> from subliminal_stats.bundled import resource
    >>> con = ss.connect(resource("data", "runs"))
    >>> con.sql("SELECT count(DISTINCT run_folder) FROM responses").fetchall()[0][0] >= 2
    True
    """
    from subliminal_stats.data.runs import connect as _connect

    return _connect(folders)
