"""Small builders for test data: sample uploads, example content, sites made through the UI/API."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import REPO, csrf_from

SAMPLE_FILES = {
    "customer_review": ["usage.csv", "tickets.csv", "qbr_notes.md", "contract_summary.pdf"],
    "scenario_planner": ["model.xlsx", "history.csv"],
    "launch_hub": ["launch_plan.md", "messaging.md", "decisions.csv"],
}


def example_content(template: str) -> dict[str, Any]:
    """Return a template's example content."""
    path = REPO / "site_templates" / template / "example.json"
    content: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return content


def sample_uploads(samples_dir: Path, template: str) -> list[tuple[io.BytesIO, str]]:
    """Return the template's sample files as (stream, name) pairs for a multipart form."""
    return [
        (io.BytesIO((samples_dir / template / name).read_bytes()), name)
        for name in SAMPLE_FILES[template]
    ]


def create_site_ui(
    client: FlaskClient, samples_dir: Path, template: str = "customer_review", **fields: Any
) -> Any:
    """Post the new-site form like a browser and return the response ("": let it choose)."""
    page = client.get("/new")
    data: dict[str, Any] = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "template": template,
        "prompt": "Make a useful site from these files.",
        "name": f"Test {template}",
        "department": "Sales",
        "files": sample_uploads(samples_dir, template) if template in SAMPLE_FILES else [],
    }
    data.update(fields)
    return client.post("/new", data=data, content_type="multipart/form-data")


def create_site_api(
    client: FlaskClient,
    token: str,
    samples_dir: Path,
    template: str = "customer_review",
    **fields: Any,
) -> Any:
    """Create a site through the API and return the response."""
    data: dict[str, Any] = {
        "template": template,
        "prompt": "Make a useful site.",
        "name": f"API {template}",
        "department": "Ops",
        "files": sample_uploads(samples_dir, template) if template in SAMPLE_FILES else [],
    }
    data.update(fields)
    return client.post(
        "/api/v1/sites",
        data=data,
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {token}"},
    )


def browser_sign_in(tab: Any, base: str, email: str, name: str, groups: str = "") -> None:
    """Sign a Playwright page in through the development sign-in form."""
    tab.goto(f"{base}/auth/dev")
    tab.fill("#email", email)
    tab.fill("#name", name)
    tab.fill("#groups", groups)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base}/")
