"""Rendering: Markdown is sanitised, plain text escaped, chart JSON and table cells inert."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from app.render import PageContext, SiteRenderer, render_markdown
from app.site_template import SiteTemplate, load_template

ATTACK = "<script>alert(1)</script>"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["headline", "notes", "trend", "rows"],
    "properties": {
        "headline": {"type": "string", "description": "A plain-text headline."},
        "notes": {"type": "string", "description": "Notes in Markdown."},
        "trend": {
            "type": "object",
            "description": "A chart.",
            "additionalProperties": False,
            "required": ["title", "source", "kind", "x", "y", "aggregate"],
            "properties": {
                "title": {"type": "string", "description": "Title."},
                "source": {"type": "string", "description": "Table."},
                "kind": {
                    "type": "string",
                    "enum": ["line", "bar", "scatter"],
                    "description": "Kind.",
                },
                "x": {"type": "string", "description": "X column."},
                "y": {
                    "type": "array",
                    "items": {"type": "string", "description": "Column."},
                    "description": "Y columns.",
                },
                "aggregate": {
                    "type": "string",
                    "enum": ["none", "sum", "mean", "count"],
                    "description": "Aggregate.",
                },
            },
        },
        "rows": {
            "type": "object",
            "description": "A table.",
            "additionalProperties": False,
            "required": ["title", "source", "columns", "max_rows"],
            "properties": {
                "title": {"type": "string", "description": "Title."},
                "source": {"type": "string", "description": "Table."},
                "columns": {
                    "type": "array",
                    "items": {"type": "string", "description": "C."},
                    "description": "Columns.",
                },
                "max_rows": {"type": "integer", "description": "Rows."},
            },
        },
    },
}
PAGE = """{% extends "site_frame.html.j2" %}{% block content %}
<section id="s" data-path="/headline"><h2>{{ content.headline }}</h2>
<div data-path="/notes">{{ content.notes|md }}</div>
{{ chart(content.trend) }}{{ table(content.rows) }}</section>{% endblock %}
"""


@pytest.fixture
def probe(tmp_path: Path) -> SiteTemplate:
    """A small template with a text field, a Markdown field, a chart and a table."""
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "template.toml").write_text(
        'name = "probe"\ntitle = "Probe"\ndescription = "Render probe"\nversion = "1.0"\n'
        "categories = []\n",
        "utf-8",
    )
    (folder / "schema.json").write_text(json.dumps(SCHEMA), "utf-8")
    (folder / "page.html.j2").write_text(PAGE, "utf-8")
    (folder / "prompt.md").write_text("Probe.", "utf-8")
    (folder / "example.json").write_text("{}", "utf-8")
    return load_template(folder)


def render(template: SiteTemplate, content: dict[str, Any], frame: pd.DataFrame) -> str:
    context = PageContext(
        site={
            "name": "Probe site",
            "owner_name": "Ann",
            "owner_email": "",
            "department": "",
            "expires_on": "2027-01-01",
            "data_source_note": "",
            "purpose": "",
        },
        version={
            "number": 1,
            "created_at": "2026-11-24",
            "model": "m",
            "offline": False,
            "author": "Ann",
        },
    )
    return SiteRenderer(template.folder.parent).render(
        template, content, context, {"data.csv": frame}
    )


def content_with(**changes: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "headline": "Quarter in review",
        "notes": "Fine.",
        "trend": {
            "title": "Trend",
            "source": "data.csv",
            "kind": "bar",
            "x": "label",
            "y": ["value"],
            "aggregate": "none",
        },
        "rows": {
            "title": "Rows",
            "source": "data.csv",
            "columns": ["label", "value"],
            "max_rows": 10,
        },
    }
    content.update(changes)
    return content


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def assert_inert(html: str) -> None:
    """Only our own scripts, no event handler attributes, no javascript: URLs."""
    tags = parse(html)
    for tag, attrs in tags.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:")
        if tag == "script":
            assert attrs.get("type") == "application/json" or (attrs.get("src") or "").startswith(
                "/static/"
            ), attrs
        assert tag not in {"img", "iframe", "object", "embed", "form"}, tag


def test_markdown_removes_active_content() -> None:
    html = str(
        render_markdown(
            f'Hello {ATTACK}\n\n<img src=x onerror="alert(2)">\n\n[click](javascript:alert(3)) '
            "[ok](https://example.com/x)"
        )
    )
    assert "<script" not in html and "alert(1)" not in html
    assert "onerror" not in html and "<img" not in html
    assert "javascript:" not in html
    assert 'href="https://example.com/x"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_markdown_keeps_structure() -> None:
    html = str(
        render_markdown(
            "**Bold** and *em*\n\n- one\n- two\n\n1. first\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
        )
    )
    for tag in ("<strong>", "<em>", "<ul>", "<li>", "<ol>", "<table>", "<th>", "<td>"):
        assert tag in html
    assert str(render_markdown(None)) == "" and str(render_markdown("")) == ""


def test_markdown_drops_disallowed_tags_but_keeps_text() -> None:
    html = str(
        render_markdown('# Title\n\n<div style="x">text</div> <a href="/x" onclick="y">l</a>')
    )
    assert "<h1" not in html and "<div" not in html and "style=" not in html
    assert "onclick" not in html and "Title" in html and "text" in html


def test_page_escapes_text_and_sanitises_markdown(probe: SiteTemplate) -> None:
    frame = pd.DataFrame({"label": ["a", "b"], "value": [1, 2]})
    html = render(
        probe,
        content_with(headline=f"Q4 {ATTACK}", notes=f"Note {ATTACK} [x](javascript:alert(1))"),
        frame,
    )
    assert "Q4 &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_inert(html)


def test_chart_json_has_no_raw_markup(probe: SiteTemplate) -> None:
    frame = pd.DataFrame(
        {"label": [ATTACK, "</script><script>alert(2)</script>", "b & c"], "value": [1, 2, 3]}
    )
    trend = {
        "title": f"Trend {ATTACK}",
        "source": "data.csv",
        "kind": "bar",
        "x": "label",
        "y": ["value"],
        "aggregate": "none",
    }
    html = render(probe, content_with(trend=trend), frame)
    blocks = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    assert "<" not in blocks[0] and ">" not in blocks[0]
    figure = json.loads(blocks[0])  # still valid JSON, drawable by site.js
    assert figure["data"][0]["y"] == [1.0, 2.0, 3.0]
    assert "script" not in json.dumps(figure["layout"]["title"]).lower().replace("\\u003c", "")
    assert_inert(html)


def test_table_cells_are_escaped(probe: SiteTemplate) -> None:
    frame = pd.DataFrame({"label": [ATTACK, '=HYPERLINK("http://evil.example")'], "value": [1, 2]})
    html = render(probe, content_with(), frame)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_inert(html)
    header = parse(html).tags
    assert ("th", {"scope": "col"}) in header


def test_table_respects_max_rows(probe: SiteTemplate) -> None:
    frame = pd.DataFrame({"label": [f"row {i}" for i in range(30)], "value": range(30)})
    rows = content_with()["rows"] | {"max_rows": 5}
    html = render(probe, content_with(rows=rows), frame)
    assert "<td>row 4</td>" in html and "<td>row 5</td>" not in html
    assert "first 5 of 30 rows" in html
