"""In headless Chromium: annotate two elements of a published launch hub, apply them, read the
diff of the new draft and publish it; edit a field by hand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import expect

from tests.content.conftest import ScriptedModel, bearer, make_site, patch_reply, version_row
from tests.factories import browser_sign_in as sign_in

pytestmark = pytest.mark.browser

# Set SITEWRIGHT_SCREENSHOTS=<folder> to keep screenshots of each page for people to look at.
SHOTS = os.environ.get("SITEWRIGHT_SCREENSHOTS", "")


@pytest.fixture
def app(llm_app: Flask) -> Flask:
    """Applying comments needs the loopback model."""
    return llm_app


def shoot(tab: Any, name: str, full_page: bool = True) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)


def test_annotate_apply_diff_and_publish_in_the_browser(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    model: ScriptedModel,
    live_server: str,
    page: Any,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir, publish="workspace")
    flow(page, live_server, app, client, owner_token, site_id, model)


def flow(
    page: Any,
    base: str,
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    site_id: int,
    model: ScriptedModel,
) -> None:
    """Annotate, apply, diff, publish, then edit by hand."""
    sign_in(page, base, "owner@example.com", "Owner")
    page.goto(f"{base}/sites/{site_id}")
    shoot(page, "site-panel")
    page.click("text=Annotate")
    frame = page.frame_locator("#site-frame")
    frame.locator("[data-path='/risks/1/mitigation']").wait_for()
    # Annotate mode starts when the frame has loaded (plotly.js too: the milestone timeline).
    frame.locator("body.sw-annotating").wait_for()

    # Click an element in the page: the form is prefilled with its path and quote.
    frame.locator("[data-path='/milestones/1/name']").click()
    # The frame tells the page by message: wait for it rather than read at once.
    expect(page.locator("#comment-path")).to_have_value("/milestones/1/name")
    expect(page.locator("#comment-quote")).to_contain_text("Security review")
    page.fill("#comment-body", "Say that it waits on the pen-test slot.")
    page.click("button:has-text('Add comment')")
    page.wait_for_selector("#open-comments li:has-text('waits on the pen-test')")

    # Keyboard: choose the element from the list instead.
    page.focus("#comment-path")
    page.select_option("#comment-path", "/risks/1/mitigation")
    expect(frame.locator("[data-path='/risks/1/mitigation'].sw-chosen")).to_have_count(1)
    page.fill("#comment-body", "Name who mitigates it.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#open-comments li:has-text('Name who mitigates it.')")
    frame.locator("[data-path='/risks/1/risk']").hover()
    expect(frame.locator(".sw-hover")).to_have_count(1)
    shoot(page, "annotate")

    model.patches.append(
        patch_reply(
            ("replace", "/milestones/1/name", "Security review sign-off (waits on the pen test)"),
            ("replace", "/risks/1/mitigation", "Mei Chen checks with the translation vendor."),
        )
    )
    for box in page.locator("#open-comments input[type=checkbox]").all():
        box.check()
    page.click("button:has-text('Apply selected comments')")
    page.wait_for_selector("#job-done:not([hidden])", timeout=60_000)
    new = version_row(app, site_id, 2)
    assert sorted(new.changed_paths) == ["/milestones/1/name", "/risks/1/mitigation"]

    page.goto(f"{base}/sites/{site_id}/diff?from=1&to=2")
    expect(page.locator("li.change")).to_have_count(2)
    assert "waits on the pen test" in page.inner_text(".diff-body")
    shoot(page, "diff")
    page.click("button:has-text('Publish version 2')")
    page.wait_for_selector("text=is published at")
    site = client.get(f"/api/v1/sites/{site_id}", headers=bearer(owner_token)).get_json()
    assert site["published_version"] == 2

    page.goto(f"{base}/sites/{site_id}/annotate")
    assert page.locator("details.resolved-comments summary").inner_text() == "Resolved (2)"

    page.goto(f"{base}/sites/{site_id}/edit")
    page.fill("textarea[name='text:/launch_name']", "Atlas Reports 2.0 (GA)")
    shoot(page, "edit", full_page=False)
    page.click("button:has-text('Save as a new version')")
    page.wait_for_selector("text=Saved as version 3")
    page.goto(f"{base}/sites/{site_id}/history")
    shoot(page, "history")
    assert page.errors == []
