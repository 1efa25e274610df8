"""Charts and tables computed from the uploaded data, never from numbers the model typed.

A chart reference names a table, an x column, y columns and how rows with the same x combine.
With ``aggregate: "count"`` the y list is either empty (rows per x value) or names one column
whose values split each count (tickets per category, split by severity): the server groups the
rows by both and draws one stacked series per value. The same numbers are offered as a table,
so a chart never stands without a text alternative.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_POINTS = 5000
MAX_TABLE_ROWS = 500
MAX_SPLIT_SERIES = 12  # more values than this in a split column: the rest become "other"
COUNT = "count"
TOTAL = "Total"
_TAGS = re.compile(r"<[^>]*>")


def plain(text: Any) -> str:
    """Strip anything tag-like: plotly renders <b> and <a href> in labels."""
    return _TAGS.sub("", str(text)).replace("<", "").replace(">", "")[:200]


@dataclass(frozen=True)
class TableView:
    """An HTML-ready table: column names and rows of display strings."""

    title: str
    source: str
    columns: list[str]
    rows: list[list[str]]
    total_rows: int


@dataclass(frozen=True)
class Series:
    """One line or set of bars: a name and a value per x label (None where there is none)."""

    name: str
    values: list[float | None]


@dataclass(frozen=True)
class ChartData:
    """The numbers a chart reference shows, computed from its table."""

    x: str
    labels: list[Any]
    series: list[Series]
    split_by: str | None = None  # the column whose values split the counts
    counted: bool = False  # values are row counts

    @property
    def totals(self) -> list[float]:
        """The sum of every series at each x label."""
        return [sum(s.values[i] or 0.0 for s in self.series) for i in range(len(self.labels))]


def _label(value: Any) -> Any:
    if not isinstance(value, str) and bool(pd.isna(value)):
        return ""
    return plain(value) if isinstance(value, str) else value


def _numbers(values: Any) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in values]


def _split_counts(frame: pd.DataFrame, x: str, by: str) -> ChartData:
    """Rows per (x, by) pair: one series per value of ``by``, most frequent first."""
    grid = frame.groupby([x, by], sort=True, dropna=False).size().unstack(fill_value=0)
    grid = grid.head(MAX_POINTS)
    totals = grid.sum(axis=0)
    order = sorted(grid.columns, key=lambda c: (-float(totals[c]), str(c)))
    if len(order) > MAX_SPLIT_SERIES:
        kept, rest = order[: MAX_SPLIT_SERIES - 1], order[MAX_SPLIT_SERIES - 1 :]
        grid = grid[kept].assign(other=grid[rest].sum(axis=1))
        order = [*kept, "other"]
    series = [Series(str(_label(column)), _numbers(grid[column])) for column in order]
    labels = [_label(value) for value in grid.index.tolist()]
    return ChartData(x, labels, series, split_by=by, counted=True)


def chart_data(ref: Mapping[str, Any], frame: pd.DataFrame) -> ChartData:
    """Compute what a chart reference shows from its uploaded table."""
    x, aggregate = ref["x"], ref.get("aggregate", "none")
    ys = list(dict.fromkeys(ref.get("y") or []))
    if aggregate == "count":
        if ys:
            return _split_counts(frame, x, ys[0])
        counts = frame.groupby(x, sort=True, dropna=False).size().head(MAX_POINTS)
        labels = [_label(value) for value in counts.index.tolist()]
        return ChartData(x, labels, [Series(COUNT, _numbers(counts))], counted=True)
    data = frame[[x, *ys]].copy()
    for column in ys:
        data[column] = pd.to_numeric(data[column], errors="coerce")
    if aggregate in ("sum", "mean"):
        data = data.groupby(x, sort=True, dropna=False)[ys].agg(aggregate).reset_index()
        if aggregate == "mean":
            data[ys] = data[ys].round(2)
    data = data.head(MAX_POINTS)
    labels = [_label(value) for value in data[x].tolist()]
    return ChartData(x, labels, [Series(plain(c), _numbers(data[c])) for c in ys])


def _json_value(value: Any) -> Any:
    """Return a label or number as plotly writes it: dates in ISO form, no NaN or infinity."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date | dt.time):  # datetime and pandas' Timestamp too
        return value.isoformat()
    if isinstance(value, np.generic):
        return _json_value(value.item())
    return value


def build_figure(ref: Mapping[str, Any], data: ChartData) -> dict[str, Any]:
    """Return the plotly figure (a JSON-ready dict) of a chart reference's computed data.

    Written as plain data, keys in the order plotly's ``graph_objects`` wrote them (so pages
    are byte for byte what they were), because validating a figure through ``graph_objects``
    took ~11 ms a chart, most of the time a page took to render (bench/pipeline.py). The figure
    has no layout template: site.js lays its own over every chart.
    """
    labels = [_json_value(label) for label in data.labels]
    traces = []
    for series in data.series:
        values = [_json_value(value) for value in series.values]
        if ref["kind"] == "bar":
            traces.append({"name": series.name, "x": labels, "y": values, "type": "bar"})
        else:
            mode = "markers" if ref["kind"] == "scatter" else "lines+markers"
            traces.append(
                {"mode": mode, "name": series.name, "x": labels, "y": values, "type": "scatter"}
            )
    legend: dict[str, Any] = {"orientation": "h", "y": -0.25}
    layout: dict[str, Any] = {
        "title": {"text": plain(ref.get("title", ""))},
        "margin": {"l": 50, "r": 20, "t": 50, "b": 50},
        "legend": legend,
        "xaxis": {"title": {"text": plain(data.x)}},
        "height": 360,
    }
    if data.counted:
        layout["yaxis"] = {"title": {"text": COUNT}}
    if data.split_by:
        legend["title"] = {"text": plain(data.split_by)}
        layout["barmode"] = "stack"
    return {"data": traces, "layout": layout}


def chart_table(ref: Mapping[str, Any], data: ChartData) -> TableView:
    """Return the numbers behind a chart as a table: a row per x label, a column per series.

    Split counts get a total column and every count a total row, so the reader can check the
    sums against the file.
    """
    columns = [data.x, *(s.name for s in data.series)]
    split = data.split_by is not None
    if split:
        columns.append(TOTAL)
    rows = []
    for i, label in enumerate(data.labels):
        row = [_cell(label), *(_cell(s.values[i]) for s in data.series)]
        rows.append([*row, _cell(data.totals[i])] if split else row)
    if data.counted and rows:
        sums = [sum(v or 0.0 for v in s.values) for s in data.series]
        rows.append([TOTAL, *(_cell(v) for v in sums), *([_cell(sum(sums))] if split else [])])
    return TableView(
        title=str(ref.get("title", "")),
        source=str(ref["source"]),
        columns=columns,
        rows=rows[:MAX_TABLE_ROWS],
        total_rows=len(rows),
    )


def _cell(value: Any) -> str:
    """Format a cell for display: thousands separators, no float noise, small values kept."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.2f}"
        return f"{value:.6g}"
    return str(value)


def build_table(ref: Mapping[str, Any], frame: pd.DataFrame) -> TableView:
    """Return the rows of a table reference, computed from the uploaded data."""
    limit = max(1, min(int(ref.get("max_rows") or 20), MAX_TABLE_ROWS))
    columns = list(ref["columns"])
    view = frame[columns].head(limit)
    rows = [[_cell(value) for value in row] for row in view.itertuples(index=False)]
    return TableView(
        title=str(ref.get("title", "")),
        source=str(ref["source"]),
        columns=[str(c) for c in columns],
        rows=rows,
        total_rows=len(frame),
    )
