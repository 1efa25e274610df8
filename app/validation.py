"""Check model output: the template's JSON Schema, then every reference to uploaded data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator

from app.compute import template_compute
from app.site_template import DataRef, SiteTemplate

MAX_ERRORS = 20


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def iter_data_refs(
    content: Any, refs: Sequence[DataRef]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (kind, JSON Pointer, value) for every chart or table reference in content."""
    for ref in refs:
        yield from _walk(content, ref.pattern.split("/")[1:], "", ref.kind)


def _walk(node: Any, parts: list[str], pointer: str, kind: str) -> Iterator[tuple[str, str, Any]]:
    if not parts:
        if isinstance(node, dict):
            yield kind, pointer, node
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _walk(item, rest, f"{pointer}/{index}", kind)
    elif isinstance(node, dict) and head in node:
        yield from _walk(node[head], rest, f"{pointer}/{_escape(head)}", kind)


def schema_errors(template: SiteTemplate, content: Any) -> list[str]:
    """List JSON Schema violations as 'at /path: message' lines."""
    validator = Draft202012Validator(template.schema)
    errors = []
    for error in sorted(validator.iter_errors(content), key=lambda e: list(e.absolute_path)):
        path = "/" + "/".join(_escape(str(p)) for p in error.absolute_path)
        errors.append(f"at {path}: {error.message[:300]}")
        if len(errors) >= MAX_ERRORS:
            break
    return errors


def reference_errors(
    template: SiteTemplate, content: Any, tables: Mapping[str, Sequence[str]]
) -> list[str]:
    """List chart/table references that name a missing table or column."""
    errors = []
    known = ", ".join(sorted(tables)) or "none uploaded"
    for kind, pointer, ref in iter_data_refs(content, template.data_refs):
        source = str(ref.get("source"))
        if source not in tables:
            errors.append(
                f"at {pointer}/source: {kind} refers to table {source!r}, "
                f"which does not exist (tables: {known})"
            )
            continue
        columns = list(tables[source])
        wanted = [ref.get("x")] + list(ref.get("y", [])) if kind == "chart" else ref["columns"]
        for column in wanted:
            if column not in columns:
                errors.append(
                    f"at {pointer}: column {column!r} is not in {source} "
                    f"(columns: {', '.join(map(str, columns))})"
                )
        if kind == "chart" and ref.get("x") in (ref.get("y") or []):
            errors.append(f"at {pointer}/y: the x column {ref.get('x')!r} cannot also be a y")
        if kind == "chart" and not ref.get("y") and ref.get("aggregate") != "count":
            errors.append(
                f"at {pointer}/y: a chart needs at least one y column unless aggregate is 'count'"
            )
        if kind == "chart" and ref.get("aggregate") == "count" and len(ref.get("y") or []) > 1:
            errors.append(
                f"at {pointer}/y: with aggregate 'count', y is empty or names the one column "
                "whose values split the counts"
            )
    return errors[:MAX_ERRORS]


def validate_content(
    template: SiteTemplate, content: Any, tables: Mapping[str, Sequence[str]]
) -> list[str]:
    """Return every problem with content, schema first; an empty list means valid."""
    if not isinstance(content, dict):
        return ["the answer must be one JSON object"]
    errors = schema_errors(template, content)
    if errors:
        return errors
    errors = reference_errors(template, content, tables)
    computation = template_compute(template.name)
    if computation is not None:
        errors += computation.check(content, tables)
    return errors[:MAX_ERRORS]
