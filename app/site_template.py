"""The registry of vetted site templates: one folder each under ``site_templates/``.

A template folder holds data only: ``template.toml`` (manifest), ``schema.json`` (the content
contract), ``page.html.j2`` (layout), ``prompt.md`` (guidance for the model) and ``example.json``.
Adding a template is adding a folder; :func:`load_registry` finds it.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.llm.base import TemplateSpec
from app.template_layout import layout_problems
from app.template_rules import Problem, file_problems, manifest_problems, schema_problems

log = logging.getLogger(__name__)

CHART_KEYS = frozenset({"title", "source", "kind", "x", "y", "aggregate"})
TABLE_KEYS = frozenset({"title", "source", "columns", "max_rows"})


class TemplateError(ValueError):
    """A template folder breaks the contract; the message names the folder and every problem."""

    def __init__(self, folder_name: str, problems: Sequence[Problem]) -> None:
        self.folder_name = folder_name
        self.problems = list(problems)
        super().__init__(f"{folder_name}: " + "; ".join(map(str, self.problems)))


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
    # True when the page counts days from the day it is rendered (countdowns, "overdue"): the
    # sweep renders its published page again each day.
    dated: bool = False

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


def read_template(folder: Path) -> tuple[SiteTemplate | None, list[Problem]]:
    """Read a template folder and list what is wrong with it, short of rendering its example.

    Returns the template when its files could be read and its schema is sound (even with other
    problems), so the full check can go on to validate and render the example; see
    :mod:`app.template_check`.
    """
    if not folder.is_dir():
        return None, [Problem(str(folder), "", "does not exist or is not a folder")]
    problems = file_problems({path.name for path in folder.iterdir() if path.is_file()})
    manifest = _read(folder / "template.toml", tomllib.loads, problems)
    schema = _read(folder / "schema.json", json.loads, problems)
    example = _read(folder / "example.json", json.loads, problems)
    page = _read(folder / "page.html.j2", str, problems)
    guidance = _read(folder / "prompt.md", str, problems)
    if isinstance(manifest, dict):
        problems.extend(manifest_problems(manifest, folder.name))
    if schema is not None:
        problems.extend(schema_problems(schema))
    if isinstance(page, str) and isinstance(schema, dict):
        problems.extend(layout_problems(page, schema))
    if isinstance(guidance, str) and not guidance.strip():
        problems.append(Problem("prompt.md", "", "is empty; write the guidance the model reads"))
    if example is not None and not isinstance(example, dict):
        problems.append(Problem("example.json", "", "must hold one JSON object: the content"))
    sound_schema = isinstance(schema, dict) and all(p.file != "schema.json" for p in problems)
    if not (isinstance(manifest, dict) and sound_schema and isinstance(example, dict)):
        return None, problems  # the example cannot be checked against a broken schema
    template = SiteTemplate(
        name=folder.name,
        title=str(manifest.get("title", "")),
        description=str(manifest.get("description", "")),
        version=str(manifest.get("version", "")),
        categories=tuple(manifest.get("categories") or ()),
        schema=schema,
        guidance=guidance or "",
        example=example,
        folder=folder,
        data_refs=tuple(find_data_refs(schema)),
        dated=manifest.get("dated") is True,
    )
    return template, problems


def _read(path: Path, parse: Callable[[str], Any], problems: list[Problem]) -> Any:
    """Return the parsed file, or None (missing: already listed; unreadable: listed here)."""
    if not path.is_file():
        return None
    try:
        return parse(path.read_text("utf-8"))
    except UnicodeDecodeError:
        problems.append(Problem(path.name, "", "is not UTF-8 text; save it as UTF-8"))
    except json.JSONDecodeError as exc:
        problems.append(Problem(path.name, f"line {exc.lineno}", f"is not valid JSON: {exc.msg}"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(path.name, "", f"is not valid TOML: {exc}"))
    return None


def load_template(folder: Path) -> SiteTemplate:
    """Load one template folder.

    :raise TemplateError: the folder breaks the contract; it lists every problem found.
    """
    template, problems = read_template(folder)
    if problems or template is None:
        raise TemplateError(folder.name, problems)
    return template


class TemplateRegistry:
    """The vetted templates by name, in a stable order."""

    def __init__(
        self, templates: list[SiteTemplate], skipped: dict[str, list[Problem]] | None = None
    ) -> None:
        self._by_name = {template.name: template for template in templates}
        self.skipped = skipped or {}  # broken folders left out at start-up, with their problems

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
    """Load every template folder under ``root``; log and leave out the broken ones.

    Leaving a broken folder out, rather than refusing to start, is what an admin wants: pages are
    rendered once per version, so every site (those made from that template too) is still
    served, and only new drafts from the broken template are refused with "ask an admin".
    The log names each problem as ``sitewright templates check`` does, so whoever added or
    edited the folder can fix it and restart.

    :raise TemplateError: no folder holds a usable template (nothing could be made).
    """
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    templates, skipped = [], {}
    for folder in folders:
        template, problems = read_template(folder)
        if template is not None and not problems:
            templates.append(template)
            continue
        skipped[folder.name] = problems
        log.error(
            "template %s is broken and was not loaded (fix it, check it with "
            "`sitewright templates check %s`, restart):\n  %s",
            folder.name,
            folder,
            "\n  ".join(map(str, problems)),
        )
    if not templates:
        raise TemplateError(root.name, [Problem(str(root), "", "holds no usable template")])
    return TemplateRegistry(templates, skipped)
