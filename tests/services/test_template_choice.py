"""Automatic template choice by the offline rules, in the request (no model configured).

A model choosing in the job's first step: tests/services/test_template_choice_by_model.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent, Site
from tests.conftest import Auth, wait_for_jobs
from tests.factories import SAMPLE_FILES, create_site_api, create_site_ui, sample_uploads

TITLES = {
    "customer_review": "Customer review",
    "scenario_planner": "Scenario planner",
    "launch_hub": "Launch hub",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audit_data(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.extensions["sitewright.db"].transaction() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        return [dict(row.data) for row in rows]


def stored_site(app: Flask, site_id: int) -> tuple[str, dict[str, Any]]:
    with app.extensions["sitewright.db"].transaction() as session:
        site = session.get_one(Site, site_id)
        return site.template, dict(site.template_choice or {})


@pytest.mark.parametrize("samples", sorted(SAMPLE_FILES))
def test_offline_rules_choose_for_each_sample_set(
    app: Flask,
    client: FlaskClient,
    make_token: Callable[..., str],
    samples_dir: Path,
    samples: str,
) -> None:
    token = make_token()
    created = create_site_api(
        client, token, samples_dir, template="", files=sample_uploads(samples_dir, samples)
    )
    assert created.status_code == 202, created.get_json()
    site = created.get_json()["site"]
    assert site["template"] == samples
    choice = site["template_choice"]
    assert choice["by"] == "rules" and not choice["pending"] and choice["title"] == TITLES[samples]
    assert choice["message"] == f"Sitewright chose {TITLES[samples]}: {choice['reason']}"
    wait_for_jobs(app)
    job = client.get(f"/api/v1/jobs/{created.get_json()['job']['id']}", headers=bearer(token))
    assert job.get_json()["status"] == "succeeded"
    assert job.get_json()["template_choice"]["template"] == samples
    created_event = audit_data(app, "site.created")[-1]
    assert created_event["template"] == samples
    assert created_event["template_choice"]["reason"] == choice["reason"]
    assert audit_data(app, "site.template_chosen") == []  # no model: the rules decided


def test_a_named_template_is_not_second_guessed(
    app: Flask, client: FlaskClient, make_token: Callable[..., str], samples_dir: Path
) -> None:
    token = make_token()
    created = create_site_api(
        client,
        token,
        samples_dir,
        "customer_review",
        files=sample_uploads(samples_dir, "launch_hub"),
    )
    assert created.get_json()["site"]["template"] == "customer_review"
    assert created.get_json()["site"]["template_choice"] is None
    assert audit_data(app, "site.created")[-1]["template_choice"] is None
    wait_for_jobs(app)


def test_the_form_offers_the_choice_first_and_pages_say_what_was_chosen(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    auth.login()
    form = client.get("/new").get_data(as_text=True)
    first = form.index('name="template"')
    assert form[first:].startswith('name="template" value="" required checked')
    assert "Let Sitewright choose" in form
    response = create_site_ui(
        client, samples_dir, "", files=sample_uploads(samples_dir, "launch_hub")
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    wait_for_jobs(app)
    progress = client.get(response.location).get_data(as_text=True)
    assert "Sitewright chose Launch hub: The files mention" in progress
    status = client.get(response.location + "/status").get_json()
    assert status["status"] == "succeeded"
    page = client.get(status["site_url"]).get_data(as_text=True)
    assert "Sitewright chose Launch hub: The files mention" in page
