"""Figures: data reach the marks, one palette, axis titles with units, SVG / PNG 2× / PDF export."""

from __future__ import annotations

import json
import re
import struct

import pandas as pd
import pytest

from subliminal_stats.errors import InputError
from subliminal_stats.report import figures, sections


def _svg_texts(svg: str) -> list[str]:
    return [re.sub(r"&amp;", "&", t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


@pytest.fixture(scope="module")
def fig3_svg() -> str:
    chart = figures.trait_rates_chart(sections.paper_fig3(), None, facet="category")
    return figures.chart_to_svg(chart)


_POINT = re.compile(r'<path aria-label="([^"]*)"[^>]*aria-roledescription="point" '
                    r'transform="translate\(([-\d.]+),([-\d.]+)\)"([^>]*)>')
_RULE = re.compile(r'<line aria-label="([^"]*)"[^>]*aria-roledescription="rule mark" '
                   r'transform="translate\(([-\d.]+),([-\d.]+)\)" x2="0" y2="(-?[\d.]+)"')


def _points(svg: str) -> list[dict]:
    return [{"label": m.group(1), "x": float(m.group(2)), "y": float(m.group(3)), "rest": m.group(4)}
            for m in _POINT.finditer(svg)]


def test_fig3_has_one_dot_per_trait_and_condition_on_a_log_axis(fig3_svg):
    # 10 traits × 3 conditions: one filled mean dot each, in the condition's colour.
    means = [p for p in _points(fig3_svg) if "mean:" in p["label"]]
    colours = pd.Series([re.search(r'fill="(#[0-9a-fA-F]{6})"', p["rest"]).group(1).upper() for p in means])
    counts = colours.value_counts()
    for condition in ("base", "control", "treated"):
        assert counts.get(figures.CONDITION_COLOURS[condition].upper()) == 10
    texts = _svg_texts(fig3_svg)
    assert "Answers naming the target (%)" in texts  # y title with its unit
    for label in ("animal", "tree", "owl", "willow", "0%", "1%", "10%", "50%"):
        assert label in texts
    # Willow's 1 % and oak's 80 % span two orders of magnitude: a symlog axis.
    spec = figures.chart_spec(figures.trait_rates_chart(sections.paper_fig3(), None, facet="category"))
    assert '"type": "symlog"' in json.dumps(spec)


def test_small_rates_get_an_axis_of_their_own():
    """The bundled local owl run's rates are 0.1–0.2 %: the axis must end near them, not at 100 %."""
    summary = pd.DataFrame({"trait": ["owl"] * 2, "condition": ["control", "treated"],
                            "mean": [0.0017, 0.0020], "ci_low": [0.0002, 0.0010], "ci_high": [0.0031, 0.0030]})
    texts = _svg_texts(figures.chart_to_svg(figures.trait_rates_chart(summary, None, facet=None)))
    percents = [float(t.rstrip("%")) for t in texts if re.fullmatch(r"[\d.]+%", t)]
    assert max(percents) < 1 and 0.3 <= max(percents)  # ticks up to ~0.35 %, readable
    scale, _, is_log = figures.rate_scale([0.002, 0.6, 0.55])
    assert is_log and scale.type == "symlog"  # 0.2 % and 60 % in one chart
    scale, _, is_log = figures.rate_scale([0.2, 0.6])
    assert not is_log and scale.domain[1] == pytest.approx(0.66)


def test_palette_is_okabe_ito():
    assert figures.OKABE_ITO[:3] == ("#0072B2", "#E69F00", "#009E73")
    scale = figures.condition_colours(["base", "control", "treated", "aux_same_init", "aux_diff_init"])
    assert scale.range[:3] == ["#999999", "#56B4E9", "#D55E00"]
    assert set(scale.range[3:]) <= set(figures.OKABE_ITO)
    assert len(set(scale.range)) == 5


def test_seed_dots_sit_beside_the_intervals_and_clipped_ends_are_marked():
    summary = pd.DataFrame({"trait": ["owl"] * 2, "condition": ["control", "treated"],
                            "mean": [0.2, 0.6], "ci_low": [-0.05, 0.5], "ci_high": [0.3, 0.7]})
    seeds = pd.DataFrame({"trait": ["owl"] * 5, "condition": ["control"] * 2 + ["treated"] * 3,
                          "seed": list("abcde"), "rate": [0.15, 0.25, 0.55, 0.6, 0.65]})
    chart = figures.trait_rates_chart(summary, seeds, facet=None)
    svg = figures.chart_to_svg(chart)
    points = _points(svg)
    seed_dots = [p for p in points if "seed:" in p["label"]]
    means = [p for p in points if "mean:" in p["label"]]
    rules = [(float(m.group(2)), float(m.group(3)), float(m.group(4))) for m in _RULE.finditer(svg)]
    assert len(seed_dots) == 5 and len(means) == 2 and len(rules) == 2
    # y from the data: domain [0, 0.7 × 1.1] made nice → 0.8 over the 220 px plot.
    height, top = 220, 0.8

    def rate(y):
        return (height - y) / height * top

    spans = sorted((rate(y), rate(y + y2)) for _, y, y2 in rules)
    assert spans[0] == pytest.approx((0.0, 0.3)) and spans[1] == pytest.approx((0.5, 0.7))
    # Beside, never on: every seed dot is right of its arm's interval, never on its x.
    for condition in ("control", "treated"):
        mean_x = next(p["x"] for p in means if f"condition: {condition}" in p["label"])
        dots_x = {p["x"] for p in seed_dots if f"condition: {condition}" in p["label"]}
        assert all(x > mean_x + 10 for x in dots_x)
        assert any(x == pytest.approx(mean_x) for x, _, _ in rules)
    assert sorted(round(rate(p["y"]), 6) for p in seed_dots) == [0.15, 0.25, 0.55, 0.6, 0.65]
    # The control interval reaches −5 %: cut at 0 and marked by a ▼ there.
    clipped = [p for p in points if "clipped" in p["label"]]
    assert len(clipped) == 1 and rate(clipped[0]["y"]) == pytest.approx(0.0)
    assert chart.usermeta["clipped"] == 1


def test_difference_and_heatmap_and_calibration_charts_render():
    tests = pd.DataFrame({"trait": ["owl", "willow"], "estimate_pp": [48.9, 6.0], "ci_low_pp": [40.0, -2.0],
                          "ci_high_pp": [55.0, 14.0], "significant": [True, False]})
    texts = _svg_texts(figures.chart_to_svg(figures.difference_chart(tests)))
    assert "Treated − control (percentage points)" in texts
    assert "transfer" in texts and "no evidence" in texts  # the verdict words of `test`
    heat = figures.chart_to_svg(figures.cross_model_heatmap(sections.paper_fig8()))
    labels = _svg_texts(heat)
    assert "50*" in labels and "−1" not in labels and "-1" in labels and labels.count("54*") == 1
    calibration = pd.DataFrame({"method": ["pooled-t"] * 2 + ["naive-pooled-z"] * 2, "seeds_per_arm": [3, 5] * 2,
                                "fpr": [0.05, 0.045, 0.65, 0.64], "coverage": [0.95, 0.95, None, None]})
    texts = _svg_texts(figures.chart_to_svg(figures.calibration_chart(calibration)))
    assert "Seeds per arm" in texts and any(t.startswith("False positives at α = 0.05") for t in texts)
    assert "Coverage of 95% intervals (%)" in texts


def test_charts_fit_a_phone_and_share_one_theme():
    """Every chart's SVG is at most ~440 px wide, so at a 420 px screen it is shown at ≥ 85 %
    of its size (12 px labels stay ≥ 10 px); fonts are the theme's."""
    summary = sections.paper_fig3()
    tests = sections.paper_welch_from_summaries(summary, sd_between_seeds=0.012).rename(
        columns={"difference_pp": "estimate_pp"})
    charts = [figures.trait_rates_chart(summary, None, facet="category"), figures.difference_chart(tests),
              figures.cross_model_heatmap(sections.paper_fig8()),
              figures.calibration_chart(pd.DataFrame({"method": ["pooled-t", "welch"], "seeds_per_arm": [3, 3],
                                                      "fpr": [0.05, 0.034], "coverage": [0.95, 0.966]}))]
    for chart in charts:
        svg = figures.chart_to_svg(chart)
        width = float(re.search(r'<svg[^>]*width="([\d.]+)"', svg).group(1))
        assert width <= 500, width
        sizes = {float(v) for v in re.findall(r'font-size="([\d.]+)px"', svg)}
        assert sizes and min(sizes) >= 11, sizes


def test_accuracy_chart_has_one_dot_per_condition_and_the_paper_beside():
    summary = pd.DataFrame({"condition": ["reference", "teacher", "aux_same_init", "aux_diff_init"],
                            "mean": [0.1, 0.95, 0.5, 0.11], "ci_low": [0.09, 0.94, 0.4, 0.1],
                            "ci_high": [0.11, 0.96, 0.6, 0.12]})
    svg = figures.chart_to_svg(figures.accuracy_chart(summary))
    assert len([p for p in _points(svg) if "mean:" in p["label"]]) == 4
    assert "Test accuracy (%)" in _svg_texts(svg)
    # The paper's values as diamonds: one per condition present in our data (4 of the paper's 6),
    # each beside (right of) our mean.
    with_paper = figures.chart_to_svg(figures.accuracy_chart(summary, published=sections.paper_mnist()))
    points = _points(with_paper)
    diamonds = [p for p in points if "paper:" in p["label"]]
    means = [p for p in points if "mean:" in p["label"]]
    assert len(diamonds) == 4 and len(means) == 4
    for mean in means:
        condition = re.search(r"condition: ([\w-]+)", mean["label"]).group(1)
        diamond = next(d for d in diamonds if f"condition: {condition}" in d["label"])
        assert diamond["x"] > mean["x"] + 10


def test_save_chart_writes_svg_png_at_twice_the_size_and_pdf(tmp_path):
    chart = figures.difference_chart(pd.DataFrame({"trait": ["owl"], "estimate_pp": [10.0],
                                                   "ci_low_pp": [5.0], "ci_high_pp": [15.0]}))
    written = figures.save_chart(chart, tmp_path / "diff")
    assert [p.suffix for p in written] == [".svg", ".png", ".pdf"]
    svg = (tmp_path / "diff.svg").read_text()
    svg_width = int(re.search(r'<svg[^>]*width="(\d+)"', svg).group(1))
    png = (tmp_path / "diff.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    png_width = struct.unpack(">I", png[16:20])[0]
    assert png_width == 2 * svg_width
    assert (tmp_path / "diff.pdf").read_bytes()[:5] == b"%PDF-"


def test_prefix_svg_ids_rewrites_references():
    svg = '<svg><defs><clipPath id="clip1"/></defs><g clip-path="url(#clip1)"/><use href="#clip1"/></svg>'
    out = figures.prefix_svg_ids(svg, "fig2")
    assert 'id="fig2-clip1"' in out and "url(#fig2-clip1)" in out and 'href="#fig2-clip1"' in out


def test_missing_columns_are_input_errors():
    with pytest.raises(InputError, match="missing column"):
        figures.difference_chart(pd.DataFrame({"trait": ["owl"]}))
    with pytest.raises(InputError, match="unknown figure format 'gif'"):
        figures.save_chart(figures.difference_chart(pd.DataFrame(
            {"trait": ["owl"], "estimate_pp": [1.0], "ci_low_pp": [0.0], "ci_high_pp": [2.0]})), "x", formats=["gif"])
