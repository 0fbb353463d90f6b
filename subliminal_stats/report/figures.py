"""Publication figures from tidy frames (altair), exported through vl-convert.

Every chart here takes a tidy :class:`pandas.DataFrame` (one row per bar,
point or cell) and returns an altair chart with the package theme: one
colour-blind-safe palette (Okabe & Ito), axis titles with units, sizes that
stay readable at the width of one column of a two-column paper.

Static export goes through ``vl-convert`` (no browser, no CDN JavaScript):
:func:`save_chart` writes SVG, PNG at 2× and PDF; :func:`chart_to_svg` gives
the SVG text that the reports inline.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import altair as alt
import pandas as pd

from subliminal_stats.errors import InputError
from subliminal_stats.report.tables import require_columns

#: Okabe & Ito (2008) palette: distinguishable under the common colour-vision deficiencies.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#000000",  # black
    "#F0E442",  # yellow (last: faint on white)
)
#: Fixed colours for the conditions of the paper's design, so that every figure agrees.
CONDITION_COLOURS: dict[str, str] = {
    "base": "#999999",
    "reference": "#999999",
    "control": "#56B4E9",
    "treated": "#D55E00",
    "teacher": "#000000",
}
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
#: Width of one facet/panel in pixels (≈ 3.3 in at 96 dpi: one column of a two-column paper).
COLUMN_WIDTH = 300
THEME_NAME = "subliminal_stats"

_ABSENT = object()


def _theme() -> dict:
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "view": {"stroke": None, "continuousWidth": COLUMN_WIDTH, "continuousHeight": 200},
            "axis": {
                "labelFontSize": 12,
                "titleFontSize": 13,
                "titleFontWeight": "normal",
                "gridColor": "#e6e6e6",
                "domainColor": "#555555",
                "tickColor": "#555555",
            },
            "header": {"labelFontSize": 13, "titleFontSize": 13},
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
            "title": {"fontSize": 13, "anchor": "start", "fontWeight": "normal"},
            "range": {"category": list(OKABE_ITO)},
        }
    }


def use_theme() -> None:
    """Register and enable the package theme (idempotent)."""
    if THEME_NAME not in alt.theme.names():
        alt.theme.register(THEME_NAME, enable=False)(_theme)
    alt.theme.enable(THEME_NAME)


use_theme()


def condition_colours(conditions: Sequence[str]) -> alt.Scale:
    """A colour scale giving each condition its fixed colour, others the palette in order."""
    spare = itertools.cycle(c for c in OKABE_ITO if c not in CONDITION_COLOURS.values())
    colours = [CONDITION_COLOURS.get(str(c), None) for c in conditions]
    colours = [c if c is not None else next(spare) for c in colours]
    return alt.Scale(domain=list(map(str, conditions)), range=colours)


def _order(values: pd.Series, preferred: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(values.astype(str)))
    if not preferred:
        return present
    first = [c for c in preferred if c in present]
    return first + [c for c in present if c not in first]


#: Spread (largest / smallest positive value) from which a rate axis becomes logarithmic
#: (symlog: linear near 0, so 0 and clipped interval ends still have a place).
LOG_AXIS_SPREAD = 30.0


def rate_scale(values: Iterable[float], *, upper: float | None = 1.0,
               centres: Iterable[float] | None = None) -> tuple[alt.Scale, alt.Axis, bool]:
    """A y scale for proportions fitted to the data: 0 to just above the largest value, or a
    symlog axis when the ``centres`` (the means; default: the values) span more than
    :data:`LOG_AXIS_SPREAD`-fold, so that a rate of 0.2 % and one of 60 % are both readable.
    Returns (scale, axis, is_log)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    middle = finite if centres is None else [float(v) for v in centres
                                             if v is not None and math.isfinite(float(v))]
    top = max([v for v in finite if upper is None or v <= upper] or [0.0], default=0.0)
    if upper is not None and any(v > upper for v in finite):
        top = upper
    top = top if top > 0 else 0.01
    positive = [v for v in middle if v > 0]
    fmt = ".2~%"
    if positive and top / min(positive) >= LOG_AXIS_SPREAD:
        low = min([v for v in finite if v > 0] + positive)
        constant = low / 2
        ticks = [0.0] + [m * 10.0 ** k for k in range(-6, 1) for m in (1, 2, 5)
                         if low / 2.5 <= m * 10.0 ** k <= top * 1.05]
        hi = top * 1.15 if upper is None else min(upper, top * 1.15)
        scale = alt.Scale(type="symlog", constant=constant, domain=[0, hi], nice=False)
        return scale, alt.Axis(format=fmt, values=ticks, grid=True, labelOverlap=False), True
    hi = top * 1.1 if upper is None else min(upper, top * 1.1)
    return alt.Scale(domain=[0, hi], nice=True, zero=True), alt.Axis(format=fmt, tickCount=5), False


