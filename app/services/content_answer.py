"""The model's answer to a revision: ``{op, path, value_json}`` items turned into RFC 6902
operations and checked (schema paths, scope, applying, the template's validation)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.llm import Draft
from app.services.content_patch import (
    PatchProblem,
    apply_operations,
    check_operations,
    pointer_parts,
    schema_at,
    types_of,
)
from app.site_template import SiteTemplate
from app.validation import validate_content


def patch_problems(
    template: SiteTemplate,
    content: dict[str, Any],
    draft: Draft,
    scope: Sequence[str],
    columns: dict[str, list[str]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Turn the model's answer into RFC 6902 operations and list what is wrong with them."""
    if draft.content is None:
        return [], [f"the answer was not a JSON object: {draft.parse_error or 'unreadable'}"]
    raw = draft.content.get("operations")
    if not isinstance(raw, list):
        return [], ['the answer needs an "operations" list']
    ops, problems = to_operations(template.schema, raw)
    problems += check_operations(template.schema, ops, scope)
    if problems:
        return ops, problems
    try:
        revised, _ = apply_operations(content, ops)
    except PatchProblem as exc:
        return ops, exc.problems
    return ops, validate_content(template, revised, columns)


def to_operations(
    schema: dict[str, Any], raw: Sequence[Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Turn ``{op, path, value_json}`` items into RFC 6902 operations, parsing each value."""
    ops: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            problems.append(f"operation {number}: must be an object with op, path and value_json")
            continue
        op = {"op": item.get("op"), "path": item.get("path")}
        if op["op"] != "remove":
            value, problem = parse_value(schema, op["path"], item.get("value_json"))
            if problem:
                problems.append(f"operation {number}: {problem}")
                continue
            op["value"] = value
        ops.append(op)
    return ops, problems


def parse_value(schema: dict[str, Any], path: Any, text: Any) -> tuple[Any, str | None]:
    """Parse one ``value_json``; for a field that only takes text, unquoted text is the text."""
    if text is None:
        return None, None
    if not isinstance(text, str):
        return None, "value_json must be JSON written as text"
    node = schema_at(schema, pointer_parts(path)) if _is_pointer(path) else None
    kinds = types_of(node or {})
    text_only = "string" in kinds and not kinds & {"number", "integer", "boolean"}
    try:
        value = json.loads(text)
    except ValueError:
        return (text, None) if text_only else (None, "value_json is not valid JSON")
    if text_only and isinstance(value, bool | int | float):
        return text, None
    return value, None


def _is_pointer(path: Any) -> bool:
    try:
        pointer_parts(path)
    except (ValueError, TypeError):
        return False
    return isinstance(path, str)
