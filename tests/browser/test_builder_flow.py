"""A builder makes a customer review in the browser and a colleague sees its charts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import SAMPLE_FILES
from tests.factories import browser_sign_in as sign_in

pytestmark = pytest.mark.browser


def test_customer_review_from_samples_renders_charts(
    live_server: str, page: Any, browser: Any, samples_dir: Path, tmp_path: Path
) -> None:
    base = live_server
    sign_in(page, base, "builder@example.com", "Builder")
    page.click("text=New site")
    page.check("input[name=template][value=customer_review]")
    page.fill("#prompt", "Quarterly review for Northwind Logistics.")
    files = [
        str(samples_dir / "customer_review" / name) for name in SAMPLE_FILES["customer_review"]
    ]
    page.set_input_files("#files", files)
    # The files are checked in the page as they are chosen: wait for the four verdicts.
    expect(page.locator("#file-feedback li.file-ok")).to_have_count(4)
    expect(page.locator("#data_source_note")).to_have_value(re.compile("usage.csv"))  # prefilled
    page.fill("#name", "Northwind QBR")
    page.fill("#department", "Sales")
    page.click("button:has-text('Make the draft')")
    page.wait_for_selector("#job-done:not([hidden])", timeout=60_000)
    expect(page.locator("li.step.done")).to_have_count(4)
    page.click("text=Publish…")
    page.select_option("#audience", "workspace")
    page.click("button:has-text('Publish')")
    page.wait_for_selector("text=is published at")
    page.click("text=Open published site")
    page.wait_for_selector("div.plot[data-drawn=true] .main-svg", timeout=30_000)
    assert page.locator("h1").inner_text() == "Northwind QBR"
    page.screenshot(path=str(tmp_path / "published.png"), full_page=True)
    site_url = page.url
    assert page.errors == []

    colleague = browser.new_context().new_page()
    colleague.errors = []
    colleague.on(
        "console", lambda m: colleague.errors.append(m.text) if m.type == "error" else None
    )
    sign_in(colleague, base, "colleague@example.com", "Colleague")
    colleague.goto(site_url)
    colleague.wait_for_selector("div.plot[data-drawn=true] .main-svg", timeout=30_000)
    assert colleague.locator("div.plot[data-drawn=true]").count() >= 1
    assert colleague.errors == []
    colleague.context.close()
