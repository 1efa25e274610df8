"""The rules a template folder follows, as checks that name the file, the place and the fix.

The schema subset. OpenAI's Structured Outputs guide ("Supported schemas",
https://platform.openai.com/docs/guides/structured-outputs#supported-schemas, now served from
developers.openai.com/api/docs/guides/structured-outputs) says that with ``strict: true``:
every object sets ``additionalProperties: false``; every property is listed in ``required``
(optional values are nullable: ``["string", "null"]``); the root is an object, not ``anyOf``;
at most 10 levels of nesting, 5,000 properties and 1,000 enum values; the composition keywords
``allOf``, ``not``, ``if``/``then``/``else``, ``dependentRequired`` and ``dependentSchemas`` are
refused; and fine-tuned models also refuse ``minLength``, ``maxLength``, ``pattern``, ``format``,
``minimum``, ``maximum``, ``multipleOf``, ``patternProperties``, ``minItems`` and ``maxItems``
(earlier versions of the guide refused them for every model). ``default`` is not in the subset
at all (the SDK's own ``to_strict_json_schema`` strips it).

Sitewright accepts the part of that subset every server it talks to handles the same way
(FIELD_NOTES: llama.cpp may ignore a ``pattern`` and answer unconstrained; schemas stay flat):
``type``, ``description``, ``properties``, ``required``, ``additionalProperties``, ``items``,
``enum``, ``minItems`` and ``maxItems``. No references, no unions beyond "this type or null",
no regular expressions or formats: say a format in the description ("YYYY-MM-DD").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.models import DATA_CATEGORIES

REQUIRED_FILES = ("template.toml", "schema.json", "page.html.j2", "prompt.md", "example.json")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
MANIFEST_KEYS = ("name", "title", "description", "version", "categories", "dated")

KEYWORDS = frozenset(
    {
        "type",
        "description",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "minItems",
        "maxItems",
    }
)
TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
MAX_DEPTH = 10
MAX_PROPERTIES = 5000
MAX_ENUM_VALUES = 1000

_SAY_IT = "say it in the description instead (e.g. 'a date, YYYY-MM-DD')"
_NULLABLE = 'use one type, or one type and null (["string", "null"]) for an optional value'
_HINTS = {
    **dict.fromkeys(("pattern", "format", "minLength", "maxLength"), _SAY_IT),
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), _SAY_IT
    ),
    "default": "every field is required; make it nullable and say in the description when "
    "to leave it null",
    **dict.fromkeys(("oneOf", "anyOf", "allOf", "not", "if", "then", "else"), _NULLABLE),
    **dict.fromkeys(
        ("$ref", "$defs", "definitions"), "write the sub-schema out in place (no references)"
    ),
    **dict.fromkeys(
        (
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "unevaluatedProperties",
            "dependentRequired",
            "dependentSchemas",
        ),
        "objects have a fixed list of properties",
    ),
}


@dataclass(frozen=True)
class Problem:
    """One way a template folder breaks the contract: which file, where in it, and the fix."""

    file: str  # e.g. "schema.json"
    where: str  # a JSON Pointer ("#/properties/account"), a key or "line 12"; "" for the file
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        place = f"{self.file} {self.where}" if self.where else self.file
        return f"{place}: {self.message}"


def file_problems(names: set[str]) -> list[Problem]:
    """List the required files missing from a folder holding ``names``."""
    return [
        Problem(name, "", "missing; every template folder has " + ", ".join(REQUIRED_FILES))
        for name in REQUIRED_FILES
        if name not in names
    ]


def manifest_problems(manifest: Mapping[str, Any], folder_name: str) -> list[Problem]:
    """Check template.toml: name equals the folder, text fields, known categories."""
    problems: list[Problem] = []

    def problem(key: str, message: str) -> None:
        problems.append(Problem("template.toml", key, message))

    if not NAME_RE.match(folder_name):
        problem("", f"the folder name {folder_name!r} must be lower_snake_case (a-z, 0-9, _)")
    name = manifest.get("name")
    if name != folder_name:
        problem("name", f"is {name!r} but the folder is {folder_name!r}; make them equal")
    for key in ("title", "description", "version"):
        value = manifest.get(key)
        if not isinstance(value, str) or not value.strip():
            problem(key, f'needs a non-empty text value, e.g. {key} = "..."')
    categories = manifest.get("categories")
    if not isinstance(categories, list):
        problem("categories", 'needs a list, e.g. categories = [] or ["customer"]')
    else:
        unknown = [c for c in categories if c not in DATA_CATEGORIES]
        if unknown:
            problem(
                "categories",
                f"unknown {', '.join(map(repr, unknown))}; use {', '.join(DATA_CATEGORIES)}",
            )
    if not isinstance(manifest.get("dated", False), bool):
        problem("dated", "needs true or false (true: the page counts days from today)")
    for key in sorted(set(manifest) - set(MANIFEST_KEYS)):
        problem(key, f"is not a known key ({', '.join(MANIFEST_KEYS)}); remove it")
    return problems


def schema_problems(schema: Any) -> list[Problem]:
    """Check schema.json against the strict subset (see the module docstring)."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return [Problem("schema.json", "#", 'the root must be an object schema: "type": "object"')]
    problems = list(_node_problems(schema, "#", depth=1))
    nodes = list(_walk(schema))
    properties = sum(len(n["properties"]) for n in nodes if isinstance(n.get("properties"), dict))
    if properties > MAX_PROPERTIES:
        problems.append(
            Problem("schema.json", "#", f"has {properties} properties; the limit is 5,000")
        )
    enums = sum(len(node["enum"]) for node in nodes if isinstance(node.get("enum"), list))
    if enums > MAX_ENUM_VALUES:
        problems.append(Problem("schema.json", "#", f"has {enums} enum values; the limit is 1,000"))
    return problems


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    props = node.get("properties")
    for sub in props.values() if isinstance(props, dict) else ():
        if isinstance(sub, dict):
            yield from _walk(sub)
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"])


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("type")
    return {str(value) for value in (raw if isinstance(raw, list) else [raw])}


