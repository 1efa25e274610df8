"""Generation through the real openai SDK against an OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models import AuditEvent, Job, SiteVersion, Source, UsageRecord
from tests.conftest import Auth, wait_for_jobs
from tests.factories import create_site_ui, example_content
from tests.fakes.llm_server import FakeLLMServer, Reply

GOOD = json.dumps(example_content("customer_review"))


@pytest.fixture
def app(llm_app: Flask) -> Flask:
    """Every test here drafts through the loopback LLM server."""
    return llm_app


def make_site(app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path) -> dict[str, Any]:
    auth.login()
    response = create_site_ui(client, samples_dir)
    assert response.status_code == 303, response.get_data(as_text=True)
    wait_for_jobs(app)
    status = client.get(response.location + "/status").get_json()
    status["progress_url"] = response.location
    return status


def db_count(app: Flask, model: Any, **where: Any) -> int:
    with app.extensions["sitewright.db"].transaction() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.scalar(query) or 0)


def test_generation_records_version_with_provenance(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.default_content = GOOD
    status = make_site(app, client, auth, samples_dir)
    assert status["status"] == "succeeded", status
    request = llm_server.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["strict"] is True
    user_text = request["messages"][-1]["content"]
    assert "usage.csv" in user_text and "Northwind" in user_text  # the digest reached the model
    with app.extensions["sitewright.db"].transaction() as session:
        version = session.scalars(select(SiteVersion)).one()
        assert version.model == "fake-model" and not version.offline
        assert version.tokens_in > 100 and version.tokens_out > 10
        assert version.template == "customer_review" and version.template_version
        assert version.instruction == "Make a useful site from these files."
        assert {s.filename for s in version.sources} == {
            "usage.csv",
            "tickets.csv",
            "qbr_notes.md",
            "contract_summary.pdf",
        }
        assert all(len(s.sha256) == 64 for s in version.sources)
        usage = session.scalars(select(UsageRecord)).all()
        assert [(u.tokens_in, u.tokens_out) for u in usage] == [
            (version.tokens_in, version.tokens_out)
        ]
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["site.created", "version.created"]


def test_server_refusing_json_schema_falls_back_to_json_object(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.default_content = GOOD
    llm_server.refuse_json_schema = True
    status = make_site(app, client, auth, samples_dir)
    assert status["status"] == "succeeded", status
    kinds = [r["response_format"]["type"] for r in llm_server.requests]
    assert kinds[0] == "json_schema" and kinds[-1] == "json_object"
    assert llm_server.requests[-1]["response_format"]["schema"]["type"] == "object"


def test_invalid_json_once_is_repaired(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.default_content = GOOD
    llm_server.script(Reply(content='{"account": {"name": "Northwind", '))
    status = make_site(app, client, auth, samples_dir)
    assert status["status"] == "succeeded", status
    assert len(llm_server.requests) == 2
    repair = json.dumps(llm_server.requests[1]["messages"])
    assert "not a JSON object" in repair
    assert db_count(app, UsageRecord) == 2  # the failed attempt's tokens are counted too


def test_schema_invalid_twice_fails_clearly_and_keeps_inputs(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path, llm_server: FakeLLMServer
) -> None:
    bad = example_content("customer_review")
    bad["unexpected"] = "field"
    llm_server.default_content = json.dumps(bad)
    status = make_site(app, client, auth, samples_dir)
    assert status["status"] == "failed"
    assert "did not fit the template" in status["error"] and "Retry" in status["error"]
    assert len(llm_server.requests) == 2
    assert "unexpected" in json.dumps(llm_server.requests[1]["messages"])  # errors sent back
    assert db_count(app, SiteVersion) == 0
    deps = app.extensions["sitewright.deps"]
    with deps.db.transaction() as session:
        job = session.scalars(select(Job)).one()
        assert job.prompt == "Make a useful site from these files."
        sources = session.scalars(select(Source)).all()
        assert len(sources) == 4 and all(deps.blobs.exists(s.sha256) for s in sources)
    # The progress page shows the reason and a Retry button; Retry reuses the saved inputs.
    page = client.get(status["progress_url"]).get_data(as_text=True)
    assert "did not fit the template" in page and ">Retry</button>" in page
    llm_server.default_content = GOOD
    from tests.conftest import csrf_from

    retry = client.post(status["progress_url"] + "/retry", data={"csrf_token": csrf_from(page)})
    assert retry.status_code == 303
    wait_for_jobs(app)
    again = client.get(status["progress_url"] + "/status").get_json()
    assert again["status"] == "succeeded" and again["version"] == 1 and again["attempts"] == 2


def test_chart_naming_a_missing_column_is_sent_back_for_repair(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path, llm_server: FakeLLMServer
) -> None:
    wrong = example_content("customer_review")
    chart = _first_chart(wrong)
    chart["y"] = ["no_such_column"]
    llm_server.default_content = GOOD
    llm_server.script(Reply(content=json.dumps(wrong)))
    status = make_site(app, client, auth, samples_dir)
    assert status["status"] == "succeeded", status
    assert "no_such_column" in json.dumps(llm_server.requests[1]["messages"])


def _first_chart(content: Any) -> dict[str, Any]:
    if isinstance(content, dict):
        if {"source", "x", "y", "kind"} <= set(content):
            return content
        values = list(content.values())
    elif isinstance(content, list):
        values = content
    else:
        values = []
    for value in values:
        found = _first_chart(value)
        if found:
            return found
    return {}


@pytest.mark.parametrize(
    "reply, expected",
    [
        (Reply(status=500, error_message="boom"), "internal error"),
        (Reply(status=429, error_message="slow down"), "busy"),
        (Reply(content=GOOD, delay_s=1.6), "did not answer within"),
    ],
)
def test_unavailable_model_fails_with_retry_and_keeps_inputs(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    reply: Reply,
    expected: str,
) -> None:
    llm_server.responder = lambda body: reply
    status = make_site(app, client, auth, samples_dir)
    assert status["status"] == "failed"
    assert expected in status["error"].lower() or expected in status["error"]
    assert "Retry" in status["error"]
    assert len(llm_server.requests) == 2  # LLM_MAX_RETRIES=1: one retry by the SDK
    assert db_count(app, SiteVersion) == 0 and db_count(app, Source) == 4


def test_transient_429_then_success(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path, llm_server: FakeLLMServer
) -> None:
    llm_server.default_content = GOOD
    llm_server.script(Reply(status=429, error_message="rate limited"))
    status = make_site(app, client, auth, samples_dir)
    assert status["status"] == "succeeded"
    assert len(llm_server.requests) == 2