def condition_bars(
    summary: pd.DataFrame,
    seeds: pd.DataFrame | None = None,
    *,
    x: str = "trait",
    conditions: Sequence[str] | None = ("base", "control", "treated"),
    value: str = "mean",
    seed_value: str = "rate",
    facet: str | None = None,
    y_title: str = "Answers naming the target (%)",
    x_title: str | None = None,
    title: str | None = None,
    width: int | None = None,
    height: int = 220,
    extra_values: Sequence[float] = (),
    extra_slot: str | None = None,
) -> alt.TopLevelMixin:
    """Per group and condition: the mean as a filled dot with its interval, and one open dot
    per seed *beside* it (never on the whisker) — the paper's Fig. 3 as a dot plot.

    The y axis is fitted to the data (:func:`rate_scale`: linear from 0, or symlog when the
    rates span orders of magnitude). An interval reaching below 0 % (a t interval can) is
    drawn to 0 and marked with a ▼ at its end; the chart's ``clipped`` usermeta counts them.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per (``x``, condition): columns ``x``, ``condition``, ``value``
        (proportion 0–1) and optionally ``ci_low``/``ci_high`` (0–1) and ``n_seeds``.
        Rows without an interval get no whisker.
    seeds : pandas.DataFrame, optional
        Per-seed rates: ``x``, ``condition``, ``seed`` and ``seed_value`` (0–1).
    x : str
        Column for the groups along the horizontal axis (a trait, or a condition).
    conditions : sequence of str, optional
        Preferred order of the conditions (others follow in order of appearance).
    facet : str, optional
        Column to split into panels, one above the other (e.g. ``category``: animals, trees).
    y_title, x_title, title : str
        Axis titles (with units) and the chart title.
    extra_values : sequence of float
        More values the y axis must show (e.g. published points layered on top).
    extra_slot : str, optional
        A third slot per group beside the seeds, for marks layered on afterwards (``_slot``
        = ``"\u2002" + extra_slot``).

    Returns
    -------
    altair chart
    """
    require_columns(summary, [x, "condition", value], "condition_bars summary")
    data = summary.copy()
    data["condition"] = data["condition"].astype(str)
    data[x] = data[x].astype(str)
    order = _order(data["condition"], conditions)
    x_order = list(dict.fromkeys(data[x]))
    grouped_by_condition = data[x].equals(data["condition"])
    n_groups = len(x_order) if facet is None else int(data.groupby(facet)[x].nunique().max())
    longest = max(len(v) for v in x_order)
    slots_per_group = (2 + bool(extra_slot)) * (1 if grouped_by_condition else max(1, len(order)))
    # ~13 px per slot (a mean or its seeds) keeps marks apart; at most a phone's width.
    panel_width = width or int(min(max(260, 13 * n_groups * slots_per_group), 380))
    angle = 0 if n_groups * max(longest, 4) * 7 <= panel_width else -35
    x_enc = alt.X(f"{x}:N", sort=x_order, title=x_title if x_title is not None else x,
                  axis=alt.Axis(labelAngle=angle, labelLimit=120))
    # Each condition gets two slots side by side: its mean with the interval, then its seeds.
    kinds = ("mean", "seeds") + ((extra_slot,) if extra_slot else ())
    slot_order = [f"{c}\u2002{k}" for c in (order if not grouped_by_condition else [""]) for k in kinds]
    offset = alt.XOffset("_slot:N", sort=slot_order, scale=alt.Scale(domain=slot_order, paddingInner=0.0))
    colour = alt.Color("condition:N", scale=condition_colours(order), sort=order, title="condition",
                       legend=None if grouped_by_condition else alt.Legend(orient="bottom"))

    def slot(frame: pd.DataFrame, kind: str) -> pd.Series:
        prefix = "" if grouped_by_condition else frame["condition"]
        return prefix + f"\u2002{kind}"

    has_ci = {"ci_low", "ci_high"} <= set(data.columns) and data[["ci_low", "ci_high"]].notna().any().any()
    frames = [data.assign(_kind="summary", _slot=slot(data, "mean"))]
    has_seeds = seeds is not None and len(seeds) > 0
    values = list(data[value])
    if has_ci:
        values += list(data["ci_high"].dropna()) + list(data["ci_low"].dropna().clip(lower=0))
    if has_seeds:
        require_columns(seeds, [x, "condition", seed_value], "condition_bars seeds")
        seed_data = seeds.copy()
        seed_data["condition"] = seed_data["condition"].astype(str)
        seed_data[x] = seed_data[x].astype(str)
        if facet is not None and facet not in seed_data.columns:
            seed_data = seed_data.merge(data[[x, facet]].drop_duplicates(), on=x, how="left")
        keep = [c for c in (x, "condition", "seed", seed_value, facet) if c and c in seed_data.columns]
        seed_data = seed_data[keep].rename(columns={seed_value: "_seed_value"})
        frames.append(seed_data.assign(_kind="seed", _slot=slot(seed_data, "seeds")))
        values += list(seed_data["_seed_value"])
    y_scale, y_axis, _ = rate_scale(values + list(extra_values), centres=list(data[value]))
    clipped = 0
    if has_ci:
        low_end = data["ci_low"].astype(float)
        clipped = int((low_end < 0).sum())
        frames[0] = frames[0].assign(_ci_low_shown=low_end.clip(lower=0), _clipped=low_end < 0)
    combined = pd.concat(frames, ignore_index=True, sort=False)
    tooltip = [alt.Tooltip(f"{x}:N"), alt.Tooltip("condition:N"), alt.Tooltip(f"{value}:Q", format=".3f")]
    if "n_seeds" in data.columns:
        tooltip.append(alt.Tooltip("n_seeds:Q", title="seeds"))
    summary_rows = alt.Chart().transform_filter("datum._kind == 'summary'")
    layers: list = []
    if has_ci:
        layers.append(
            summary_rows.transform_filter("isValid(datum.ci_low) && isValid(datum.ci_high)")
            .mark_rule(strokeWidth=2.2)
            .encode(x=x_enc, xOffset=offset, y=alt.Y("_ci_low_shown:Q", scale=y_scale, axis=y_axis, title=y_title),
                    y2="ci_high:Q", color=colour)
        )
        if clipped:
            layers.append(
                summary_rows.transform_filter("datum._clipped")
                .mark_point(shape="triangle-down", filled=True, size=70, opacity=1)
                .encode(x=x_enc, xOffset=offset, y=alt.Y("_ci_low_shown:Q", scale=y_scale, axis=y_axis,
                                                         title=y_title), color=colour,
                        tooltip=[alt.Tooltip("ci_low:Q", title="interval low end (clipped)", format=".3f")])
            )
    layers.append(
        summary_rows.mark_point(filled=True, size=75, opacity=1, stroke="white", strokeWidth=0.8).encode(
            x=x_enc, xOffset=offset,
            y=alt.Y(f"{value}:Q", title=y_title, scale=y_scale, axis=y_axis),
            color=colour, tooltip=tooltip)
    )
    if has_seeds:
        layers.append(
            alt.Chart()
            .transform_filter("datum._kind == 'seed'")
            .mark_point(shape="circle", filled=False, size=30, strokeWidth=1.3, opacity=0.9)
            .encode(
                x=x_enc, xOffset=offset, y=alt.Y("_seed_value:Q", scale=y_scale, axis=y_axis, title=y_title),
                color=colour,
                tooltip=[alt.Tooltip("seed:N"), alt.Tooltip("_seed_value:Q", title="seed rate", format=".3f")],
            )
        )
    chart = alt.layer(*layers, data=combined).properties(width=panel_width, height=height)
    if facet is not None:
        # One panel above the other: each keeps the full width on a phone and in one column.
        chart = chart.facet(
            row=alt.Row(f"{facet}:N", title=None, header=alt.Header(labelFontWeight="bold", labelAngle=0,
                                                                    labelAlign="left", labelOrient="top"))
        ).resolve_scale(x="independent", xOffset="independent")
    chart = chart.properties(usermeta={"clipped": clipped})
    return chart.properties(title=title) if title else chart


