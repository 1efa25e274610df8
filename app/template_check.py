"""The whole template contract in one function: what ``sitewright templates check`` runs.

:func:`check_template` reads the folder like the registry does (files, template.toml, the schema
subset, described fields, layout fields, prompt.md; see :mod:`app.site_template`), then
validates example.json against the schema and the tables of ``example_files/``, renders it
through the real renderer and checks the page: well formed, unique ids, every comment anchor
(``data-path``) pointing into the content, one figure per chart, the frame's landmarks once.
The contract test (tests/test_site_templates.py) runs the same function on every built-in.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from app.ingest import IngestError, ingest
from app.render import PageContext, SiteRenderer
from app.site_template import SiteTemplate, read_template
from app.template_rules import Problem
from app.validation import iter_data_refs, validate_content

EXAMPLE_FILES = "example_files"
EXAMPLE_SITE = "Example site"
LANDMARKS = ("main", "header", "aside", "footer")
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
    | {"track", "wbr"}
)


def check_template(folder: Path) -> list[Problem]:
    """Return every problem of a template folder; an empty list means it passes."""
    template, problems = read_template(folder)
    if template is None:
        return problems
    try:
        tables = example_tables(template)
    except (OSError, IngestError) as exc:
        return [*problems, Problem(EXAMPLE_FILES, "", f"cannot be read: {exc}")]
    columns = {name: [str(c) for c in frame.columns] for name, frame in tables.items()}
    for error in validate_content(template, template.example, columns):
        where, _, message = error.removeprefix("at ").partition(": ")
        problems.append(
            Problem("example.json", where, f"{message or where} (fix the example to fit)")
        )
    if any(problem.file == "example.json" for problem in problems):
        return problems  # rendering content that does not validate tells nothing more
    return [*problems, *render_problems(template, tables)]


def example_tables(template: SiteTemplate) -> dict[str, pd.DataFrame]:
    """Every table of the template's example files (``example_files/``), by table name."""
    tables: dict[str, pd.DataFrame] = {}
    folder = template.folder / EXAMPLE_FILES
    if not folder.is_dir():
        return tables
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        for table in ingest(path.name, path.read_bytes()).tables:
            tables[table.name] = table.frame
    return tables


def example_workbooks(template: SiteTemplate) -> dict[str, bytes]:
    """The template's example workbooks by file name (templates that evaluate formulas)."""
    folder = template.folder / EXAMPLE_FILES
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.xlsx")) if p.is_file()}


def example_context(site_name: str = EXAMPLE_SITE, *, offline: bool = False) -> PageContext:
    """A plausible page context to render an example with."""
    return PageContext(
        site={
            "name": site_name,
            "owner_name": "Priya Raman",
            "owner_email": "priya@example.com",
            "department": "Sales",
            "expires_on": "2027-06-30",
            "data_source_note": "Example files",
            "purpose": "Template check",
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


def render_problems(template: SiteTemplate, tables: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """Render the example through the real renderer and check the page."""
    renderer = SiteRenderer(template.folder.parent)
    try:
        html = renderer.render(
            template, template.example, example_context(), tables, example_workbooks(template)
        )
    except Exception as exc:  # noqa: BLE001 - any failure is the template's problem to report
        return [
            Problem(
                "page.html.j2",
                _line_of(exc, f"{template.name}/page.html.j2"),
                f"rendering the example failed: {type(exc).__name__}: {exc}",
            )
        ]
    problems = page_problems(html, template, template.example)
    if EXAMPLE_SITE not in html:
        problems.append(Problem("page.html.j2", "", "hides the site's name: keep the frame"))
    if "{{" in html or "{%" in html:  # the example holds no braces: these come from the layout
        problems.append(Problem("page.html.j2", "", "leaves Jinja syntax in the page"))
    return problems


def _line_of(exc: BaseException, filename: str) -> str:
    """Return "line N" of the layout where rendering failed (Jinja keeps it in the traceback)."""
    line = getattr(exc, "lineno", None)
    tb: types.TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(filename):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"line {line}" if line else ""


def page_problems(html: str, template: SiteTemplate, content: Any) -> list[Problem]:
    """Check a rendered page: well formed, unique ids, anchors into the content, one figure
    per chart, the frame's landmarks once."""
    page = PageChecker()
    page.feed(html)
    page.close()

    def problem(message: str) -> Problem:
        return Problem("page.html.j2", "", message)

    problems = [problem(f"renders unbalanced HTML: {message}") for message in page.problems]
    if page.stack:
        problems.append(problem(f"leaves tags unclosed: {', '.join(page.stack)}"))
    duplicates = sorted({i for i in page.ids if page.ids.count(i) > 1})
    if duplicates:
        problems.append(problem(f"repeats element ids {duplicates}: make each id unique"))
    for pointer in dict.fromkeys(page.paths):
        if not _resolves(content, pointer):
            problems.append(
                problem(f'data-path="{pointer}" points nowhere in the content: fix the pointer')
            )
    charts = [r for kind, _, r in iter_data_refs(content, template.data_refs) if kind == "chart"]
    # Chart references are drawn as "fig-<pointer>"; figures drawn from content (a launch
    # hub's milestone timeline) have ids of their own and are not counted here.
    charted = [f for f in page.figures if f.startswith("fig-")]
    if len(charted) != len(charts):
        problems.append(
            problem(f"shows {len(charted)} figures for {len(charts)} charts: call chart()")
        )
    for name in LANDMARKS:
        if html.count(f"<{name}") != 1 or html.count(f"</{name}>") != 1:
            problems.append(problem(f"must keep the frame's one <{name}>: do not add another"))
    return problems


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


def _resolves(content: Any, pointer: str) -> bool:
    """Say whether a JSON Pointer leads to a value in the content."""
    node = content
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            return False
    return True
