"""A timeline of dated items (launch milestones) as a plotly figure, drawn from the page content.

Items are the content's own objects with ``name``, ``owner``, ``due_date`` (YYYY-MM-DD) and
``status``. Each status is one trace, so the legend names the statuses; colour is doubled by
the marker's shape for readers who cannot tell the colours apart. Whether an item is overdue is
decided against ``today``, the date the page is rendered, and said in the hover text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from app.charts import plain
from app.dates import long_date, parse_day

# status → (colour, marker symbol); colours match the pills of the site stylesheet.
STATUS_STYLES: dict[str, tuple[str, str]] = {
    "done": ("#146232", "circle"),
    "on track": ("#1b5cc4", "diamond"),
    "at risk": ("#b26b00", "triangle-up"),
    "late": ("#a01f29", "x"),
    "not started": ("#525d6e", "circle-open"),
}
OTHER_STYLE = ("#465264", "square")
FINISHED = frozenset({"done"})


def status_label(status: Any) -> str:
    """Return a status as a reader sees it ("on track" → "On track")."""
    text = plain(status).strip()
    return text[:1].upper() + text[1:] if text else "No status"


def _short(text: Any, limit: int) -> str:
    value = " ".join(plain(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _state(item: Mapping[str, Any], today: dt.date) -> str:
    due = parse_day(item.get("due_date"))
    label = status_label(item.get("status"))
    if due is None or item.get("status") in FINISHED:
        return label
    if due < today:
        return f"{label} · overdue by {_days((today - due).days)}"
    return (
        f"{label} · due in {_days((due - today).days)}" if due > today else f"{label} · due today"
    )


def summary(items: Sequence[Mapping[str, Any]]) -> str:
    """Describe the timeline in words, for its accessible name."""
    counts: dict[str, int] = {}
    for item in items:
        label = status_label(item.get("status")).lower()
        counts[label] = counts.get(label, 0) + 1
    parts = ", ".join(f"{n} {label}" for label, n in counts.items())
    noun = "item" if len(items) == 1 else "items"
    return f"Timeline of {len(items)} {noun}" + (f": {parts}" if parts else "")


def build_timeline(
    items: Sequence[Mapping[str, Any]],
    *,
    today: dt.date,
    title: str = "",
    marks: Sequence[tuple[str, Any]] = (),
) -> dict[str, Any]:
    """Return a plotly figure (JSON-ready dict): one row per dated item, one trace per status.

    Each marker is labelled with the item's name and owner, on the side that keeps the label
    inside the chart, so no axis of names takes the width of a phone. ``marks`` are labelled
    dates drawn as vertical lines (e.g. ``("GA", "2027-02-10")``); today is always marked, so
    what is overdue can be seen.
    """
    dated = [(row, item, day) for row, (item, day) in enumerate(_dated(items))]
    lines: list[tuple[str, dt.date]] = [("Today", today)]
    lines += [(plain(label), day) for label, raw in marks if (day := parse_day(raw))]
    days = [day for _, _, day in dated] + [day for _, day in lines]
    first, last = min(days, default=today), max(days, default=today)
    span = max((last - first).days, 14)
    middle = first + dt.timedelta(days=span / 2)
    statuses = list(STATUS_STYLES) + sorted(
        {str(item.get("status")) for _, item, _ in dated} - set(STATUS_STYLES)
    )
    traces = []
    for status in statuses:
        members = [(row, i, day) for row, i, day in dated if str(i.get("status")) == status]
        if not members:
            continue
        colour, symbol = STATUS_STYLES.get(status, OTHER_STYLE)
        # Keys in the order plotly's graph_objects wrote them: pages stay byte for byte the same.
        traces.append(
            {
                "cliponaxis": False,
                "customdata": [
                    [
                        _short(item.get("name"), 120),
                        f"Due {long_date(day)}",
                        _short(item.get("owner") or "not named", 80),
                        _state(item, today),
                    ]
                    for _, item, day in members
                ],
                "hovertemplate": (
                    "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>Owner: %{customdata[2]}"
                    "<br>%{customdata[3]}<extra></extra>"
                ),
                "marker": {"color": colour, "line": {"width": 2}, "size": 13, "symbol": symbol},
                "mode": "markers+text",
                "name": status_label(status),
                "text": [_marker_label(item) for _, item, _ in members],
                "textfont": {"size": 11},
                "textposition": [
                    "middle right" if day <= middle else "middle left" for _, _, day in members
                ],
                "x": [day.isoformat() for _, _, day in members],
                "y": [row for row, _, _ in members],
                "type": "scatter",
            }
        )
    rows = max(3, len(dated))
    top, bottom, row_height = 100, 90, 46
    pad = dt.timedelta(days=max(2, span // 25))
    layout = {
        "title": {"text": plain(title)},
        "margin": {"l": 16, "r": 16, "t": top, "b": bottom},
        # Below the date labels of the axis, whatever the height: y is a fraction of the plot.
        "legend": {
            "title": {"text": "Status", "side": "top left"},
            "font": {"size": 11},
            "orientation": "h",
            "x": 0,
            "y": -50 / (row_height * rows),
            "yanchor": "top",
        },
        "xaxis": {
            "type": "date",
            "nticks": 6,
            "range": [(first - pad).isoformat(), (last + pad).isoformat()],
        },
        "yaxis": {"visible": False, "range": [rows - 0.5, -0.7]},
        "height": top + bottom + row_height * rows,
        "shapes": [_line(day, index == 0) for index, (_, day) in enumerate(lines)],
        "annotations": [
            {
                "font": {"size": 11},
                "showarrow": False,
                "text": label,
                "x": day.isoformat(),
                "xref": "x",
                "y": 1,
                "yanchor": "bottom",
                "yref": "paper",
                "yshift": 14 * index,  # a level each, so labels of close dates do not collide
            }
            for index, (label, day) in enumerate(lines)
        ],
    }
    return {"data": traces, "layout": layout}


def _dated(items: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], dt.date]]:
    """The items that have a due date, in their order (undated ones are in the table only)."""
    return [(item, day) for item in items if (day := parse_day(item.get("due_date")))]


def _marker_label(item: Mapping[str, Any]) -> str:
    """The name in bold over the owner: both plain text, inside our own plotly markup."""
    owner = _short(item.get("owner") or "", 32)
    return f"<b>{_short(item.get('name'), 32)}</b>" + (f"<br>{owner}" if owner else "")


def _line(day: dt.date, today: bool) -> dict[str, Any]:
    """A vertical line across the plot at ``day``: dotted grey for today, dashed for marks."""
    return {
        "line": {
            "color": "#525d6e" if today else "#1b5cc4",
            "dash": "dot" if today else "dash",
            "width": 1.5,
        },
        "type": "line",
        "x0": day.isoformat(),
        "x1": day.isoformat(),
        "xref": "x",
        "y0": 0,
        "y1": 1,
        "yref": "paper",
    }
