"""Specificity: did the *target* move more than a panel of other targets scored on the same answers?

A transfer claim says the treated students prefer the target. Training on transformed
teacher data can instead shift many preferences at once (one public replication moved 11
of 18 animals, the target among the smallest). Score the same answers against a panel of
other targets (one trait label per target in the cells table, same seeds and questions) and
test, per seed, the contrast

    c_s = r_target,s − mean_{a in panel} r_a,s

between treated and control seeds (Welch, df capped as for the default test): the target's
lift over control minus the panel's average lift, a difference in differences on the rate
scale with the seed as the unit. Verdicts (:data:`SPECIFIC`, :data:`GENERAL_SHIFT`,
:data:`INCONCLUSIVE`):

* ``specific`` — the contrast is significantly above 0 (the target rose more than the panel);
* ``general shift`` — the target rose, the panel rose too, and the contrast is not above 0;
* ``inconclusive`` — anything else (e.g. the target rose, the panel did not clearly rise,
  and the contrast is not clearly positive).

Calibration (fixed-seed simulations, ``tests/stats/test_specificity.py``): with nothing
moving, the contrast's false-positive rate at nominal 5 % was 3.1–5.7 % over 3, 5 and 10
seeds per arm with treated students spreading like the controls or far more (1,000 nulls
per cell; 4.0 % in 4,000 nulls at 5 seeds); every animal +8 pp is called ``general shift``
and the target alone +10 pp ``specific`` in ≥ 95 % of 1,000 studies at 5 seeds; through the
text pipeline (:func:`score_panel` on simulated answer texts, ``tests/cli``) 99.0 % and
100 % of 200 studies.

In ``subliminal-stats test`` (:func:`check_specificity`), the answers' text is rescored
against the target and a panel (:data:`subliminal_stats.words.PANELS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from subliminal_stats.errors import InputError
from subliminal_stats.stats import arrays as A
from subliminal_stats.stats.cells import cell_counts, seed_rates_from_cells

SPECIFIC = "specific"
GENERAL_SHIFT = "general shift"
INCONCLUSIVE = "inconclusive"

__all__ = ["GENERAL_SHIFT", "INCONCLUSIVE", "NOT_AVAILABLE", "SPECIFIC", "Specificity",
           "SpecificityCheck", "check_for", "check_specificity", "checks_for_results",
           "checks_from_files",
           "has_answer_text", "probe_checks_for_results", "score_panel", "specificity_notes",
           "probe_specificity", "specificity", "specificity_arrays", "target_matrix"]

#: Shown in place of a verdict when the test cannot be run (the reason goes beside it).
NOT_AVAILABLE = "—"


@dataclass(frozen=True)
class Specificity:
    """The diagonal-lift test for one target against its panel (differences in proportions)."""

    target: str
    panel: tuple[str, ...]
    target_lift: float
    target_p: float
    panel_lift: float
    panel_p: float
    contrast: float
    contrast_ci_low: float
    contrast_ci_high: float
    contrast_p: float
    alpha: float
    verdict: str


def specificity_arrays(target_t, panel_t, target_c, panel_c, *, alpha: float = 0.05):
    """Vectorised core: per-seed rates (..., seeds) of the target and (..., panel, seeds) of the panel.

    Returns a dict of arrays (``target_p``, ``panel_p``, ``contrast``, ``contrast_p``,
    ``contrast_ci_low``/``high``, ``verdict`` codes 0 = inconclusive, 1 = general shift,
    2 = specific), vectorised over leading axes (simulations).
    """
    tt, tc = np.asarray(target_t, float), np.asarray(target_c, float)
    pt, pc = np.asarray(panel_t, float).mean(axis=-2), np.asarray(panel_c, float).mean(axis=-2)
    target = A.welch_t(tt, tc)
    panel = A.welch_t(pt, pc)
    contrast = A.welch_t(tt - pt, tc - pc, confidence_level=1 - alpha)
    up_t = (target.p_value <= alpha * (1 + 1e-9)) & (target.estimate > 0)
    up_p = (panel.p_value <= alpha * (1 + 1e-9)) & (panel.estimate > 0)
    up_c = (contrast.p_value <= alpha * (1 + 1e-9)) & (contrast.estimate > 0)
    code = np.where(up_c, 2, np.where(up_t & up_p, 1, 0))
    return {"target_lift": target.estimate, "target_p": target.p_value,
            "panel_lift": panel.estimate, "panel_p": panel.p_value,
            "contrast": contrast.estimate, "contrast_p": contrast.p_value,
            "contrast_ci_low": contrast.ci_low, "contrast_ci_high": contrast.ci_high,
            "verdict": code}


_WORDS = {0: INCONCLUSIVE, 1: GENERAL_SHIFT, 2: SPECIFIC}


def _rates(cells, trait, condition):
    sub = cells[(cells["trait"] == trait) & (cells["condition"] == condition)]
    if sub.empty:
        raise InputError(f"no answers scored for target {trait!r} in condition {condition!r}; "
                         "score the same answers against every panel target")
    return sub.set_index("seed")["rate"]


def specificity(df: pd.DataFrame, *, target: str, panel=None, treated: str = "treated",
                control: str = "control", alpha: float = 0.05) -> Specificity:
    """The diagonal-lift test of ``target`` against ``panel`` (default: every other trait).

    Parameters
    ----------
    df : DataFrame
        Responses or cells where each trait label is one target scored on the *same*
        answers (same seeds in every target).
    """
    cells = seed_rates_from_cells(cell_counts(df))
    panel = [t for t in (panel or pd.unique(cells["trait"])) if t != target]
    if not panel:
        raise InputError("the specificity test needs at least one other target in the panel")
    rt, rc = _rates(cells, target, treated), _rates(cells, target, control)
    pts = [_rates(cells, a, treated).reindex(rt.index) for a in panel]
    pcs = [_rates(cells, a, control).reindex(rc.index) for a in panel]
    if any(p.isna().any() for p in pts + pcs):
        raise InputError("every panel target must be scored for the same seeds as the target")
    if min(len(rt), len(rc)) < 2:
        raise InputError("the specificity test needs at least 2 seeds per arm")
    out = specificity_arrays(rt.to_numpy(), np.vstack([p.to_numpy() for p in pts]),
                             rc.to_numpy(), np.vstack([p.to_numpy() for p in pcs]), alpha=alpha)
    return Specificity(str(target), tuple(map(str, panel)), float(out["target_lift"]),
                       float(out["target_p"]), float(out["panel_lift"]), float(out["panel_p"]),
                       float(out["contrast"]), float(out["contrast_ci_low"]),
                       float(out["contrast_ci_high"]), float(out["contrast_p"]), float(alpha),
                       _WORDS[int(out["verdict"])])


def probe_specificity(df: pd.DataFrame, *, target: str, treated: str = "treated",
                      control: str = "control", alpha: float = 0.05,
                      panel_name: str = "panel") -> Specificity:
    """The diagonal-lift test on the probability probe: ``prob`` (P(target)) against
    ``prob_panel`` (the mean of P(member) over the target's panel), per seed.

    The contrast of :func:`specificity_arrays` uses the panel's mean only, so one column with
    the mean probability of the other members carries everything the test needs. ``df`` is a
    responses table with ``prob`` and ``prob_panel`` (the pipelines write both for local models
    with ``evaluation.probe_panel``).
    """
    from subliminal_stats.stats.cells import score_cells

    missing = [c for c in ("prob", "prob_panel") if c not in df.columns]
    if missing:
        raise InputError(f"the probe's specificity test needs column(s) {', '.join(missing)}")
    rows = df[(df["trait"] == target) & df["condition"].isin([treated, control])]
    rows = rows[rows["prob_panel"].notna()]
    if not len(rows):
        raise InputError(f"no probe of a panel for trait {target!r}")
    per_seed = {}
    for column in ("prob", "prob_panel"):
        rates = seed_rates_from_cells(score_cells(rows, column))
        per_seed[column] = {arm: _rates(rates, target, arm) for arm in (treated, control)}
    rt, rc = per_seed["prob"][treated], per_seed["prob"][control]
    pt = per_seed["prob_panel"][treated].reindex(rt.index)
    pc = per_seed["prob_panel"][control].reindex(rc.index)
    if min(len(rt), len(rc)) < 2:
        raise InputError("the specificity test needs at least 2 seeds per arm")
    out = specificity_arrays(rt.to_numpy(), pt.to_numpy()[None, :], rc.to_numpy(),
                             pc.to_numpy()[None, :], alpha=alpha)
    return Specificity(str(target), (panel_name,), float(out["target_lift"]),
                       float(out["target_p"]), float(out["panel_lift"]), float(out["panel_p"]),
                       float(out["contrast"]), float(out["contrast_ci_low"]),
                       float(out["contrast_ci_high"]), float(out["contrast_p"]), float(alpha),
                       _WORDS[int(out["verdict"])])


def target_matrix(df: pd.DataFrame, *, control: str = "control") -> pd.DataFrame:
    """Trait × target lift matrix: rows = treated condition (students of a trait), columns =
    target scored, values = mean per-seed rate minus the control's (proportions).

    ``df`` holds conditions named after the trait their teacher carried and every target
    scored as a trait label; the diagonal is each trait's own lift.
    """
    rates = seed_rates_from_cells(cell_counts(df))
    means = rates.groupby(["condition", "trait"])["rate"].mean().unstack("trait")
    if control not in means.index:
        raise InputError(f"no control condition {control!r} in the table")
    lift = means.drop(index=control) - means.loc[control]
    lift.index.name, lift.columns.name = "students", "target"
    return lift


# -- rescoring the same answers against a panel ---------------------------------------------


def has_answer_text(df: pd.DataFrame) -> bool:
    """Whether a responses table carries answer text (a ``response`` column, not all empty)."""
    return "response" in df.columns and bool(df["response"].notna().any())


def _cell_codes(answers: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """One integer per answer naming its (condition, seed, question) cell, and the cells."""
    keys = ("condition", "seed", "question")
    codes, uniques = [], []
    for key in keys:  # factorize per column + one combined code: far faster than a MultiIndex
        c, u = pd.factorize(answers[key].astype(str), sort=False)
        codes.append(c.astype(np.int64))
        uniques.append(np.asarray(u, dtype=object))
    combined = codes[0]
    for c, u in zip(codes[1:], uniques[1:], strict=True):
        combined = combined * len(u) + c
    cell_ids, inverse = np.unique(combined, return_inverse=True)
    out, rest = {}, cell_ids
    for key, u in reversed(list(zip(keys, uniques, strict=True))):
        out[key] = u[rest % len(u)]
        rest = rest // len(u)
    return inverse, pd.DataFrame({k: out[k] for k in keys})


def _row_hits(answers: pd.DataFrame, targets: Sequence[str], **matcher) -> dict[str, np.ndarray]:
    """0/1 per answer for each target; each distinct text is matched once per target."""
    from subliminal_stats.words import score_answers

    texts, uniques = pd.factorize(answers["response"], use_na_sentinel=True)
    uniques = list(uniques)
    # A missing answer (code −1) names nothing: index a trailing 0.
    return {t: np.append(score_answers(uniques, t, **matcher), 0)[texts]
            for t in dict.fromkeys(targets)}


def score_panel(answers: pd.DataFrame, targets: Sequence[str], *, first_word: bool = False,
                languages: Sequence[str] | None = None, translations_file=None,
                _hits: dict | None = None) -> pd.DataFrame:
    """Score the same answers against each target: one cells table, trait label = target.

    Parameters
    ----------
    answers : DataFrame
        One row per answer with ``condition, seed, question, response`` (the rows of one
        trait: whatever ``trait`` they carry is replaced by each target scored).
    targets : sequence of str
        Words scored with :func:`subliminal_stats.words.score_answers` (plurals, compounds,
        names in other languages, ``first_word``/``languages``/``translations_file`` as
        there).

    Returns
    -------
    DataFrame with ``trait, condition, seed, question, hits, n``: for each target, every
    (condition, seed, question) cell of ``answers``. Each distinct answer text is matched
    once per target (one-word answers repeat: a few hundred texts for 10⁵ answers); the
    counts are one ``bincount`` per target. Cost: about 12 µs per distinct text and target
    (measured: 1,000,000 answers with 18,389 distinct texts, 15 targets: ≈ 5 s).
    """
    need = [c for c in ("condition", "seed", "question", "response") if c not in answers.columns]
    if need:
        raise InputError(f"scoring a panel needs the column(s) {', '.join(map(repr, need))}")
    hits_by_target = _hits if _hits is not None else _row_hits(
        answers, targets, first_word=first_word, languages=languages,
        translations_file=translations_file)
    cell, cell_keys = _cell_codes(answers)
    n = np.bincount(cell, minlength=len(cell_keys)).astype(np.int64)
    frames = []
    for target in dict.fromkeys(targets):
        hits = np.bincount(cell, weights=hits_by_target[target], minlength=len(cell_keys))
        frame = cell_keys.copy()
        frame.insert(0, "trait", target)
        frame["hits"] = hits.astype(np.int64)
        frame["n"] = n
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class SpecificityCheck:
    """The specificity of one (trait, treated arm) row of ``test``: a verdict or why none.

    ``verdict`` is :data:`SPECIFIC`, :data:`GENERAL_SHIFT`, :data:`INCONCLUSIVE` or
    :data:`NOT_AVAILABLE` (then ``reason`` says why and ``result`` is None); ``agreement`` is
    the share of answers where the target rescored from the text agrees with the table's
    ``hit`` column (NaN without one).
    """

    trait: str
    treated: str
    control: str
    verdict: str
    reason: str = ""
    panel_name: str = ""
    result: Specificity | None = None
    agreement: float = float("nan")

    def to_row(self) -> dict:
        """The JSON fields ``test --json`` adds to a result row (contrast in pp)."""
        r = self.result
        nan = float("nan")
        return {"specificity": self.verdict,
                "specificity_contrast_pp": 100 * r.contrast if r else nan,
                "specificity_ci_low_pp": 100 * r.contrast_ci_low if r else nan,
                "specificity_ci_high_pp": 100 * r.contrast_ci_high if r else nan,
                "specificity_p": r.contrast_p if r else nan,
                "specificity_target_lift_pp": 100 * r.target_lift if r else nan,
                "specificity_panel_lift_pp": 100 * r.panel_lift if r else nan,
                "specificity_panel": ",".join(r.panel) if r else "",
                "specificity_note": self.reason}


def _panel_for(trait: str, panel) -> tuple[str, tuple[str, ...]] | None:
    from subliminal_stats.words import default_panel, parse_panel

    if panel is None:
        return default_panel(trait)
    return "given", parse_panel(panel, target=trait)


def check_specificity(answers: pd.DataFrame, *, trait: str, treated: Sequence[str] | str,
                      control: str = "control", panel=None, alpha: float = 0.05,
                      first_word: bool = False, languages: Sequence[str] | None = None,
                      translations_file=None) -> list[SpecificityCheck]:
    """The diagonal-lift test of ``trait`` for each treated arm, from the answers' text.

    The answers of ``trait`` are rescored against the trait itself and its panel (``panel``:
    a comma list, a file, a panel name or a sequence; default: the bundled panel holding
    the trait, :data:`subliminal_stats.words.PANELS`), all with the same matcher, and
    :func:`specificity` runs on the rescored cells — the target's lift over control against
    the panel's average lift, per seed (Welch, capped df). The p-value is not adjusted for
    multiplicity. A row whose test cannot run says why: no answer text, the trait in no
    panel, an arm with fewer than 2 seeds.

    Returns
    -------
    list of SpecificityCheck, one per treated arm.
    """
    arms = [treated] if isinstance(treated, str) else list(dict.fromkeys(treated))

    def unavailable(reason: str, name: str = "") -> list[SpecificityCheck]:
        return [SpecificityCheck(str(trait), a, control, NOT_AVAILABLE, reason, name) for a in arms]

    if not has_answer_text(answers):
        return unavailable("no answer text (no response column) to rescore against a panel")
    found = _panel_for(str(trait), panel)
    if found is None:
        return unavailable(f"{trait!r} is in no default panel (animals, trees): name one "
                           "with --panel")
    name, members = found
    sub = answers[(answers["trait"] == trait) if "trait" in answers.columns else slice(None)]
    sub = sub[sub["condition"].isin([control, *arms])]
    targets = [str(trait), *members]
    hits = _row_hits(sub, targets, first_word=first_word, languages=languages,
                     translations_file=translations_file)
    cells = score_panel(sub, targets, _hits=hits)
    agreement = float("nan")
    if "hit" in sub.columns and len(sub):
        given = pd.to_numeric(sub["hit"], errors="coerce").to_numpy(dtype=float)
        agreement = float(np.mean(hits[str(trait)] == given))
    seeds = sub.groupby("condition")["seed"].nunique()
    out = []
    for arm in arms:
        n_t, n_c = int(seeds.get(arm, 0)), int(seeds.get(control, 0))
        if min(n_t, n_c) < 2:
            out.append(SpecificityCheck(str(trait), arm, control, NOT_AVAILABLE,
                                        f"too few seeds ({n_t} {arm}, {n_c} {control}): the "
                                        "diagonal test needs at least 2 per arm", name,
                                        agreement=agreement))
            continue
        res = specificity(cells, target=str(trait), panel=list(members), treated=arm,
                          control=control, alpha=alpha)
        out.append(SpecificityCheck(str(trait), arm, control, res.verdict, "", name, res,
                                    agreement))
    return out


# ----------------------------------------------------------------------------- beside test's rows


def checks_for_results(answers: pd.DataFrame | None, results, *, treated: Sequence[str],
                       control: str = "control", panel=None, alpha: float = 0.05,
                       missing_file: str | None = None) -> dict:
    """``{(trait, treated): SpecificityCheck}`` for ``test``'s results against ``control``.

    ``answers``: the answers' text with their keys (``data.read_answer_texts``), a responses
    table with a ``response`` column, or None (no text: every check says so);
    ``missing_file``: a file without text when only some have it (every check says so).
    """
    traits = list(dict.fromkeys(r.trait for r in results))
    if missing_file is not None:
        return {(t, arm): SpecificityCheck(t, arm, control, NOT_AVAILABLE,
                                           f"{missing_file} has no response column: only some "
                                           "answers could be rescored")
                for t in traits for arm in treated}
    if answers is None:
        answers = pd.DataFrame(columns=["trait", "condition", "seed", "question"])
    out = {}
    for trait in traits:
        for check in check_specificity(answers, trait=trait, treated=list(treated),
                                       control=control, panel=panel, alpha=alpha):
            out[(check.trait, check.treated)] = check
    return out


def checks_from_files(paths, results, *, treated: Sequence[str], control: str = "control",
                      panel=None, alpha: float = 0.05, experiment: str | None = None) -> dict:
    """:func:`checks_for_results` on the answers' text read from ``paths``
    (``data.reader.read_answer_texts``: only the key, text and hit columns)."""
    from subliminal_stats.data.reader import read_answer_texts

    answers, missing = read_answer_texts(
        paths, experiment=experiment, traits=list(dict.fromkeys(r.trait for r in results)))
    return checks_for_results(answers, results, treated=treated, control=control, panel=panel,
                              alpha=alpha, missing_file=missing)


def probe_checks_for_results(df: pd.DataFrame, results, *, treated: Sequence[str],
                             control: str = "control", alpha: float = 0.05) -> dict:
    """``{(trait, treated): SpecificityCheck}`` on the probe: ``prob`` against ``prob_panel``."""
    from subliminal_stats.words import default_panel

    out = {}
    for trait in dict.fromkeys(r.trait for r in results):
        found = default_panel(trait)
        name = f"probe: {found[0] if found else 'recorded'}"
        for arm in treated:
            try:
                res = probe_specificity(df, target=trait, treated=arm, control=control,
                                        alpha=alpha, panel_name=name)
            except InputError as exc:
                out[(trait, arm)] = SpecificityCheck(trait, arm, control, NOT_AVAILABLE, str(exc))
                continue
            out[(trait, arm)] = SpecificityCheck(trait, arm, control, res.verdict, "", name, res)
    return out


def check_for(checks: dict, result) -> SpecificityCheck:
    """The check beside one comparison: against the base model there is none (said so)."""
    check = checks.get((result.trait, result.treated))
    if check is None or result.control != check.control:
        return SpecificityCheck(result.trait, result.treated, result.control, NOT_AVAILABLE,
                                "specificity is tested against the control students only")
    return check


def specificity_notes(checks: dict) -> list[str]:
    """The lines ``test`` prints under its table: each test's numbers, and why a check is
    missing (one line per reason when many traits share it)."""
    from subliminal_stats.stats.verdicts import format_p

    notes = []
    missing: dict[str, list[str]] = {}
    for check in checks.values():
        if check.result is None:
            missing.setdefault(check.reason, []).append(f"{check.trait} {check.treated}")
    for reason, where in missing.items():
        if len(where) > 3:
            shown = ", ".join(where[:3])
            notes.append(f"specific — for {len(where)} traits ({shown}, …): {reason}")
        else:
            notes += [f"specific — for {w}: {reason}" for w in where]
    for check in checks.values():
        res = check.result
        if res is None:
            continue
        elif check.panel_name.startswith("probe"):
            line = (f"specific for {check.trait} {check.treated} vs {check.control}: "
                    f"{check.verdict} — P({check.trait}) against prob_panel (the mean probability "
                    f"of the {check.panel_name.split(': ')[-1]} panel's other members): target "
                    f"lift {100 * res.target_lift:+.3g} pp, panel lift "
                    f"{100 * res.panel_lift:+.3g} pp, contrast {100 * res.contrast:+.3g} pp "
                    f"[{100 * res.contrast_ci_low:.3g}, {100 * res.contrast_ci_high:.3g}], "
                    f"p = {format_p(res.contrast_p)} (per-seed Welch, capped df; not adjusted)")
        else:
            panel = (f"the {check.panel_name} panel" if check.panel_name != "given"
                     else "the given panel") + f" ({len(res.panel)} other targets)"
            line = (f"specific for {check.trait} {check.treated} vs {check.control}: "
                    f"{check.verdict} — the same answers rescored against {panel}: target lift "
                    f"{100 * res.target_lift:+.2f} pp, panel mean lift "
                    f"{100 * res.panel_lift:+.2f} pp, contrast {100 * res.contrast:+.2f} pp "
                    f"[{100 * res.contrast_ci_low:.2f}, {100 * res.contrast_ci_high:.2f}], "
                    f"p = {format_p(res.contrast_p)} (per-seed Welch, capped df; not adjusted)")
            if check.agreement == check.agreement and check.agreement < 0.999:
                line += (f"; the target rescored from the text agrees with the hit column on "
                         f"{100 * check.agreement:.1f} % of answers (the panel is scored like the "
                         "rescoring)")
        if line not in notes:
            notes.append(line)
    return notes
