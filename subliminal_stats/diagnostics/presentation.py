"""Tables (Markdown) and the AUROC figure (altair) of teacher-data diagnoses.

For the report room: :func:`summary_markdown` (one row per pair), :func:`pair_markdown`
(one pair in full) and :func:`auroc_chart` (AUROC against K, content detector beside the
format baseline, with the permutation null band) take the results of
:func:`~subliminal_stats.diagnostics.diagnose.compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from subliminal_stats.diagnostics.diagnose import PairDiagnosis


def _p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _auc(row) -> str:
    if not np.isfinite(row.auroc):
        return "–"
    return f"{row.auroc:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def _null(row) -> str:
    if not np.isfinite(row.null_low):
        return "–"
    return f"[{row.null_low:.3f}, {row.null_high:.3f}]"


def summary_markdown(results: Sequence[PairDiagnosis]) -> str:
    """One row per pair: verdict, the family p-values (Holm), AUROC at each K, content | format."""
    if not results:
        return ""
    ks = [r.k for r in results[0].detector.content.rows] if results[0].detector else []
    head = ["A", "B", "verdict", "numbers p (omnibus / max-T)", "digits p (omnibus / max-T)",
            "detector p", *(f"AUROC K={k} content / format" for k in ks)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        verdict = r.verdict + (f" ({', '.join(r.by_what)})" if r.by_what else "")
        cells = [r.name_a, r.name_b, verdict,
                 f"{_p(r.numbers.omnibus_p)} / {_p(r.numbers.min_adjusted_p)} → {_p(r.family_p_holm['number frequencies'])}",
                 f"{_p(r.digits.omnibus_p)} / {_p(r.digits.min_adjusted_p)} → {_p(r.family_p_holm['digit positions'])}"]
        if r.detector is not None:
            cells.append(f"{_p(r.detector.p_value)} → {_p(r.family_p_holm['detector'])}")
            for c, f in zip(r.detector.content.rows, r.detector.format.rows, strict=True):
                cells.append(f"{_auc(c)} / {_auc(f)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pair_markdown(result: PairDiagnosis, *, top: int = 10) -> str:
    """One pair in full: verdict, the tests, AUROC against K and the top numbers each way."""
    r = result
    out = [f"### {r.name_a} vs {r.name_b}", "",
           f"**{r.verdict}**" + (f" by {', '.join(r.by_what)}" if r.by_what else "")
           + f" (Holm across the content tests at α = {r.alpha:g}). "
           f"{r.n_a:,} vs {r.n_b:,} sequences ({r.parsed_a:,} and {r.parsed_b:,} parse as numbers); "
           f"{r.shared_prompts:,} prompts answered by both (permutations stay within them).", "",
           "| test | omnibus p | smallest max-T adjusted p | features adjusted p ≤ 0.05 | family p (Holm) |",
           "|---|---|---|---|---|"]
    for name, t in (("number frequencies", r.numbers), ("digit positions", r.digits)):
        out.append(f"| {name} | {_p(t.omnibus_p)} | {_p(t.min_adjusted_p)} | "
                   f"{int((t.p_adjusted <= 0.05).sum())} of {int(((t.count_a + t.count_b) > 0).sum())} | "
                   f"{_p(r.family_p_holm[name])} |")
    if r.detector is not None:
        d = r.detector
        out.append(f"| detector (min-p over K) | – | {_p(d.p_value)} | – | {_p(r.family_p_holm['detector'])} |")
        out += ["", f"Detector: logistic regression fitted on {d.n_train:,} sequences, AUROC on the "
                f"other {d.n_test:,}; 95 % CI (DeLong, approximate) and the permutation null interval "
                f"({d.resamples:,} permutations).", "",
                "| K | bags A / B | content AUROC [95 % CI] | null interval | p | format-only AUROC [95 % CI] | null interval | p |",
                "|---|---|---|---|---|---|---|---|"]
        for c, f in zip(d.content.rows, d.format.rows, strict=True):
            out.append(f"| {c.k} | {c.bags_a:,} / {c.bags_b:,} | {_auc(c)} | {_null(c)} | {_p(c.p_value)} | "
                       f"{_auc(f)} | {_null(f)} | {_p(f.p_value)} |")
        if r.format_distinguishable:
            out += ["", "*The format alone tells these datasets apart (separators, counts, lengths): "
                    "differences in content may come from different prompts or from what the filter kept.*"]
    for direction, label in (("a", r.name_a), ("b", r.name_b)):
        rows = r.numbers.top(top, direction=direction)
        if not rows:
            continue
        out += ["", f"Numbers most over-represented in {label} (per 1,000 numbers; difference and "
                "ratio with 95 % intervals clustered by sequence; max-T adjusted p):", "",
                f"| number | {r.name_a} | {r.name_b} | difference | ratio | adjusted p |", "|---|---|---|---|---|---|"]
        for row in rows:
            out.append(f"| {row['feature']} | {row['per_1000_a']:.2f} | {row['per_1000_b']:.2f} | "
                       f"{row['diff']:+.2f} [{row['diff_low']:+.2f}, {row['diff_high']:+.2f}] | "
                       f"{row['ratio']:.2f} [{row['ratio_low']:.2f}, {row['ratio_high']:.2f}] | "
                       f"{_p(row['p_adjusted'])} |")
    return "\n".join(out) + "\n"


def auroc_frame(results: Sequence[PairDiagnosis]):
    """Long table of the AUROC curves: pair, detector, K, AUROC, CI, null interval, p."""
    import pandas as pd

    rows = []
    for r in results:
        if r.detector is None:
            continue
        for which, curve in (("content (number n-grams)", r.detector.content),
                             ("format only", r.detector.format)):
            for row in curve.rows:
                rows.append({"pair": f"{r.name_a} vs {r.name_b}", "detector": which, **row.to_dict()})
    return pd.DataFrame(rows)


def auroc_chart(results: Sequence[PairDiagnosis], *, columns: int = 3):
    """AUROC against bag size K (log axis), content beside format, with the null band.

    Points with bars: AUROC and its 95 % CI; the grey band: the permutation null interval
    of the content detector. One panel per pair.
    """
    import altair as alt

    data = auroc_frame(results).dropna(subset=["auroc"])
    if data.empty:
        raise ValueError("no detector results to plot")
    x = alt.X("k:Q", title="Bag size K (sequences)", scale=alt.Scale(type="log", base=2),
              axis=alt.Axis(values=sorted(data["k"].unique().tolist())))
    colour = alt.Color("detector:N", title=None,
                       scale=alt.Scale(range=["#0072B2", "#E69F00"]))
    base = alt.Chart(data)
    band = base.transform_filter(alt.datum.detector == "content (number n-grams)").mark_area(
        opacity=0.18, color="#777777").encode(x=x, y=alt.Y("null_low:Q"), y2="null_high:Q")
    line = base.mark_line(point=True).encode(
        x=x, y=alt.Y("auroc:Q", title="AUROC", scale=alt.Scale(zero=False)), color=colour,
        tooltip=["pair", "detector", "k", alt.Tooltip("auroc:Q", format=".3f"),
                 alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f"),
                 alt.Tooltip("p_value:Q", format=".3g")])
    bars = base.mark_rule().encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=colour)
    half = alt.Chart().mark_rule(strokeDash=[4, 3], color="#555555").encode(y=alt.datum(0.5))
    layered = alt.layer(band, bars, line, half, data=data).properties(width=220, height=170)
    if data["pair"].nunique() > 1:
        return layered.facet(facet=alt.Facet("pair:N", title=None), columns=columns)
    return layered.properties(title=str(data["pair"].iloc[0]))


def chart_bytes(chart, suffix: str) -> bytes:
    """The chart as SVG or PNG bytes (vl-convert, offline)."""
    import vl_convert as vlc

    spec = chart.to_json()
    if suffix == ".svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    if suffix == ".png":
        return vlc.vegalite_to_png(spec, scale=2)
    raise ValueError(f"figure format {suffix!r}: use .svg or .png")


def save_auroc_chart(results: Sequence[PairDiagnosis], path: str | Path) -> Path:
    """Write :func:`auroc_chart` to ``path`` (.svg or .png), atomically."""
    from subliminal_stats.data.outputs import atomic_write

    path = Path(path)
    return atomic_write(path, chart_bytes(auroc_chart(results), path.suffix.lower()))


__all__ = ["auroc_chart", "auroc_frame", "chart_bytes", "pair_markdown", "save_auroc_chart",
           "summary_markdown"]
