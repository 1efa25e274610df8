"""Revisions through the real openai SDK against the loopback server: patches, tokens, repair."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent, Job, Site, UsageRecord
from app.services.content_patch import diff_operations
from tests.conftest import wait_for_jobs
from tests.content.conftest import (
    ScriptedModel,
    bearer,
    db,
    make_site,
    patch_reply,
    version_row,
)
from tests.factories import example_content
from tests.fakes.llm_server import FakeLLMServer

PEN_TEST_RISK = {
    "risk": "The pen-test slot for the export pipeline is still not booked.",
    "severity": "high",
    "owner": "Alicia Gomez",
    "mitigation": "Book the vendor's first free slot and tell the beta cohort.",
}


@pytest.fixture
def app(llm_app: Flask) -> Flask:
    """Every test here revises through the loopback LLM server."""
    return llm_app


def revise(
    app: Flask, client: FlaskClient, token: str, site_id: int, **body: Any
) -> dict[str, Any]:
    """Ask for a revision through the API, wait for it and return the job's final state."""
    response = client.post(f"/api/v1/sites/{site_id}/revisions", json=body, headers=bearer(token))
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    job_id = response.get_json()["job"]["id"]
    state: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(token)).get_json()
    return state


def changed_paths(old: Any, new: Any) -> list[str]:
    return [op["path"] for op in diff_operations(old, new)]


def patch_requests(server: FakeLLMServer) -> list[dict[str, Any]]:
    return [
        r for r in server.requests if r["response_format"]["json_schema"]["name"] == "json_patch"
    ]


def test_revision_changes_only_the_patched_paths_and_records_provenance(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    model: ScriptedModel,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir, publish="owner")
    model.patches.append(patch_reply(("add", "/risks/-", PEN_TEST_RISK)))
    job = revise(
        app, client, owner_token, site_id, instruction="Add a risk about the pen-test slot"
    )
    assert job["status"] == "succeeded" and job["version"] == 2, job

    old, new = version_row(app, site_id, 1), version_row(app, site_id, 2)
    assert changed_paths(old.content, new.content) == ["/risks/2"]
    assert new.content["risks"][2] == PEN_TEST_RISK
    assert new.instruction_kind == "revision" and new.parent_number == 1
    assert new.instruction == "Add a risk about the pen-test slot"
    assert new.changed_paths == ["/risks/2"] and new.model == "fake-model"
    assert new.tokens_in > 0 and new.tokens_out > 0
    assert {s.filename for s in new.sources} == {s.filename for s in old.sources}

    request = patch_requests(llm_server)[-1]
    assert request["response_format"]["json_schema"]["strict"] is True
    user_text = request["messages"][-1]["content"]
    assert "Add a risk about the pen-test slot" in user_text
    assert "/risks:" in user_text and "Mei Chen" not in user_text  # only the risks are sent
    with db(app) as session:
        site = session.get(Site, site_id)
        assert site is not None and site.published_version == 1 and site.latest_version == 2
        usage = session.scalars(select(UsageRecord).where(UsageRecord.kind == "revise")).all()
        assert [(u.tokens_in, u.tokens_out) for u in usage] == [(new.tokens_in, new.tokens_out)]
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["revision.requested", "version.created"]
    versions = client.get(f"/api/v1/sites/{site_id}/versions", headers=bearer(owner_token))
    assert versions.get_json()["versions"][-1]["instruction"]["kind"] == "revision"