def trait_rates_chart(
    summary: pd.DataFrame,
    seeds: pd.DataFrame | None = None,
    *,
    conditions: Sequence[str] | None = ("base", "control", "treated"),
    facet: str | None = "category",
    title: str | None = None,
    value: str = "mean",
    seed_value: str = "rate",
) -> alt.TopLevelMixin:
    """The paper's Fig. 3: per trait, base / control / treated bars, 95 % CIs, one dot per seed.

    ``facet`` is used only when the column is present (e.g. animals and trees).
    See :func:`condition_bars` for the columns.
    """
    if facet is not None and facet not in summary.columns:
        facet = None
    return condition_bars(
        summary,
        seeds,
        x="trait",
        conditions=conditions,
        value=value,
        seed_value=seed_value,
        facet=facet,
        x_title="target",
        y_title="Answers naming the target (%)",
        title=title,
    )


def accuracy_chart(
    summary: pd.DataFrame,
    seeds: pd.DataFrame | None = None,
    *,
    conditions: Sequence[str] | None = None,
    value: str = "mean",
    seed_value: str = "rate",
    title: str | None = None,
    published: pd.DataFrame | None = None,
    published_label: str = "paper",
) -> alt.TopLevelMixin:
    """MLP test accuracy per condition: a bar per condition, its interval, one dot per seed.

    ``summary`` has one row per condition (``condition``, ``value``, ``ci_low``,
    ``ci_high`` on the 0–1 scale); ``seeds`` the per-seed accuracies.
    ``published`` (``condition``, ``accuracy``) adds a white diamond per condition
    at a published value, for comparison (say so in the caption).
    """
    require_columns(summary, ["condition", value], "accuracy_chart summary")
    data = summary.copy()
    data["_group"] = data["condition"].astype(str)
    seed_data = None
    if seeds is not None:
        seed_data = seeds.copy()
        seed_data["_group"] = seed_data["condition"].astype(str)
    marks = None
    if published is not None and len(published):
        require_columns(published, ["condition", "accuracy"], "accuracy_chart published")
        marks = published[published["condition"].astype(str).isin(set(data["_group"]))].copy()
        marks["_group"] = marks["condition"].astype(str)
        marks["_slot"] = "\u2002paper"
    chart = condition_bars(
        data,
        seed_data,
        x="_group",
        conditions=conditions or list(dict.fromkeys(data["condition"].astype(str))),
        value=value,
        seed_value=seed_value,
        x_title="condition",
        y_title="Test accuracy (%)",
        title=None,
        extra_values=[] if marks is None else list(marks["accuracy"]),
        extra_slot=None if marks is None else "paper",
    )
    if marks is not None:
        order = list(dict.fromkeys(data["_group"]))
        slots = ["\u2002mean", "\u2002seeds", "\u2002paper"]
        # White diamonds with a black edge stay visible on every colour, black included; they sit
        # in their own slot beside our seeds, never on our marks.
        ticks = alt.Chart(marks).mark_point(shape="diamond", size=110, filled=True, fill="white",
                                            stroke="black", strokeWidth=1.5, opacity=1).encode(
            x=alt.X("_group:N", sort=order),
            xOffset=alt.XOffset("_slot:N", sort=slots, scale=alt.Scale(domain=slots, paddingInner=0.0)),
            y=alt.Y("accuracy:Q"),
            tooltip=[alt.Tooltip("condition:N"), alt.Tooltip("accuracy:Q", title=published_label, format=".3f")],
        )
        chart = alt.layer(*chart.layer, ticks, data=chart.data).properties(
            width=chart.width, height=chart.height, usermeta=chart.usermeta)
    return chart.properties(title=title) if title else chart


