"""Values that fit a schema: enum choices, completed items, and the least-claiming value."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.llm.offline.schema import ItemShape, has_type, is_nullable, ref_kind
from app.llm.offline.words import clean, has_word, lower_words, tokens

NOT_FOUND = "Not found in the uploaded files."
FILL_IN = "To fill in:"
_PROSE = re.compile(r"\bmarkdown\b|\bsentences?\b", re.IGNORECASE)
_MARKDOWN_PREFIX = re.compile(r"^(?:[^:]{0,40}\bin )?markdown:\s*", re.IGNORECASE)

_ENUM_DEFAULTS = ("unknown", "not assessed", "not started", "medium", "none", "other")
_ENUM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "shipped": ("released", "launched", "generally available"),
    "in beta": ("beta", "preview", "pilot"),
    "slipped": ("delayed", "postponed", "slipped"),
    "planned": ("roadmap", "planned", "scheduled"),
    "done": ("completed", "complete", "finished"),
    "late": ("overdue",),
    "high": ("urgent", "critical", "severe", "blocker"),
    "low": ("minor",),
    "customer": ("their", "they", "customer"),
    "ours": ("our", "we", "us"),
    "accountable": ("owner", "accountable"),
    "responsible": ("lead", "responsible"),
}


def is_prose(schema: dict[str, Any]) -> bool:
    """Say whether a text field asks for prose (sentences, Markdown) rather than a fact."""
    return bool(_PROSE.search(str(schema.get("description", ""))))


def fill_in(schema: dict[str, Any]) -> str:
    """A prompt for prose only a model or the owner can write: what the field asks for."""
    description = _MARKDOWN_PREFIX.sub("", str(schema.get("description", "")).strip())
    asked = re.split(r"\s*\(|(?<=[a-z])[.;:]\s", description, maxsplit=1)[0].strip(" .")
    asked = asked[:1].lower() + asked[1:]
    return f"{FILL_IN} {asked or 'this part'}. No AI model is configured, so write it by hand."


def is_placeholder(value: Any) -> bool:
    """Say whether a drafted value only says that nothing was found or what to fill in."""
    return isinstance(value, str) and (value == NOT_FOUND or value.startswith(FILL_IN))


def default_enum(values: Sequence[Any]) -> Any:
    """Return the most neutral enum value ("unknown", "not started"…), else the first."""
    options = [v for v in values if v is not None]
    for preferred in _ENUM_DEFAULTS:
        if preferred in options:
            return preferred
    return options[0] if options else None


def choose_enum(values: Sequence[Any], text: str) -> Any:
    """Return the enum value named in ``text`` (or a synonym of it), else a neutral default."""
    options = [v for v in values if isinstance(v, str)]
    for value in sorted(options, key=len, reverse=True):
        if has_word(text, value):
            return value
    for value in options:
        if any(has_word(text, word) for word in _ENUM_SYNONYMS.get(value.lower(), ())):
            return value
    return default_enum(values)


def complete_item(
    shape: ItemShape, values: dict[str, Any], context: str, filler: str = ""
) -> dict[str, Any]:
    """Complete an item: every property present, of its type, enums chosen from context."""
    item: dict[str, Any] = {}
    for prop, sub in shape.props.items():
        value = values.get(prop)
        if "enum" in sub:
            value = choose_enum(sub["enum"], value if isinstance(value, str) else context)
        elif has_type(sub, "boolean"):
            value = bool((tokens(prop) - {"is", "has"}) & tokens(context))
        elif has_type(sub, "string"):
            value = clean(value) if value else None
            if value is None and not is_nullable(sub):
                value = filler
        elif has_type(sub, "array") or has_type(sub, "object"):
            value = empty(sub)
        elif value is not None:
            value = None
        if value is None and not is_nullable(sub):
            value = empty(sub)
        item[prop] = value
    return item


def bounded(values: list[Any], schema: dict[str, Any], name: str) -> list[Any]:
    """Cut ``values`` to the array's ``maxItems``; pad to ``minItems`` with filler items."""
    values = values[: int(schema.get("maxItems", len(values)))]
    items = schema.get("items", {})
    while len(values) < int(schema.get("minItems", 0)):
        values.append(_filler(items, name))
    return values


def _filler(items: dict[str, Any], name: str) -> Any:
    """An item that says nothing was found, where the schema demands at least one."""
    message = f"No {lower_words(name)} found in the uploaded files."
    if has_type(items, "string") and "enum" not in items:
        return message
    if has_type(items, "object") and not ref_kind(items):
        shape = ItemShape.of(items)
        main = shape.main or next(
            (p for p, s in shape.props.items() if has_type(s, "string") and "enum" not in s), None
        )
        return complete_item(shape, {main: message} if main else {}, "")
    return empty(items)


def empty(schema: dict[str, Any]) -> Any:
    """Return the least-claiming valid value of a schema."""
    if is_nullable(schema):
        return None
    if "enum" in schema:
        return default_enum(schema["enum"])
    if has_type(schema, "object"):
        return {name: empty(sub) for name, sub in schema.get("properties", {}).items()}
    if has_type(schema, "array"):
        return bounded([], schema, "items")
    if has_type(schema, "string"):
        return NOT_FOUND
    if has_type(schema, "boolean"):
        return False
    if has_type(schema, "integer") or has_type(schema, "number"):
        return 0
    return None
