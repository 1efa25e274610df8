"""Every governance action writes exactly one typed audit event, with the change; refusals none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app import audit
from app.models import AuditEvent
from tests.governance.conftest import Api

Make = Callable[..., dict[str, Any]]


def events_since(db: Any, last_id: int) -> list[AuditEvent]:
    with db() as session:
        rows = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def last_id(db: Any) -> int:
    with db() as session:
        return int(session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc())) or 0)


def test_each_action_writes_one_event_and_refusals_write_none(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, reviewer = api(), api("rita@example.com", "reviewers")
    site = make_site(owner, audience="owner")
    path = f"/api/v1/sites/{site['id']}"
    until = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    steps: list[tuple[str, str, Any, str]] = [
        ("patch", path, {"categories": ["finance"], "name": "Renamed"}, "site.updated"),
        ("put", f"{path}/sharing", {"audience": "workspace"}, ""),  # 409: waits for review
        ("post", f"{path}/review", {"decision": "approve", "note": "ok"}, "review.decided"),
        ("post", f"{path}/official", {"version": 1, "until": until}, "official.marked"),
        ("put", f"{path}/sharing", {"audience": "workspace"}, "sharing.changed"),
        ("post", f"{path}/unpublish", None, "site.unpublished"),
        ("post", f"{path}/unpublish", None, ""),  # 409: already unpublished
        ("post", f"{path}/republish", None, "site.republished"),
        ("get", f"{path}/export", None, "site.exported"),
        ("delete", path, None, "site.deleted"),
        ("post", f"{path}/undelete", None, "site.restored"),
    ]
    for method, url, body, action in steps:
        before = last_id(db)
        caller = reviewer if "/review" in url or "/official" in url else owner
        if method in ("get", "delete"):
            response = getattr(caller, method)(url)
        else:
            response = getattr(caller, method)(url, body)
        written = events_since(db, before)
        if not action:
            assert response.status_code == 409, url
            assert written == [], url
            continue
        assert response.status_code == 200, (url, response.get_json())
        assert [e.action for e in written] == [action], url
        (event,) = written
        assert event.site_id == site["id"], url
        expected = "rita@example.com" if caller is reviewer else "owner@example.com"
        assert event.actor_email == expected, url
        if action in ("site.updated", "review.decided", "official.marked", "sharing.changed"):
            assert {"before", "after"} <= set(event.data), action
    first = events_since(db, 0)
    updated = next(e for e in first if e.action == "site.updated")
    assert updated.data["before"]["name"] == site["name"]
    assert updated.data["after"] == {
        "name": "Renamed",
        "categories": ["finance"],
        "review_state": "pending",
    }
    with db() as session:
        chain = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        assert audit.verify_chain(chain) is None


def test_openapi_document_describes_the_governance_routes(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert {"get", "patch", "delete"} <= set(paths["/sites/{site_id}"])
    assert {"get", "put"} <= set(paths["/sites/{site_id}/sharing"])
    for path in (
        "/sites/{site_id}/sharing/preview",
        "/sites/{site_id}/review",
        "/sites/{site_id}/official",
        "/sites/{site_id}/unpublish",
        "/sites/{site_id}/republish",
        "/sites/{site_id}/undelete",
        "/sites/{site_id}/export",
        "/sites/{site_id}/categories",
        "/reviews",
    ):
        assert path in paths, path