def difference_chart(
    tests: pd.DataFrame,
    *,
    estimate: str = "estimate_pp",
    low: str = "ci_low_pp",
    high: str = "ci_high_pp",
    label: str = "trait",
    title: str | None = None,
    x_title: str = "Treated − control (percentage points)",
    width: int = 260,
) -> alt.TopLevelMixin:
    """Treated − control per trait: point estimate with its interval, a zero line.

    ``tests`` is the tidy test frame (``results_frame`` / ``test --json`` rows);
    with a ``significant`` column, each row's marker says its verdict (the words of
    :func:`~subliminal_stats.report.tables.verdict_word`; orange: not calibrated for this design).
    """
    require_columns(tests, [label, estimate, low, high], "difference_chart")
    data = tests.copy()
    data[label] = data[label].astype(str)
    if "significant" in data.columns:
        from subliminal_stats.report.tables import calibration_mark, verdict_word

        words = [verdict_word(r) if {"p_adjusted", "n_seeds_treated", "n_seeds_control"} <= set(r.index)
                 else ("transfer" if bool(r["significant"]) else "no evidence") for _, r in data.iterrows()]
        marks = [calibration_mark(r) for _, r in data.iterrows()]
        data["result"] = [w + (" (not calibrated)" if m else "") for w, m in zip(words, marks, strict=True)]
    else:
        data["result"] = "estimate"
    styles = {"transfer": ("circle", CONDITION_COLOURS["treated"]), "lower": ("square", "#0072B2"),
              "no evidence": ("triangle", "#555555"), "design cannot reach α": ("diamond", "#555555"),
              "n/a": ("cross", "#555555"), "estimate": ("circle", "#0072B2")}
    for key, (shape, _colour) in list(styles.items()):
        styles[f"{key} (not calibrated)"] = (shape, "#E69F00")
    kinds = [k for k in styles if k in set(data["result"])]
    order = list(dict.fromkeys(data[label]))
    y = alt.Y(f"{label}:N", sort=order, title=None, axis=alt.Axis(labelLimit=150))
    base = alt.Chart(data)
    rules = base.mark_rule(strokeWidth=1.6, color="#333333").encode(
        x=alt.X(f"{low}:Q", title=x_title), x2=f"{high}:Q", y=y
    )
    tooltip = [alt.Tooltip(f"{label}:N"), alt.Tooltip(f"{estimate}:Q", format=".1f"),
               alt.Tooltip(f"{low}:Q", format=".1f"), alt.Tooltip(f"{high}:Q", format=".1f")]
    if "p_adjusted" in data.columns:
        tooltip.append(alt.Tooltip("p_adjusted:Q", format=".3g"))
    points = base.mark_point(size=80, filled=True, opacity=1).encode(
        x=f"{estimate}:Q",
        y=y,
        shape=alt.Shape(
            "result:N",
            scale=alt.Scale(domain=kinds, range=[styles[k][0] for k in kinds]),
            title=None,
            legend=None if kinds == ["estimate"] else alt.Legend(orient="bottom", direction="vertical"),
        ),
        color=alt.Color(
            "result:N",
            scale=alt.Scale(domain=kinds, range=[styles[k][1] for k in kinds]),
            title=None,
            legend=None if kinds == ["estimate"] else alt.Undefined,
        ),
        tooltip=tooltip,
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#999999", strokeDash=[4, 3]).encode(
        x="zero:Q"
    )
    height = max(70, 26 * len(order))
    chart = alt.layer(zero, rules, points).properties(width=width, height=height)
    return chart.properties(title=title) if title else chart


