"""The shared site frame: versioned assets, chart text alternatives, tables, the status slot."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.chart_text import describe_figure
from app.render import STATUS_SLOT, SiteRenderer
from app.site_assets import IMMUTABLE, asset_url, digest
from app.site_template import SiteTemplate, load_registry
from app.template_check import example_context, example_tables
from tests.conftest import Auth, wait_for_jobs
from tests.factories import create_site_api

TEMPLATES = Path(__file__).resolve().parents[1] / "site_templates"


@pytest.fixture(scope="module")
def customer_review() -> SiteTemplate:
    template = load_registry(TEMPLATES).get("customer_review")
    assert template is not None
    return template


@pytest.fixture(scope="module")
def page(customer_review: SiteTemplate) -> str:
    """The customer review example rendered through the real frame."""
    renderer = SiteRenderer(TEMPLATES)
    return renderer.render(
        customer_review,
        customer_review.example,
        example_context(),
        example_tables(customer_review),
    )


def test_assets_are_named_by_their_content(page: str) -> None:
    for path in ("/static/site.css", "/static/site.js", "/static/vendor/plotly.min.js"):
        assert re.fullmatch(r"[0-9a-f]{12}", digest(path))
        assert f'"{path}?v={digest(path)}"' in page, path
    assert re.findall(r'(?:src|href)="(/static/[^"]+)"', page) == [
        asset_url(p) for p in re.findall(r'(?:src|href)="(/static/[^"?]+)', page)
    ]


def test_frame_has_skip_link_status_slot_and_sources(page: str) -> None:
    assert '<a class="skip-link" href="#content">' in page and 'id="content"' in page
    assert page.count(STATUS_SLOT) == 1
    assert 'aria-labelledby="sources-heading"' in page and "usage.csv" in page
    assert page.count("<h1>") == 1


def test_every_chart_has_a_name_and_a_text_alternative(page: str) -> None:
    plots = re.findall(r'<div class="plot"([^>]*)>', page)
    assert plots
    for attributes in plots:
        assert 'role="img"' in attributes and re.search(r'aria-label="[^"]+"', attributes)
        described = re.search(r'aria-describedby="([^"]+)"', attributes)
        assert described, attributes
        text = re.search(rf'<p class="visually-hidden" id="{described[1]}">([^<]+)</p>', page)
        assert text and "highest" in text[1].lower(), attributes


def test_figures_leave_the_look_to_the_page(page: str) -> None:
    blocks = re.findall(r'<script type="application/json" id="fig[^"]*">(.*?)</script>', page)
    assert blocks
    for block in blocks:
        assert "template" not in json.loads(block)["layout"]


def test_numeric_columns_are_right_aligned_in_a_labelled_region(page: str) -> None:
    regions = re.findall(r'<div class="table-scroll" role="region" aria-labelledby="([^"]+)"', page)
    assert regions and len(set(regions)) == len(regions)  # one name each
    for name_id in regions:
        named = re.search(rf'id="{name_id}">([^<]+)<', page)
        assert named and named.group(1).strip(), name_id
    assert '<td class="num">' in page and '<th scope="col" class="num">' in page


def test_describe_figure_says_kind_series_and_range() -> None:
    figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "users",
                "x": ["Jan", "Feb", "Mar"],
                "y": [10.0, 30.0, 20.0],
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "seats",
                "x": ["Jan", "Feb", "Mar"],
                "y": [25.0, 25.0, None],
            },
        ],
        "layout": {"xaxis": {"title": {"text": "month"}}},
    }
    text = describe_figure(figure)
    assert text.startswith("Line chart of users, seats by month, 3 points from Jan to Mar.")
    assert "users: from 10 to 20, highest 30 (Feb), lowest 10 (Jan)." in text
    bars = describe_figure({"data": [{"type": "bar", "x": ["a", "b"], "y": [1200.5, 3.0]}]})
    assert bars == "Bar chart of values, 2 bars. Highest 1,200.5 (a), lowest 3 (b)."
    assert describe_figure({"data": []}) == "An empty chart."


def test_versioned_assets_are_cached_for_good(client: FlaskClient) -> None:
    for path in ("/static/site.css", "/static/site.js", "/static/vendor/plotly.min.js"):
        for url, immutable in ((asset_url(path), True), (f"{path}?v=000000000000", False)):
            response = client.get(url)
            assert response.status_code == 200, url
            assert (response.headers.get("Cache-Control") == IMMUTABLE) is immutable, url
            response.close()
        plain = client.get(path)
        assert "immutable" not in plain.headers.get("Cache-Control", "")
        plain.close()


def test_status_badge_is_filled_per_request(
    app: Flask, client: FlaskClient, auth: Auth, make_token: Any, samples_dir: Path
) -> None:
    token = make_token("builder@example.com")
    made = create_site_api(client, token, samples_dir, "launch_hub")
    assert made.status_code == 202
    wait_for_jobs(app)
    site = made.get_json()["site"]
    auth.login()
    draft = client.get(f"/s/{site['slug']}/v/1/").get_data(as_text=True)
    assert '<span class="badge badge-draft">Draft</span>' in draft and STATUS_SLOT not in draft
    published = client.post(
        f"/api/v1/sites/{site['id']}/publish",
        json={"version": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert published.status_code == 200
    page = client.get(f"/s/{site['slug']}/").get_data(as_text=True)
    assert '<span class="badge badge-published">Published</span>' in page
