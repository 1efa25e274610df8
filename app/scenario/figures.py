"""Plotly figures of the planner: one chart per output (a line per scenario) and the tornado.

Figures are plain JSON-ready dicts, not ``plotly.graph_objects``: validating them through plotly
took ~11 ms a figure (bench/pipeline.py). The page writes them with sorted keys (``tojson``).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from app.charts import plain


@cache
def _template_json(name: str) -> str:
    """Return a plotly layout template as plotly writes it into a figure, made once."""
    import plotly.graph_objects as go  # only for this, once: slow to import and to validate

    written = json.loads(go.Figure(layout={"template": name}).to_json())
    return json.dumps(written["layout"]["template"])


def _layout(**changes: Any) -> dict[str, Any]:
    """Return the layout the planner's figures share (a new one each time), with ``changes``."""
    return {
        "template": json.loads(_template_json("plotly_white")),
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.25},
        **changes,
    }


def output_figure(
    output: str,
    period_name: str,
    periods: dict[str, list[str]],
    series: dict[str, list[float | None]],
) -> dict[str, Any]:
    """Return the chart of one output: x the periods, one line per scenario."""
    traces = [
        {
            "mode": "lines+markers",
            "name": plain(scenario),
            "x": [plain(p) for p in periods[scenario]],
            "y": values,
            "type": "scatter",
        }
        for scenario, values in series.items()
    ]
    layout = _layout(
        title={"text": plain(output)},
        xaxis={"title": {"text": plain(period_name)}, "type": "category"},
        yaxis={"tickformat": ",~r"},
    )
    return {"data": traces, "layout": layout}


def tornado_figure(
    output: str, horizon: str, rows: list[dict[str, Any]], base: float, step: float
) -> dict[str, Any]:
    """Return the tornado: each assumption's -step and +step effect on the output, largest first."""
    ordered = list(reversed(rows))  # plotly draws the first category at the bottom
    names = [plain(row["assumption"]) for row in ordered]
    percent = f"{step * 100:g} %"
    traces = [
        {
            "customdata": [row[key] for row in ordered],
            "hovertemplate": "%{y}: %{customdata:,.2f} (%{x:+,.2f})<extra>" + label + "</extra>",
            "name": f"assumption {label}",
            "orientation": "h",
            "x": [None if row[key] is None else row[key] - base for row in ordered],
            "y": names,
            "type": "bar",
        }
        for key, label in (("low", f"−{percent}"), ("high", f"+{percent}"))
    ]
    layout = _layout(
        title={"text": plain(f"{output} at {horizon}: change from {base:,.2f}")},
        barmode="overlay",
        xaxis={"title": {"text": plain(f"change in {output}")}, "zeroline": True},
        yaxis={"automargin": True},
        height=120 + 40 * len(rows),
        margin={"l": 20, "r": 20, "t": 50, "b": 50},
    )
    return {"data": traces, "layout": layout}