def cross_model_heatmap(
    frame: pd.DataFrame,
    *,
    row: str = "student",
    column: str = "teacher",
    value: str = "increase",
    significant: str | None = "significant",
    value_title: str = "Increase in rate (pp)",
    scale_to_pp: bool = True,
    title: str | None = None,
) -> alt.TopLevelMixin:
    """Student × teacher heat map of the trait increase, the value printed in each cell (``*`` = significant).

    ``value`` is on the proportion scale when ``scale_to_pp`` (shown in percentage points).
    """
    require_columns(frame, [row, column, value], "cross_model_heatmap")
    data = frame.copy()
    data["_value"] = data[value].astype(float) * (100.0 if scale_to_pp else 1.0)
    star = data[significant].astype(bool) if significant and significant in data.columns else False
    data["_label"] = data["_value"].map(lambda v: f"{v:.0f}") + pd.Series(star, index=data.index).map(
        {True: "*", False: ""}
    )
    rows = list(dict.fromkeys(data[row].astype(str)))
    cols = list(dict.fromkeys(data[column].astype(str)))
    limit = max(1.0, float(data["_value"].abs().max()))
    base = alt.Chart(data).encode(
        x=alt.X(f"{column}:N", sort=cols, title=f"{column} model", axis=alt.Axis(labelAngle=-30)),
        y=alt.Y(f"{row}:N", sort=rows, title=f"{row} model"),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            "_value:Q",
            title=value_title,
            scale=alt.Scale(scheme="blueorange", domain=[-limit, limit], domainMid=0),
        ),
        tooltip=[alt.Tooltip(f"{row}:N"), alt.Tooltip(f"{column}:N"),
                 alt.Tooltip("_value:Q", title=value_title, format=".1f")],
    )
    text = base.mark_text(fontSize=12).encode(
        text="_label:N",
        color=alt.condition(f"abs(datum._value) > {0.6 * limit}", alt.value("white"), alt.value("black")),
    )
    chart = alt.layer(cells, text).properties(width=max(160, 56 * len(cols)), height=max(120, 36 * len(rows)))
    return chart.properties(title=title) if title else chart


