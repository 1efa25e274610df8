"""Comments: create, list, resolve, re-anchor or orphan on new versions, and the annotate page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent
from tests.conftest import Auth, csrf_from
from tests.content.conftest import OWNER, bearer, db, make_site, version_row

VIEWER = "viewer@example.com"


def comment(
    client: FlaskClient, token: str, site_id: int, path: str, body: str, **extra: Any
) -> Any:
    return client.post(
        f"/api/v1/sites/{site_id}/annotations",
        json={"path": path, "body": body, **extra},
        headers=bearer(token),
    )


def listed(client: FlaskClient, token: str, site_id: int) -> dict[int, dict[str, Any]]:
    response = client.get(f"/api/v1/sites/{site_id}/annotations", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return {a["id"]: a for a in response.get_json()["annotations"]}


def test_viewers_comment_on_the_published_page_and_owners_resolve(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    make_token: Callable[..., str],
    samples_dir: Path,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir, publish="workspace")
    viewer, other = make_token(VIEWER), make_token("other@example.com")
    risk = version_row(app, site_id, 1).content["risks"][0]["risk"]
    created = comment(client, viewer, site_id, "/risks/0/risk", "Who books the vendor?")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["version"] == 1 and body["status"] == "open" and body["author"] == VIEWER
    assert body["quote"] == risk and body["path"] == "/risks/0/risk"

    for path, text, code in [
        ("/no/such/element", "x", 400),
        ("risks/0", "x", 400),
        ("/risks/0", "", 400),
        ("/risks/0", "x" * 4001, 400),
    ]:
        assert comment(client, viewer, site_id, path, text).status_code == code, path
    # Viewers comment on the published version only; drafts are invisible to them.
    assert comment(client, viewer, site_id, "/summary", "x", version=2).status_code == 404

    mine = comment(client, owner_token, site_id, "/summary", "Mention the beta.").get_json()
    assert set(listed(client, owner_token, site_id)) == {body["id"], mine["id"]}
    assert set(listed(client, other, site_id)) == {body["id"], mine["id"]}  # both on v1

    refused = client.patch(
        f"/api/v1/sites/{site_id}/annotations/{body['id']}",
        json={"status": "resolved"},
        headers=bearer(viewer),
    )
    assert refused.status_code == 403
    resolved = client.patch(
        f"/api/v1/sites/{site_id}/annotations/{body['id']}",
        json={"status": "resolved"},
        headers=bearer(owner_token),
    )
    assert resolved.status_code == 200
    assert resolved.get_json()["status"] == "resolved"
    assert resolved.get_json()["resolved_version"] == 1
    assert listed(client, viewer, site_id)[body["id"]]["status"] == "resolved"
    with db(app) as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions.count("annotation.created") == 2 and actions[-1] == "annotation.resolved"


def test_comments_follow_their_element_or_are_orphaned_when_it_is_gone(
    app: Flask, client: FlaskClient, owner_token: str, samples_dir: Path
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    content = version_row(app, site_id, 1).content
    on_risk = comment(client, owner_token, site_id, "/risks/1", "Name an owner").get_json()
    on_link = comment(client, owner_token, site_id, "/links/0/label", "Add the URL").get_json()
    on_summary = comment(client, owner_token, site_id, "/summary", "Shorter").get_json()
    assert on_risk["quote"] == content["risks"][1]["risk"]

    new_risk = {
        "risk": "Pen-test slot not booked.",
        "severity": "high",
        "owner": None,
        "mitigation": None,
    }
    edit = client.put(
        f"/api/v1/sites/{site_id}/content",
        json={
            "base_version": 1,
            "patch": [
                {"op": "add", "path": "/risks/0", "value": new_risk},
                {"op": "remove", "path": "/links/0"},
                {"op": "replace", "path": "/summary", "value": "A new summary entirely."},
            ],
        },
        headers=bearer(owner_token),
    )
    assert edit.status_code == 201, edit.get_json()
    now = listed(client, owner_token, site_id)
    assert now[on_risk["id"]]["path"] == "/risks/2" and now[on_risk["id"]]["status"] == "open"
    assert now[on_risk["id"]]["anchored_version"] == 2
    assert now[on_link["id"]]["status"] == "orphaned"
    assert now[on_link["id"]]["path"] == "/links/0/label"  # the last place it was
    # A fixed field of the template never disappears: the comment stays on it.
    assert now[on_summary["id"]]["status"] == "open" and now[on_summary["id"]]["path"] == "/summary"
    with db(app) as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "version.created", AuditEvent.version == 2
            )
        ).one()
        assert event.data["annotations"] == {"moved": [on_risk["id"]], "orphaned": [on_link["id"]]}

    restored = client.post(
        f"/api/v1/sites/{site_id}/restore", json={"version": 1}, headers=bearer(owner_token)
    )
    assert restored.status_code == 201
    back = listed(client, owner_token, site_id)
    assert (
        back[on_link["id"]]["status"] == "open" and back[on_link["id"]]["path"] == "/links/0/label"
    )
    assert back[on_risk["id"]]["path"] == "/risks/1"


def test_annotate_page_offers_elements_and_takes_comments_with_the_csrf_header(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    owner_token: str,
    samples_dir: Path,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir, publish="workspace")
    slug = client.get(f"/api/v1/sites/{site_id}", headers=bearer(owner_token)).get_json()["slug"]
    auth.login(OWNER, "Owner")
    page = client.get(f"/sites/{site_id}/annotate")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'src="/s/{slug}/v/1/"' in html
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert token
    assert 'option value="/risks/0/risk"' in html and 'option value="/milestones/0/name"' in html
    assert "Applying comments needs an AI model" in html  # the offline drafter is in use

    refused = client.post(
        f"/sites/{site_id}/annotations.json", json={"path": "/launch_name", "body": "Hi"}
    )
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf"
    created = client.post(
        f"/sites/{site_id}/annotations.json",
        json={"path": "/launch_name", "body": "Add the version number", "version": 1},
        headers={"X-CSRFToken": token.group(1)},
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["quote"] == "Atlas Reports 2.0"
    bad = client.post(
        f"/sites/{site_id}/annotations.json",
        json={"path": "/nope", "body": "x"},
        headers={"X-CSRFToken": token.group(1)},
    )
    assert bad.status_code == 400 and "no element" in bad.get_json()["error"]["message"]

    form = client.post(
        f"/sites/{site_id}/annotate",
        data={
            "csrf_token": csrf_from(html),
            "path": "/summary",
            "body": "Plain form",
            "version": "1",
        },
    )
    assert form.status_code == 303
    listing = client.get(f"/sites/{site_id}/annotations.json").get_json()["annotations"]
    assert [a["body"] for a in listing] == ["Add the version number", "Plain form"]
    again = client.get(f"/sites/{site_id}/annotate").get_data(as_text=True)
    assert "Add the version number" in again and "Plain form" in again
    resolve = client.post(
        f"/sites/{site_id}/annotations/{listing[0]['id']}/resolve",
        data={"csrf_token": csrf_from(again), "version": "1"},
    )
    assert resolve.status_code == 303
    apply = client.post(
        f"/sites/{site_id}/annotations/apply",
        data={"csrf_token": csrf_from(again), "annotation_ids": [str(listing[1]["id"])]},
        follow_redirects=True,
    )
    assert "needs an AI model" in apply.get_data(as_text=True)


def test_viewers_annotate_the_published_page(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    owner_token: str,
    samples_dir: Path,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir, publish="workspace")
    slug = client.get(f"/api/v1/sites/{site_id}", headers=bearer(owner_token)).get_json()["slug"]
    auth.login(VIEWER, "Viewer")
    html = client.get(f"/sites/{site_id}/annotate").get_data(as_text=True)
    assert f'src="/s/{slug}/"' in html and "Add comment" in html
    assert "Apply selected comments" not in html and 'name="version" id' not in html
    assert client.get(f"/sites/{site_id}/annotate?version=1").status_code == 200
    assert client.get(f"/s/{slug}/").status_code == 200  # the frame's page opens for viewers
