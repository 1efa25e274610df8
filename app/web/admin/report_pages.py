"""What the usage and signals pages share: their CSP, plotly figures, and links to sites.

Figures go into the page as JSON (``<script type="application/json">``) and are drawn by
``static/admin_charts.js``: no inline script. plotly.js styles its elements inline, so these pages
alone also allow inline styles. Every label that people typed (site names, departments, e-mails)
is stripped of markup first, because plotly renders ``<b>`` and ``<a href>`` in labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app, make_response, url_for
from werkzeug.wrappers import Response

from app.charts import plain
from app.web import UI_CSP

CHARTS_CSP = UI_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
assert CHARTS_CSP != UI_CSP, "the UI's CSP changed: update CHARTS_CSP"


def chart_page(html: str, status: int = 200) -> Response:
    """Answer a page with charts under the UI's CSP plus inline styles for plotly."""
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = CHARTS_CSP
    return response


def site_url(site_id: int) -> str:
    """Link to a site's admin page, or to its page in the builders' UI without one."""
    endpoint = "admin.site" if "admin.site" in current_app.view_functions else "ui.site_detail"
    return url_for(endpoint, site_id=site_id)


def _layout(title: str, height: int, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": plain(title)},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "legend": {"orientation": "h", "y": -0.2, "traceorder": "normal"},
        "font": {"family": "system-ui, sans-serif"},
        **extra,
    }


def bar_figure(
    title: str,
    labels: Sequence[Any],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    horizontal: bool = False,
    value_title: str = "Tokens",
) -> dict[str, Any]:
    """Return a stacked bar chart: one trace per (name, values) in ``series``."""
    names = [plain(label) for label in labels]
    traces = []
    for name, values in series:
        x, y = (list(values), names) if horizontal else (names, list(values))
        traces.append(
            {
                "type": "bar",
                "name": plain(name),
                "x": x,
                "y": y,
                "orientation": "h" if horizontal else "v",
            }
        )
    axis = {"title": {"text": plain(value_title)}, "rangemode": "tozero"}
    category = {"type": "category", "automargin": True}
    if horizontal:
        category["autorange"] = "reversed"  # the biggest first, as in the table
    height = max(300, 28 * len(names) + 120) if horizontal else 360
    return {
        "data": traces,
        "layout": _layout(
            title,
            height,
            barmode="stack",
            xaxis=axis if horizontal else category,
            yaxis=category if horizontal else axis,
        ),
    }


def heatmap_figure(
    title: str, columns: Sequence[str], rows: Sequence[str], values: Sequence[Sequence[int]]
) -> dict[str, Any]:
    """Return a heatmap of ``values`` (one list per row) with the counts written in the cells."""
    names = [plain(row) for row in rows]
    return {
        "data": [
            {
                "type": "heatmap",
                "x": [plain(column) for column in columns],
                "y": names,
                "z": [list(line) for line in values],
                "colorscale": [[0, "#f4f7fb"], [1, "#1d4f91"]],
                "texttemplate": "%{z}",
                "hovertemplate": "%{y}<br>%{x}: %{z}<extra></extra>",
                "xgap": 2,
                "ygap": 2,
            }
        ],
        "layout": _layout(
            title,
            max(300, 30 * len(names) + 140),
            xaxis={"type": "category"},
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        ),
    }
