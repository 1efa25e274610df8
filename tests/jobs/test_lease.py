"""Job leases in one process: heartbeats keep a slow job alive, a job is claimed once, and a
runner that lost its lease does not save a version."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.models import Job, SiteVersion
from app.services.generation import run_generation
from tests.conftest import _serve, wait_for_jobs
from tests.factories import create_site_api, example_content
from tests.fakes.llm_server import FakeLLMServer, Reply
from tests.jobs.conftest import job_row, wait_for

GOOD = json.dumps(example_content("customer_review"))


@pytest.fixture
def app(llm_settings: dict[str, Any]) -> Iterator[Flask]:
    """Jobs on this process's thread pool, with a two-second lease."""
    llm_settings.update(LLM_TIMEOUT_S=30, JOB_LEASE_S=2)
    yield from _serve(llm_settings)


def create(client: FlaskClient, make_token: Any, samples_dir: Path) -> str:
    response = create_site_api(client, make_token(), samples_dir)
    assert response.status_code == 202, response.get_data(as_text=True)
    job_id: str = response.get_json()["job"]["id"]
    return job_id


def test_heartbeats_keep_a_slow_job_from_being_reclaimed(
    app: Flask,
    client: FlaskClient,
    make_token: Any,
    samples_dir: Path,
    llm_server: FakeLLMServer,
) -> None:
    llm_server.script(Reply(content=GOOD, delay_s=6))  # three leases long
    job_id = create(client, make_token, samples_dir)
    deps = app.extensions["sitewright.deps"]
    wait_for(app, job_id, lambda job: job.step == "drafting")
    beats = set()
    while job_row(app, job_id).status == "running":
        beats.add(job_row(app, job_id).heartbeat_at)
        done = deps.lease.reclaim(deps.runner)
        assert done.requeued == done.failed == []
        time.sleep(0.2)
    wait_for_jobs(app)
    job = job_row(app, job_id)
    assert (job.status, job.attempts, job.restarts) == ("succeeded", 1, 0)
    assert len(beats - {None}) >= 3  # the heartbeat moved while the model was thinking


def test_a_job_handed_over_twice_runs_once(
    app: Flask,
    client: FlaskClient,
    make_token: Any,
    samples_dir: Path,
    llm_server: FakeLLMServer,
) -> None:
    llm_server.script(Reply(content=GOOD, delay_s=0.5))
    job_id = create(client, make_token, samples_dir)
    deps = app.extensions["sitewright.deps"]
    threads = [threading.Thread(target=run_generation, args=(deps, job_id)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for_jobs(app)
    job = job_row(app, job_id)
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert len(llm_server.requests) == 1
    with deps.db.session() as session:
        assert list(session.scalars(select(SiteVersion.number))) == [1]


def test_a_runner_that_lost_its_lease_saves_no_version(
    app: Flask,
    client: FlaskClient,
    make_token: Any,
    samples_dir: Path,
    llm_server: FakeLLMServer,
) -> None:
    """A process that stalled past its lease: maintenance queued the job again meanwhile."""
    llm_server.script(Reply(content=GOOD, delay_s=2))
    job_id = create(client, make_token, samples_dir)
    deps = app.extensions["sitewright.deps"]
    wait_for(app, job_id, lambda job: job.step == "drafting")
    with deps.db.transaction() as session:  # what maintenance does to a silent job
        session.execute(
            update(Job).where(Job.id == job_id).values(status="queued", restarts=Job.restarts + 1)
        )
    wait_for_jobs(app)
    with deps.db.session() as session:
        numbers = list(session.scalars(select(SiteVersion.number)))
    job = job_row(app, job_id)
    # The stalled run dropped its version; the job is still queued for its next runner.
    assert numbers == [] and job.status == "queued", (numbers, job.status, job.error)
