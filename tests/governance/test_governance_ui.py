"""The governance pages in the browser UI: panel, share with preview, review, life cycle."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Auth, csrf_from, wait_for_jobs
from tests.factories import create_site_ui


def make_ui_site(app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path) -> int:
    """Sign in as the builder, make a customer review and return its id."""
    auth.login()
    created = create_site_ui(client, samples_dir, "customer_review")
    assert created.status_code == 303
    wait_for_jobs(app)
    status = client.get(created.location + "/status").get_json()
    assert status["status"] == "succeeded", status
    return int(status["site_id"])


def post_form(client: FlaskClient, path: str, page: str, **data: Any) -> Any:
    """Post a form of the page at ``page`` like a browser (with its CSRF token)."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_owner_confirms_suggested_categories_and_cannot_share_before_review(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site_id = make_ui_site(app, client, auth, samples_dir)
    page = f"/sites/{site_id}"
    html = client.get(page).get_data(as_text=True)
    assert "Confirm the data categories" in html
    assert "ARR" in html  # the reason for the finance suggestion
    assert 'value="customer" checked' in html and 'value="finance" checked' in html

    confirmed = post_form(
        client,
        f"{page}/details",
        page,
        confirm_categories="1",
        categories=["customer", "finance"],
    )
    assert confirmed.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "in the reviewers&#39; queue" in html or "reviewers' queue" in html
    assert "Waiting for review" in html and "Confirm the data categories" not in html

    refused = post_form(client, f"{page}/publish", page, version="1", audience="workspace")
    assert refused.status_code == 303
    assert "reviewer must approve" in client.get(page).get_data(as_text=True)
    share = client.get(f"{page}/share")
    assert "you can narrow or revoke access now, but not widen it" in share.get_data(as_text=True)
    widen = post_form(
        client,
        f"{page}/share",
        f"{page}/share",
        step="review",
        choice="workspace",
        viewers="",
        editors="",
        viewer_groups="",
        editor_groups="",
    )
    assert widen.status_code == 409 and "reviewer must approve" in widen.get_data(as_text=True)


def test_share_shows_who_gains_access_before_confirming_and_revoking_works(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site_id = make_ui_site(app, client, auth, samples_dir)
    page = f"/sites/{site_id}"
    post_form(client, f"{page}/details", page, confirm_categories="1")  # no categories
    post_form(client, f"{page}/publish", page, version="1", audience="owner")
    member = app.test_client()
    auth.login("sam@example.com", "Sam Seller", groups="sales", client=member)
    html = client.get(f"{page}/share").get_data(as_text=True)
    assert 'name="choice" value="owner" checked' in html

    fields = {"choice": "named", "viewers": "", "editors": "", "editor_groups": ""}
    review = post_form(
        client, f"{page}/share", f"{page}/share", step="review", viewer_groups="sales", **fields
    )
    assert review.status_code == 200
    html = review.get_data(as_text=True)
    assert "1 person gains access" in html and "Sam Seller" in html and "sam@example.com" in html
    assert "Group <strong>sales</strong>" in html and "Confirm sharing" in html
    site_page = client.get(page).get_data(as_text=True)
    address = site_page.split("/s/", 1)[1].split("/", 1)[0]
    assert member.get(f"/s/{address}/").status_code == 404  # nothing saved yet

    confirmed = post_form(
        client, f"{page}/share", f"{page}/share", step="confirm", viewer_groups="sales", **fields
    )
    assert confirmed.status_code == 303
    assert "Sharing saved: 1 gained access" in client.get(page).get_data(as_text=True)
    assert member.get(f"/s/{address}/").status_code == 200
    assert f"/s/{address}/" in member.get("/").get_data(as_text=True)  # "Shared with you"

    post_form(
        client,
        f"{page}/share",
        f"{page}/share",
        step="confirm",
        choice="owner",
        viewers="",
        editors="",
        viewer_groups="sales",
        editor_groups="",
    )
    assert member.get(f"/s/{address}/").status_code == 404


def test_reviewer_finds_the_queue_on_my_sites_and_approves(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site_id = make_ui_site(app, client, auth, samples_dir)
    page = f"/sites/{site_id}"
    post_form(client, f"{page}/details", page, confirm_categories="1", categories=["customer"])
    assert "Review queue" not in client.get("/").get_data(as_text=True)
    assert client.get("/reviews").status_code == 404

    reviewer = app.test_client()
    auth.login("rita@example.com", "Rita Reviewer", groups="reviewers", client=reviewer)
    home = reviewer.get("/").get_data(as_text=True)
    assert 'href="/reviews"' in home
    queue = reviewer.get("/reviews").get_data(as_text=True)
    assert "Test customer_review" in queue and "Read version 1" in queue
    detail = reviewer.get(page).get_data(as_text=True)
    assert "Approve" in detail and "Mark official" in detail and "Delete…" not in detail
    approved = post_form(reviewer, f"{page}/review", page, decision="approve", note="Looks fine.")
    assert approved.status_code == 303
    assert "Nothing to review" in reviewer.get("/reviews").get_data(as_text=True)
    owner_view = client.get(page).get_data(as_text=True)
    assert "Approved by Rita Reviewer" in owner_view and "Looks fine." in owner_view


def test_unpublish_republish_delete_restore_and_export_from_the_site_page(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site_id = make_ui_site(app, client, auth, samples_dir)
    page = f"/sites/{site_id}"
    post_form(client, f"{page}/publish", page, version="1", audience="owner")
    assert "Unpublish" in client.get(page).get_data(as_text=True)
    post_form(client, f"{page}/unpublish", page)
    html = client.get(page).get_data(as_text=True)
    assert "is unpublished" in html and "Republish" in html
    post_form(client, f"{page}/republish", page)
    assert "is back online" in client.get(page).get_data(as_text=True)

    export = client.get(f"{page}/export")
    assert export.status_code == 200
    assert "index.html" in zipfile.ZipFile(io.BytesIO(export.data)).namelist()

    deleted = post_form(client, f"{page}/delete", page)
    assert deleted.status_code == 303 and deleted.location == "/"
    home = client.get("/").get_data(as_text=True)
    assert "<h2>Deleted</h2>" in home and "Restore" in home
    assert "Restore the site" in client.get(page).get_data(as_text=True)
    restored = post_form(client, f"{page}/undelete", "/")
    assert restored.status_code == 303
    assert "<h2>Deleted</h2>" not in client.get("/").get_data(as_text=True)


def test_expiry_can_be_extended_from_the_site_page(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site_id = make_ui_site(app, client, auth, samples_dir)
    page = f"/sites/{site_id}"
    too_far = post_form(client, f"{page}/details", page, expires_on="2999-01-01")
    assert too_far.status_code == 303
    assert "The expiry date can be at most" in client.get(page).get_data(as_text=True)


def test_governance_forms_require_csrf(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    site_id = make_ui_site(app, client, auth, samples_dir)
    for action in (
        "details",
        "unpublish",
        "republish",
        "delete",
        "undelete",
        "review",
        "official",
        "share",
    ):
        response = client.post(f"/sites/{site_id}/{action}", data={"step": "confirm"})
        assert response.status_code == 400, action
