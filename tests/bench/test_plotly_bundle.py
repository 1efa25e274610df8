"""The vendored plotly.js bundle registers every trace type Sitewright's charts draw.

The bundle is a partial one (see app/static/vendor/README.md): a chart of a trace type it lacks
would draw nothing. The trace types are read from the code that builds figures (``go.Bar(...)``
in Python, ``"type": "heatmap"`` in figure dicts and scripts) and from the figures the built-in
templates' example pages really carry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import plotly
import plotly.graph_objects as go
import pytest
from sqlalchemy import select

from app.demo import load_demo
from app.models import Site
from app.services import Deps
from app.site_assets import PLOTLY_JS, PLOTLY_URL, file_for

REPO = Path(__file__).resolve().parents[2]
FULL_BUNDLE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
REGISTERED = re.compile(rb'moduleType:"trace",name:"(\w+)"')
GO_TRACE = re.compile(r"\bgo\.([A-Z]\w*)\(")
TYPE_VALUE = re.compile(r"""["']?type["']?\s*[:=]\s*["'](\w+)["']""")
FIGURE_JSON = re.compile(r'<script type="application/json"[^>]*>(.*?)</script>', re.S)


def registered(bundle: Path) -> set[str]:
    """Return the trace types a plotly.js bundle registers."""
    return {name.decode() for name in REGISTERED.findall(bundle.read_bytes())}


def traces_in_code() -> set[str]:
    """Return every plotly trace type named in the app's Python modules and static scripts."""
    every = registered(FULL_BUNDLE)  # tells trace types from axis types ("category", "date")
    found: set[str] = set()
    for path in [*(REPO / "app").rglob("*.py"), *(REPO / "app" / "static").glob("*.js")]:
        text = path.read_text("utf-8")
        for cls in GO_TRACE.findall(text):
            trace = getattr(go, cls, None)
            if cls != "Figure" and trace is not None:
                found.add(trace().type)
        found.update(name for name in TYPE_VALUE.findall(text) if name in every)
    return found


def test_the_served_plotly_is_the_vendored_partial_bundle() -> None:
    assert file_for(PLOTLY_URL) == PLOTLY_JS
    assert PLOTLY_JS.is_relative_to(REPO / "app" / "static" / "vendor")
    assert PLOTLY_JS.stat().st_size < FULL_BUNDLE.stat().st_size / 2


def test_the_bundle_registers_every_trace_type_the_code_draws() -> None:
    needed = traces_in_code()
    assert {"bar", "scatter", "heatmap"} <= needed  # the scan still finds what it should
    assert needed - registered(PLOTLY_JS) == set()


def test_the_bundle_is_the_plotly_js_version_of_the_python_package() -> None:
    from plotly.offline import get_plotlyjs_version

    head = PLOTLY_JS.read_bytes()[:200].decode("utf-8", "replace")
    assert f"v{get_plotlyjs_version()}" in head


@pytest.mark.parametrize("template", ["customer_review", "scenario_planner", "launch_hub"])
def test_example_pages_draw_only_bundled_trace_types(deps: Deps, template: str) -> None:
    list(load_demo(deps))
    with deps.db.session() as session:
        site = session.scalars(select(Site).where(Site.template == template)).one()
        site_id, number = site.id, site.published_version
    assert number is not None
    page = deps.pages.read(site_id, number).decode("utf-8")
    types = set()
    for raw in FIGURE_JSON.findall(page):
        figure = json.loads(raw)
        for trace in figure.get("data", []) if isinstance(figure, dict) else []:
            types.add(trace.get("type", "scatter"))
    assert types, "the example page carries no figure"
    assert types - registered(PLOTLY_JS) == set()