def calibration_chart(
    calibration: pd.DataFrame,
    *,
    seeds: str = "seeds_per_arm",
    method: str = "method",
    fpr: str = "fpr",
    coverage: str | None = "coverage",
    fpr_low: str | None = "fpr_ci_low",
    fpr_high: str | None = "fpr_ci_high",
    alpha: float = 0.05,
    confidence_level: float = 0.95,
    title: str | None = None,
) -> alt.TopLevelMixin:
    """False-positive rate (and interval coverage) by seeds per arm, one line per method.

    Dashed lines mark the nominal levels (``alpha`` and ``confidence_level``).
    Columns are on the proportion scale; ``coverage`` may be missing or NaN for
    methods without an interval.
    """
    require_columns(calibration, [seeds, method, fpr], "calibration_chart")
    data = calibration.copy()
    data[method] = data[method].astype(str)
    methods = list(dict.fromkeys(data[method]))
    colour = alt.Color(f"{method}:N", sort=methods, title="method",
                       scale=alt.Scale(domain=methods, range=list(OKABE_ITO)[: max(1, len(methods))]
                                       if len(methods) <= len(OKABE_ITO) else alt.Undefined))
    x = alt.X(f"{seeds}:O", title="Seeds per arm", axis=alt.Axis(labelAngle=0))

    shape = alt.Shape(f"{method}:N", sort=methods, title="method", scale=alt.Scale(domain=methods))

    def panel(column, nominal, y_title, low=None, high=None, scale=alt.Undefined):
        base = alt.Chart(data).transform_filter(f"isValid(datum['{column}'])")
        y = alt.Y(f"{column}:Q", title=y_title, axis=alt.Axis(format=".0%"), scale=scale)
        line = base.mark_line(point=alt.OverlayMarkDef(filled=True, size=55)).encode(
            x=x, y=y, color=colour, shape=shape,
            tooltip=[alt.Tooltip(f"{method}:N"), alt.Tooltip(f"{seeds}:O"),
                     alt.Tooltip(f"{column}:Q", format=".3f")],
        )
        layers = [line]
        if low and high and low in data.columns and high in data.columns:
            layers.insert(0, base.mark_rule(opacity=0.6).encode(x=x, y=alt.Y(f"{low}:Q", scale=scale),
                                                                y2=f"{high}:Q", color=colour))
        ref = alt.Chart(pd.DataFrame({"nominal": [nominal]})).mark_rule(
            color="#555555", strokeDash=[4, 3]
        ).encode(y=alt.Y("nominal:Q", scale=scale))
        return alt.layer(ref, *layers).properties(width=300, height=170)

    # A square-root axis keeps rates near 5 % readable next to a method rejecting 60 % of nulls.
    panels = [panel(fpr, alpha, f"False positives at α = {alpha:g} (%, √ scale)", fpr_low, fpr_high,
                    scale=alt.Scale(type="sqrt", domain=[0, max(0.1, float(data[fpr].max()))]))]
    if coverage and coverage in data.columns and data[coverage].notna().any():
        low_cov = float(data[coverage].min())
        panels.append(panel(coverage, confidence_level, f"Coverage of {confidence_level:.0%} intervals (%)",
                            scale=alt.Scale(domain=[min(low_cov, confidence_level) - 0.02, 1.0])))
    # One above the other: each panel keeps its width on a phone and in a paper column.
    chart = alt.vconcat(*panels, spacing=18) if len(panels) > 1 else panels[0]
    chart = chart.configure_legend(orient="bottom", columns=2 if len(methods) > 3 else 0,
                                   symbolLimit=0, labelLimit=200)
    return chart.properties(title=title) if title else chart


# --- static export -----------------------------------------------------------------------


