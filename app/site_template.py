"""The registry of vetted site templates: one folder each under ``site_templates/``.

A template folder holds data only: ``template.toml`` (manifest), ``schema.json`` (the content
contract), ``page.html.j2`` (layout), ``prompt.md`` (guidance for the model) and ``example.json``.
Adding a template is adding a folder; :func:`load_registry` finds it.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.llm.base import TemplateSpec

REQUIRED_FILES = ("template.toml", "schema.json", "page.html.j2", "prompt.md", "example.json")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

CHART_KEYS = frozenset({"title", "source", "kind", "x", "y", "aggregate"})
TABLE_KEYS = frozenset({"title", "source", "columns", "max_rows"})


class TemplateError(ValueError):
    """A template folder breaks the contract; the message names the folder and the problem."""


@dataclass(frozen=True)
class DataRef:
    """Where a chart or table reference may appear, as a JSON Pointer with ``*`` for array items."""

    kind: str  # "chart" or "table"
    pattern: str


@dataclass(frozen=True)
class SiteTemplate:
    """A vetted template, loaded from its folder."""

    name: str
    title: str
    description: str
    version: str
    categories: tuple[str, ...]
    schema: dict[str, Any]
    guidance: str
    example: dict[str, Any]
    folder: Path
    data_refs: tuple[DataRef, ...] = field(default=())

    @property
    def spec(self) -> TemplateSpec:
        """What an LLM provider needs to know about this template."""
        return TemplateSpec(
            name=self.name, title=self.title, schema=self.schema, guidance=self.guidance
        )


def _shape(node: dict[str, Any]) -> str | None:
    """Say whether a schema object node is a chart or a table reference."""
    if node.get("type") not in ("object", ["object", "null"]):
        return None
    keys = frozenset(node.get("properties", {}))
    if keys == CHART_KEYS:
        return "chart"
    if keys == TABLE_KEYS:
        return "table"
    return None


def find_data_refs(schema: dict[str, Any], pointer: str = "") -> Iterator[DataRef]:
    """Yield every place in a schema where a chart or table reference lives."""
    kind = _shape(schema)
    if kind:
        yield DataRef(kind, pointer)
        return
    for name, sub in schema.get("properties", {}).items():
        yield from find_data_refs(sub, f"{pointer}/{name}")
    items = schema.get("items")
    if isinstance(items, dict):
        yield from find_data_refs(items, f"{pointer}/*")


def check_strict_schema(schema: dict[str, Any], where: str = "#") -> list[str]:
    """List the places where a schema leaves the strict structured-output subset."""
    problems: list[str] = []
    if "description" not in schema and where != "#":
        problems.append(f"{where}: every field needs a description (it instructs the model)")
    types = schema.get("type")
    type_set = set(types) if isinstance(types, list) else {types}
    if "object" in type_set:
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            problems.append(f"{where}: objects need additionalProperties: false")
        if sorted(schema.get("required", [])) != sorted(props):
            problems.append(f"{where}: every property must be required (use null for optional)")
        for name, sub in props.items():
            problems.extend(check_strict_schema(sub, f"{where}/{name}"))
    if "array" in type_set:
        items = schema.get("items")
        if not isinstance(items, dict):
            problems.append(f"{where}: arrays need an items schema")
        else:
            problems.extend(check_strict_schema(items, f"{where}/items"))
    for banned in ("pattern", "$ref", "oneOf", "allOf", "patternProperties"):
        if banned in schema:
            problems.append(f"{where}: '{banned}' is not allowed (keep schemas flat and simple)")
    return problems


def load_template(folder: Path) -> SiteTemplate:
    """Load and check one template folder."""
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise TemplateError(f"{folder.name}: missing {', '.join(missing)}")
    if not NAME_RE.match(folder.name):
        raise TemplateError(f"{folder.name}: folder name must be lower_snake_case")
    try:
        manifest = tomllib.loads((folder / "template.toml").read_text("utf-8"))
        schema = json.loads((folder / "schema.json").read_text("utf-8"))
        example = json.loads((folder / "example.json").read_text("utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise TemplateError(f"{folder.name}: {exc}") from exc
    for key in ("title", "description", "version"):
        if not isinstance(manifest.get(key), str):
            raise TemplateError(f"{folder.name}: template.toml needs a string '{key}'")
    problems = check_strict_schema(schema)
    if problems:
        raise TemplateError(f"{folder.name}: schema.json: " + "; ".join(problems))
    return SiteTemplate(
        name=folder.name,
        title=manifest["title"],
        description=manifest["description"],
        version=manifest["version"],
        categories=tuple(manifest.get("categories", [])),
        schema=schema,
        guidance=(folder / "prompt.md").read_text("utf-8"),
        example=example,
        folder=folder,
        data_refs=tuple(find_data_refs(schema)),
    )


class TemplateRegistry:
    """The vetted templates by name, in a stable order."""

    def __init__(self, templates: list[SiteTemplate]) -> None:
        self._by_name = {template.name: template for template in templates}

    def __iter__(self) -> Iterator[SiteTemplate]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> SiteTemplate | None:
        """Return the template called ``name``, or None."""
        return self._by_name.get(name)

    def names(self) -> list[str]:
        """Return every template name."""
        return list(self._by_name)


def load_registry(root: Path) -> TemplateRegistry:
    """Load every template folder under ``root``."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    return TemplateRegistry([load_template(folder) for folder in folders])
