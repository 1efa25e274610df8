"""Disable and enable, transfer, owner departure: immediate, told to those concerned, audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent, Notice, User
from tests.conftest import Auth, csrf_from
from tests.governance.conftest import Api

ADMIN = "admin@example.com"


def actions(app: Flask, site_id: int | None = None) -> list[str]:
    with app.extensions["sitewright.db"].session() as session:
        query = select(AuditEvent.action).order_by(AuditEvent.id)
        if site_id is not None:
            query = query.where(AuditEvent.site_id == site_id)
        return list(session.scalars(query))


def test_disabling_takes_effect_on_the_next_request_and_enabling_restores(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
) -> None:
    owner = api("owner@example.com")
    site = make_site(owner, audience="workspace")
    viewer = app.test_client()
    Auth(viewer).login("member@example.com")
    assert viewer.get(f"/s/{site['slug']}/").status_code == 200

    admin = api(ADMIN)
    refused = admin.post(f"/api/v1/admin/sites/{site['id']}/disable", {"reason": " "})
    assert refused.status_code == 400 and "reason" in refused.get_json()["error"]["message"]
    done = admin.post(
        f"/api/v1/admin/sites/{site['id']}/disable", {"reason": "Holds unreleased salaries."}
    )
    assert done.status_code == 200 and done.get_json()["site"]["status"] == "disabled"

    gone = viewer.get(f"/s/{site['slug']}/")
    assert gone.status_code == 410
    page = gone.get_data(as_text=True)
    assert "disabled by an admin" in page and "unreleased salaries" not in page
    # The owner reads the reason on the site, on its page and in their notices.
    assert owner.get(f"/api/v1/sites/{site['id']}").status_code == 200
    Auth(client).login("owner@example.com")
    detail = client.get(f"/sites/{site['id']}").get_data(as_text=True)
    assert "Holds unreleased salaries." in detail
    home = client.get("/").get_data(as_text=True)
    assert "An admin disabled" in home and "Holds unreleased salaries." in home
    assert owner.post(f"/api/v1/sites/{site['id']}/unpublish").status_code == 403

    again = admin.post(f"/api/v1/admin/sites/{site['id']}/disable", {"reason": "x"})
    assert again.status_code == 409
    enabled = admin.post(f"/api/v1/admin/sites/{site['id']}/enable")
    assert enabled.status_code == 200 and enabled.get_json()["site"]["status"] == "published"
    assert viewer.get(f"/s/{site['slug']}/").status_code == 200
    assert actions(app, site["id"])[-2:] == ["site.disabled", "site.enabled"]


def test_disable_and_transfer_from_the_admin_pages(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
) -> None:
    site = make_site(api("owner@example.com"), audience="workspace")
    api("newbie@example.com")  # signs in once (a token), so they can receive sites
    auth.login(ADMIN, "Ada Admin")
    page = client.get(f"/admin/sites/{site['id']}").get_data(as_text=True)
    token = csrf_from(page)

    missing = client.post(f"/admin/sites/{site['id']}/disable", data={"csrf_token": token})
    assert missing.status_code == 400
    assert "Give a reason" in missing.get_data(as_text=True)
    disabled = client.post(
        f"/admin/sites/{site['id']}/disable",
        data={"csrf_token": token, "reason": "Under investigation"},
        follow_redirects=True,
    )
    assert "is disabled" in disabled.get_data(as_text=True)

    unknown = client.post(
        f"/admin/sites/{site['id']}/transfer",
        data={"csrf_token": token, "new_owner": "stranger@example.com"},
    )
    assert unknown.status_code == 400
    text = unknown.get_data(as_text=True)
    assert "has signed in yet" in text and 'value="stranger@example.com"' in text
    moved = client.post(
        f"/admin/sites/{site['id']}/transfer",
        data={"csrf_token": token, "new_owner": "NEWBIE@example.com"},
        follow_redirects=True,
    )
    assert "now belongs to" in moved.get_data(as_text=True)

    Auth(client).login("newbie@example.com")
    home = client.get("/").get_data(as_text=True)
    assert "is now yours" in home and "owner@example.com" in home
    dismissed = client.post("/notices/dismiss", data={"csrf_token": csrf_from(home)})
    assert dismissed.status_code == 303
    assert "is now yours" not in client.get("/").get_data(as_text=True)
    assert actions(app, site["id"])[-2:] == ["site.disabled", "site.transferred"]


def test_bulk_actions_from_the_inventory(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
) -> None:
    owner = api("owner@example.com")
    first, second = make_site(owner, audience="workspace"), make_site(owner, "scenario_planner")
    auth.login(ADMIN, "Ada Admin")
    page = client.get("/admin/sites").get_data(as_text=True)
    token = csrf_from(page)
    form = {"csrf_token": token, "site_ids": [first["id"], second["id"]], "back": "/admin/sites"}
    done = client.post(
        "/admin/sites/bulk",
        data={**form, "action": "disable", "reason": "Audit week"},
        follow_redirects=True,
    )
    assert "Disabled 2 sites." in done.get_data(as_text=True)
    repeat = client.post(
        "/admin/sites/bulk",
        data={**form, "action": "disable", "reason": "Audit week"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "already disabled" in repeat
    body = api(ADMIN).post(
        "/api/v1/admin/sites/bulk",
        {"action": "transfer", "site_ids": [first["id"]], "new_owner": ADMIN},
    )
    assert body.status_code == 200 and body.get_json() == {"done": [first["id"]], "skipped": []}


def test_departed_owners_are_listed_and_their_sites_transferred(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
) -> None:
    leaver = api("leaver@example.com")
    site = make_site(leaver, audience="workspace")
    leaver_browser = app.test_client()
    Auth(leaver_browser).login("leaver@example.com")
    api("heir@example.com")
    with app.extensions["sitewright.db"].session() as session:
        user = session.scalars(select(User).where(User.email == "leaver@example.com")).first()
        assert user is not None
        leaver_id = user.id

    admin = api(ADMIN)
    deactivated = admin.post(f"/api/v1/admin/users/{leaver_id}/deactivate", {"reason": "Left"})
    assert deactivated.status_code == 200 and deactivated.get_json()["user"]["active"] is False
    # Signed out everywhere at once: the browser session and the API token stop working.
    assert leaver_browser.get("/").status_code == 302
    assert leaver.get("/api/v1/sites").status_code == 401
    # The site still works for its viewers until an admin decides.
    viewer = app.test_client()
    Auth(viewer).login("member@example.com")
    assert viewer.get(f"/s/{site['slug']}/").status_code == 200

    (departure,) = admin.get("/api/v1/admin/departures").get_json()["departures"]
    assert departure["email"] == "leaver@example.com" and departure["deactivation_reason"] == "Left"
    assert [s["id"] for s in departure["sites"]] == [site["id"]]

    auth.login(ADMIN, "Ada Admin")
    people = client.get("/admin/people").get_data(as_text=True)
    assert "leaver@example.com" in people and site["name"] in people
    moved = client.post(
        f"/admin/people/{leaver_id}/sites",
        data={
            "csrf_token": csrf_from(people),
            "site_ids": [site["id"]],
            "action": "transfer",
            "new_owner": "heir@example.com",
        },
        follow_redirects=True,
    )
    assert "Transferred 1 site." in moved.get_data(as_text=True)
    assert admin.get("/api/v1/admin/departures").get_json()["departures"][0]["sites"] == []
    with app.extensions["sitewright.db"].session() as session:
        notices = session.scalars(select(Notice)).all()
        assert [n.kind for n in notices] == ["transferred"]

    reactivated = admin.post(f"/api/v1/admin/users/{leaver_id}/reactivate")
    assert reactivated.status_code == 200
    assert "user.deactivated" in actions(app) and "user.reactivated" in actions(app)


def test_members_the_identity_provider_drops_are_deactivated_at_sign_in(
    app: Flask, client: FlaskClient, auth: Auth, api: Callable[..., Api]
) -> None:
    app.config["REQUIRED_GROUP"] = "staff"
    auth.login("pat@example.com", "Pat", groups="staff")
    auth.logout()
    page = client.get("/auth/dev")
    refused = client.post(
        "/auth/dev",
        data={
            "email": "pat@example.com",
            "name": "Pat",
            "groups": "",
            "next": "/",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert refused.status_code == 400
    (departure,) = api(ADMIN).get("/api/v1/admin/departures").get_json()["departures"]
    assert departure["email"] == "pat@example.com"
    assert "no longer admits" in departure["deactivation_reason"]
    with app.extensions["sitewright.db"].session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.deactivated")
        ).one()
        assert event.actor_email == ""  # nobody: the identity provider's answer


def test_an_admin_cannot_deactivate_themselves_from_the_page(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(ADMIN, "Ada Admin")
    with app.extensions["sitewright.db"].session() as session:
        me = session.scalars(select(User).where(User.email == ADMIN)).one()
    page = client.get("/admin/people?q=admin").get_data(as_text=True)
    response = client.post(
        f"/admin/people/{me.id}/deactivate",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=True,
    )
    assert "cannot deactivate yourself" in response.get_data(as_text=True)


def test_an_admin_cannot_deactivate_themselves_through_the_api(
    app: Flask, api: Callable[..., Api]
) -> None:
    admin = api(ADMIN)
    with app.extensions["sitewright.db"].session() as session:
        me = session.scalars(select(User).where(User.email == ADMIN)).one()
    refused = admin.post(f"/api/v1/admin/users/{me.id}/deactivate", {"reason": "oops"})
    assert refused.status_code == 409
    assert admin.get("/api/v1/admin/settings").status_code == 200  # still signed in
