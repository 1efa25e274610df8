"""Helpers for the governance tests: sites made and published through the API, tokens, DB edits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Site
from tests.conftest import wait_for_jobs
from tests.factories import create_site_api


def bearer(token: str) -> dict[str, str]:
    """Authorization header for an API token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Reviewers: admins and the group "reviewers"."""
    settings["REVIEWER_GROUP"] = "reviewers"
    return settings


class Api:
    """A token-holding API caller."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.token = client, token

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=bearer(self.token))

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(path, json=body, headers=bearer(self.token))

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(path, json=body, headers=bearer(self.token))

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(path, json=body, headers=bearer(self.token))

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=bearer(self.token))


@pytest.fixture
def api(client: FlaskClient, make_token: Callable[..., str]) -> Callable[..., Api]:
    """Make an API caller for a member: ``api("x@example.com", "group")``."""
    return lambda email="owner@example.com", *groups: Api(client, make_token(email, *groups))


@pytest.fixture
def make_site(app: Flask, client: FlaskClient, samples_dir: Path) -> Callable[..., dict[str, Any]]:
    """Create a site through the API as ``owner``, wait for version 1, optionally publish it."""

    def make(
        owner: Api, template: str = "launch_hub", audience: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        created = create_site_api(client, owner.token, samples_dir, template, **fields)
        assert created.status_code == 202, created.get_json()
        wait_for_jobs(app)
        site: dict[str, Any] = created.get_json()["site"]
        if audience is not None:
            body = {"version": 1, "audience": audience}
            published = owner.post(f"/api/v1/sites/{site['id']}/publish", body)
            assert published.status_code == 200, published.get_json()
            site = published.get_json()
        return site

    return make


@pytest.fixture
def db(app: Flask) -> Callable[[], Any]:
    """A write transaction on the app's database, for setting up states tests cannot wait for."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with app.extensions["sitewright.db"].transaction() as session:
            yield session

    return transaction


def edit_site(db: Callable[[], Any], site_id: int, **values: Any) -> None:
    """Change columns of a site directly (dates in the past, disabled by an admin, ...)."""
    with db() as session:
        site = session.get(Site, site_id)
        for key, value in values.items():
            setattr(site, key, value)


def count_events(db: Callable[[], Any], action: str, site_id: int) -> int:
    """Count the audit events of one kind for a site."""
    with db() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.site_id == site_id)
            )
            or 0
        )


def last_event(db: Callable[[], Any], action: str, site_id: int) -> AuditEvent:
    """Return the newest audit event of one kind for a site."""
    with db() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.site_id == site_id)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None, action
        session.expunge(event)
        return event
