"""Every template's page, made from the sample files, at desktop and phone width in Chromium.

No console errors, every chart drawn with an accessible name and a text alternative, no
sideways scrolling on a phone, headings without skipped levels, a skip link for keyboards, and a
print view without the tools banner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import expect

from tests.conftest import wait_for_jobs
from tests.factories import SAMPLE_FILES, browser_sign_in, create_site_api

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
ALL_DRAWN = """() => [...document.querySelectorAll('.plot')].every(
    p => p.dataset.drawn === 'true' && p.querySelector('svg.main-svg'))"""
HEADING_LEVELS = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(
    h => [Number(h.tagName[1]), h.textContent.trim()])"""
# aria-describedby is a list of ids: the description is their text, in order.
CHARTS = """() => [...document.querySelectorAll('.plot')].map(p => {
    const ids = (p.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
    const description = ids.map(id => document.getElementById(id))
        .filter(Boolean).map(el => el.textContent.trim()).join(' ').trim();
    return {role: p.getAttribute('role'), name: (p.getAttribute('aria-label') || '').trim(),
            description};
})"""


def published_site(app: Flask, client: FlaskClient, token: str, samples: Path, name: str) -> str:
    """Make a site from the template's sample files (offline drafter), publish it, return URL."""
    made = create_site_api(client, token, samples, name)
    assert made.status_code == 202, made.get_data(as_text=True)
    wait_for_jobs(app)
    site = made.get_json()["site"]
    job = client.get(
        f"/api/v1/jobs/{made.get_json()['job']['id']}",
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    assert job["status"] == "succeeded", job
    published = client.post(
        f"/api/v1/sites/{site['id']}/publish",
        json={"version": job["version"], "audience": "workspace"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert published.status_code == 200, published.get_data(as_text=True)
    return f"/s/{site['slug']}/"


def assert_headings_in_order(levels: list[list[Any]]) -> None:
    """One h1 first; after it no heading goes more than one level deeper than the one before."""
    assert levels and levels[0][0] == 1, levels
    assert [level for level, _ in levels].count(1) == 1, levels
    for (before, _), (level, text) in zip(levels, levels[1:], strict=False):
        assert level <= before + 1, f"h{before} is followed by h{level} {text!r}"


@pytest.mark.parametrize("template", sorted(SAMPLE_FILES))
def test_template_page_at_desktop_and_phone_width(
    app: Flask,
    client: FlaskClient,
    make_token: Any,
    live_server: str,
    page: Any,
    samples_dir: Path,
    template: str,
) -> None:
    url = published_site(app, client, make_token("owner@example.com"), samples_dir, template)
    browser_sign_in(page, live_server, "colleague@example.com", "Colleague")

    for width, (w, h) in WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.goto(live_server + url)
        page.wait_for_function(ALL_DRAWN, timeout=30_000)
        where = f"{template} at {width} width"

        charts = page.evaluate(CHARTS)
        if template != "launch_hub":  # the samples give these templates tables to chart
            assert charts, f"{where}: no charts"
        for chart in charts:
            assert chart["role"] == "img" and chart["name"], f"{where}: unnamed chart {chart}"
            # The text alternative: a description linked with aria-describedby, or a name that
            # says what the chart shows after its title ("Milestones. Timeline of 6 items: ...").
            said = chart["description"] or chart["name"].partition(". ")[2]
            assert said, f"{where}: chart {chart['name']!r} has no text alternative"

        assert_headings_in_order(page.evaluate(HEADING_LEVELS))
        expect(page.locator(".site-status .badge")).to_have_text("Published")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{where}: the page scrolls sideways by {overflow}px"
        assert page.errors == [], f"{where}: {page.errors}"

    # The first Tab shows the skip link; following it puts the keyboard on the content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()

    expect(page.locator(".banner-tools")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".banner-tools")).to_be_hidden()
    expect(page.locator(".toc")).to_be_hidden()
    expect(page.locator(".site-header h1")).to_be_visible()
    page.emulate_media(media="screen")
    assert page.errors == []