def _node_problems(node: Any, where: str, depth: int) -> Iterator[Problem]:
    def problem(message: str, at: str = where) -> Problem:
        return Problem("schema.json", at, message)

    if not isinstance(node, dict):
        yield problem('must be a schema object, e.g. {"type": "string", ...}')
        return
    for keyword in node:
        if keyword not in KEYWORDS:
            hint = _HINTS.get(keyword, "it is outside the subset Sitewright accepts")
            yield problem(f"'{keyword}' is not allowed: {hint}")
    if where != "#":
        description = node.get("description")
        if not isinstance(description, str) or not description.strip():
            yield problem("needs a description: it is the model's instruction for this field")
    yield from _type_problems(node, where)
    types = _types(node)
    if "object" in types:
        yield from _object_problems(node, where, depth)
    elif {"properties", "required", "additionalProperties"} & set(node):
        yield problem('only objects have properties; set "type": "object" or remove them')
    if "array" in types:
        items = node.get("items")
        if not isinstance(items, dict):
            yield problem('an array needs "items": the schema of one element')
        else:
            yield from _node_problems(items, f"{where}/items", depth + 1)
        low, high = node.get("minItems", 0), node.get("maxItems", 0)
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in (low, high)):
            yield problem("minItems and maxItems are whole numbers of 0 or more")
        elif "maxItems" in node and low > high:
            yield problem(f"minItems ({low}) is larger than maxItems ({high})")
    elif {"items", "minItems", "maxItems"} & set(node):
        yield problem('only arrays have items; set "type": "array" or remove them')


def _type_problems(node: dict[str, Any], where: str) -> Iterator[Problem]:
    raw = node.get("type")
    values = [
        v if isinstance(v, str) else repr(v) for v in (raw if isinstance(raw, list) else [raw])
    ]
    if raw is None:
        yield Problem("schema.json", where, 'needs a "type" (string, number, ..., object, array)')
        return
    unknown = [v for v in values if v not in TYPES]
    if unknown:
        yield Problem("schema.json", where, f"unknown type {unknown[0]!r}; use {sorted(TYPES)}")
    elif len(set(values)) != len(values) or len([v for v in values if v != "null"]) != 1:
        yield Problem("schema.json", where, f"type {raw!r}: {_NULLABLE}")
    if "enum" in node:
        enum = node["enum"]
        if not isinstance(enum, list) or not enum:
            yield Problem("schema.json", where, "enum needs a non-empty list of values")
        elif any(not _fits(value, set(values)) for value in enum):
            yield Problem("schema.json", where, f"every enum value must be of type {raw!r}")


def _fits(value: Any, types: set[str]) -> bool:
    checks = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }
    return any(checks.get(kind, False) for kind in types)


def _object_problems(node: dict[str, Any], where: str, depth: int) -> Iterator[Problem]:
    if depth > MAX_DEPTH:
        yield Problem("schema.json", where, "nests objects more than 10 levels deep; flatten it")
        return
    props = node.get("properties")
    if not isinstance(props, dict) or not props:
        yield Problem("schema.json", where, 'an object needs "properties" (at least one)')
        props = {}
    if node.get("additionalProperties") is not False:
        yield Problem(
            "schema.json",
            where,
            'needs "additionalProperties": false (strict structured outputs refuse open objects)',
        )
    required = node.get("required")
    if not isinstance(required, list):
        yield Problem("schema.json", where, 'needs "required" listing every property (strict mode)')
        required = list(props)
    for name in props:
        if name not in required:
            yield Problem(
                "schema.json",
                f"{where}/required",
                f"'{name}' is missing: strict structured outputs need every property required; "
                'make the field nullable (["string", "null"]) if it may be empty',
            )
    for name in required:
        if name not in props:
            yield Problem(
                "schema.json", f"{where}/required", f"'{name}' is not a property; remove it"
            )
    for name, sub in props.items():
        yield from _node_problems(sub, f"{where}/properties/{_escape(name)}", depth + 1)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
