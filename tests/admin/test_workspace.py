"""Workspace settings: stored, validated, audited; the feature switch, who may create, hiding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.access import Action, Principal, can
from app.models import AuditEvent, Site
from tests.conftest import Auth, csrf_from
from tests.factories import create_site_api, create_site_ui
from tests.governance.conftest import Api

ADMIN = "admin@example.com"


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.extensions["sitewright.db"].session() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        session.expunge_all()
        return list(rows)


def test_settings_start_from_the_environment_and_change_through_the_api(
    app: Flask, api: Callable[..., Api]
) -> None:
    admin = api(ADMIN)
    current = admin.get("/api/v1/admin/settings").get_json()
    assert current["feature_enabled"] is True
    assert current["max_expiry_days"] == app.config["MAX_EXPIRY_DAYS"]
    assert current["review_categories"] == app.config["REVIEW_CATEGORIES"]

    changed = admin.put(
        "/api/v1/admin/settings",
        {"max_expiry_days": 120, "monthly_token_budget": 50000, "creator_groups": ["makers"]},
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["max_expiry_days"] == 120 and body["creator_groups"] == ["makers"]
    assert admin.get("/api/v1/admin/settings").get_json()["monthly_token_budget"] == 50000

    (event,) = events(app, "workspace.settings_changed")
    assert event.actor_email == ADMIN
    assert event.data["before"]["max_expiry_days"] == app.config["MAX_EXPIRY_DAYS"]
    assert event.data["after"] == {
        "max_expiry_days": 120,
        "monthly_token_budget": 50000,
        "creator_groups": ["makers"],
    }
    # Saving the same values again changes nothing and records nothing.
    admin.put("/api/v1/admin/settings", {"max_expiry_days": 120})
    assert len(events(app, "workspace.settings_changed")) == 1


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"max_expiry_days": 0}, "Maximum expiry"),
        ({"max_expiry_days": "soon"}, "Maximum expiry"),
        ({"feature_enabled": "yes"}, "Sitewright is on"),
        ({"review_categories": ["customer", "gossip"]}, "gossip"),
        ({"default_audience": "people"}, "Default audience"),
        ({"price_per_1k_tokens": -1}, "Price per 1,000 tokens"),
        ({"colour": "blue"}, "colour: not a workspace setting"),
        ({"default_expiry_days": 400, "max_expiry_days": 100}, "cannot be later than the maximum"),
    ],
)
def test_bad_settings_are_refused_with_what_to_fix(
    app: Flask, api: Callable[..., Api], body: dict[str, Any], named: str
) -> None:
    admin = api(ADMIN)
    response = admin.put("/api/v1/admin/settings", body)
    assert response.status_code == 400
    assert named in response.get_json()["error"]["message"]
    assert admin.get("/api/v1/admin/settings").get_json()["max_expiry_days"] == 365
    assert events(app, "workspace.settings_changed") == []


def test_the_settings_page_saves_and_reshows_mistakes(app: Flask, auth: Auth) -> None:
    client = auth.login(ADMIN, "Ada Admin")
    page = client.get("/admin/settings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Categories that require review" in html and "Monthly token budget" in html
    form = {
        "csrf_token": csrf_from(html),
        "feature_enabled": "on",
        "admins_see_all_sites": "on",
        "creator_groups": "makers\nanalysts",
        "default_audience": "workspace",
        "default_expiry_days": "30",
        "max_expiry_days": "90",
        "expiry_warning_days": "7",
        "review_categories": ["finance", "employee"],
        "reviewer_group": "reviewers",
        "inactivity_days": "120",
        "inactivity_warning_days": "14",
        "retention_days": "30",
        "monthly_token_budget": "100000",
        "price_per_1k_tokens": "0.002",
        "currency": "EUR",
    }
    saved = client.post("/admin/settings", data=form)
    assert saved.status_code == 302
    after = client.get("/admin/settings").get_data(as_text=True)
    assert "Settings saved" in after and 'value="0.002"' in after

    bad = client.post("/admin/settings", data={**form, "retention_days": "forever"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "Nothing was saved" in text and "Retention of deleted sites" in text
    assert 'value="forever"' in text  # what the admin typed is kept
    (event,) = events(app, "workspace.settings_changed")
    assert event.data["after"]["review_categories"] == ["finance", "employee"]
    assert event.data["after"]["creator_groups"] == ["analysts", "makers"]


def test_settings_take_effect_for_members(
    client: FlaskClient, auth: Auth, api: Callable[..., Api], samples_dir: Path
) -> None:
    api(ADMIN).put(
        "/api/v1/admin/settings",
        {"max_expiry_days": 30, "default_expiry_days": 10, "default_audience": "workspace"},
    )
    auth.login("builder@example.com")
    page = client.get("/new").get_data(as_text=True)
    latest = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    default = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    assert f'max="{latest}"' in page and f'value="{default}"' in page

    too_late = (dt.date.today() + dt.timedelta(days=31)).isoformat()
    refused = create_site_ui(client, samples_dir, "launch_hub", expires_on=too_late)
    assert refused.status_code == 400
    assert "30 days from today" in refused.get_data(as_text=True)
    made = create_site_api(client, api("maker@example.com").token, samples_dir, "launch_hub")
    assert made.status_code == 202
    assert made.get_json()["site"]["audience"] == "workspace"


def test_switched_off_creation_answers_503_in_the_ui_and_the_api(
    app: Flask, client: FlaskClient, auth: Auth, api: Callable[..., Api], samples_dir: Path
) -> None:
    api(ADMIN).put("/api/v1/admin/settings", {"feature_enabled": False})
    builder = api("builder@example.com")
    refused = create_site_api(client, builder.token, samples_dir, "launch_hub")
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "switched_off"
    assert "switched off" in refused.get_json()["error"]["message"]

    auth.login("builder@example.com")
    page = client.get("/new")
    assert page.status_code == 503
    assert "Sitewright is switched off" in page.get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "no new sites can be created" in home and 'href="/new"' not in home.split("<main")[1]
    with app.extensions["sitewright.db"].session() as session:
        assert session.scalars(select(Site)).all() == []


def test_only_listed_groups_may_create(
    client: FlaskClient, api: Callable[..., Api], samples_dir: Path
) -> None:
    api(ADMIN).put("/api/v1/admin/settings", {"creator_groups": ["makers"]})
    outsider = create_site_api(client, api("out@example.com").token, samples_dir, "launch_hub")
    assert outsider.status_code == 403
    assert "Only members of makers" in outsider.get_json()["error"]["message"]
    maker = create_site_api(
        client, api("in@example.com", "makers").token, samples_dir, "launch_hub"
    )
    assert maker.status_code == 202
    admin = create_site_api(client, api(ADMIN).token, samples_dir, "launch_hub")
    assert admin.status_code == 202


def test_hidden_sites_show_the_switched_off_page_to_members_but_not_admins(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
) -> None:
    owner = api("owner@example.com")
    site = make_site(owner, audience="workspace")
    auth.login("member@example.com")
    assert client.get(f"/s/{site['slug']}/").status_code == 200

    api(ADMIN).put("/api/v1/admin/settings", {"feature_enabled": False})
    assert client.get(f"/s/{site['slug']}/").status_code == 200  # off, but not hidden

    api(ADMIN).put("/api/v1/admin/settings", {"hide_sites_when_off": True})
    hidden = client.get(f"/s/{site['slug']}/")
    assert hidden.status_code == 503
    assert "Sitewright is switched off" in hidden.get_data(as_text=True)
    assert client.get("/").status_code == 503
    assert owner.get(f"/api/v1/sites/{site['id']}").status_code == 503
    assert owner.get("/api/v1/sites").status_code == 503

    auth.login(ADMIN, "Ada Admin")
    assert client.get(f"/s/{site['slug']}/").status_code == 200

    api(ADMIN).put("/api/v1/admin/settings", {"feature_enabled": True})
    auth.login("member@example.com")
    assert client.get(f"/s/{site['slug']}/").status_code == 200


def test_admins_open_every_site_only_while_the_workspace_allows_it(
    client: FlaskClient,
    auth: Auth,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
) -> None:
    site = make_site(api("owner@example.com"), audience="owner")
    auth.login(ADMIN, "Ada Admin")
    assert client.get(f"/s/{site['slug']}/").status_code == 200
    api(ADMIN).put("/api/v1/admin/settings", {"admins_see_all_sites": False})
    assert client.get(f"/s/{site['slug']}/").status_code == 404
    # ...but the inventory still lists it, and the admin can still disable it.
    assert client.get("/admin/sites").get_data(as_text=True).count(site["name"]) >= 1
    assert client.get(f"/admin/sites/{site['id']}").status_code == 200


def test_policy_admin_without_sees_all_reads_nothing() -> None:
    site = Site(
        id=1,
        owner_id=99,
        audience="workspace",
        status="published",
        published_version=1,
        review_state="not_required",
        expires_on=dt.date(2999, 1, 1),
        grants=[],
    )
    admin = Principal(id=5, email="a@example.com", is_admin=True, sees_all_sites=False)
    # The workspace audience still lets them in as a member, like anyone else...
    assert can(admin, Action.VIEW, site)
    site.audience = "owner"
    # ...but not as an admin.
    assert not can(admin, Action.VIEW, site)
    assert not can(admin, Action.VIEW_DRAFTS, site)


def test_while_hidden_every_site_list_answers_503_and_admin_routes_still_403(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
) -> None:
    make_site(api("owner@example.com"), audience="workspace")
    reviewer = api("rita@example.com", "reviewers")
    api(ADMIN).put(
        "/api/v1/admin/settings", {"feature_enabled": False, "hide_sites_when_off": True}
    )
    assert reviewer.get("/api/v1/reviews").status_code == 503
    assert reviewer.get("/api/v1/templates").status_code == 200
    assert reviewer.get("/api/v1/admin/sites").status_code == 403
    auth.login("rita@example.com", "Rita", groups="reviewers")
    assert client.get("/reviews").status_code == 503
    assert client.get("/account/tokens").status_code == 200
    assert client.get("/admin/sites").status_code == 403
    assert client.get("/").status_code == 503
