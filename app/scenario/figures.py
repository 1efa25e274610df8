"""Plotly figures of the planner: one chart per output (a line per scenario) and the tornado."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from app.charts import figure_json, new_figure, plain

LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "height": 340,
    "legend": {"orientation": "h", "y": -0.25},
}


def output_figure(
    output: str,
    period_name: str,
    periods: dict[str, list[str]],
    series: dict[str, list[float | None]],
) -> dict[str, Any]:
    """Return the chart of one output: x the periods, one line per scenario."""
    figure = new_figure()
    for scenario, values in series.items():
        figure.add_trace(
            go.Scatter(
                x=[plain(p) for p in periods[scenario]],
                y=values,
                name=plain(scenario),
                mode="lines+markers",
            )
        )
    figure.update_layout(
        title={"text": plain(output)},
        xaxis={"title": {"text": plain(period_name)}, "type": "category"},
        yaxis={"tickformat": ",~r"},
        **LAYOUT,
    )
    return figure_json(figure)


def tornado_figure(
    output: str, horizon: str, rows: list[dict[str, Any]], base: float, step: float
) -> dict[str, Any]:
    """Return the tornado: each assumption's -step and +step effect on the output, largest first."""
    ordered = list(reversed(rows))  # plotly draws the first category at the bottom
    names = [plain(row["assumption"]) for row in ordered]
    percent = f"{step * 100:g} %"
    figure = new_figure()
    for key, label in (("low", f"−{percent}"), ("high", f"+{percent}")):
        figure.add_trace(
            go.Bar(
                y=names,
                x=[None if row[key] is None else row[key] - base for row in ordered],
                customdata=[row[key] for row in ordered],
                name=f"assumption {label}",
                orientation="h",
                hovertemplate="%{y}: %{customdata:,.2f} (%{x:+,.2f})<extra>" + label + "</extra>",
            )
        )
    figure.update_layout(
        title={"text": plain(f"{output} at {horizon}: change from {base:,.2f}")},
        barmode="overlay",
        xaxis={"title": {"text": plain(f"change in {output}")}, "zeroline": True},
        yaxis={"automargin": True},
        **{
            **LAYOUT,
            "height": 120 + 40 * len(rows),
            "margin": {"l": 20, "r": 20, "t": 50, "b": 50},
        },
    )
    return figure_json(figure)
