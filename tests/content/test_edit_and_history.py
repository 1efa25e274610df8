"""Editing by hand (API and page, 409 and 422), readable diffs, history and restore."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent
from tests.conftest import Auth, csrf_from
from tests.content.conftest import OWNER, bearer, db, make_site, version_row
from tests.factories import SAMPLE_FILES


def put_content(client: FlaskClient, token: str, site_id: int, base: int, *ops: dict) -> object:
    return client.put(
        f"/api/v1/sites/{site_id}/content",
        json={"base_version": base, "patch": list(ops)},
        headers=bearer(token),
    )


def replace(path: str, value: object) -> dict:
    return {"op": "replace", "path": path, "value": value}


def test_manual_edit_makes_a_version_with_author_and_changed_paths(
    app: Flask, client: FlaskClient, owner_token: str, samples_dir: Path
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    response = put_content(
        client, owner_token, site_id, 1, replace("/launch_name", "Atlas Reports 2.1")
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["number"] == 2 and body["parent"] == 1 and body["author"] == OWNER
    assert body["instruction"]["kind"] == "edit" and body["changed_paths"] == ["/launch_name"]
    assert version_row(app, site_id, 2).content["launch_name"] == "Atlas Reports 2.1"
    with db(app) as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.action == "version.created" and event.version == 2
        assert event.data["instruction_kind"] == "edit" and event.actor_email == OWNER


def test_editing_an_old_version_answers_409_and_invalid_content_422(
    app: Flask, client: FlaskClient, owner_token: str, samples_dir: Path
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    assert (
        put_content(client, owner_token, site_id, 1, replace("/launch_name", "A")).status_code
        == 201
    )
    stale = put_content(client, owner_token, site_id, 1, replace("/summary", "B"))
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"

    cases = [
        replace("/milestones/0/status", "somewhen"),  # not in the enum
        replace("/no_such_field", "x"),  # outside the schema
        replace("/decisions_table/columns/0", "no_such_column"),  # a missing column
        {"op": "remove", "path": "/summary"},  # a required field
        {"op": "move", "from": "/risks/0", "path": "/risks/1"},  # not an allowed op
    ]
    for op in cases:
        invalid = put_content(client, owner_token, site_id, 2, op)
        assert invalid.status_code == 422, (op, invalid.get_json())
        assert invalid.get_json()["error"]["details"], op
    assert "no_such_column" in str(
        put_content(client, owner_token, site_id, 2, cases[2]).get_json()
    )
    for bad in ({"base_version": 2, "patch": "x"}, {"patch": [replace("/summary", "x")]}):
        response = client.put(
            f"/api/v1/sites/{site_id}/content", json=bad, headers=bearer(owner_token)
        )
        assert response.status_code == 400
    same = put_content(client, owner_token, site_id, 2, replace("/launch_name", "A"))
    assert same.status_code == 400 and "Nothing changed" in same.get_json()["error"]["message"]
    assert version_row(app, site_id, 2).number == 2  # nothing new was written


def test_edit_page_saves_only_changed_fields_and_keeps_text_on_conflict(
    app: Flask, client: FlaskClient, auth: Auth, owner_token: str, samples_dir: Path
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    auth.login(OWNER, "Owner")
    page = client.get(f"/sites/{site_id}/edit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="text:/risks/0/mitigation"' in html and 'name="text:/launch_name"' in html
    assert "text:/milestones/0/status" not in html  # enums are not text
    assert "text:/decisions_table/source" not in html and "text:/decisions_table/title" in html
    form = dict(re.findall(r'<textarea[^>]*name="(text:[^"]+)"[^>]*>([^<]*)</textarea>', html))
    assert len(form) > 20
    form = {
        k: v.replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
        for k, v in form.items()
    }
    form["text:/risks/1/owner"] = "Jonas Weber"
    saved = client.post(
        f"/sites/{site_id}/edit",
        data={"csrf_token": csrf_from(html), "base_version": "1", **form},
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    assert "/diff" in saved.location
    new = version_row(app, site_id, 2)
    assert new.changed_paths == ["/risks/1/owner"] and new.instruction_kind == "edit"
    diff = client.get(saved.location).get_data(as_text=True)
    assert "Jonas Weber" in diff and "Risks › 2 › Owner" in diff

    # Someone else saves version 3; the form made on version 1 is refused and the text kept.
    put_content(client, owner_token, site_id, 2, replace("/launch_name", "Atlas Reports 2.1"))
    form["text:/summary"] = "My new summary, typed on the old version."
    conflict = client.post(
        f"/sites/{site_id}/edit",
        data={"csrf_token": csrf_from(html), "base_version": "1", **form},
    )
    assert conflict.status_code == 409
    text = conflict.get_data(as_text=True)
    assert "A newer version was saved" in text
    assert "My new summary, typed on the old version." in text
    assert "Atlas Reports 2.1" in text  # the latest value, not the old one from the form
    assert 'name="base_version" value="3"' in text
    assert version_row(app, site_id, 3).content["summary"] != form["text:/summary"]


def test_diff_api_and_page_read_section_by_section(
    app: Flask, client: FlaskClient, auth: Auth, owner_token: str, samples_dir: Path
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    risk = {
        "risk": "Pen-test slot not booked.",
        "severity": "high",
        "owner": None,
        "mitigation": None,
    }
    ops = [
        replace("/summary", "Atlas Reports 2.0 launches on 2027-02-10."),
        {"op": "add", "path": "/risks/0", "value": risk},
        {"op": "remove", "path": "/links/1"},
        replace("/decisions_table/columns", ["date", "decision"]),
    ]
    assert put_content(client, owner_token, site_id, 1, *ops).status_code == 201
    diff = client.get(f"/api/v1/sites/{site_id}/diff?from=1&to=2", headers=bearer(owner_token))
    assert diff.status_code == 200
    body = diff.get_json()
    assert body["from"] == 1 and body["to"] == 2
    by_path = {c["path"]: c for c in body["changes"]}
    assert [c["section"] for c in body["changes"]] == [
        "summary",
        "decisions_table",
        "risks",
        "links",
    ]
    assert by_path["/summary"]["op"] == "changed"
    assert by_path["/risks/0"] == by_path["/risks/0"] | {"op": "added", "new": risk, "old": None}
    assert by_path["/links/1"]["op"] == "removed" and by_path["/links/1"]["new"] is None
    assert "now shows columns date, decision" in by_path["/decisions_table"]["summary"]

    auth.login(OWNER, "Owner")
    page = client.get(f"/sites/{site_id}/diff?from=1&to=2").get_data(as_text=True)
    for text in (
        "Summary",
        "Risks",
        "Pen-test slot not booked.",
        "now shows columns date",
        "<del>",
        "<ins>",
        "Links",
        "Publish version 2",
    ):
        assert text in page, text
    assert '"risk":' not in page  # readable, not raw JSON
    bad = client.get(f"/api/v1/sites/{site_id}/diff?from=1&to=9", headers=bearer(owner_token))
    assert bad.status_code == 404


def test_history_lists_provenance_and_restore_makes_a_new_equal_version(
    app: Flask, client: FlaskClient, auth: Auth, owner_token: str, samples_dir: Path
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    put_content(client, owner_token, site_id, 1, replace("/launch_name", "Renamed"))
    restored = client.post(
        f"/api/v1/sites/{site_id}/restore", json={"version": 1}, headers=bearer(owner_token)
    )
    assert restored.status_code == 201, restored.get_json()
    body = restored.get_json()
    assert body["number"] == 3 and body["instruction"]["kind"] == "restore"
    assert body["parent"] == 2 and body["changed_paths"] == ["/launch_name"]
    assert version_row(app, site_id, 3).content == version_row(app, site_id, 1).content
    again = client.post(
        f"/api/v1/sites/{site_id}/restore", json={"version": 3}, headers=bearer(owner_token)
    )
    assert again.status_code == 409
    missing = client.post(
        f"/api/v1/sites/{site_id}/restore", json={"version": 7}, headers=bearer(owner_token)
    )
    assert missing.status_code == 404

    auth.login(OWNER, "Owner")
    history = client.get(f"/sites/{site_id}/history").get_data(as_text=True)
    for text in (
        "Restored version 1",
        "Edited by hand",
        "Made from the prompt",
        "/s/",
        "/v/2/",
        "Restore<span",
        "Publish<span",
    ):
        assert text in history, text
    site_page = client.get(f"/sites/{site_id}").get_data(as_text=True)
    for text in ("Revise by instruction", "Edit by hand", "Annotate", "History and compare"):
        assert text in site_page, text
    restore = client.post(
        f"/sites/{site_id}/restore", data={"csrf_token": csrf_from(history), "version": "2"}
    )
    assert (
        restore.status_code == 303 and "from=3" in restore.location and "to=4" in restore.location
    )
    publish = client.post(
        f"/sites/{site_id}/publish", data={"csrf_token": csrf_from(history), "version": "4"}
    )
    assert publish.status_code == 303
    site = client.get(f"/api/v1/sites/{site_id}", headers=bearer(owner_token)).get_json()
    assert site["published_version"] == 4


@pytest.mark.parametrize("template", sorted(SAMPLE_FILES))
def test_every_template_can_be_edited_compared_and_annotated(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    owner_token: str,
    samples_dir: Path,
    template: str,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir, template)
    auth.login(OWNER, "Owner")
    page = client.get(f"/sites/{site_id}/edit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    fields = re.findall(r'name="text:([^"]+)"', html)
    assert len(fields) >= 5
    saved = client.post(
        f"/sites/{site_id}/edit",
        data={"csrf_token": csrf_from(html), "base_version": "1", f"text:{fields[0]}": "Edited"},
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)[:1000]
    assert version_row(app, site_id, 2).changed_paths == [fields[0]]
    assert "Edited" in client.get(saved.location).get_data(as_text=True)
    annotate = client.get(f"/sites/{site_id}/annotate").get_data(as_text=True)
    assert annotate.count('<option value="/') >= 5