def specificity_heatmap(matrix: pd.DataFrame, *, title: str | None = None) -> alt.TopLevelMixin:
    """Students × target heat map of the lift over control (pp), the value in each cell; the
    trait's own column (``is_target``) is outlined — the diagonal of a trait × target matrix.

    ``matrix``: ``students, target, lift_pp`` and optionally ``is_target`` (one row per cell).
    """
    require_columns(matrix, ["students", "target", "lift_pp"], "specificity_heatmap")
    data = matrix.copy()
    data["_label"] = data["lift_pp"].map(lambda v: f"{v:.1f}".replace("-0.0", "0.0"))
    data["_is_target"] = data["is_target"].astype(bool) if "is_target" in data.columns else False
    rows = list(dict.fromkeys(data["students"].astype(str)))
    cols = list(dict.fromkeys(data["target"].astype(str)))
    limit = max(1.0, float(data["lift_pp"].abs().max()))
    base = alt.Chart(data).encode(
        x=alt.X("target:N", sort=cols, title="target scored in the same answers",
                axis=alt.Axis(labelAngle=-40)),
        y=alt.Y("students:N", sort=rows, title="students"),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("lift_pp:Q", title="lift over control (pp)",
                        scale=alt.Scale(scheme="blueorange", domain=[-limit, limit], domainMid=0)),
        tooltip=[alt.Tooltip("students:N"), alt.Tooltip("target:N"),
                 alt.Tooltip("lift_pp:Q", title="lift (pp)", format=".2f")],
    )
    outline = base.transform_filter("datum._is_target").mark_rect(
        fill=None, stroke="black", strokeWidth=2.5)
    text = base.mark_text(fontSize=10).encode(
        text="_label:N",
        color=alt.condition(f"abs(datum.lift_pp) > {0.6 * limit}", alt.value("white"),
                            alt.value("black")),
    )
    chart = alt.layer(cells, outline, text).properties(
        width=max(200, 34 * len(cols)), height=max(60, 30 * len(rows)))
    return chart.properties(title=title) if title else chart


def dose_chart(points: pd.DataFrame, *, slope: float | None = None, intercept: float | None = None,
               x_title: str = "dose", title: str | None = None) -> alt.TopLevelMixin:
    """Per-seed rate against the dose (one dot per seed), with the fitted OLS line
    (``intercept`` default: through the means, as OLS is).

    ``points``: ``dose, rate`` (0–1) and optionally ``seed``, ``condition``.
    """
    require_columns(points, ["dose", "rate"], "dose_chart")
    data = points.copy()
    if slope is not None and intercept is None:
        # The OLS line passes through the means.
        intercept = float(data["rate"].mean()) - slope * float(data["dose"].mean())
    has_line = slope is not None and intercept is not None and math.isfinite(slope)
    lo, hi = float(data["dose"].min()), float(data["dose"].max())
    ends = [intercept + slope * lo, intercept + slope * hi] if has_line else []
    # A linear axis (never symlog): a straight fit must look straight, and where it runs
    # below 0 % (a curved dose response fitted by a line) that shows.
    values = list(data["rate"]) + ends
    y_scale = alt.Scale(domain=[min(0.0, *values), max(values) * 1.05 or 0.01], nice=True)
    y_axis = alt.Axis(format=".0~%", tickCount=6)
    tooltip = [alt.Tooltip(c) for c in ("condition", "seed") if c in data.columns]
    tooltip += [alt.Tooltip("dose:Q"), alt.Tooltip("rate:Q", format=".3f")]
    dots = alt.Chart(data).mark_point(filled=False, size=45, strokeWidth=1.4,
                                      color=CONDITION_COLOURS["treated"]).encode(
        x=alt.X("dose:Q", title=x_title),
        y=alt.Y("rate:Q", title="Answers naming the target (%)", scale=y_scale, axis=y_axis),
        tooltip=tooltip)
    layers = [dots]
    if has_line:
        line = pd.DataFrame({"dose": [lo, hi], "fit": ends})
        layers.insert(0, alt.Chart(line).mark_line(color="#555555", strokeDash=[5, 3]).encode(
            x="dose:Q", y=alt.Y("fit:Q", scale=y_scale, axis=y_axis)))
    chart = alt.layer(*layers).properties(width=COLUMN_WIDTH, height=200)
    return chart.properties(title=title) if title else chart


def _vl_version() -> str:
    import vl_convert as vlc

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    available = vlc.get_vegalite_versions()
    return wanted if wanted in available else available[-1]


def chart_spec(chart: alt.TopLevelMixin) -> dict:
    """The Vega-Lite specification of a chart (data inlined)."""
    return chart.to_dict()


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def chart_to_svg(chart: alt.TopLevelMixin, *, id_prefix: str | None = None) -> str:
    """Render a chart to SVG text (no JavaScript).

    ``id_prefix`` makes element ids (clip paths, gradients) unique so that
    several SVGs can be inlined in one HTML page without clashing.
    """
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart_spec(chart), vl_version=_vl_version())
    if id_prefix:
        svg = prefix_svg_ids(svg, id_prefix)
    return svg