def test_a_revision_sends_under_a_quarter_of_the_tokens_of_regenerating(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
) -> None:
    model = ScriptedModel("customer_review")
    llm_server.responder = model
    site_id = make_site(app, client, owner_token, samples_dir, template="customer_review")
    regenerated = example_content("customer_review")
    regenerated["summary"] = "Northwind renews in March; usage is up and support is calm."
    model.content = json.dumps(regenerated)
    assert revise(app, client, owner_token, site_id, regenerate=True)["status"] == "succeeded"

    risk = {k: v for k, v in PEN_TEST_RISK.items() if k != "owner"}  # no owner in this template
    model.patches.append(patch_reply(("add", "/risks/-", risk)))
    job = revise(
        app, client, owner_token, site_id, instruction="Add a risk about the pen-test slot"
    )
    assert job["status"] == "succeeded", job

    regeneration, revision = version_row(app, site_id, 2), version_row(app, site_id, 3)
    assert regeneration.instruction_kind == "regenerate"
    wire = [len(json.dumps(r)) // 4 for r in llm_server.requests[-2:]]
    print(
        f"\ntokens in (fake server, chars/4 of the messages): regenerate {regeneration.tokens_in}, "
        f"revise {revision.tokens_in} ({revision.tokens_in / regeneration.tokens_in:.0%}); "
        f"whole request bodies incl. response_format: regenerate {wire[0]}, revise {wire[1]} "
        f"({wire[1] / wire[0]:.0%})"
    )
    assert revision.tokens_in * 4 < regeneration.tokens_in
    assert wire[1] * 4 < wire[0]
    assert changed_paths(regeneration.content, revision.content) == ["/risks/3"]


def test_a_patch_outside_the_schema_is_repaired_once_then_fails_clearly_keeping_inputs(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    model: ScriptedModel,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    model.patches += [
        patch_reply(("replace", "/sharing", "workspace")),
        patch_reply(("replace", "/risks/0/severity", "catastrophic")),
    ]
    job = revise(app, client, owner_token, site_id, instruction="Raise the first risk")
    assert job["status"] == "failed" and job["version"] is None
    assert "did not fit the template" in job["error"] and "Retry" in job["error"]
    requests = patch_requests(llm_server)
    assert len(requests) == 2
    repair = requests[1]["messages"][-1]["content"]
    assert "/sharing is not a field of this template" in repair
    with db(app) as session:
        row = session.get(Job, job["id"])
        assert row is not None and row.prompt == "Raise the first risk" and row.base_version == 1
        assert session.get(Site, site_id).latest_version == 1  # type: ignore[union-attr]
        kinds = session.scalars(select(UsageRecord.kind).order_by(UsageRecord.id)).all()
        assert kinds[-2:] == ["revise", "repair"]

    model.patches.append(patch_reply(("replace", "/risks/0/severity", "medium")))
    retry = client.post(f"/api/v1/jobs/{job['id']}/retry", headers=bearer(owner_token))
    assert retry.status_code == 202
    wait_for_jobs(app)
    again = client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(owner_token)).get_json()
    assert again["status"] == "succeeded" and again["version"] == 2
    assert version_row(app, site_id, 2).changed_paths == ["/risks/0/severity"]


def test_an_answer_outside_the_sections_shown_gets_the_whole_page_for_its_repair(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    model: ScriptedModel,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    model.patches += [
        patch_reply(("replace", "/launch_name", "Atlas Reports 2.1")),
        patch_reply(("replace", "/launch_name", "Atlas Reports 2.1")),
    ]
    job = revise(
        app, client, owner_token, site_id, instruction="Add a risk about the pen-test slot"
    )
    assert job["status"] == "succeeded", job
    first, repair = patch_requests(llm_server)[-2:]
    assert "/launch_name:" not in first["messages"][1]["content"]
    assert "/launch_name:" in repair["messages"][1]["content"]
    assert version_row(app, site_id, 2).changed_paths == ["/launch_name"]


def test_new_files_come_with_a_revision_and_reach_the_model_in_full(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    model: ScriptedModel,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    milestone = {
        "name": "Docs review",
        "owner": "Ravi Patel",
        "due_date": "2027-01-20",
        "status": "not started",
    }
    model.patches.append(patch_reply(("add", "/milestones/-", milestone)))
    notes = b"# Week 3 notes\n\n- Docs review with Ravi Patel on 2027-01-20.\n"
    response = client.post(
        f"/api/v1/sites/{site_id}/revisions",
        data={
            "instruction": "Add this week's milestones",
            "files": [(io.BytesIO(notes), "week3_notes.md")],
        },
        content_type="multipart/form-data",
        headers=bearer(owner_token),
    )
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    new = version_row(app, site_id, 2)
    assert new.content["milestones"][-1] == milestone
    assert {s.filename for s in new.sources} == {
        "launch_plan.md",
        "messaging.md",
        "decisions.csv",
        "week3_notes.md",
    }
    user_text = patch_requests(llm_server)[-1]["messages"][1]["content"]
    assert "Docs review with Ravi Patel" in user_text and "launch_plan.md" in user_text


def test_unreadable_new_file_is_refused_before_anything_is_saved(
    app: Flask, client: FlaskClient, owner_token: str, samples_dir: Path, model: ScriptedModel
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    response = client.post(
        f"/api/v1/sites/{site_id}/revisions",
        data={"instruction": "Add it", "files": [(io.BytesIO(b"\x00\x01\x02"), "blob.exe")]},
        content_type="multipart/form-data",
        headers=bearer(owner_token),
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_input"
    with db(app) as session:
        assert session.scalars(select(Job).where(Job.kind == "revise")).first() is None


def test_regeneration_happens_only_when_asked_for(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    model: ScriptedModel,
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    model.patches.append(patch_reply(("replace", "/summary", "A shorter summary.")))
    assert (
        revise(app, client, owner_token, site_id, instruction="Shorten the summary")["status"]
        == "succeeded"
    )
    assert llm_server.requests[-1]["response_format"]["json_schema"]["name"] == "json_patch"

    regenerated = example_content("launch_hub")
    regenerated["launch_name"] = "Atlas Reports Two"
    model.content = json.dumps(regenerated)
    job = revise(app, client, owner_token, site_id, instruction="", regenerate=True)
    assert job["status"] == "succeeded", job
    assert llm_server.requests[-1]["response_format"]["json_schema"]["name"] == "launch_hub"
    new = version_row(app, site_id, 3)
    assert new.instruction_kind == "regenerate" and new.parent_number == 2
    assert set(new.changed_paths) == {"/launch_name", "/summary"}
    with db(app) as session:
        assert session.scalars(
            select(UsageRecord.kind).order_by(UsageRecord.id.desc())
        ).first() == ("regenerate")


def test_a_second_revision_waits_for_the_first(
    app: Flask, client: FlaskClient, owner_token: str, samples_dir: Path, model: ScriptedModel
) -> None:
    site_id = make_site(app, client, owner_token, samples_dir)
    with db(app) as session:
        session.add(
            Job(
                id="busy-job",
                site_id=site_id,
                kind="revise",
                status="running",
                created_by_id=session.get(Site, site_id).owner_id,
            )  # type: ignore[union-attr]
        )
    response = client.post(
        f"/api/v1/sites/{site_id}/revisions", json={"instruction": "x"}, headers=bearer(owner_token)
    )
    assert response.status_code == 409
    assert "being made" in response.get_json()["error"]["message"]
