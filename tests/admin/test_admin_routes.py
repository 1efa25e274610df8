"""Every admin route refuses non-admins, and every admin action writes its audit event.

The routes come from the application's URL map, so a new admin route is covered (and must be
listed below as an action or as read-only) without anyone remembering to add it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models import AuditEvent, Site, User, utcnow
from tests.conftest import Auth, csrf_from
from tests.governance.conftest import Api

ADMIN = "admin@example.com"
ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")


def admin_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) of the admin area and the admin API."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/admin", "/api/v1/admin")):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return sorted(routes)


def concrete(rule: str, ids: dict[str, int]) -> str:
    return ARGUMENT.sub(lambda m: str(ids.get(m.group(1), 1)), rule)


# Admin actions, by route: the audit event each writes, and a body that makes it succeed.
# "{site}" and "{user}" are filled in below; UI routes take form fields, API routes JSON.
ACTIONS: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("PUT", "/api/v1/admin/settings"): ("workspace.settings_changed", {"retention_days": 40}),
    ("POST", "/api/v1/admin/sites/<int:site_id>/disable"): ("site.disabled", {"reason": "x"}),
    ("POST", "/api/v1/admin/sites/<int:site_id>/enable"): ("site.enabled", {}),
    ("POST", "/api/v1/admin/sites/<int:site_id>/transfer"): (
        "site.transferred",
        {"new_owner": "heir@example.com"},
    ),
    ("POST", "/api/v1/admin/sites/bulk"): (
        "site.disabled",
        {"action": "disable", "site_ids": ["{site}"], "reason": "x"},
    ),
    ("POST", "/api/v1/admin/users/<int:user_id>/deactivate"): ("user.deactivated", {}),
    ("POST", "/api/v1/admin/users/<int:user_id>/reactivate"): ("user.reactivated", {}),
    ("POST", "/admin/settings"): ("workspace.settings_changed", {"retention_days": "41"}),
    ("POST", "/admin/sites/<int:site_id>/disable"): ("site.disabled", {"reason": "x"}),
    ("POST", "/admin/sites/<int:site_id>/enable"): ("site.enabled", {}),
    ("POST", "/admin/sites/<int:site_id>/transfer"): (
        "site.transferred",
        {"new_owner": "heir@example.com"},
    ),
    ("POST", "/admin/sites/bulk"): (
        "site.disabled",
        {"action": "disable", "site_ids": "{site}", "reason": "x"},
    ),
    ("POST", "/admin/people/<int:user_id>/deactivate"): ("user.deactivated", {}),
    ("POST", "/admin/people/<int:user_id>/reactivate"): ("user.reactivated", {}),
    ("POST", "/admin/people/<int:user_id>/sites"): (
        "site.transferred",
        {"action": "transfer", "site_ids": "{site}", "new_owner": "heir@example.com"},
    ),
}
# Routes that change nothing, whatever their method.
READ_ONLY_WRITES = {("POST", "/admin/audit/verify")}


def test_every_admin_write_route_is_listed_as_an_action(app: Flask) -> None:
    writes = {(m, r) for m, r in admin_routes(app) if m != "GET"}
    assert writes - READ_ONLY_WRITES == set(ACTIONS), "list new admin actions in ACTIONS"


def test_every_admin_route_refuses_members_and_strangers(
    app: Flask, client: FlaskClient, auth: Auth, make_token: Callable[..., str]
) -> None:
    member_token = make_token("member@example.com")
    auth.login("member@example.com")
    csrf = csrf_from(client.get("/").get_data(as_text=True))
    routes = admin_routes(app)
    assert len(routes) >= 20
    for method, rule in routes:
        path = concrete(rule, {})
        if rule.startswith("/api/"):
            headers = {"Authorization": f"Bearer {member_token}"}
            response = client.open(path, method=method, json={}, headers=headers)
            assert response.status_code == 403, (method, rule, response.status_code)
            assert response.get_json()["error"]["code"] == "forbidden"
            anonymous = app.test_client().open(path, method=method, json={})
            assert anonymous.status_code == 401, (method, rule)
        else:
            data = {"csrf_token": csrf} if method != "GET" else None
            response = client.open(path, method=method, data=data)
            assert response.status_code == 403, (method, rule, response.status_code)
            assert "Only admins" in response.get_data(as_text=True)
            anonymous = app.test_client().open(path, method=method)
            assert anonymous.status_code in (302, 400, 401), (method, rule)
            if method == "GET":
                assert "/auth/login" in anonymous.headers["Location"]
        response.close()


@pytest.fixture
def world(
    app: Flask, api: Callable[..., Api], make_site: Callable[..., dict[str, Any]]
) -> dict[str, int]:
    """A published site, its owner, and an heir who has signed in once."""
    owner = api("owner@example.com")
    site = make_site(owner, audience="workspace")
    api("heir@example.com")
    with app.extensions["sitewright.db"].session() as session:
        user_id = session.scalars(select(User.id).where(User.email == "owner@example.com")).one()
    return {"site_id": site["id"], "user_id": user_id}


def _prepare(app: Flask, rule: str, ids: dict[str, int]) -> None:
    """Put the site or user in the state the action needs (enable needs a disabled site...)."""
    with app.extensions["sitewright.db"].transaction() as session:
        site = session.get(Site, ids["site_id"])
        user = session.get(User, ids["user_id"])
        assert site is not None and user is not None
        owner = session.scalars(select(User).where(User.email == "owner@example.com")).one()
        site.owner_id = owner.id
        site.disabled_at = None
        site.disabled_reason = ""
        user.is_active = True
        if rule.endswith("/enable"):
            site.disabled_at, site.disabled_reason = utcnow(), "for the test"
        if rule.endswith("/reactivate"):
            user.is_active = False


def _count(app: Flask, action: str) -> int:
    with app.extensions["sitewright.db"].session() as session:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        return int(session.scalar(query) or 0)


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if value == "{site}":
        return ids["site_id"]
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value


@pytest.mark.parametrize(("method", "rule"), sorted(ACTIONS))
def test_every_admin_action_writes_its_audit_event(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    make_token: Callable[..., str],
    world: dict[str, int],
    method: str,
    rule: str,
) -> None:
    action, body = ACTIONS[(method, rule)]
    _prepare(app, rule, world)
    body = {key: _fill(value, world) for key, value in body.items()}
    path = concrete(rule, world)
    before = _count(app, action)
    if rule.startswith("/api/"):
        headers = {"Authorization": f"Bearer {make_token(ADMIN)}"}
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
    else:
        auth.login(ADMIN, "Ada Admin")
        if rule == "/admin/settings":
            page = client.get("/admin/settings").get_data(as_text=True)
            body = {**_settings_form(page), **body}
        else:
            page = client.get("/admin/sites").get_data(as_text=True)
        response = client.open(path, method=method, data={"csrf_token": csrf_from(page), **body})
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    assert _count(app, action) == before + 1, (method, rule, action)


def _settings_form(page: str) -> dict[str, Any]:
    """The settings form as the browser would send it unchanged."""
    fields: dict[str, Any] = {}
    for name, value in re.findall(r'<input type="text" name="(\w+)"[^>]* value="([^"]*)"', page):
        fields[name] = value
    for name in re.findall(r'<input type="checkbox" name="(\w+)"[^>]*checked', page):
        if name != "review_categories":
            fields[name] = "on"
    fields["review_categories"] = re.findall(
        r'name="review_categories" value="(\w+)" checked', page
    )
    fields["default_audience"] = re.findall(r'name="default_audience" value="(\w+)" checked', page)[
        0
    ]
    return fields
