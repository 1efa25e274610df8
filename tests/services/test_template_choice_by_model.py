"""A model chooses the template in the generation job's first step; its answer is checked.

The model is the loopback OpenAI-compatible server driven through the real SDK; it answers the
choice request (response format named "template_choice") and the draft request differently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import UsageRecord
from tests.conftest import Auth, wait_for_jobs
from tests.factories import create_site_ui, example_content, sample_uploads
from tests.fakes.llm_server import FakeLLMServer, Reply
from tests.services.test_template_choice import audit_data, stored_site


@pytest.fixture
def app(llm_app: Flask) -> Flask:
    """Every test here drafts (and chooses) through the loopback LLM server."""
    return llm_app


def answering(choice: dict[str, Any], template: str) -> Callable[[dict[str, Any]], Reply]:
    """Answer the choice request with ``choice`` and every draft with ``template``'s example."""

    def respond(body: dict[str, Any]) -> Reply:
        name = (body.get("response_format") or {}).get("json_schema", {}).get("name")
        if name == "template_choice":
            return Reply(content=json.dumps(choice))
        return Reply(content=json.dumps(example_content(template)))

    return respond


def launch_files(samples_dir: Path) -> list[tuple[Any, str]]:
    """The launch hub's sample files, for a site whose template is left to Sitewright."""
    return sample_uploads(samples_dir, "launch_hub")


# The prompt points the rules at the customer review; the files are the launch hub's.
QBR_PROMPT = "QBR renewal page: tickets, usage and account health for the customer."


def test_the_model_chooses_in_the_job_and_the_choice_is_recorded(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    samples_dir: Path,
    llm_server: FakeLLMServer,
) -> None:
    reason = "The files are a launch plan with milestones, messaging and decisions."
    llm_server.responder = answering({"template": "launch_hub", "reason": reason}, "launch_hub")
    auth.login()
    response = create_site_ui(
        client, samples_dir, "", files=launch_files(samples_dir), prompt=QBR_PROMPT
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    site_id = int(response.location.split("/sites/")[1].split("/")[0])
    rules = audit_data(app, "site.created")[-1]["template_choice"]
    assert rules["by"] == "rules" and rules["template"] == "customer_review" and rules["ask_model"]
    wait_for_jobs(app)

    status = client.get(response.location + "/status").get_json()
    assert status["status"] == "succeeded", status
    assert status["template_choice"]["message"] == f"Sitewright chose Launch hub: {reason}"
    template, choice = stored_site(app, site_id)
    assert template == "launch_hub"
    assert choice == {
        "by": "model",
        "template": "launch_hub",
        "title": "Launch hub",
        "reason": reason,
        "model": "fake-model",
        "ask_model": False,
    }
    chosen = audit_data(app, "site.template_chosen")
    assert len(chosen) == 1
    assert chosen[0]["before"] == "customer_review" and chosen[0]["model_answer"] == "used"

    asked, drafted = llm_server.requests[0], llm_server.requests[1]
    assert asked["response_format"]["json_schema"]["strict"] is True
    assert asked["response_format"]["json_schema"]["schema"]["properties"]["template"]["enum"] == [
        "customer_review",
        "launch_hub",
        "scenario_planner",
    ]
    question = asked["messages"][-1]["content"]
    assert "decisions.csv" in question and "decided_by" in question  # names and columns...
    assert "Drop the desktop app" not in question  # ...never cell values
    assert "<<<FILES-" in question and QBR_PROMPT in question
    assert drafted["response_format"]["json_schema"]["name"] == "launch_hub"
    with app.extensions["sitewright.db"].transaction() as session:
        kinds = session.scalars(select(UsageRecord.kind).order_by(UsageRecord.id)).all()
    assert kinds == ["choose", "generate"]
    progress = client.get(response.location).get_data(as_text=True)
    assert f"Sitewright chose Launch hub: {reason}" in progress
    assert 'data-step="choosing a template"' in progress


@pytest.mark.parametrize(
    ("choice", "script", "answer"),
    [
        ({"template": "nope", "reason": "It fits."}, (), "unusable"),
        ({"template": "launch_hub", "reason": "  "}, (), "unusable"),
        ({}, (Reply(status=401),), "failed"),
    ],
    ids=["unknown-template", "no-reason", "model-refuses"],
)
def test_an_unusable_model_answer_leaves_the_rules_choice(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    choice: dict[str, Any],
    script: tuple[Reply, ...],
    answer: str,
) -> None:
    llm_server.responder = answering(choice, "launch_hub")
    llm_server.script(*script)
    auth.login()
    response = create_site_ui(client, samples_dir, "", files=launch_files(samples_dir))
    wait_for_jobs(app)
    status = client.get(response.location + "/status").get_json()
    assert status["status"] == "succeeded", status
    assert status["template_choice"]["by"] == "rules"
    assert status["template_choice"]["template"] == "launch_hub"
    assert status["template_choice"]["message"].startswith("Sitewright chose Launch hub: The files")
    chosen = audit_data(app, "site.template_chosen")
    assert chosen[0]["model_answer"] == answer and chosen[0]["by"] == "rules"
    assert llm_server.requests[-1]["response_format"]["json_schema"]["name"] == "launch_hub"
