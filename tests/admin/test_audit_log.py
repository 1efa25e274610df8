"""The audit log for admins: filters, JSON Lines export, and verification that names tampering."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, update

from app.models import AuditEvent
from tests.conftest import Auth, csrf_from, wait_for_jobs
from tests.factories import create_site_api

ADMIN = "admin@example.com"  # in the test settings' SITEWRIGHT_ADMINS


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def logged(
    app: Flask, client: FlaskClient, make_token: Callable[..., str], samples_dir: Path
) -> dict[str, str]:
    """A builder made a site (several events); tokens for the builder and an admin."""
    tokens = {"builder": make_token("builder@example.com"), "admin": make_token(ADMIN)}
    created = create_site_api(client, tokens["builder"], samples_dir, "launch_hub")
    assert created.status_code == 202
    wait_for_jobs(app)
    return tokens


@pytest.mark.parametrize(
    "path",
    ["/api/v1/admin/audit", "/api/v1/admin/audit/verify", "/api/v1/admin/audit?format=jsonl"],
)
def test_members_cannot_read_the_audit_log(
    client: FlaskClient, logged: dict[str, str], path: str
) -> None:
    with client.get(path, headers=bearer(logged["builder"])) as response:
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    with client.get(path) as anonymous:
        assert anonymous.status_code == 401


def test_admins_filter_and_page_the_log(client: FlaskClient, logged: dict[str, str]) -> None:
    admin = bearer(logged["admin"])
    everything = client.get("/api/v1/admin/audit", headers=admin).get_json()["events"]
    actions = [e["action"] for e in everything]
    assert "site.created" in actions and "version.created" in actions
    mine = client.get(
        "/api/v1/admin/audit?actor=builder@example.com&action=site.created", headers=admin
    ).get_json()["events"]
    assert [e["action"] for e in mine] == ["site.created"]
    assert mine[0]["actor"] == "builder@example.com" and mine[0]["site_id"] == 1
    first = client.get("/api/v1/admin/audit?limit=1", headers=admin).get_json()
    assert len(first["events"]) == 1 and first["next_after"] == first["events"][0]["id"]
    rest = client.get(f"/api/v1/admin/audit?after={first['next_after']}", headers=admin).get_json()
    assert [e["id"] for e in rest["events"]] == [e["id"] for e in everything[1:]]
    assert client.get("/api/v1/admin/audit?since=tomorrow", headers=admin).status_code == 400
    future = client.get("/api/v1/admin/audit?since=2999-01-01", headers=admin).get_json()
    assert future["events"] == []


def test_jsonl_export_has_one_event_per_line(client: FlaskClient, logged: dict[str, str]) -> None:
    # A streamed response keeps its request (and database session) open until it is closed,
    # as a WSGI server does after sending it.
    with client.get(
        "/api/v1/admin/audit?format=jsonl&site=1", headers=bearer(logged["admin"])
    ) as response:
        assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
        lines = response.get_data(as_text=True).splitlines()
    events = [json.loads(line) for line in lines]
    assert events and all(e["site_id"] == 1 for e in events)
    assert all(len(e["hash"]) == 64 for e in events)


def test_verification_names_the_first_tampered_or_deleted_event(
    app: Flask, client: FlaskClient, logged: dict[str, str]
) -> None:
    admin = bearer(logged["admin"])
    intact = client.get("/api/v1/admin/audit/verify", headers=admin).get_json()
    assert intact["ok"] is True and intact["first_broken"] is None and intact["events"] >= 3
    cli = app.test_cli_runner()
    assert cli.invoke(args=["audit", "verify"]).exit_code == 0

    database = app.extensions["sitewright.db"]
    with database.transaction() as session:
        ids = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
        original = session.get(AuditEvent, ids[1]).actor_email
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.id == ids[1])
            .values(actor_email="someone-else@example.com")
        )
    edited = client.get("/api/v1/admin/audit/verify", headers=admin).get_json()
    assert edited["ok"] is False and edited["events"] == intact["events"]
    assert edited["first_broken"] == ids[1] and edited["reason"] == "edited"
    result = cli.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"event {ids[1]}" in result.output

    with database.transaction() as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.id == ids[1]).values(actor_email=original)
        )
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[2]))
    deleted = client.get("/api/v1/admin/audit/verify", headers=admin).get_json()
    assert deleted["ok"] is False and deleted["first_broken"] == ids[3]

    # Delete every event after the second: what is left chains correctly, but the head of the
    # log still names the newest event.
    with database.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id > ids[1]))
    truncated = client.get("/api/v1/admin/audit/verify", headers=admin).get_json()
    assert truncated["ok"] is False and truncated["reason"] == "missing"
    assert truncated["first_broken"] == ids[-1]
    assert "newest events are missing" in truncated["message"]
    result = cli.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "newest events are missing" in result.output


def test_the_audit_page_filters_verifies_and_exports(
    app: Flask, client: FlaskClient, logged: dict[str, str]
) -> None:
    Auth(client).login(ADMIN, "Ada Admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "site.created" in page and "builder@example.com" in page
    only = client.get("/admin/audit?action=user.signed_in").get_data(as_text=True)
    assert "<td>user.signed_in</td>" in only and "<td>site.created</td>" not in only
    bad = client.get("/admin/audit?since=someday").get_data(as_text=True)
    assert "are dates or times" in bad

    verified = client.post("/admin/audit/verify", data={"csrf_token": csrf_from(page)})
    assert "The log is intact" in verified.get_data(as_text=True)
    with app.extensions["sitewright.db"].transaction() as session:
        first = session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).first()
        session.execute(
            update(AuditEvent).where(AuditEvent.id == first).values(actor_email="<b>x</b>")
        )
    tampered = client.post("/admin/audit/verify", data={"csrf_token": csrf_from(page)})
    text = tampered.get_data(as_text=True)
    assert "was tampered with" in text and f"event {first} was edited" in text
    listed = client.get("/admin/audit").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in listed and "<b>x</b>" not in listed

    with client.get("/admin/audit/export?action=site.created") as exported:
        lines = exported.get_data(as_text=True).splitlines()
    assert lines and all(json.loads(line)["action"] == "site.created" for line in lines)
