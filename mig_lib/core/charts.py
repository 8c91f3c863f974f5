"""Altair set-up shared by the chapters: one look for every chart, and charts that fit the page.

``setup_charts()`` enables the book's theme everywhere (website, Binder, papermill): a
colour-blind-safe palette for categories (Okabe and Ito's eight colours, told apart under the
common forms of colour-vision deficiency) and viridis for quantities, so chapters do not pick
colours chart by chart. Colours a chapter must name (a highlight, a reference line) should come
from ``PALETTE``.

On the website the page must load nothing from the network, so charts are drawn by a small
renderer that calls ``vegaEmbed`` from the bundle the book ships (``book/_static`` is filled
from vl-convert at build time, see ``mig_lib.core.sitebuild``). The book build sets
``MIG_LIB_BOOK_BUILD=1``; anywhere else (Binder, JupyterLab, papermill) altair keeps its
default renderer, because JupyterLab's built-in Vega renderer lags altair's Vega-Lite.

The website renderer also makes single-view charts (one mark, or layers of marks) as wide as the
text column (Vega-Lite's ``width="container"``), so a chart drawn 560 px wide in the notebook
fills a desktop column and shrinks to a phone. Faceted and concatenated charts cannot follow
their container; the book's stylesheet scales their drawing down to the column instead, so
chapters keep those narrow (two panels side by side at most). Titles become page text above
the chart, which wraps where a drawn title would be cut off.
"""

from __future__ import annotations

import html
import json
import os
import uuid

import altair as alt

RENDERER = "mig_lib_static"
THEME = "why_people_move"

# Okabe, M. and Ito, K. (2008), "Color Universal Design": distinguishable for readers with
# protanopia, deuteranopia and tritanopia, and in grey print by lightness.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish green": "#009E73",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
CATEGORY_COLOURS = list(PALETTE.values())

_VIEW_ENCODINGS_THAT_FACET = ("row", "column", "facet")
_COMPOSITIONS = ("facet", "repeat", "concat", "hconcat", "vconcat")


@alt.theme.register(THEME, enable=False)
def _book_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "view": {"continuousWidth": 300, "continuousHeight": 300},
            "range": {
                "category": CATEGORY_COLOURS,
                "ordinal": {"scheme": "viridis"},
                "ramp": {"scheme": "viridis"},
                "heatmap": {"scheme": "viridis"},
                "diverging": {"scheme": "blueorange"},
            },
            "mark": {"color": PALETTE["blue"]},
            "title": {"anchor": "start", "fontSize": 14, "offset": 8},
            "axis": {"labelFontSize": 11, "titleFontSize": 12},
            # Under the plot, entries one below the other: a legend on the right takes half
            # of a phone's width, and a long row of entries runs off it.
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "bottom",
                       "direction": "vertical", "gradientLength": 120, "labelLimit": 0},
        }
    }


def fits_container(spec: dict) -> bool:
    """Can this Vega-Lite spec take the width of the element it is drawn in?

    Only single views can: one mark, or layers of marks, not faceted by an encoding channel.
    """
    if any(key in spec for key in _COMPOSITIONS):
        return False
    if "mark" in spec:
        return not any(ch in spec.get("encoding", {}) for ch in _VIEW_ENCODINGS_THAT_FACET)
    if "layer" in spec:
        return all(fits_container(layer) for layer in spec["layer"])
    return False


def fit_to_column(spec: dict) -> dict:
    """The spec with its width following the page column (single views only; others unchanged)."""
    if not fits_container(spec):
        return spec
    spec = dict(spec, width="container", autosize={"type": "fit-x", "contains": "padding"})
    if "layer" in spec:
        spec["layer"] = [{k: v for k, v in layer.items() if k != "width"} for layer in spec["layer"]]
    return spec


def _lines(text: object) -> str:
    parts = text if isinstance(text, list) else [text]
    return "<br>".join(html.escape(str(part)) for part in parts if part)


def title_as_html(spec: dict) -> tuple[dict, str]:
    """Take the chart's title out of the drawing and return it as HTML text above the chart.

    Vega draws a title on one line, cut off where it is wider than a phone; as page text it wraps
    with the column, and scaled-down composite charts keep it readable.
    """
    title = spec.get("title")
    if not title:
        return spec, ""
    heading, subtitle = (title.get("text"), title.get("subtitle")) if isinstance(title, dict) else (title, None)
    spec = {key: value for key, value in spec.items() if key != "title"}
    text = f'<p class="mig-lib-chart-heading">{_lines(heading)}</p>'
    if subtitle:
        text += f'<p class="mig-lib-chart-subtitle">{_lines(subtitle)}</p>'
    return spec, f'<div class="mig-lib-chart-title">{text}</div>\n'


_TEMPLATE = """{title}<div id="{div}" class="mig-lib-chart{extra_class}"></div>
<script type="text/javascript">
(function draw() {{
  if (typeof window.vegaEmbed !== "function") {{ return setTimeout(draw, 30); }}
  window.vegaEmbed("#{div}", {spec}, {{actions: false, renderer: "svg"}})
    .catch(function (err) {{ console.error("chart {div}: " + err); }});
}})();
</script>"""


def _static_renderer(spec: dict, **_: object) -> dict:
    div = "vis-" + uuid.uuid4().hex[:12]
    fitted = fits_container(spec)
    spec, title = title_as_html(fit_to_column(spec))
    return {"text/html": _TEMPLATE.format(div=div, spec=json.dumps(spec), title=title,
                                          extra_class=" mig-lib-chart-fluid" if fitted else "")}


alt.renderers.register(RENDERER, _static_renderer)


def setup_charts() -> str:
    """Enable the book's theme and pick the renderer for where the notebook runs; returns the
    renderer's name."""
    alt.data_transformers.disable_max_rows()
    alt.theme.enable(THEME)
    name = RENDERER if os.environ.get("MIG_LIB_BOOK_BUILD") == "1" else "default"
    alt.renderers.enable(name)
    return name
