"""Categories suggested from the files and confirmed by the owner; the review gate; official."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tests.governance.conftest import Api, count_events, edit_site, last_event

Make = Callable[..., dict[str, Any]]
TODAY = dt.date.today()


def test_categories_are_suggested_from_the_customer_review_samples(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner = api()
    site = make_site(owner, "customer_review")
    assert site["categories"] == [] and site["review"]["state"] == "unconfirmed"
    body = owner.get(f"/api/v1/sites/{site['id']}/categories").get_json()
    suggested = {s["category"]: s["reasons"] for s in body["suggested"]}
    assert {"customer", "finance"} <= set(suggested)
    assert any("ARR" in reason for reason in suggested["finance"])
    assert body["confirmed"] is False
    created = last_event(db, "site.created", site["id"])
    assert {"customer", "finance"} <= {s["category"] for s in created.data["suggested_categories"]}


def test_declared_categories_that_need_review_hold_the_site_at_once(
    api: Callable[..., Api], make_site: Make
) -> None:
    owner = api()
    site = make_site(owner, categories=["finance"])
    assert site["categories"] == ["finance"] and site["review"]["state"] == "pending"
    refused = owner.post(
        f"/api/v1/sites/{site['id']}/publish", {"version": 1, "audience": "workspace"}
    )
    assert refused.status_code == 409
    assert "reviewer must approve" in refused.get_json()["error"]["message"]
    # Publishing to oneself is fine while waiting.
    assert owner.post(f"/api/v1/sites/{site['id']}/publish", {"version": 1}).status_code == 200


def test_confirming_review_categories_gates_sharing_until_a_reviewer_approves(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, member = api(), api("mia@example.com")
    reviewer, colleague = api("rita@example.com", "reviewers"), api("carl@example.com")
    site = make_site(owner, "customer_review", audience="owner")
    path = f"/api/v1/sites/{site['id']}"

    confirmed = owner.patch(path, {"categories": ["customer", "finance"]})
    assert confirmed.status_code == 200
    assert confirmed.get_json()["review"]["state"] == "pending"
    event = last_event(db, "site.updated", site["id"])
    assert event.data["after"] == {
        "categories": ["customer", "finance"],
        "review_state": "pending",
    }

    widen = owner.put(f"{path}/sharing", {"audience": "workspace"})
    assert widen.status_code == 409 and widen.get_json()["error"]["code"] == "conflict"
    people = {"audience": "people", "grants": [{"email": "mia@example.com"}]}
    assert owner.put(f"{path}/sharing", people).status_code == 409
    assert owner.put(f"{path}/sharing", {"audience": "owner"}).status_code == 200  # narrowing
    assert member.get(f"/s/{site['slug']}/").status_code == 404

    queue = reviewer.get("/api/v1/reviews")
    assert [s["id"] for s in queue.get_json()["sites"]] == [site["id"]]
    assert colleague.get("/api/v1/reviews").status_code == 403
    assert colleague.post(f"{path}/review", {"decision": "approve"}).status_code == 404
    assert reviewer.get(f"/s/{site['slug']}/v/1/").status_code == 200  # reviewers read drafts
    assert reviewer.get(path).get_json()["review"]["state"] == "pending"

    assert reviewer.post(f"{path}/review", {"decision": "maybe"}).status_code == 400
    assert reviewer.post(f"{path}/review", {"decision": "reject"}).status_code == 400  # no note
    rejected = reviewer.post(
        f"{path}/review", {"decision": "reject", "note": "Remove the ARR figure first."}
    )
    assert rejected.status_code == 200
    assert rejected.get_json()["review"] == {
        "state": "rejected",
        "note": "Remove the ARR figure first.",
        "reviewed_at": rejected.get_json()["review"]["reviewed_at"],
    }
    refused = owner.put(f"{path}/sharing", {"audience": "workspace"})
    assert (
        refused.status_code == 409
        and "Remove the ARR figure" in refused.get_json()["error"]["message"]
    )

    approved = reviewer.post(f"{path}/review", {"decision": "approve", "note": "Fine now."})
    assert approved.status_code == 200 and approved.get_json()["review"]["state"] == "approved"
    assert reviewer.get("/api/v1/reviews").get_json()["sites"] == []
    assert owner.put(f"{path}/sharing", {"audience": "workspace"}).status_code == 200
    assert member.get(f"/s/{site['slug']}/").status_code == 200
    assert count_events(db, "review.decided", site["id"]) == 2

    # A category added after the approval needs a new review, and hides the site again.
    again = owner.patch(path, {"categories": ["customer", "finance", "legal"]})
    assert again.get_json()["review"]["state"] == "pending"
    assert member.get(f"/s/{site['slug']}/").status_code == 404
    # Dropping the categories does not release a site a reviewer is looking at: only an
    # approval does.
    none = owner.patch(path, {"categories": []})
    assert none.get_json()["review"]["state"] == "pending"
    assert member.get(f"/s/{site['slug']}/").status_code == 404


def test_nobody_reviews_their_own_site_and_sites_without_review_categories(
    api: Callable[..., Api], make_site: Make
) -> None:
    reviewer_owner = api("rita@example.com", "reviewers")
    own = make_site(reviewer_owner, categories=["finance"])
    answer = reviewer_owner.post(f"/api/v1/sites/{own['id']}/review", {"decision": "approve"})
    assert answer.status_code == 403  # they see their site, but may not review it
    assert reviewer_owner.get("/api/v1/reviews").get_json()["sites"] == []

    owner, admin = api(), api("admin@example.com")
    plain = make_site(owner, categories=[])
    owner.patch(f"/api/v1/sites/{plain['id']}", {"categories": []})
    answer = admin.post(f"/api/v1/sites/{plain['id']}/review", {"decision": "approve"})
    assert answer.status_code == 409


def test_official_banner_and_no_longer_confirmed_after_the_date(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, reviewer, member = api(), api("rita@example.com", "reviewers"), api("mia@example.com")
    site = make_site(owner, audience="workspace")
    path = f"/api/v1/sites/{site['id']}/official"
    until = (TODAY + dt.timedelta(days=30)).isoformat()

    assert owner.post(path, {"version": 1, "until": until}).status_code == 403  # not a reviewer
    assert reviewer.post(path, {"version": 1, "until": TODAY.isoformat()}).status_code == 400
    assert reviewer.post(path, {"version": 1, "until": "2999-01-01"}).status_code == 400
    assert reviewer.post(path, {"version": 1, "until": "soon"}).status_code == 400
    assert reviewer.post(path, {"version": 7, "until": until}).status_code == 404

    marked = reviewer.post(path, {"version": 1, "until": until})
    assert marked.status_code == 200, marked.get_json()
    official = marked.get_json()["official"]
    assert official["version"] == 1 and official["until"] == until
    assert official["since"] == TODAY.isoformat() and official["state"] == "official"
    page = member.get(f"/s/{site['slug']}/").get_data(as_text=True)
    assert f"Official since {TODAY.isoformat()} until {until}" in page
    assert count_events(db, "official.marked", site["id"]) == 1

    past = TODAY - dt.timedelta(days=1)
    edit_site(db, site["id"], official_since=past - dt.timedelta(days=30), official_until=past)
    page = member.get(f"/s/{site['slug']}/").get_data(as_text=True)
    assert "No longer confirmed" in page and "Official since" not in page
    described = member.get(f"/api/v1/sites/{site['id']}").get_json()["official"]
    assert described["state"] == "no_longer_confirmed"


def test_owner_sees_the_pending_state_and_the_reviewers_note_on_the_page(
    api: Callable[..., Api], make_site: Make, db: Any
) -> None:
    owner, reviewer = api(), api("admin@example.com")
    site = make_site(owner, audience="owner", categories=["employee"])
    page = owner.get(f"/s/{site['slug']}/").get_data(as_text=True)
    assert "Waiting for review" in page
    reviewer.post(
        f"/api/v1/sites/{site['id']}/review",
        {"decision": "reject", "note": "Salaries must not be <b>here</b>."},
    )
    page = owner.get(f"/s/{site['slug']}/").get_data(as_text=True)
    assert "A reviewer rejected sharing this site" in page
    assert "Salaries must not be &lt;b&gt;here&lt;/b&gt;." in page  # escaped