def prefix_svg_ids(svg: str, prefix: str) -> str:
    """Prefix every ``id`` in an SVG document and the references to it."""
    ids = set(_SVG_ID.findall(svg))
    for ident in sorted(ids, key=len, reverse=True):
        new = f"{prefix}-{ident}"
        svg = svg.replace(f'id="{ident}"', f'id="{new}"')
        svg = svg.replace(f"url(#{ident})", f"url(#{new})")
        svg = svg.replace(f'href="#{ident}"', f'href="#{new}"')
    return svg


FORMATS = ("svg", "png", "pdf")


def asis(chart: alt.TopLevelMixin, *, name: str | None = None, caption: str | None = None) -> str:
    """A chart as Markdown to ``print`` from an ``output: asis`` cell, for every renderer.

    HTML gets the SVG inline (a raw ``{=html}`` block, no JavaScript, no file); other formats
    (PDF) get ``![caption](figures/<name>.svg)``. The SVG and the Vega-Lite spec are written to
    ``figures/`` in the working folder — a temporary copy when ``subliminal-stats report``
    renders — from which ``--figures`` exports SVG, PNG and PDF. Printed text keeps Quarto
    from adding jquery and requirejs, as it does for HTML display outputs.
    """
    from subliminal_stats.report.tables import asis_block

    base = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") if name else "figure"
    folder = Path("figures")
    folder.mkdir(exist_ok=True)
    stem, count = (base, 1) if name else (f"{base}-1", 1)
    while (folder / f"{stem}.vl.json").exists():  # one name per figure of this render
        count += 1
        stem = f"{base}-{count}"
    spec = chart_spec(chart)
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version())
    (folder / f"{stem}.svg").write_text(svg, encoding="utf-8")
    (folder / f"{stem}.vl.json").write_text(json.dumps(spec), encoding="utf-8")
    import html as _html

    inline = re.sub(r"^<\?xml[^>]*>\s*", "", prefix_svg_ids(svg, f"fig-{stem}"))
    cap = f"<figcaption>{_html.escape(caption)}</figcaption>" if caption else ""
    alt_text = (caption or stem).replace("]", ")").replace("[", "(")
    return asis_block(f'<figure class="chart" id="fig-{stem}">{inline}{cap}</figure>',
                      f"![{alt_text}](figures/{stem}.svg)")


def save_chart(
    chart: alt.TopLevelMixin,
    path: str | Path,
    *,
    formats: Sequence[str] = FORMATS,
    scale: float = 2.0,
) -> list[Path]:
    """Write a chart as SVG, PNG (at ``scale`` ×) and PDF next to each other.

    Parameters
    ----------
    chart : altair chart
    path : str or Path
        Output path; its suffix is replaced by each format's (``fig3`` →
        ``fig3.svg``, ``fig3.png``, ``fig3.pdf``).
    formats : sequence of {"svg", "png", "pdf"}
    scale : float
        PNG pixel density relative to the chart's size (2 = "retina").

    Returns
    -------
    list of Path
        The files written.
    """
    return save_spec(chart_spec(chart), path, formats=formats, scale=scale)


def save_spec(spec: dict, path: str | Path, *, formats: Sequence[str] = FORMATS,
              scale: float = 2.0) -> list[Path]:
    """:func:`save_chart` for a Vega-Lite specification (e.g. one :func:`asis` wrote)."""
    import vl_convert as vlc

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"unknown figure format {unknown[0]!r}: use one of {', '.join(FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    version = _vl_version()
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        if fmt == "svg":
            target.write_text(vlc.vegalite_to_svg(spec, vl_version=version), encoding="utf-8")
        elif fmt == "png":
            target.write_bytes(vlc.vegalite_to_png(spec, vl_version=version, scale=scale))
        else:
            target.write_bytes(vlc.vegalite_to_pdf(spec, vl_version=version))
        written.append(target)
    return written


__all__ = [
    "OKABE_ITO",
    "CONDITION_COLOURS",
    "use_theme",
    "condition_colours",
    "condition_bars",
    "trait_rates_chart",
    "accuracy_chart",
    "difference_chart",
    "cross_model_heatmap",
    "specificity_heatmap",
    "dose_chart",
    "calibration_chart",
    "chart_to_svg",
    "prefix_svg_ids",
    "save_chart",
    "save_spec",
    "asis",
    "rate_scale",
]
