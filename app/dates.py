"""Calendar dates in content: YYYY-MM-DD strings read as dates and written for readers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def utc_today() -> dt.date:
    """Return today's date in UTC: the date pages are rendered against."""
    return dt.datetime.now(dt.UTC).date()


def parse_day(value: Any) -> dt.date | None:
    """Return a ``YYYY-MM-DD`` string as a date; None for anything else (text, bad dates)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value.strip()):
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def long_date(value: Any) -> str:
    """Write a date the way people read it ("10 Feb 2027"); "" if it is not a date."""
    day = parse_day(value)
    return f"{day.day} {day:%b %Y}" if day else ""
