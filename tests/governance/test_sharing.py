"""Sharing through the API: audiences, grants, who gains access, revocation, deactivation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.models import User
from tests.governance.conftest import Api, count_events, edit_site, last_event

Make = Callable[..., dict[str, Any]]


def test_group_member_opens_the_site_and_loses_it_on_the_next_request_after_revoking(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner = api()
    member, outsider = api("sam@example.com", "sales"), api("olga@example.com", "ops")
    site = make_site(owner, audience="owner")
    page = f"/s/{site['slug']}/"
    assert member.get(page).status_code == 404

    shared = owner.put(
        f"/api/v1/sites/{site['id']}/sharing",
        {"audience": "groups", "grants": [{"group": "sales", "role": "viewer"}]},
    )
    assert shared.status_code == 200, shared.get_json()
    body = shared.get_json()
    assert body["sharing"] == {
        "audience": "groups",
        "grants": [{"group": "sales", "role": "viewer"}],
    }
    assert [p["email"] for p in body["gained"]] == ["sam@example.com"]
    assert body["gained_count"] == 1 and body["new_groups"] == ["sales"] and body["widens"]

    assert member.get(page).status_code == 200  # Bearer works on /s/
    assert outsider.get(page).status_code == 404
    assert member.get(f"/api/v1/sites/{site['id']}").status_code == 200

    revoked = owner.put(f"/api/v1/sites/{site['id']}/sharing", {"audience": "people"})
    assert revoked.status_code == 200
    assert [p["email"] for p in revoked.get_json()["lost"]] == ["sam@example.com"]
    assert member.get(page).status_code == 404  # the very next request
    assert member.get(f"/api/v1/sites/{site['id']}").status_code == 404
    assert count_events(db, "sharing.changed", site["id"]) == 2  # share, revoke
    event = last_event(db, "sharing.changed", site["id"])
    assert event.data["before"]["audience"] == "groups" and event.data["lost"] == [
        "sam@example.com"
    ]
    assert event.actor_email == "owner@example.com"


def test_people_grants_give_viewer_and_editor_roles(
    api: Callable[..., Api], make_site: Make
) -> None:
    owner, viewer, editor = api(), api("vera@example.com"), api("ed@example.com")
    site = make_site(owner, audience="owner")
    response = owner.put(
        f"/api/v1/sites/{site['id']}/sharing",
        {
            "audience": "people",
            "grants": [
                {"email": "Vera@Example.com", "role": "viewer"},
                {"email": "ed@example.com", "role": "editor"},
                {"email": "newcomer@example.com"},
            ],
        },
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {p["email"]: p["after"] for p in body["gained"]} == {
        "vera@example.com": "viewer",
        "ed@example.com": "editor",
    }
    assert body["invited"] == ["newcomer@example.com"]  # no account yet
    assert viewer.get(f"/s/{site['slug']}/").status_code == 200
    versions = f"/api/v1/sites/{site['id']}/versions"
    assert viewer.get(versions).status_code == 403  # sees the site, not its drafts
    assert editor.get(versions).status_code == 200
    assert editor.get(f"/api/v1/sites/{site['id']}/sharing").status_code == 403  # owner only
    assert (
        editor.put(f"/api/v1/sites/{site['id']}/sharing", {"audience": "owner"}).status_code == 403
    )
    listed = viewer.get("/api/v1/sites").get_json()["sites"]
    assert [s["id"] for s in listed] == [site["id"]]
    assert "sharing" not in listed[0]  # who else has access is for those who manage it


def test_preview_says_who_gains_access_and_changes_nothing(
    api: Callable[..., Api], make_site: Make
) -> None:
    owner = api()
    api("ann@example.com", "finance")
    api("bob@example.com")
    site = make_site(owner, audience="owner")
    preview = owner.post(f"/api/v1/sites/{site['id']}/sharing/preview", {"audience": "workspace"})
    assert preview.status_code == 200
    body = preview.get_json()
    assert {p["email"] for p in body["gained"]} == {"ann@example.com", "bob@example.com"}
    assert body["gained_count"] == 2 and body["lost_count"] == 0 and body["widens"] is True
    assert owner.get(f"/api/v1/sites/{site['id']}/sharing").get_json()["audience"] == "owner"
    narrowing = owner.post(f"/api/v1/sites/{site['id']}/sharing/preview", {"audience": "owner"})
    assert narrowing.get_json()["widens"] is False


def test_sharing_input_is_checked(api: Callable[..., Api], make_site: Make) -> None:
    owner = api()
    site = make_site(owner)
    path = f"/api/v1/sites/{site['id']}/sharing"
    bad = [
        {"audience": "everyone"},
        {"grants": []},
        {"audience": "owner", "grants": [{"email": "a@example.com"}]},
        {"audience": "people", "grants": [{"email": "not-an-address"}]},
        {"audience": "people", "grants": [{"email": "a@example.com", "role": "admin"}]},
        {"audience": "people", "grants": [{"email": "a@example.com", "group": "x"}]},
        {"audience": "people", "grants": [{"email": "owner@example.com"}]},
        {"audience": "people", "grants": "a@example.com"},
    ]
    for body in bad:
        response = owner.put(path, body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "bad_input"


def test_outside_domains_cannot_be_granted(
    app: Flask, api: Callable[..., Api], make_site: Make
) -> None:
    app.config["ALLOWED_EMAIL_DOMAINS"] = ["example.com"]
    owner = api()
    site = make_site(owner)
    response = owner.put(
        f"/api/v1/sites/{site['id']}/sharing",
        {"audience": "people", "grants": [{"email": "eve@elsewhere.test"}]},
    )
    assert response.status_code == 400
    assert "not in this workspace" in response.get_json()["error"]["message"]


def test_strangers_get_404_and_cannot_share(api: Callable[..., Api], make_site: Make) -> None:
    owner, stranger = api(), api("stranger@example.com")
    site = make_site(owner)
    for response in (
        stranger.get(f"/api/v1/sites/{site['id']}/sharing"),
        stranger.put(f"/api/v1/sites/{site['id']}/sharing", {"audience": "workspace"}),
        stranger.put("/api/v1/sites/99999/sharing", {"audience": "workspace"}),
    ):
        assert response.status_code == 404


def test_deactivated_grantee_loses_access_at_once(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, grantee = api(), api("gus@example.com")
    site = make_site(owner, audience="owner")
    owner.put(
        f"/api/v1/sites/{site['id']}/sharing",
        {"audience": "people", "grants": [{"email": "gus@example.com"}]},
    )
    assert grantee.get(f"/s/{site['slug']}/").status_code == 200
    with db() as session:
        user = session.scalars(select(User).where(User.email == "gus@example.com")).one()
        user.is_active = False
    page = grantee.get(f"/s/{site['slug']}/")
    assert page.status_code == 302 and page.location.startswith("/auth/login")
    assert grantee.get(f"/api/v1/sites/{site['id']}").status_code == 401
    preview = owner.post(
        f"/api/v1/sites/{site['id']}/sharing/preview", {"audience": "workspace"}
    ).get_json()
    assert "gus@example.com" not in {p["email"] for p in preview["gained"] + preview["lost"]}


def test_workspace_audience_admits_every_member_and_editors_by_grant(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, member, editor = api(), api("mia@example.com"), api("eli@example.com", "product")
    site = make_site(owner, audience="owner")
    owner.put(
        f"/api/v1/sites/{site['id']}/sharing",
        {"audience": "workspace", "grants": [{"group": "product", "role": "editor"}]},
    )
    assert member.get(f"/s/{site['slug']}/").status_code == 200
    assert member.get(f"/api/v1/sites/{site['id']}/versions").status_code == 403
    assert editor.get(f"/api/v1/sites/{site['id']}/versions").status_code == 200
    edit_site(db, site["id"], status="unpublished")
    # The editor still works on drafts of an unpublished site; viewers are told it is gone.
    assert editor.get(f"/api/v1/sites/{site['id']}/versions").status_code == 200
    assert member.get(f"/s/{site['slug']}/").status_code == 410


def test_editor_of_a_draft_reads_the_site_but_viewers_wait_for_publishing(
    api: Callable[..., Api], make_site: Make
) -> None:
    owner, editor, viewer = api(), api("ed@example.com"), api("vera@example.com")
    site = make_site(owner)  # a draft: nothing published yet
    owner.put(
        f"/api/v1/sites/{site['id']}/sharing",
        {
            "audience": "people",
            "grants": [
                {"email": "ed@example.com", "role": "editor"},
                {"email": "vera@example.com"},
            ],
        },
    )
    assert editor.get(f"/api/v1/sites/{site['id']}").get_json()["state"] == "draft"
    assert editor.get(f"/s/{site['slug']}/v/1/").status_code == 200
    assert viewer.get(f"/api/v1/sites/{site['id']}").status_code == 404
    assert viewer.get(f"/s/{site['slug']}/").status_code == 404
    assert editor.post(f"/api/v1/sites/{site['id']}/publish", {"version": 1}).status_code == 200
    assert viewer.get(f"/s/{site['slug']}/").status_code == 200
