"""Charts and tables computed from the uploaded data, never from numbers the model typed."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

MAX_POINTS = 5000
COUNT = "\x00count"  # a column name no uploaded table can have
MAX_TABLE_ROWS = 500
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


def _frame_for_chart(ref: Mapping[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    x, ys, aggregate = ref["x"], list(ref.get("y") or []), ref.get("aggregate", "none")
    if aggregate == "count":
        return frame.groupby(x, sort=True, dropna=False).size().rename(COUNT).reset_index()
    data = frame[[x, *ys]].copy()
    for column in ys:
        data[column] = pd.to_numeric(data[column], errors="coerce")
    if aggregate in ("sum", "mean"):
        data = data.groupby(x, sort=True, dropna=False)[ys].agg(aggregate).reset_index()
    return data.head(MAX_POINTS)


def build_figure(ref: Mapping[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """Return a plotly figure (as a JSON-ready dict) for a chart reference."""
    data = _frame_for_chart(ref, frame)
    x = ref["x"]
    ys = [COUNT] if ref.get("aggregate") == "count" else list(ref["y"])
    figure = go.Figure()
    xs = [plain(value) if isinstance(value, str) else value for value in data[x].tolist()]
    for column in ys:
        values = [None if pd.isna(v) else float(v) for v in data[column].tolist()]
        name = "count" if column == COUNT else plain(column)
        if ref["kind"] == "bar":
            figure.add_trace(go.Bar(x=xs, y=values, name=name))
        else:
            mode = "markers" if ref["kind"] == "scatter" else "lines+markers"
            figure.add_trace(go.Scatter(x=xs, y=values, name=name, mode=mode))
    figure.update_layout(
        title={"text": plain(ref.get("title", ""))},
        margin={"l": 50, "r": 20, "t": 50, "b": 50},
        height=360,
        legend={"orientation": "h", "y": -0.25},
        xaxis={"title": {"text": plain(x)}},
        template="plotly_white",
    )
    result: dict[str, Any] = json.loads(figure.to_json())
    return result


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
