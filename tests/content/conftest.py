"""Helpers for the content tests: sites made through the API, a scripted model, grants, rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Grant, Site, SiteVersion
from tests.conftest import wait_for_jobs
from tests.factories import create_site_api, example_content
from tests.fakes.llm_server import FakeLLMServer, Reply

OWNER = "owner@example.com"


def bearer(token: str) -> dict[str, str]:
    """Authorization header for an API token."""
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    """A write transaction on the app's database."""
    with app.extensions["sitewright.db"].transaction() as session:
        yield session


def make_site(
    app: Flask,
    client: FlaskClient,
    token: str,
    samples_dir: Path,
    template: str = "launch_hub",
    publish: str | None = None,
) -> int:
    """Create a site through the API, wait for version 1, optionally publish it; return its id."""
    created = create_site_api(client, token, samples_dir, template)
    assert created.status_code == 202, created.get_json()
    wait_for_jobs(app)
    site_id: int = created.get_json()["site"]["id"]
    job = client.get(f"/api/v1/jobs/{created.get_json()['job']['id']}", headers=bearer(token))
    assert job.get_json()["status"] == "succeeded", job.get_json()
    if publish:
        published = client.post(
            f"/api/v1/sites/{site_id}/publish",
            json={"version": 1, "audience": publish},
            headers=bearer(token),
        )
        assert published.status_code == 200, published.get_json()
    return site_id


def grant(app: Flask, site_id: int, email: str, role: str = "editor") -> None:
    """Share a site with a person (rows written directly: sharing is tested elsewhere)."""
    with db(app) as session:
        site = session.get(Site, site_id)
        assert site is not None
        if site.audience == "owner":
            site.audience = "people"
        session.add(Grant(site_id=site_id, email=email, group_name="", role=role))


def version_row(app: Flask, site_id: int, number: int) -> SiteVersion:
    """Read one version (detached, with its provenance loaded)."""
    with db(app) as session:
        row = session.scalars(
            select(SiteVersion).where(SiteVersion.site_id == site_id, SiteVersion.number == number)
        ).one()
        row.sources  # noqa: B018 - load before the session closes
        return row


def patch_reply(*ops: tuple[str, str, Any]) -> str:
    """A model answer in the revision contract: (op, path, value) → value_json text."""
    return json.dumps(
        {
            "operations": [
                {
                    "op": op,
                    "path": path,
                    "value_json": None if op == "remove" else json.dumps(value),
                }
                for op, path, value in ops
            ]
        }
    )


class ScriptedModel:
    """Answers drafts with a template's example and revisions with queued patches."""

    def __init__(self, template: str = "launch_hub") -> None:
        self.content = json.dumps(example_content(template))
        self.patches: list[str] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        name = body.get("response_format", {}).get("json_schema", {}).get("name")
        if name == "json_patch" or "operations" in json.dumps(body.get("response_format", {})):
            return Reply(content=self.patches.pop(0) if self.patches else '{"operations": []}')
        return Reply(content=self.content)


@pytest.fixture
def model(llm_server: FakeLLMServer) -> ScriptedModel:
    """The loopback model, scripted: example content for drafts, queued patches for revisions."""
    scripted = ScriptedModel()
    llm_server.responder = scripted
    return scripted


@pytest.fixture
def owner_token(make_token: Callable[..., str]) -> str:
    """An API token of the owner of the sites made here."""
    return make_token(OWNER)
