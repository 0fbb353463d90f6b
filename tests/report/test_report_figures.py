"""Figures: data reach the marks, one palette, axis titles with units, SVG / PNG 2× / PDF export."""

from __future__ import annotations

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


def test_fig3_has_one_bar_per_trait_and_condition_in_the_condition_colours(fig3_svg):
    # 10 traits × 3 conditions; bars are <path> marks in the "mark-rect" group.
    bars = re.findall(r'<path[^>]*aria-roledescription="bar"[^>]*fill="(#[0-9a-fA-F]{6})"', fig3_svg)
    if not bars:  # attribute order differs between renderer versions
        group = re.findall(r'role-mark[^"]*"[^>]*aria-roledescription="rect mark container">(.*?)</g>',
                           fig3_svg, re.S)
        bars = [c for g in group for c in re.findall(r'fill="(#[0-9a-fA-F]{6})"', g)]
    colours = pd.Series([c.upper() for c in bars]).value_counts()
    assert colours.get(figures.CONDITION_COLOURS["base"].upper()) == 10
    assert colours.get(figures.CONDITION_COLOURS["control"].upper()) == 10
    assert colours.get(figures.CONDITION_COLOURS["treated"].upper()) == 10
    texts = _svg_texts(fig3_svg)
    assert "Answers naming the target (%)" in texts  # y title with its unit
    for label in ("animal", "tree", "owl", "willow", "100%", "0%"):
        assert label in texts


def test_palette_is_okabe_ito():
    assert figures.OKABE_ITO[:3] == ("#0072B2", "#E69F00", "#009E73")
    scale = figures.condition_colours(["base", "control", "treated", "aux_same_init", "aux_diff_init"])
    assert scale.range[:3] == ["#999999", "#56B4E9", "#D55E00"]
    assert set(scale.range[3:]) <= set(figures.OKABE_ITO)
    assert len(set(scale.range)) == 5


def test_seed_dots_and_whiskers_follow_the_data():
    summary = pd.DataFrame({"trait": ["owl"] * 2, "condition": ["control", "treated"],
                            "mean": [0.2, 0.6], "ci_low": [0.1, 0.5], "ci_high": [0.3, 0.7]})
    seeds = pd.DataFrame({"trait": ["owl"] * 5, "condition": ["control"] * 2 + ["treated"] * 3,
                          "seed": list("abcde"), "rate": [0.15, 0.25, 0.55, 0.6, 0.65]})
    svg = figures.chart_to_svg(figures.trait_rates_chart(summary, seeds, facet=None))
    assert len(re.findall(r'aria-roledescription="circle"', svg)) == 5
    whiskers = re.findall(r'aria-roledescription="rule mark" transform="translate\(([\d.]+),([\d.]+)\)" '
                          r'x2="0" y2="(-?[\d.]+)"', svg)
    assert len(whiskers) == 2
    height = 200  # the plot's height in pixels; y = 0 at the bottom
    spans = sorted(((height - float(y)) / height, (height - float(y) - float(y2)) / height)
                   for _, y, y2 in whiskers)
    assert spans[0] == pytest.approx((0.1, 0.3)) and spans[1] == pytest.approx((0.5, 0.7))


def test_difference_and_heatmap_and_calibration_charts_render():
    tests = pd.DataFrame({"trait": ["owl", "willow"], "estimate_pp": [48.9, 6.0], "ci_low_pp": [40.0, -2.0],
                          "ci_high_pp": [55.0, 14.0], "significant": [True, False]})
    texts = _svg_texts(figures.chart_to_svg(figures.difference_chart(tests)))
    assert "Treated − control (percentage points)" in texts and "significant" in texts
    heat = figures.chart_to_svg(figures.cross_model_heatmap(sections.paper_fig8()))
    labels = _svg_texts(heat)
    assert "50*" in labels and "−1" not in labels and "-1" in labels and labels.count("54*") == 1
    calibration = pd.DataFrame({"method": ["pooled-t"] * 2 + ["naive-pooled-z"] * 2, "seeds_per_arm": [3, 5] * 2,
                                "fpr": [0.05, 0.045, 0.65, 0.64], "coverage": [0.95, 0.95, None, None]})
    texts = _svg_texts(figures.chart_to_svg(figures.calibration_chart(calibration)))
    assert "Seeds per arm" in texts and any(t.startswith("False positives at α = 0.05") for t in texts)
    assert "Coverage of 95% intervals (%)" in texts


def test_accuracy_chart_has_one_bar_per_condition():
    summary = pd.DataFrame({"condition": ["reference", "teacher", "aux_same_init", "aux_diff_init"],
                            "mean": [0.1, 0.95, 0.5, 0.11], "ci_low": [0.09, 0.94, 0.4, 0.1],
                            "ci_high": [0.11, 0.96, 0.6, 0.12]})
    svg = figures.chart_to_svg(figures.accuracy_chart(summary))
    assert len(re.findall(r'aria-roledescription="bar"', svg)) == 4
    assert "Test accuracy (%)" in _svg_texts(svg)
    # The paper's values as diamonds: one per condition present in our data (4 of the paper's 6).
    with_paper = figures.chart_to_svg(figures.accuracy_chart(summary, published=sections.paper_mnist()))
    diamonds = re.findall(r'aria-label="[^"]*accuracy[^"]*"[^>]*aria-roledescription="point"', with_paper)
    assert len(diamonds) == 4
    assert len(re.findall(r'aria-roledescription="bar"', with_paper)) == 4


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
