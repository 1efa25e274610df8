"""Table helpers shared by the readers and the digest: tidy columns, cell text, column kinds."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd

# Rows checked before scanning a whole column, so most text columns are rejected quickly.
QUICK_CHECK_ROWS = 1000

_GENERATED_NAME = re.compile(r"^Unnamed: (\d+)(_level_\d+)?$")
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?$"
)
# Numbers written with thousands separators, which the CSV parser leaves as text.
_DECIMAL_COMMA_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
_DECIMAL_POINT_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def tidy_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Name every column uniquely and drop empty rows and empty unnamed columns."""
    names: list[str] = []
    generated: set[str] = set()
    for position, raw in enumerate(frame.columns):
        name = "" if _is_missing(raw) else str(raw).strip()
        if not name or _GENERATED_NAME.match(name):
            name = f"column_{position + 1}"
            generated.add(name)
        names.append(name)
    frame.columns = pd.Index(unique_names(names))
    empty = [name for name in generated if name in frame.columns and frame[name].isna().all()]
    frame = frame.drop(columns=empty)
    blank = blank_rows(frame)
    if blank.any():
        frame = frame[~blank]
    return frame.reset_index(drop=True)


def blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Mark the rows without any value, as ``dropna(how="all")`` would drop them.

    Numeric columns are checked first: they are quick to check, and a row with a number in it
    is not blank, so the slow text columns are usually checked on a few rows or none.
    """
    blank = np.ones(len(frame), dtype=bool)
    positions = sorted(range(frame.shape[1]), key=lambda i: is_text_column(frame.iloc[:, i]))
    for position in positions:
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        blank[rows] = frame.iloc[rows, position].isna().to_numpy()
    return blank


def unique_names(names: list[str]) -> list[str]:
    """Return ``names`` with repeats suffixed ``_2``, ``_3``, … so each is unique."""
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        candidate, counter = name, 1
        while candidate in seen:
            counter += 1
            candidate = f"{name}_{counter}"
        seen.add(candidate)
        result.append(candidate)
    return result


def parse_grouped_numbers(frame: pd.DataFrame, decimal_comma: bool) -> pd.DataFrame:
    """Turn text columns that hold only numbers like ``1.234,50`` (or ``1,234.50``) into numbers."""
    pattern = _DECIMAL_COMMA_NUMBER if decimal_comma else _DECIMAL_POINT_NUMBER
    group, decimal = (".", ",") if decimal_comma else (",", ".")
    for name in frame.columns:
        column = frame[name]
        if not is_text_column(column):
            continue
        # The first rows must match too: that rejects most text columns before any full scan.
        if not all_match(column.iloc[:QUICK_CHECK_ROWS].dropna(), pattern, strip=True):
            continue
        values = column.dropna()
        if values.empty or not all_match(values, pattern, strip=True):
            continue
        texts = values.astype(str)
        if not (
            texts.str.contains(group, regex=False) | texts.str.contains(decimal, regex=False)
        ).any():
            continue
        cleaned = column.astype(str).str.strip().str.replace(group, "", regex=False)
        cleaned = cleaned.str.replace(decimal, ".", regex=False).where(column.notna())
        frame[name] = pd.to_numeric(cleaned)
    return frame


def is_text_column(series: pd.Series) -> bool:
    """Tell whether ``series`` holds text (object or string dtype)."""
    return series.dtype == object or isinstance(series.dtype, pd.StringDtype)


def hashable_cells(series: pd.Series) -> pd.Series:
    """Return ``series`` with any non-text objects (lists, dicts, bytes) turned into text."""
    if series.dtype != object:
        return series
    return series.map(
        lambda v: None if _is_missing(v) else v if isinstance(v, str) else cell_text(v)
    )


def column_kind(series: pd.Series, values: pd.Series | None = None) -> str:
    """Return the digest type of a column: ``number``, ``date``, ``bool`` or ``text``.

    ``values`` are the column's non-missing values (or its distinct ones), when the caller has
    them already.
    """
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    values = series.dropna() if values is None else values
    if len(values) and all_match(values, _ISO_DATE):
        return "date"
    return "text"


def all_match(values: pd.Series, pattern: re.Pattern[str], strip: bool = False) -> bool:
    """Tell whether every value as text (stripped if ``strip``) matches ``pattern``.

    The first rows are checked on their own first, so most columns are rejected without
    converting or scanning the whole column.
    """

    def matches(part: pd.Series) -> bool:
        texts = part.astype(str)
        return bool((texts.str.strip() if strip else texts).str.fullmatch(pattern).all())

    if not matches(values.iloc[:QUICK_CHECK_ROWS]):
        return False
    return len(values) <= QUICK_CHECK_ROWS or matches(values)


def cell_text(value: Any) -> str:
    """Render one cell as plain text; never raises, whatever the cell holds."""
    try:
        if isinstance(value, str):
            return value
        if _is_missing(value):
            return ""
        if isinstance(value, bool | np.bool_):
            return "true" if value else "false"
        if isinstance(value, int | np.integer):
            return str(int(value))
        if isinstance(value, float | np.floating):
            return number_text(float(value))
        if isinstance(value, pd.Timestamp | dt.datetime):
            if value.hour == value.minute == value.second == value.microsecond == 0:
                return value.date().isoformat()
            return value.isoformat()
        if isinstance(value, dt.date | dt.time):
            return value.isoformat()
        return str(value)
    except Exception:  # a digest must survive any cell, even one whose str() fails
        return "?"


def number_text(value: float, significant: int = 12) -> str:
    """Format a number briefly: whole numbers without ``.0``, others to ``significant`` digits."""
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{significant}g}"


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other containers are not missing values
        return False
