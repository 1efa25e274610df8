"""The planner's figures: plain dicts that plotly accepts as they are, with its white template."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go

from app.scenario.figures import output_figure, tornado_figure


def as_plotly_writes(figure: dict[str, Any]) -> dict[str, Any]:
    """Return a figure validated by plotly's graph_objects and written out."""
    written: dict[str, Any] = json.loads(go.Figure(figure).to_json())
    return written


def test_the_output_chart_is_what_plotly_writes() -> None:
    periods = {"Base": ["1", "2", "<b>3</b>"], "Growth": ["1", "2"]}
    figure = output_figure("Revenue", "Month", periods, {"Base": [1.0, None, 3], "Growth": [2.5]})
    assert as_plotly_writes(figure) == figure
    assert figure["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
    assert figure["data"][0]["x"][2] == "3"  # markup stripped


def test_the_tornado_is_what_plotly_writes() -> None:
    rows = [
        {"assumption": "Churn", "low": 1.0, "high": 3},
        {"assumption": "x", "low": None, "high": 2},
    ]
    figure = tornado_figure("Result", "Month 12", rows, 2.0, 0.1)
    assert as_plotly_writes(figure) == figure
    assert figure["data"][0]["y"] == ["x", "Churn"]  # largest last: plotly draws it on top
