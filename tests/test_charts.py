"""Charts computed from a table: counts split by a column, the numbers behind each chart."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pytest

from app.charts import MAX_SPLIT_SERIES, build_figure, chart_data, chart_table

TICKETS = pd.DataFrame(
    {
        "category": ["sso", "billing", "sso", "billing", "billing", None],
        "severity": ["high", "low", "low", "low", None, "low"],
        "hours": [1.0, 2.0, 4.0, 5.5, 3.0, 10.0],
    }
)


def ref(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "title": "Tickets <b>by</b> category",
        "source": "tickets.csv",
        "kind": "bar",
        "x": "category",
        "y": ["severity"],
        "aggregate": "count",
    }
    return {**base, **changes}


def test_counts_split_by_a_column_become_stacked_series_most_frequent_first() -> None:
    data = chart_data(ref(), TICKETS)
    assert data.labels == ["billing", "sso", ""]  # a missing category is its own group
    assert [(s.name, s.values) for s in data.series] == [
        ("low", [2.0, 1.0, 1.0]),
        ("high", [0.0, 1.0, 0.0]),
        ("", [1.0, 0.0, 0.0]),  # a missing severity too: nothing is dropped
    ]
    figure = build_figure(ref(), data)
    assert figure["layout"]["barmode"] == "stack"
    assert figure["layout"]["legend"]["title"]["text"] == "severity"
    assert figure["layout"]["title"]["text"] == "Tickets by category"  # markup stripped


def test_the_numbers_table_has_totals_that_add_up_to_the_rows() -> None:
    view = chart_table(ref(), chart_data(ref(), TICKETS))
    assert view.columns == ["category", "low", "high", "", "Total"]
    assert view.rows == [
        ["billing", "2", "0", "1", "3"],
        ["sso", "1", "1", "0", "2"],
        ["", "1", "0", "0", "1"],
        ["Total", "4", "1", "1", "6"],
    ]
    plain_count = ref(y=[])
    single = chart_table(plain_count, chart_data(plain_count, TICKETS))
    assert single.columns == ["category", "count"]
    assert single.rows[-1] == ["Total", "6"]


def test_means_are_rounded_and_have_no_total_row() -> None:
    mean = ref(y=["hours"], aggregate="mean")
    view = chart_table(mean, chart_data(mean, TICKETS))
    assert view.rows == [["billing", "3.5"], ["sso", "2.5"], ["", "10"]]


def test_many_split_values_keep_the_most_frequent_and_group_the_rest() -> None:
    values = [f"v{i:02d}" for i in range(MAX_SPLIT_SERIES + 5)]
    frame = pd.DataFrame({"category": ["a"] * len(values), "severity": values})
    data = chart_data(ref(), frame)
    assert len(data.series) == MAX_SPLIT_SERIES
    assert data.series[-1].name == "other" and data.series[-1].values == [6.0]
    assert data.totals == [float(len(values))]


def test_an_empty_table_gives_an_empty_chart() -> None:
    empty = TICKETS.head(0)
    for spec in (ref(), ref(y=[]), ref(y=["hours"], aggregate="sum")):
        data = chart_data(spec, empty)
        assert data.labels == [] and all(s.values == [] for s in data.series)
        assert chart_table(spec, data).rows == []
        build_figure(spec, data)


def as_plotly_writes(figure: dict[str, Any]) -> dict[str, Any]:
    """Return a figure validated by plotly's graph_objects and written out, without a template."""
    written: dict[str, Any] = json.loads(go.Figure(figure).to_json())
    written["layout"].pop("template")
    return written


@pytest.mark.parametrize("kind", ["bar", "line", "scatter"])
@pytest.mark.parametrize(
    "changes",
    [{}, {"y": []}, {"y": ["hours"], "aggregate": "sum"}, {"y": ["hours"], "aggregate": "none"}],
)
def test_figures_are_what_plotly_writes(kind: str, changes: dict[str, Any]) -> None:
    """Figures are plain dicts (graph_objects is slow): plotly accepts them and changes nothing."""
    frame = TICKETS.assign(
        hours=[1.0, float("inf"), float("nan"), 5.5, 3.0, 10.0],
        day=[dt.date(2026, 1, d) for d in (3, 1, 2, 1, 3, 2)],
    )
    for x in ("category", "day"):
        spec = ref(kind=kind, x=x, **changes)
        figure = build_figure(spec, chart_data(spec, frame))
        assert as_plotly_writes(figure) == figure
        assert json.dumps(figure, allow_nan=False)  # infinity and NaN are null, as plotly writes
