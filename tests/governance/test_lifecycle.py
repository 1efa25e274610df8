"""Details, unpublish and republish, expiry and extension, soft delete and undelete, disabled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from app.models import utcnow
from tests.governance.conftest import Api, count_events, edit_site, last_event

Make = Callable[..., dict[str, Any]]
TODAY = dt.date.today()


def test_unpublished_site_tells_the_people_it_is_shared_with_and_no_one_else(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, member = api(), api("mia@example.com")
    stranger = api("sue@example.com")
    site = make_site(owner, audience="owner")
    path = f"/api/v1/sites/{site['id']}"
    owner.put(f"{path}/sharing", {"audience": "people", "grants": [{"email": "mia@example.com"}]})

    unpublished = owner.post(f"{path}/unpublish")
    assert unpublished.status_code == 200 and unpublished.get_json()["status"] == "unpublished"
    assert owner.post(f"{path}/unpublish").status_code == 409
    page = member.get(f"/s/{site['slug']}/")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "is unpublished" in html and "Builder" not in html and "owner@example.com" in html
    gone = member.get(path)
    assert gone.status_code == 410 and gone.get_json()["error"]["code"] == "gone"
    assert "owner@example.com" in gone.get_json()["error"]["message"]
    assert stranger.get(f"/s/{site['slug']}/").status_code == 404
    assert stranger.get(path).status_code == 404
    assert member.post(f"{path}/republish").status_code == 410  # not theirs to republish
    owner_page = owner.get(f"/s/{site['slug']}/")
    assert owner_page.status_code == 200 and "Unpublished:" in owner_page.get_data(as_text=True)

    republished = owner.post(f"{path}/republish")
    assert republished.status_code == 200 and republished.get_json()["status"] == "published"
    assert owner.post(f"{path}/republish").status_code == 409
    assert member.get(f"/s/{site['slug']}/").status_code == 200
    assert count_events(db, "site.unpublished", site["id"]) == 1
    assert count_events(db, "site.republished", site["id"]) == 1


def test_expired_site_answers_410_naming_the_owner_until_extended(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, member = api(), api("mia@example.com")
    site = make_site(owner, audience="workspace")
    path = f"/api/v1/sites/{site['id']}"
    edit_site(db, site["id"], expires_on=TODAY - dt.timedelta(days=1))

    page = member.get(f"/s/{site['slug']}/")
    assert page.status_code == 410
    assert "has expired" in page.get_data(as_text=True)
    assert "owner@example.com" in page.get_data(as_text=True)
    assert member.get(path).status_code == 410
    owner_page = owner.get(f"/s/{site['slug']}/").get_data(as_text=True)
    assert "Expired on" in owner_page  # owners still see it, with a banner
    assert owner.put(f"{path}/sharing", {"audience": "owner"}).status_code == 403

    too_far = (TODAY + dt.timedelta(days=366)).isoformat()
    refused = owner.patch(path, {"expires_on": too_far})
    assert refused.status_code == 400 and "at most" in refused.get_json()["error"]["message"]
    assert owner.patch(path, {"expires_on": "yesterday"}).status_code == 400
    assert owner.patch(path, {"expires_on": TODAY.isoformat()}).status_code == 400
    new_date = (TODAY + dt.timedelta(days=365)).isoformat()
    extended = owner.patch(path, {"expires_on": new_date})
    assert extended.status_code == 200 and extended.get_json()["expires_on"] == new_date
    page = member.get(f"/s/{site['slug']}/")
    assert page.status_code == 200
    assert new_date in page.get_data(as_text=True)  # the frame was rendered again
    assert last_event(db, "site.updated", site["id"]).data["after"] == {"expires_on": new_date}


def test_owner_is_warned_before_expiry_on_the_page_and_the_list(
    api: Callable[..., Api], make_site: Make, client: Any, auth: Any
) -> None:
    owner, member = api("builder@example.com"), api("mia@example.com")
    site = make_site(owner, audience="workspace")
    soon = (TODAY + dt.timedelta(days=5)).isoformat()
    owner.patch(f"/api/v1/sites/{site['id']}", {"expires_on": soon})
    assert f"This site expires on {soon} (5 days left)" in owner.get(
        f"/s/{site['slug']}/"
    ).get_data(as_text=True)
    assert "expires on" not in member.get(f"/s/{site['slug']}/").get_data(as_text=True)
    auth.login("builder@example.com")
    listing = client.get("/").get_data(as_text=True)
    assert "needs a new expiry date" in listing and f"expires on {soon} (in 5 days)" in listing


def test_details_are_checked_and_shown_on_the_published_page(
    api: Callable[..., Api], make_site: Make
) -> None:
    owner, member = api(), api("mia@example.com")
    site = make_site(owner, audience="workspace")
    path = f"/api/v1/sites/{site['id']}"
    changed = owner.patch(
        path,
        {"name": "Atlas GA hub", "department": "Marketing", "data_source_note": "Plan v3."},
    )
    assert changed.status_code == 200
    page = member.get(f"/s/{site['slug']}/").get_data(as_text=True)
    assert "Atlas GA hub" in page and "Marketing" in page and "Plan v3." in page
    for body in (
        {"name": ""},
        {"name": "x" * 201},
        {"categories": ["gossip"]},
        {"categories": "finance"},
        {"owner": "me@example.com"},
        {"expires_on": 20270101},
    ):
        assert owner.patch(path, body).status_code == 400, body
    assert member.patch(path, {"name": "Mine now"}).status_code == 403
    assert owner.patch("/api/v1/sites/99999", {"name": "x"}).status_code == 404


def test_soft_delete_hides_the_site_and_undelete_brings_it_back(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, member, admin = api(), api("mia@example.com"), api("admin@example.com")
    site = make_site(owner, audience="workspace")
    path = f"/api/v1/sites/{site['id']}"
    assert member.delete(path).status_code == 403
    deleted = owner.delete(path)
    assert deleted.status_code == 200 and deleted.get_json()["deleted_at"]
    assert deleted.get_json()["restorable_until"]

    assert member.get(f"/s/{site['slug']}/").status_code == 404
    assert member.get(path).status_code == 404
    assert owner.get(f"/s/{site['slug']}/").status_code == 410  # the owner learns what happened
    assert admin.get(f"/s/{site['slug']}/").status_code == 410
    assert owner.get("/api/v1/sites").get_json()["sites"] == []
    assert admin.get("/api/v1/sites").get_json()["sites"] == []
    assert [s["id"] for s in owner.get("/api/v1/sites?deleted=1").get_json()["sites"]] == [
        site["id"]
    ]
    assert owner.delete(path).status_code == 403  # already deleted
    assert member.post(f"{path}/undelete").status_code == 404

    restored = owner.post(f"{path}/undelete")
    assert restored.status_code == 200 and restored.get_json()["deleted_at"] is None
    assert member.get(f"/s/{site['slug']}/").status_code == 200
    assert owner.post(f"{path}/undelete").status_code == 409
    assert count_events(db, "site.deleted", site["id"]) == 1
    assert count_events(db, "site.restored", site["id"]) == 1

    owner.delete(path)
    edit_site(db, site["id"], deleted_at=utcnow() - dt.timedelta(days=31))
    assert owner.post(f"{path}/undelete").status_code == 410  # past the retention period
    assert admin.get("/api/v1/sites").get_json()["sites"] == []


def test_disabled_site_shows_the_reason_to_its_owner_only(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, member = api(), api("mia@example.com")
    site = make_site(owner, audience="workspace")
    edit_site(db, site["id"], disabled_at=utcnow(), disabled_reason="Holds payroll data.")
    for caller, shows_reason in ((owner, True), (member, False)):
        page = caller.get(f"/s/{site['slug']}/")
        assert page.status_code == 410
        html = page.get_data(as_text=True)
        assert "was disabled by an admin" in html
        assert ("Holds payroll data." in html) is shows_reason
    refused = owner.post(f"/api/v1/sites/{site['id']}/unpublish")
    assert (
        refused.status_code == 403
        and "Holds payroll data." in refused.get_json()["error"]["message"]
    )
