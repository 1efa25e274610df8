"""Rights a security review found leaking, each pinned by the test that would have caught it."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from flask import Flask

from app.models import Job
from tests.conftest import wait_for_jobs
from tests.governance.conftest import Api, edit_site


def test_editors_publish_but_do_not_change_who_can_open_the_site(
    api: Callable[..., Api], make_site: Callable[..., dict[str, Any]]
) -> None:
    owner, editor = api(), api("ed@example.com")
    site = make_site(owner, audience="owner")
    path = f"/api/v1/sites/{site['id']}"
    grants = {
        "audience": "people",
        "grants": [
            {"email": "ed@example.com", "role": "editor"},
            {"email": "vi@example.com", "role": "viewer"},
        ],
    }
    assert owner.put(f"{path}/sharing", grants).status_code == 200
    assert editor.post(f"{path}/publish", {"version": 1}).status_code == 200
    for audience in ("workspace", "owner"):
        refused = editor.post(f"{path}/publish", {"version": 1, "audience": audience})
        assert refused.status_code == 403, refused.get_json()
    sharing = owner.get(f"{path}/sharing").get_json()
    assert sharing["audience"] == "people" and len(sharing["grants"]) == 2
    # The grantees' addresses are for whoever manages sharing, not for every editor.
    assert "sharing" not in editor.get(path).get_json()
    assert "sharing" in owner.get(path).get_json()


def _failed_job(app: Flask, db: Callable[[], Any], site: dict[str, Any]) -> str:
    with db() as session:
        job = session.query(Job).filter(Job.site_id == site["id"]).one()
        job.status, job.error = "failed", "The model did not answer."
        return str(job.id)


def test_retrying_a_job_makes_a_version_so_it_needs_the_edit_right(
    app: Flask,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
    db: Callable[[], Any],
) -> None:
    owner, reviewer = api(), api("rev@example.com", "reviewers")
    site = make_site(owner)
    job_id = _failed_job(app, db, site)
    assert reviewer.post(f"/api/v1/jobs/{job_id}/retry").status_code == 403
    edit_site(db, site["id"], deleted_at=dt.datetime(2026, 11, 1))
    assert owner.post(f"/api/v1/jobs/{job_id}/retry").status_code == 403
    wait_for_jobs(app)
    with db() as session:
        assert session.get(Job, job_id).status == "failed"  # nothing was retried


def test_new_files_in_a_revision_ask_the_owner_to_confirm_categories_again(
    app: Flask,
    client: Any,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
    db: Callable[[], Any],
) -> None:
    owner = api()
    site = make_site(owner, template="launch_hub")
    path = f"/api/v1/sites/{site['id']}"
    assert owner.patch(path, {"categories": []}).get_json()["review"]["state"] == "not_required"
    payroll = b"name,email,salary\nAda Lovelace,ada@example.com,98000\n"
    response = client.post(
        f"{path}/revisions",
        headers={"Authorization": f"Bearer {owner.token}"},
        content_type="multipart/form-data",
        data={"instruction": "", "files": [(io.BytesIO(payroll), "payroll.csv")]},
    )
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    after = owner.get(f"{path}/categories").get_json()
    assert owner.get(path).get_json()["review"]["state"] == "unconfirmed"
    assert "employee" in {s["category"] for s in after["suggested"]}
