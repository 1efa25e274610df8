"""In headless Chromium: share with a group after seeing who gains access, then revoke."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.factories import SAMPLE_FILES
from tests.factories import browser_sign_in as sign_in

pytestmark = pytest.mark.browser


def test_share_with_a_group_then_revoke(live_server: str, browser: Any, samples_dir: Path) -> None:
    """Owner shares with the group "sales" and revokes; a member and an outsider try the page."""
    try:
        run_scenario(browser, live_server, samples_dir)
    finally:
        for context in browser.contexts:
            context.close()


def run_scenario(browser: Any, base: str, samples_dir: Path) -> None:
    errors: list[str] = []
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    member = browser.new_context().new_page()
    sign_in(member, base, "sam@example.com", "Sam Seller", "sales")
    outsider = browser.new_context().new_page()
    sign_in(outsider, base, "olga@example.com", "Olga Ops", "ops")

    sign_in(page, base, "builder@example.com", "Builder")
    page.click("text=New site")
    page.check("input[name=template][value=launch_hub]")
    page.fill("#prompt", "Launch hub for Atlas Reports 2.0.")
    page.set_input_files(
        "#files", [str(samples_dir / "launch_hub" / n) for n in SAMPLE_FILES["launch_hub"]]
    )
    page.fill("#name", "Atlas launch")
    page.click("button:has-text('Make the draft')")
    page.wait_for_selector("#job-done:not([hidden])", timeout=60_000)
    page.click("text=Publish…")
    # The files suggest categories; the owner decides none applies here.
    for box in page.locator("#gov-confirm ~ form input[name=categories]").all():
        box.uncheck()
    page.click("button:has-text('Confirm categories')")
    page.wait_for_selector("text=No review needed")
    page.click("button.primary:text-is('Publish')")
    page.wait_for_selector("text=is published at")
    site_url = page.locator("dd code").inner_text()

    page.click("text=Share…")
    page.check("input[name=choice][value=named]")
    page.fill("#viewer_groups", "sales")
    page.click("button:has-text('Review who gains access')")
    page.wait_for_selector("text=1 person gains access")
    assert page.locator(".gov-people").first.inner_text().startswith("Sam Seller")
    assert member.goto(site_url).status == 404  # nothing changes before confirming
    page.click("button:has-text('Confirm sharing')")
    page.wait_for_selector("text=Sharing saved: 1 gained access")

    assert member.goto(site_url).status == 200
    assert member.locator("h1").inner_text() == "Atlas launch"
    assert outsider.goto(site_url).status == 404

    page.click("text=Share…")
    page.check("input[name=choice][value=owner]")
    page.click("button:has-text('Review who gains access')")
    page.wait_for_selector("text=1 person loses access")
    page.click("button:has-text('Confirm sharing')")
    page.wait_for_selector("text=1 lost access")
    assert member.goto(site_url).status == 404  # the very next request
    assert errors == []
