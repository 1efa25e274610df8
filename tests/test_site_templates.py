"""The template contract: every folder under site_templates/ loads, validates and renders.

Adding a template is adding a folder; this test is what holds the folder to the contract.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from app.ingest import ingest
from app.render import PageContext, SiteRenderer
from app.site_template import (
    CHART_KEYS,
    TABLE_KEYS,
    SiteTemplate,
    TemplateError,
    load_registry,
    load_template,
)
from app.validation import iter_data_refs, validate_content

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "site_templates"
SAMPLES = REPO.parent / "shared" / "samples"
REGISTRY = load_registry(TEMPLATES)
CATEGORIES = {"customer", "finance", "legal", "security", "employee"}
VOID_TAGS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}

templates = pytest.mark.parametrize("template", list(REGISTRY), ids=REGISTRY.names())


def example_tables(template: SiteTemplate) -> dict[str, pd.DataFrame]:
    """Every table of the template's example files, by table name."""
    tables: dict[str, pd.DataFrame] = {}
    for path in sorted((template.folder / "example_files").iterdir()):
        for table in ingest(path.name, path.read_bytes()).tables:
            tables[table.name] = table.frame
    return tables


def page_context(site_name: str, *, offline: bool = False) -> PageContext:
    """A plausible page context for a rendered version."""
    return PageContext(
        site={
            "name": site_name,
            "owner_name": "Priya Raman",
            "owner_email": "priya@example.com",
            "department": "Sales",
            "expires_on": "2027-06-30",
            "data_source_note": "Example files",
            "purpose": "Contract test",
        },
        version={
            "number": 3,
            "created_at": "2026-11-24 09:30",
            "model": "test-model",
            "offline": offline,
            "author": "Priya Raman",
        },
        sources=[
            {
                "filename": "usage.csv",
                "kind": "table",
                "size_label": "1 KB",
                "sha256": "0" * 64,
                "uploader": "priya@example.com",
            }
        ],
    )


class PageChecker(HTMLParser):
    """Collects what the contract needs to know about a page: balance, ids, data paths."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.paths: list[str] = []
        self.figures: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        if values.get("data-path") is not None:
            self.paths.append(str(values["data-path"]))
        if values.get("data-figure"):
            self.figures.append(str(values["data-figure"]))
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '-'}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def check_page(html: str) -> PageChecker:
    """Parse a page and assert it is well formed with unique ids."""
    checker = PageChecker()
    checker.feed(html)
    checker.close()
    assert checker.problems == []
    assert checker.stack == [], f"unclosed tags: {checker.stack}"
    duplicates = {i for i in checker.ids if checker.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"
    return checker


def resolve(content: Any, pointer: str) -> Any:
    """Follow a JSON Pointer into content; KeyError/IndexError if it leads nowhere."""
    node = content
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


@templates
def test_manifest(template: SiteTemplate) -> None:
    assert template.title and template.description
    assert template.version == "1.0"
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
def test_example_validates(template: SiteTemplate) -> None:
    tables = example_tables(template)
    columns = {name: list(frame.columns) for name, frame in tables.items()}
    assert validate_content(template, template.example, columns) == []


@templates
def test_example_uses_the_data(template: SiteTemplate) -> None:
    refs = list(iter_data_refs(template.example, template.data_refs))
    assert refs, "the example shows the uploaded data through chart or table references"


@templates
def test_example_renders(template: SiteTemplate) -> None:
    renderer = SiteRenderer(TEMPLATES)
    content = template.example
    html = renderer.render(
        template, content, page_context("Contract test site"), example_tables(template)
    )
    assert "Contract test site" in html
    assert "{{" not in html and "{%" not in html
    page = check_page(html)
    charts = [
        ref for kind, _, ref in iter_data_refs(content, template.data_refs) if kind == "chart"
    ]
    assert len(page.figures) == len(charts)
    assert html.count("data-figure=") == len(charts)
    for pointer in page.paths:
        resolve(content, pointer)  # every comment anchor points into the content
    for name in ("main", "header", "aside", "footer"):
        assert html.count(f"<{name}") == html.count(f"</{name}>") == 1


@templates
def test_offline_banner(template: SiteTemplate) -> None:
    html = SiteRenderer(TEMPLATES).render(
        template, template.example, page_context("Offline", offline=True), example_tables(template)
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
        template, content, page_context("Poisoned"), example_tables(template)
    )
    check_page(html)
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


def copy_template(tmp_path: Path, name: str = "customer_review") -> Path:
    folder = tmp_path / "broken_template"
    shutil.copytree(TEMPLATES / name, folder, ignore=shutil.ignore_patterns("example_files"))
    return folder


def edit_schema(folder: Path, change: Any) -> None:
    schema = json.loads((folder / "schema.json").read_text("utf-8"))
    change(schema)
    (folder / "schema.json").write_text(json.dumps(schema), "utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["properties"]["account"].pop("additionalProperties"), "additionalProperties"),
        (lambda s: s["required"].remove("risks"), "every property must be required"),
        (lambda s: s["properties"]["summary"].pop("description"), "needs a description"),
        (
            lambda s: s["properties"]["account"]["properties"]["name"].update(pattern="^A"),
            "'pattern' is not allowed",
        ),
        (
            lambda s: s["properties"].update(
                extra={"$ref": "#/properties/account", "description": "x"}
            ),
            "'$ref'",
        ),
    ],
    ids=["open-object", "optional-property", "undescribed", "pattern", "ref"],
)
def test_broken_schema_is_rejected(tmp_path: Path, change: Any, message: str) -> None:
    folder = copy_template(tmp_path)
    edit_schema(folder, change)
    with pytest.raises(TemplateError, match="broken_template") as caught:
        load_template(folder)
    assert message in str(caught.value)


def test_missing_file_and_bad_json_are_rejected(tmp_path: Path) -> None:
    folder = copy_template(tmp_path)
    (folder / "prompt.md").unlink()
    with pytest.raises(TemplateError, match="missing prompt.md"):
        load_template(folder)
    folder = copy_template(tmp_path / "again")
    (folder / "schema.json").write_text("{not json", "utf-8")
    with pytest.raises(TemplateError, match="broken_template"):
        load_template(folder)


def test_registry_rejects_a_broken_folder(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    root.mkdir()
    folder = copy_template(root)
    edit_schema(folder, lambda s: s.pop("additionalProperties"))
    with pytest.raises(TemplateError, match="additionalProperties"):
        load_registry(root)
