"""The book's chart set-up: a palette colour-blind readers can tell apart, and charts that follow the
page column on the website when Vega-Lite allows it."""

from __future__ import annotations

import itertools
import json

import altair as alt
import numpy as np
import pandas as pd
import pytest

from mig_lib.core import charts
from mig_lib.core.charts import CATEGORY_COLOURS, fit_to_column, fits_container, setup_charts

# Machado, Oliveira and Fernandes (2009), full-severity simulation matrices on linear RGB.
_DICHROMACY = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
# CIE76 colour difference below which two small marks on a chart are easily confused.
_DISTINGUISHABLE = 15.0
# Vega-Lite's default category scheme, which the book used before it had a theme.
_TABLEAU10 = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b",
              "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"]


def _linear_rgb(hex_colour: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = to_xyz @ np.clip(linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _closest_pair(colours: list[str], vision: str) -> float:
    simulate = np.eye(3) if vision == "normal" else np.array(_DICHROMACY[vision])
    labs = [_lab(simulate @ _linear_rgb(c)) for c in colours]
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(labs, 2))


@pytest.mark.parametrize("vision", ["normal", *_DICHROMACY])
def test_category_colours_stay_apart_for_colour_blind_readers(vision):
    assert _closest_pair(CATEGORY_COLOURS, vision) > _DISTINGUISHABLE


def test_the_colour_check_rejects_vega_default_scheme():
    # its red and green (3rd and 5th) merge for a deuteranope: the check must see that
    assert _closest_pair(_TABLEAU10[:5], "deuteranopia") < _DISTINGUISHABLE


def test_theme_gives_every_chart_the_palette():
    setup_charts()
    spec = alt.Chart(pd.DataFrame({"x": [1, 2], "g": ["a", "b"]})).mark_line().encode(
        x="x:Q", y="x:Q", color="g:N").to_dict()
    assert spec["config"]["range"]["category"] == CATEGORY_COLOURS
    assert spec["config"]["range"]["ramp"] == {"scheme": "viridis"}


def _frame():
    return pd.DataFrame({"x": [0, 1], "y": [1, 2], "g": ["a", "b"]})


def test_single_and_layered_views_follow_the_column():
    single = alt.Chart(_frame()).mark_line().encode(x="x:Q", y="y:Q").properties(width=560).to_dict()
    fitted = fit_to_column(single)
    assert fitted["width"] == "container" and fitted["autosize"]["type"] == "fit-x"
    assert single["width"] == 560  # the notebook's spec is not changed in place

    base = alt.Chart(_frame())
    layered = alt.layer(base.mark_line().encode(x="x:Q", y="y:Q").properties(width=300),
                        base.mark_point().encode(x="x:Q", y="y:Q")).to_dict()
    fitted = fit_to_column(layered)
    assert fitted["width"] == "container"
    assert all("width" not in layer for layer in fitted["layer"])


@pytest.mark.parametrize("make", [
    lambda c: c.mark_point().encode(x="x:Q", y="y:Q", column="g:N"),
    lambda c: c.mark_point().encode(x="x:Q", y="y:Q").facet("g:N"),
    lambda c: alt.hconcat(c.mark_point().encode(x="x:Q"), c.mark_bar().encode(x="x:Q")),
    lambda c: c.mark_point().encode(x=alt.X(alt.repeat(), type="quantitative")).repeat(["x", "y"]),
], ids=["column-encoding", "facet", "hconcat", "repeat"])
def test_compositions_keep_their_width(make):
    spec = make(alt.Chart(_frame())).to_dict()
    assert not fits_container(spec)
    assert fit_to_column(spec) == spec


def test_website_renderer_marks_fluid_charts():
    line = alt.Chart(_frame()).mark_line().encode(x="x:Q", y="y:Q").to_dict()
    faceted = alt.Chart(_frame()).mark_point().encode(x="x:Q", column="g:N").to_dict()
    fluid = charts._static_renderer(line)["text/html"]
    fixed = charts._static_renderer(faceted)["text/html"]
    assert 'class="mig-lib-chart mig-lib-chart-fluid"' in fluid and '"width": "container"' in fluid
    assert 'class="mig-lib-chart"' in fixed and "container" not in fixed
    embedded = json.loads(fixed.split('vegaEmbed("#', 1)[1].split(", ", 1)[1].rsplit(", {actions", 1)[0])
    assert embedded == faceted


def test_website_titles_become_page_text():
    chart = alt.Chart(_frame()).mark_line().encode(x="x:Q", y="y:Q")
    titled = chart.properties(title=alt.Title("Who moves <first>", subtitle=["line one", "line two"])).to_dict()
    spec, text = charts.title_as_html(titled)
    assert "title" not in spec and "title" in titled
    assert text == ('<div class="mig-lib-chart-title"><p class="mig-lib-chart-heading">Who moves &lt;first&gt;</p>'
                    '<p class="mig-lib-chart-subtitle">line one<br>line two</p></div>\n')
    plain = chart.properties(title="Plain").to_dict()
    assert charts.title_as_html(plain)[1] == '<div class="mig-lib-chart-title"><p class="mig-lib-chart-heading">Plain</p></div>\n'
    untitled = chart.to_dict()
    assert charts.title_as_html(untitled) == (untitled, "")
