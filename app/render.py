"""Render validated content through a vetted template into one self-contained HTML page.

Everything the model wrote reaches the page escaped (Jinja2 autoescape) or, for Markdown fields,
rendered and then sanitised with an allow-list. Charts are JSON data drawn by a static script.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown as markdown_lib
import nh3
import pandas as pd
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from app.charts import TableView, build_figure, build_table, plain
from app.site_template import SiteTemplate
from app.validation import iter_data_refs

FRAME_DIR = Path(__file__).parent / "templates" / "site"
BANNER_SLOT = "<!--sitewright:banners-->"

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "s",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "sup",
    "sub",
}


def render_markdown(text: str | None) -> Markup:
    """Render Markdown and keep only allow-listed tags, attributes and URL schemes."""
    if not text:
        return Markup("")
    html = markdown_lib.markdown(text, extensions=["tables", "sane_lists"])
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 above


def _json_for_script(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' characters."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass
class PageContext:
    """What the shared site frame shows around the template's content."""

    site: Mapping[str, Any]
    version: Mapping[str, Any]
    sources: list[Mapping[str, Any]] = field(default_factory=list)


class SiteRenderer:
    """Renders site pages; one per application, templates cached by Jinja2."""

    def __init__(self, templates_root: Path) -> None:
        self.env = Environment(
            loader=ChoiceLoader(
                [FileSystemLoader(str(FRAME_DIR)), FileSystemLoader(str(templates_root))]
            ),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["md"] = render_markdown

    def render(
        self,
        template: SiteTemplate,
        content: Mapping[str, Any],
        context: PageContext,
        tables: Mapping[str, pd.DataFrame],
    ) -> str:
        """Return the full HTML page for one version of a site."""
        figures: dict[int, tuple[str, dict[str, Any]]] = {}
        table_views: dict[int, TableView] = {}
        for kind, pointer, ref in iter_data_refs(content, template.data_refs):
            frame = tables[ref["source"]]
            if kind == "chart":
                figures[id(ref)] = (pointer, build_figure(ref, frame))
            else:
                table_views[id(ref)] = build_table(ref, frame)

        def chart(ref: Mapping[str, Any]) -> Markup:
            pointer, figure = figures[id(ref)]
            element_id = "fig" + pointer.replace("/", "-")
            return Markup(  # noqa: S704 - ids come from our own pointers; data is JSON-escaped
                f'<script type="application/json" id="{element_id}">'
                f"{_json_for_script(figure)}</script>"
                f'<div class="plot" data-figure="{element_id}" role="img" '
                f'aria-label="{Markup.escape(plain(ref.get("title") or "Chart"))}"></div>'
            )

        def table(ref: Mapping[str, Any]) -> Markup:
            view = table_views[id(ref)]
            html = self.env.get_template("_table.html.j2").render(table=view)
            return Markup(html)  # noqa: S704 - rendered by an autoescaping template

        page = self.env.get_template(f"{template.name}/page.html.j2")
        return page.render(
            content=content,
            site=context.site,
            version=context.version,
            sources=context.sources,
            template=template,
            chart=chart,
            table=table,
            has_charts=bool(figures),
            banner_slot=Markup(BANNER_SLOT),  # noqa: S704 - a constant HTML comment
        )
