"""The template contract: every folder under site_templates/ loads, validates and renders.

Adding a template is adding a folder; this test is what holds the folder to the contract. The
checks themselves live in app/template_check.py, which ``sitewright templates check`` runs too;
tests/test_template_check.py shows that each rule catches a broken folder.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from app.render import SiteRenderer
from app.site_template import CHART_KEYS, TABLE_KEYS, SiteTemplate, load_registry
from app.template_check import check_template, example_context, example_tables, page_problems
from app.validation import iter_data_refs

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "site_templates"
SAMPLES = REPO.parent / "shared" / "samples"
REGISTRY = load_registry(TEMPLATES)
CATEGORIES = {"customer", "finance", "legal", "security", "employee"}

templates = pytest.mark.parametrize("template", list(REGISTRY), ids=REGISTRY.names())


def test_every_folder_loaded() -> None:
    folders = {p.name for p in TEMPLATES.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert set(REGISTRY.names()) == folders, REGISTRY.skipped


@templates
def test_passes_the_template_check(template: SiteTemplate) -> None:
    assert [str(problem) for problem in check_template(template.folder)] == []


@templates
def test_manifest(template: SiteTemplate) -> None:
    assert template.title and template.description
    assert re.fullmatch(r"[0-9]+\.[0-9]+", template.version), template.version
    assert set(template.categories) <= CATEGORIES
    assert template.guidance.strip(), "prompt.md must guide the model"


@templates
def test_example_files_are_the_samples(template: SiteTemplate) -> None:
    files = sorted(p.name for p in (template.folder / "example_files").iterdir())
    assert files, "a template ships the example files its example.json was written for"
    samples = SAMPLES / template.name
    if not samples.is_dir():
        pytest.skip(f"shared samples not found at {samples}")
    for name in files:
        assert (template.folder / "example_files" / name).read_bytes() == (
            samples / name
        ).read_bytes(), f"{name} differs from the shared sample"


@templates
def test_date_fields_say_their_format(template: SiteTemplate) -> None:
    def walk(node: dict[str, Any], where: str) -> None:
        for name, sub in node.get("properties", {}).items():
            if name.endswith("date") or name == "date":
                assert "YYYY-MM-DD" in sub["description"], f"{where}/{name}"
            walk(sub, f"{where}/{name}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{where}/*")

    walk(template.schema, "")


@templates
def test_example_uses_the_data(template: SiteTemplate) -> None:
    refs = list(iter_data_refs(template.example, template.data_refs))
    assert refs, "the example shows the uploaded data through chart or table references"


@templates
def test_offline_banner(template: SiteTemplate) -> None:
    html = SiteRenderer(TEMPLATES).render(
        template, template.example, example_context(offline=True), example_tables(template)
    )
    assert "Drafted without an AI model" in html


PAYLOAD = (
    '<script>alert(1)</script><img src=x onerror="alert(2)"> '
    "[click](javascript:alert(3)) \"quoted\" 'single' {{ 7*7 }}"
)


def poison(schema: dict[str, Any], value: Any) -> Any:
    """Replace every free-text string (dates too) with the payload; keep data references."""
    if isinstance(value, dict):
        props = schema.get("properties", {})
        if set(props) in (CHART_KEYS, TABLE_KEYS):
            return {**value, "title": PAYLOAD}
        return {key: poison(props.get(key, {}), item) for key, item in value.items()}
    if isinstance(value, list):
        return [poison(schema.get("items", {}), item) for item in value]
    if isinstance(value, str) and "enum" not in schema:
        return PAYLOAD
    return value


class Attributes(HTMLParser):
    """Every start tag and its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@templates
def test_every_string_is_escaped(template: SiteTemplate) -> None:
    content = poison(template.schema, template.example)
    html = SiteRenderer(TEMPLATES).render(
        template, content, example_context("Poisoned"), example_tables(template)
    )
    assert [str(problem) for problem in page_problems(html, template, content)] == []
    parser = Attributes()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert not (attrs.get("href") or "").lower().startswith("javascript:"), attrs
        if tag == "script":
            assert attrs.get("type") == "application/json" or (attrs.get("src") or "").startswith(
                "/static/"
            ), attrs
        assert tag != "img"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # plain text: shown, escaped
    assert "{{ 7*7 }}" in html  # content is data, never evaluated as a template
