"""Text alternatives for charts: what a screen reader says instead of the picture.

Written from the same computed figure that plotly draws, so the words and the picture agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SERIES = 6


def _number(value: float) -> str:
    if value.is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def _label(value: Any) -> str:
    return _number(value) if isinstance(value, float) else str(value)


def _title(figure: Mapping[str, Any], *keys: str) -> str:
    node: Any = figure.get("layout") or {}
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return str(node or "").strip()


def _kind(trace: Mapping[str, Any]) -> str:
    if trace.get("type") == "bar":
        return "Bar chart"
    return "Scatter chart" if trace.get("mode") == "markers" else "Line chart"


def _points(trace: Mapping[str, Any]) -> list[tuple[Any, float]]:
    xs, ys = trace.get("x"), trace.get("y")
    if not isinstance(xs, Sequence) or not isinstance(ys, Sequence):
        return []
    return [
        (x, float(y))
        for x, y in zip(xs, ys, strict=False)
        if isinstance(y, int | float) and not isinstance(y, bool) and math.isfinite(y)
    ]


def _series(trace: Mapping[str, Any], named: bool) -> str:
    points = _points(trace)
    if not points:
        return f"{trace.get('name') or 'values'}: no values." if named else "No values."
    low = min(points, key=lambda p: p[1])
    high = max(points, key=lambda p: p[1])
    parts = []
    if trace.get("type") != "bar" and len(points) > 1:
        parts.append(f"from {_number(points[0][1])} to {_number(points[-1][1])}")
    parts.append(f"highest {_number(high[1])} ({_label(high[0])})")
    if len(points) > 1:
        parts.append(f"lowest {_number(low[1])} ({_label(low[0])})")
    text = ", ".join(parts)
    return f"{trace.get('name')}: {text}." if named else text[0].upper() + text[1:] + "."


def describe_figure(figure: Mapping[str, Any]) -> str:
    """Say what a chart shows: its kind, what is plotted against what, and each series' range."""
    traces = [t for t in figure.get("data") or [] if isinstance(t, Mapping)]
    if not traces:
        return "An empty chart."
    names = [str(t.get("name") or "values") for t in traces]
    x_title = _title(figure, "xaxis", "title", "text")
    xs = traces[0].get("x") if isinstance(traces[0].get("x"), Sequence) else []
    sentence = f"{_kind(traces[0])} of {', '.join(names[:MAX_SERIES])}"
    if len(names) > MAX_SERIES:
        sentence += f" and {len(names) - MAX_SERIES} more series"
    if x_title:
        sentence += f" by {x_title}"
    if xs:
        sentence += f", {len(xs)} {'bars' if traces[0].get('type') == 'bar' else 'points'}"
        if traces[0].get("type") != "bar" and len(xs) > 1:
            sentence += f" from {_label(xs[0])} to {_label(xs[-1])}"
    named = len(traces) > 1
    details = " ".join(_series(t, named) for t in traces[:MAX_SERIES])
    return f"{sentence}. {details}"
