"""/metrics: who may read it, request counters, database figures, multiprocess mode."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from app.auth.identity import provision_user
from app.models import Job, Site, UsageRecord
from tests.conftest import REPO

ELSEWHERE = {"REMOTE_ADDR": "10.0.0.5"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Index a scrape's samples by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(
    client: FlaskClient, **kwargs: Any
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain")
    return samples(response.get_data(as_text=True))


def requests_total(
    found: dict[Any, float], endpoint: str, status: str, method: str = "GET"
) -> float:
    key = (
        "sitewright_http_requests_total",
        (("endpoint", endpoint), ("method", method), ("status", status)),
    )
    return found.get(key, 0.0)


def test_loopback_reads_metrics_without_token(client: FlaskClient) -> None:
    found = scrape(client)
    assert found[("sitewright_database_up", ())] == 1.0


def test_others_get_not_found_without_token(client: FlaskClient) -> None:
    response = client.get("/metrics", environ_base=ELSEWHERE)
    assert response.status_code == 404
    assert b"sitewright_" not in response.data


@pytest.mark.parametrize(
    ("header", "remote", "status"),
    [
        ("Bearer s3cret-token", "10.0.0.5", 200),
        ("Bearer s3cret-token", "127.0.0.1", 200),
        ("Bearer wrong", "10.0.0.5", 404),
        ("", "127.0.0.1", 404),
        ("Basic s3cret-token", "10.0.0.5", 404),
    ],
)
def test_token_when_set(
    settings: dict[str, Any], request: pytest.FixtureRequest, header: str, remote: str, status: int
) -> None:
    settings["METRICS_TOKEN"] = "s3cret-token"
    app: Flask = request.getfixturevalue("app")
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get(
        "/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote}
    )
    assert response.status_code == status


def test_metrics_needs_no_sign_in_while_sites_hidden(client: FlaskClient) -> None:
    # A signed-out scraper is neither redirected to sign-in nor refused by CSRF.
    response = client.get("/metrics", headers={"Accept": "text/html"})
    assert response.status_code == 200


def test_requests_counted_by_endpoint(client: FlaskClient) -> None:
    before = scrape(client)
    for _ in range(3):
        client.get("/auth/dev")
    client.get("/no/such/page")
    client.post("/api/v1/sites")
    after = scrape(client)
    assert (
        requests_total(after, "auth.dev_login", "200")
        - requests_total(before, "auth.dev_login", "200")
        == 3
    )
    assert (
        requests_total(after, "unmatched", "404") - requests_total(before, "unmatched", "404") == 1
    )
    # Raw paths never become labels.
    assert not any("/no/such" in str(labels) for _, labels in after)
    duration = ("sitewright_http_request_duration_seconds_count", (("endpoint", "auth.dev_login"),))
    assert after[duration] - before.get(duration, 0) == 3
    # Scrapes and health probes are not counted.
    client.get("/healthz")
    assert requests_total(scrape(client), "metrics.metrics", "200") == 0
    assert requests_total(scrape(client), "health.healthz", "200") == 0


def test_unknown_methods_share_one_label(client: FlaskClient) -> None:
    client.open("/no/such/page", method="BREW")
    found = scrape(client)
    assert (
        requests_total(found, "unmatched", "405", "other")
        + requests_total(found, "unmatched", "404", "other")
        == 1
    )


def test_database_figures(app: Flask, client: FlaskClient) -> None:
    with app.extensions["sitewright.db"].transaction() as session:
        owner = provision_user(session, email="owner@example.com", name="Owner")
        session.flush()
        site = Site(
            slug="metrics-site",
            name="Metrics",
            owner_id=owner.id,
            template="launch_hub",
            expires_on=dt.date(2099, 1, 1),
        )
        gone = Site(
            slug="gone-site",
            name="Gone",
            owner_id=owner.id,
            template="launch_hub",
            expires_on=dt.date(2099, 1, 1),
            deleted_at=dt.datetime(2024, 1, 1),
        )
        session.add_all([site, gone])
        session.flush()
        for status in ("queued", "queued", "running", "failed"):
            session.add(
                Job(id=str(uuid.uuid4()), site_id=site.id, status=status, created_by_id=owner.id)
            )
        session.add(
            UsageRecord(
                user_id=owner.id,
                site_id=site.id,
                kind="generate",
                model="m",
                tokens_in=1200,
                tokens_out=300,
            )
        )
        session.add(
            UsageRecord(
                user_id=owner.id,
                site_id=None,
                kind="revise",
                model="m",
                tokens_in=800,
                tokens_out=200,
            )
        )
    found = scrape(client)
    assert found[("sitewright_jobs", (("status", "queued"),))] == 2
    assert found[("sitewright_jobs", (("status", "running"),))] == 1
    assert found[("sitewright_jobs", (("status", "failed"),))] == 1
    assert found[("sitewright_jobs", (("status", "succeeded"),))] == 0
    assert found[("sitewright_tokens_total", (("direction", "in"),))] == 2000
    assert found[("sitewright_tokens_total", (("direction", "out"),))] == 500
    assert found[("sitewright_sites", (("state", "draft"),))] == 1
    assert found[("sitewright_sites", (("state", "deleted"),))] == 1


def test_database_down_still_scrapes(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.db import Database

    broken = Database("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    monkeypatch.setitem(app.extensions, "sitewright.db", broken)
    try:
        found = scrape(client)
    finally:
        broken.dispose()
    assert found[("sitewright_database_up", ())] == 0
    assert not any(name == "sitewright_jobs" for name, _ in found)


# A worker process forks off, answers three requests and exits; its parent answers two and is
# scraped: the scrape adds both processes' counts, and reports each database figure once.
MULTIPROCESS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from app import create_app

    app = create_app(json.loads(sys.argv[1]))
    child = os.fork()
    if child == 0:
        client = app.test_client()
        for _ in range(3):
            client.get("/no/such/page")
        os._exit(0)
    os.waitpid(child, 0)
    client = app.test_client()
    for _ in range(2):
        client.get("/no/such/page")
    print(client.get("/metrics").get_data(as_text=True))
    app.extensions["sitewright.deps"].close()
    app.extensions["sitewright.db"].dispose()
    """
)


def test_multiprocess_mode_adds_up_workers(settings: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, json.dumps(settings)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = samples(result.stdout)
    assert requests_total(found, "unmatched", "404") == 5
    assert found[("sitewright_database_up", ())] == 1
    text = result.stdout
    assert text.count('sitewright_jobs{status="queued"}') == 1
    assert len(list(folder.glob("counter_*.db"))) == 2
