"""Reading a template schema: types, data-reference slots, the fields to fill, item properties."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.site_template import CHART_KEYS, TABLE_KEYS

Path = tuple[str, ...]  # where a field sits in the content: ("summary", "renewal_date")

MAIN_NAMES = frozenset({"name", "title", "label"})
_PERSON_PROPS = frozenset({"owner", "who", "assignee", "author", "lead", "responsible"})


def is_nullable(schema: dict[str, Any]) -> bool:
    """Say whether the schema allows null."""
    types = schema.get("type")
    return isinstance(types, list) and "null" in types


def has_type(schema: dict[str, Any], name: str) -> bool:
    """Say whether the schema allows the JSON type ``name``."""
    types = schema.get("type")
    return name in types if isinstance(types, list) else types == name


def ref_kind(schema: dict[str, Any]) -> str | None:
    """Return "chart" or "table" for a chart or table reference object, else None."""
    if not has_type(schema, "object"):
        return None
    keys = frozenset(schema.get("properties", {}))
    return "chart" if keys == CHART_KEYS else "table" if keys == TABLE_KEYS else None


def ref_slot_kind(schema: dict[str, Any]) -> str | None:
    """Return the kind of reference a field holds, alone or in an array, else None."""
    if has_type(schema, "array") and isinstance(schema.get("items"), dict):
        return ref_kind(schema["items"])
    return ref_kind(schema)


def is_date_field(name: str, schema: dict[str, Any]) -> bool:
    """Say whether a field holds a date, by its name or its description."""
    if {"date", "due", "deadline", "when"} & set(name.lower().split("_")):
        return True
    return "YYYY-MM-DD" in str(schema.get("description", ""))


def capacity(schema: dict[str, Any]) -> int:
    """Return how many values a field holds: an array's ``maxItems`` (50 if unset), else one."""
    return int(schema.get("maxItems", 50)) if has_type(schema, "array") else 1


def fields(schema: dict[str, Any], path: Path = ()) -> list[tuple[Path, dict[str, Any]]]:
    """Return every field reachable without entering an array, in schema order."""
    found: list[tuple[Path, dict[str, Any]]] = []
    for name, sub in schema.get("properties", {}).items():
        found.append((path + (name,), sub))
        if ref_kind(sub) is None and has_type(sub, "object"):
            found.extend(fields(sub, path + (name,)))
    return found


@dataclass(frozen=True)
class ItemShape:
    """What each property of an array's item is for."""

    props: dict[str, dict[str, Any]]
    main: str | None
    person: str | None
    dates: tuple[str, ...]
    urls: tuple[str, ...]
    notes: tuple[str, ...]

    @classmethod
    def of(cls, schema: dict[str, Any]) -> ItemShape:
        """Sort an item schema's free-text properties into main, person, dates, URLs and notes."""
        props = dict(schema.get("properties", {}))
        dates: list[str] = []
        urls: list[str] = []
        notes: list[str] = []
        person: str | None = None
        main: str | None = None
        for name, sub in props.items():
            words = set(name.lower().split("_"))
            if not has_type(sub, "string") or "enum" in sub:
                continue
            if is_date_field(name, sub):
                dates.append(name)
            elif words & {"url", "link", "href"}:
                urls.append(name)
            elif person is None and (words & _PERSON_PROPS or name.endswith("_by")):
                person = name
            elif main is None and not is_nullable(sub):
                main = name
            else:
                notes.append(name)
        return cls(props, main, person, tuple(dates), tuple(urls), tuple(notes))
