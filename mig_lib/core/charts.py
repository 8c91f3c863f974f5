"""Altair set-up shared by the chapters.

On the website the page must load nothing from the network, so charts are drawn by a small
renderer that calls ``vegaEmbed`` from the bundle the book ships (``book/_static`` is filled
from vl-convert at build time, see ``mig_lib.core.sitebuild``). The book build sets
``MIG_LIB_BOOK_BUILD=1``; anywhere else (Binder, JupyterLab, papermill) altair keeps its
default renderer, because JupyterLab's built-in Vega renderer lags altair's Vega-Lite.
"""

from __future__ import annotations

import json
import os
import uuid

import altair as alt

RENDERER = "mig_lib_static"

_TEMPLATE = """<div id="{div}" class="mig-lib-chart"></div>
<script type="text/javascript">
(function draw() {{
  if (typeof window.vegaEmbed !== "function") {{ return setTimeout(draw, 30); }}
  window.vegaEmbed("#{div}", {spec}, {{actions: false, renderer: "svg"}})
    .catch(function (err) {{ console.error("chart {div}: " + err); }});
}})();
</script>"""


def _static_renderer(spec: dict, **_: object) -> dict:
    div = "vis-" + uuid.uuid4().hex[:12]
    return {"text/html": _TEMPLATE.format(div=div, spec=json.dumps(spec))}


alt.renderers.register(RENDERER, _static_renderer)


def setup_charts() -> str:
    """Pick the renderer for where the notebook runs; returns the renderer's name."""
    alt.data_transformers.disable_max_rows()
    name = RENDERER if os.environ.get("MIG_LIB_BOOK_BUILD") == "1" else "default"
    alt.renderers.enable(name)
    return name
