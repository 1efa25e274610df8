"""Uploaded tables: what their columns hold, and the charts and table references that show them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from app.llm.offline.schema import Path, capacity, has_type, ref_slot_kind
from app.llm.offline.text import Block
from app.llm.offline.words import FieldWords, capital, clean, humanise, lower_words, tokens

TABLE_ROWS_SHOWN_IN_FULL = 50
TABLE_ROWS_DEFAULT = 20
MAX_CATEGORIES = 20


@dataclass
class TableInfo:
    """An uploaded table and what kind of data each column holds."""

    name: str
    frame: pd.DataFrame
    name_tokens: set[str]
    column_tokens: set[str]
    columns: list[str]  # non-empty columns, in order
    text_columns: list[str]
    numeric_columns: list[str]
    time_column: str | None
    empty_columns: int

    @property
    def computed(self) -> bool:
        """False for a sheet whose formulas came without results: most columns are empty."""
        return self.empty_columns <= len(self.columns)

    @property
    def readable(self) -> bool:
        """Rows worth reading one by one: at least two text columns."""
        return len(self.text_columns) >= 2

    def score(self, spec: FieldWords) -> int:
        """Return how well the table's name, then its columns, match a field."""
        return spec.score(self.name_tokens, 3) + spec.score(self.column_tokens - self.name_tokens)


def _split_name(name: str) -> tuple[str, str]:
    """Return the file stem and the sheet: ``model.xlsx#Plan`` → ``("model", "Plan")``."""
    source, _, sheet = name.partition("#")
    return source.rsplit(".", 1)[0], sheet


def _table_label(name: str) -> str:
    """``model.xlsx#Assumptions`` → ``Assumptions``; ``usage.csv`` → ``Usage``."""
    stem, sheet = _split_name(name)
    return humanise(sheet or stem)


def _looks_like_time(name: str, series: pd.Series) -> bool:
    """A column of dates or periods: by type, by name (month, date…) or by ISO values."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    words = set(re.split(r"[^a-z]+", name.lower()))
    if words & {"month", "date", "day", "week", "year", "quarter", "period", "time"}:
        return True
    values = series.dropna().astype(str).head(50)
    return bool(len(values)) and bool(values.str.fullmatch(r"\d{4}-\d{2}(-\d{2})?.*").all())


def profile(name: str, frame: pd.DataFrame) -> TableInfo:
    """Sort a table's non-empty columns into time, numeric and text."""
    columns = [str(c) for c in frame.columns if frame[c].notna().any()]
    numeric: list[str] = []
    text: list[str] = []
    time_column: str | None = None
    for column in columns:
        series = frame[column]
        if time_column is None and _looks_like_time(column, series):
            time_column = column
        elif pd.api.types.is_bool_dtype(series):
            text.append(column)
        elif pd.api.types.is_numeric_dtype(series):
            if not re.search(r"(^|_)id$", column.lower()):
                numeric.append(column)
        else:
            text.append(column)
    stem, sheet = _split_name(name)
    column_tokens: set[str] = set()
    for column in columns:
        column_tokens |= tokens(column)
    return TableInfo(
        name=name,
        frame=frame,
        name_tokens=tokens(f"{stem} {sheet}"),
        column_tokens=column_tokens,
        columns=columns,
        text_columns=text,
        numeric_columns=numeric,
        time_column=time_column,
        empty_columns=len(frame.columns) - len(columns),
    )


