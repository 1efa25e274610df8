"""One access policy for the content routes: 404 when the site is not visible, 403 when it is
visible but the action is not allowed, and editors may do what owners do with content."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Auth, csrf_from, wait_for_jobs
from tests.content.conftest import bearer, grant, make_site, version_row

# (method, path under /api/v1/sites/<id>, JSON body); {aid} is a comment on the site.
EDITING = [
    ("post", "/revisions", {"instruction": "Add a risk"}),
    (
        "put",
        "/content",
        {"base_version": 1, "patch": [{"op": "replace", "path": "/launch_name", "value": "X"}]},
    ),
    ("post", "/restore", {"version": 1}),
    ("patch", "/annotations/{aid}", {"status": "resolved"}),
]
READING_DRAFTS = [("get", "/diff?from=1&to=1", None)]
COMMENTING = [("post", "/annotations", {"path": "/summary", "body": "Hello"})]
LISTING = [("get", "/annotations", None)]


def call(
    client: FlaskClient, token: str, site_id: int, aid: int, route: tuple[str, str, Any]
) -> Any:
    method, path, body = route
    url = f"/api/v1/sites/{site_id}{path.format(aid=aid)}"
    return getattr(client, method)(url, json=body, headers=bearer(token))


@pytest.fixture
def shared_site(
    app: Flask, client: FlaskClient, owner_token: str, samples_dir: Path
) -> tuple[int, int]:
    """A published workspace site with one comment by its owner: (site id, comment id)."""
    site_id = make_site(app, client, owner_token, samples_dir, publish="workspace")
    response = client.post(
        f"/api/v1/sites/{site_id}/annotations",
        json={"path": "/summary", "body": "Owner's note"},
        headers=bearer(owner_token),
    )
    return site_id, response.get_json()["id"]


@pytest.mark.parametrize("route", EDITING + READING_DRAFTS)
def test_a_viewer_may_not_edit_revise_apply_or_read_drafts(
    client: FlaskClient,
    make_token: Callable[..., str],
    shared_site: tuple[int, int],
    route: tuple[str, str, Any],
) -> None:
    site_id, aid = shared_site
    response = call(client, make_token("member@example.com"), site_id, aid, route)
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", EDITING + READING_DRAFTS + COMMENTING + LISTING)
def test_another_users_token_cannot_touch_an_unshared_site(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    make_token: Callable[..., str],
    samples_dir: Path,
    route: tuple[str, str, Any],
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    response = call(client, make_token("stranger@example.com"), site_id, 1, route)
    assert response.status_code == 404, response.get_json()
    assert call(client, owner_token, 999999, 1, route).status_code == 404


def test_an_editor_edits_restores_and_resolves(
    app: Flask,
    client: FlaskClient,
    make_token: Callable[..., str],
    shared_site: tuple[int, int],
) -> None:
    site_id, aid = shared_site
    grant(app, site_id, "editor@example.com", "editor")
    editor = make_token("editor@example.com")
    for route in EDITING[1:]:
        response = call(client, editor, site_id, aid, route)
        assert response.status_code in (200, 201), (route, response.get_json())
    assert version_row(app, site_id, 3).author.email == "editor@example.com"
    # Without a model, a wording revision is refused with what to do instead.
    refused = call(client, editor, site_id, aid, EDITING[0])
    assert (
        refused.status_code == 400 and "needs an AI model" in refused.get_json()["error"]["message"]
    )


def test_viewer_pages_refuse_content_tools_and_strangers_get_404(
    client: FlaskClient, auth: Auth, shared_site: tuple[int, int]
) -> None:
    site_id, _ = shared_site
    auth.login("member@example.com", "Member")
    for page in ("edit", "revise", "history", "diff"):
        assert client.get(f"/sites/{site_id}/{page}").status_code == 403, page
    assert client.get(f"/sites/{site_id}/annotate").status_code == 200
    auth.logout()
    assert client.get(f"/sites/{site_id}/annotate").status_code == 302  # sign in first


def test_owner_only_site_is_invisible_to_others_in_the_ui(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    owner_token: str,
    samples_dir: Path,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    auth.login("stranger@example.com", "Stranger")
    for page in ("edit", "revise", "history", "diff", "annotate", "annotations.json"):
        assert client.get(f"/sites/{site_id}/{page}").status_code == 404, page


def test_offline_revision_with_new_files_keeps_hand_edits(
    app: Flask, client: FlaskClient, auth: Auth, owner_token: str, samples_dir: Path
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    edited = client.put(
        f"/api/v1/sites/{site_id}/content",
        json={
            "base_version": 1,
            "patch": [
                {"op": "replace", "path": "/launch_name", "value": "Atlas Reports 2.0 (hand edit)"}
            ],
        },
        headers=bearer(owner_token),
    )
    assert edited.status_code == 201
    auth.login("owner@example.com", "Owner")
    page = client.get(f"/sites/{site_id}/revise").get_data(as_text=True)
    assert "No AI model is configured" in page
    notes = (
        "# Week 3\n\n## FAQ\n\n- Is there a mobile app? — Not at GA; it is planned for Q3.\n"
        "- Who runs the beta? — Jonas Weber in Customer Success.\n"
    ).encode()
    response = client.post(
        f"/sites/{site_id}/revise",
        data={
            "csrf_token": csrf_from(page),
            "instruction": "Add this week's notes",
            "files": [(io.BytesIO(notes), "week3.md")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    wait_for_jobs(app)
    status = client.get(response.location + "/status").get_json()
    assert status["status"] == "succeeded", status
    new = version_row(app, site_id, 3)
    assert new.content["launch_name"] == "Atlas Reports 2.0 (hand edit)"
    assert new.offline and new.instruction_kind == "revision" and new.parent_number == 2
    assert "week3.md" in {s.filename for s in new.sources}
    assert new.changed_paths == ["/faq/0", "/faq/1"]  # only what the new file brought
    assert "mobile app" in new.content["faq"][0]["question"]

    plain = client.post(
        f"/sites/{site_id}/revise",
        data={"csrf_token": csrf_from(page), "instruction": "Make it friendlier"},
    )
    assert plain.status_code == 400
    assert "needs an AI model" in plain.get_data(as_text=True)
