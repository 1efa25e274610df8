"""The milestone timeline: one trace per status, overdue said in words, markup kept out."""

from __future__ import annotations

import datetime as dt

from app.timeline import build_timeline, summary
from tests.test_charts import as_plotly_writes

TODAY = dt.date(2026, 12, 21)
ITEMS = [
    {"name": "Freeze", "owner": "Ravi", "due_date": "2026-12-18", "status": "on track"},
    {"name": "Review", "owner": None, "due_date": "2027-01-08", "status": "at risk"},
    {"name": "Docs", "owner": "Mei", "due_date": "2026-12-01", "status": "done"},
    {"name": "Someday", "owner": "Ann", "due_date": None, "status": "not started"},
    {
        "name": "<b>Press</b>",
        "owner": "<a href=x>Mei</a>",
        "due_date": "2027-02-09",
        "status": "blocked",
    },
]


def test_one_trace_per_status_in_a_fixed_order_and_undated_items_left_out() -> None:
    figure = build_timeline(ITEMS, today=TODAY, title="Milestones")
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["Done", "On track", "At risk", "Blocked"]  # known statuses first
    points = {t["name"]: [c[0] for c in t["customdata"]] for t in figure["data"]}
    assert points["On track"] == ["Freeze"] and "Someday" not in str(points)
    symbols = {trace["marker"]["symbol"] for trace in figure["data"]}
    assert len(symbols) == len(names)  # shape repeats what colour says


def test_hover_says_what_is_overdue_and_markup_never_reaches_plotly() -> None:
    figure = build_timeline(ITEMS, today=TODAY, marks=[("GA", "2027-02-10"), ("Beta", "soon")])
    hover = {t["name"]: t["customdata"][0] for t in figure["data"]}
    assert hover["On track"] == [
        "Freeze",
        "Due 18 Dec 2026",
        "Ravi",
        "On track · overdue by 3 days",
    ]
    assert hover["At risk"][2:] == ["not named", "At risk · due in 18 days"]
    assert hover["Done"][3] == "Done"  # done is never overdue
    blocked = next(t for t in figure["data"] if t["name"] == "Blocked")
    assert blocked["text"] == ["<b>Press</b><br>Mei"]  # our markup around plain text
    assert "href" not in str(figure)
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["Today", "GA"]


def test_summary_names_the_statuses() -> None:
    assert summary(ITEMS[:2]) == "Timeline of 2 items: 1 on track, 1 at risk"


def test_the_figure_is_what_plotly_writes() -> None:
    figure = build_timeline(ITEMS, today=TODAY, title="<i>M</i>", marks=[("GA", "2027-02-10")])
    assert as_plotly_writes(figure) == figure