def cell(value: Any) -> str | None:
    """Return a table cell as plain text; None when it is empty."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    if isinstance(value, pd.Timestamp):
        return str(value.date().isoformat() if value == value.normalize() else value.isoformat())
    return clean(str(value)) or None


def text_sheet(table: TableInfo) -> Block | None:
    """Return a sheet of free text (e.g. notes) as a block of text, not as data; else None."""
    if table.numeric_columns or len(table.columns) > 2 or table.time_column:
        return None
    cells = [c for column in table.columns for v in table.frame[column].head(200) if (c := cell(v))]
    if not cells or sum(len(c) for c in cells) / len(cells) < 25:
        return None
    stem, sheet = _split_name(table.name)
    return Block(label=f"{stem} {sheet}", kind="sheet", items=cells, lines=cells)


def _families(frame: pd.DataFrame, columns: list[str]) -> list[list[str]]:
    """Group numeric columns of a similar size so one chart does not flatten another."""
    groups: list[tuple[float, list[str]]] = []
    for column in columns:
        size = float(pd.to_numeric(frame[column], errors="coerce").abs().median() or 0.0)
        for group_size, members in groups:
            low, high = sorted((max(size, 1e-9), max(group_size, 1e-9)))
            if high / low <= 1.6 and len(members) < 4:
                members.append(column)
                break
        else:
            groups.append((size, [column]))
    return [members for _, members in groups]


def _charts_for(table: TableInfo) -> list[dict[str, Any]]:
    """Chart references that show a table well: trends over time, counts per category."""
    frame, rows = table.frame, len(table.frame)
    if rows == 0:
        return []
    noun = _table_label(table.name)
    charts: list[dict[str, Any]] = []
    x = table.time_column
    if x and table.numeric_columns:
        ordered = frame[x].dropna().astype(str).tolist()
        monotonic = ordered == sorted(ordered) and len(set(ordered)) == len(ordered)
        for family in _families(frame, table.numeric_columns):
            title = " and ".join(lower_words(c) for c in family)
            charts.append(
                {
                    "title": capital(f"{title} by {lower_words(x)}"),
                    "source": table.name,
                    "kind": "line" if monotonic else "scatter",
                    "x": x,
                    "y": family,
                    "aggregate": "none",
                }
            )
        if monotonic:
            return charts
    categories = [
        c
        for c in table.text_columns
        if c.lower() != "count"
        and 2 <= frame[c].nunique() <= min(MAX_CATEGORIES, rows / 2)
        and frame[c].dropna().astype(str).str.len().mean() <= 30
    ]
    if categories:
        charts = []  # rows in no time order read better as counts per category
    for column in categories:
        charts.append(
            {
                "title": f"{noun} by {lower_words(column)}",
                "source": table.name,
                "kind": "bar",
                "x": column,
                "y": [],
                "aggregate": "count",
            }
        )
    if categories and table.numeric_columns:
        y = table.numeric_columns[0]
        charts.append(
            {
                "title": f"Mean {lower_words(y)} by {lower_words(categories[0])}",
                "source": table.name,
                "kind": "bar",
                "x": categories[0],
                "y": [y],
                "aggregate": "mean",
            }
        )
    return charts


def _table_ref(table: TableInfo, max_columns: int) -> dict[str, Any]:
    """A table reference: every non-empty column, all rows of a short table."""
    rows = len(table.frame)
    shown = rows if rows <= TABLE_ROWS_SHOWN_IN_FULL else TABLE_ROWS_DEFAULT
    return {
        "title": _table_label(table.name),
        "source": table.name,
        "columns": table.columns[:max_columns],
        "max_rows": max(1, shown),
    }


def assign_refs(
    fields: Sequence[tuple[Path, dict[str, Any]]], tables: Sequence[TableInfo]
) -> dict[Path, list[dict[str, Any]]]:
    """Give each table's charts to the best chart field and the table to a table field."""
    refs: dict[Path, list[dict[str, Any]]] = {}
    slots = {
        kind: [(p, s, FieldWords.of(p[-1], s)) for p, s in fields if ref_slot_kind(s) == kind]
        for kind in ("chart", "table")
    }

    def room(path: Path, schema: dict[str, Any]) -> int:
        return capacity(schema) - len(refs.get(path, []))

    charted: set[str] = set()
    computed = [table for table in tables if table.computed]
    for table in computed:
        charts = _charts_for(table)
        open_slots = [
            (table.score(spec), -i, p, s)
            for i, (p, s, spec) in enumerate(slots["chart"])
            if room(p, s) > 0
        ]
        if not charts or not open_slots:
            continue
        _, _, path, schema = max(open_slots, key=lambda k: k[:2])
        y_cap = int(schema.get("items", schema)["properties"]["y"].get("maxItems", 4))
        for chart in charts[: room(path, schema)]:
            chart["y"] = chart["y"][:y_cap]
            refs.setdefault(path, []).append(chart)
        charted.add(table.name)
    pairs = sorted(
        (
            (table.score(spec), -i, -j, table, p, s, spec)
            for j, table in enumerate(computed)
            for i, (p, s, spec) in enumerate(slots["table"])
        ),
        key=lambda k: k[:3],
        reverse=True,
    )
    shown: set[str] = set()
    for score, _, _, table, path, schema, spec in pairs:
        # A charted table also gets a table when asked for by name or worth reading.
        named = bool(table.name_tokens & (spec.name_tokens | spec.desc_tokens))
        wanted = score > 0 and (named or table.readable or table.name not in charted)
        fallback = score == 0 and table.name not in charted and has_type(schema, "array")
        if table.name in shown or room(path, schema) <= 0 or not (wanted or fallback):
            continue
        columns = schema.get("items", schema)["properties"]["columns"].get("maxItems", 10)
        refs.setdefault(path, []).append(_table_ref(table, int(columns)))
        shown.add(table.name)
    return refs
