"""Render validated content through a vetted template into one self-contained HTML page.

Everything the model wrote reaches the page escaped (Jinja2 autoescape) or, for Markdown fields,
rendered and then sanitised with an allow-list. Charts are JSON data drawn by a static script.

Page templates get, besides the content: ``chart(ref)`` and ``chart_numbers(ref)`` (a chart
reference's figure and the table of its numbers), ``table(ref)`` and ``table_view(ref)`` (a table
reference as markup, or its rows for a layout of the template's own), ``timeline(items, path,
title, marks)`` (a figure of dated content items), ``today`` (the date the page is rendered,
which overdue marks and countdowns are computed against) and the filters ``md``, ``as_date``
and ``long_date``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown as markdown_lib
import nh3
import pandas as pd
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from app.chart_text import describe_figure
from app.charts import (
    ChartData,
    TableView,
    build_figure,
    build_table,
    chart_data,
    chart_table,
    plain,
)
from app.compute import template_compute
from app.dates import long_date, parse_day, utc_today
from app.site_assets import asset_url
from app.site_template import SiteTemplate
from app.timeline import build_timeline, summary
from app.validation import iter_data_refs

FRAME_DIR = Path(__file__).parent / "templates" / "site"
BANNER_SLOT = "<!--sitewright:banners-->"
STATUS_SLOT = "<!--sitewright:status-->"  # the status badge, filled per request like banners

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

    def __init__(self, templates_root: Path, today: Callable[[], dt.date] = utc_today) -> None:
        self.today = today  # the clock pages are rendered against (a fixed one in tests)
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
        self.env.filters["as_date"] = parse_day
        self.env.filters["long_date"] = long_date
        self.env.globals["asset"] = asset_url
        self.env.globals["status_slot"] = Markup(STATUS_SLOT)  # noqa: S704 - a constant comment

    def render(
        self,
        template: SiteTemplate,
        content: Mapping[str, Any],
        context: PageContext,
        tables: Mapping[str, pd.DataFrame],
        files: Mapping[str, bytes] | None = None,
        *,
        verify: bool = True,
    ) -> str:
        """Return the full HTML page for one version of a site.

        A template registered in :mod:`app.compute` also gets ``computed``: what its computation
        derived from ``tables`` and ``files`` (uploaded workbooks by name). ``verify`` is false
        when rendering a version again: its computation's second opinions ran when it was made.

        :raise ComputeError: the template's computation refuses the content.
        """
        today = self.today()
        charts: dict[int, tuple[str, ChartData]] = {}
        table_views: dict[int, TableView] = {}
        for kind, pointer, ref in iter_data_refs(content, template.data_refs):
            frame = tables[ref["source"]]
            if kind == "chart":
                charts[id(ref)] = (pointer, chart_data(ref, frame))
            else:
                table_views[id(ref)] = build_table(ref, frame)
        drawn: list[str] = []  # the figures placed so far; the frame loads plotly if any
        placed_tables: list[str] = []  # ids of the table regions placed so far

        def next_id() -> str:
            placed_tables.append(f"table-{len(placed_tables) + 1}")
            return placed_tables[-1]

        def figure(
            element_id: str, data: dict[str, Any], label: str, description: str = ""
        ) -> Markup:
            # No plotly layout template: site.js lays its own over every figure (colours from
            # the stylesheet, light or dark); plotly's would only add kilobytes to each chart.
            drawn.append(element_id)
            described = f' aria-describedby="{element_id}-text"' if description else ""
            text = (
                f'<p class="visually-hidden" id="{element_id}-text">'
                f"{Markup.escape(description)}</p>"
                if description
                else ""
            )
            return Markup(  # noqa: S704 - ids come from our own pointers; data is JSON-escaped
                f'<script type="application/json" id="{element_id}">'
                f"{_json_for_script(data)}</script>"
                f'<div class="plot" data-figure="{element_id}" role="img" '
                f'aria-label="{Markup.escape(label)}"{described}></div>{text}'
            )

        def chart(ref: Mapping[str, Any]) -> Markup:
            pointer, data = charts[id(ref)]
            label = plain(ref.get("title") or "Chart")
            plotted = build_figure(ref, data)
            element_id = "fig" + pointer.replace("/", "-")
            return figure(element_id, plotted, label, describe_figure(plotted))

        def chart_numbers(ref: Mapping[str, Any]) -> Markup:
            view = chart_table(ref, charts[id(ref)][1])
            html = self.env.get_template("_table.html.j2").render(table=view, table_id=next_id())
            return Markup(html)  # noqa: S704 - rendered by an autoescaping template

        def table(ref: Mapping[str, Any]) -> Markup:
            view = table_views[id(ref)]
            html = self.env.get_template("_table.html.j2").render(table=view, table_id=next_id())
            return Markup(html)  # noqa: S704 - rendered by an autoescaping template

        def table_view(ref: Mapping[str, Any]) -> TableView:
            return table_views[id(ref)]

        def timeline(
            items: Sequence[Mapping[str, Any]],
            path: str,
            title: str = "",
            marks: Sequence[tuple[str, Any]] = (),
        ) -> Markup:
            data = build_timeline(items, today=today, title=title, marks=marks)
            element_id = "timeline" + re.sub(r"[^A-Za-z0-9_]+", "-", path)
            return figure(element_id, data, plain(title or "Timeline") + ". " + summary(items))

        computation = template_compute(template.name)
        computed = (
            computation.compute(content, tables, files or {}, verify=verify) if computation else {}
        )
        if computed.get("has_charts"):
            drawn.append("computed")  # figures of the template's own, drawn by its own script

        page = self.env.get_template(f"{template.name}/page.html.j2")
        return page.render(
            content=content,
            site=context.site,
            version=context.version,
            sources=context.sources,
            template=template,
            computed=computed,
            today=today,
            chart=chart,
            chart_numbers=chart_numbers,
            table=table,
            table_view=table_view,
            timeline=timeline,
            # A list, true once a figure is placed: the frame asks after the content block.
            has_charts=drawn,
            banner_slot=Markup(BANNER_SLOT),  # noqa: S704 - a constant HTML comment
        )
