"""Jobs on the Redis queue: web processes only queue, ``sitewright worker`` processes run them.

Real Redis, real worker subprocesses, real database (SQLite and PostgreSQL): the job row stays
the source of truth, and a worker killed in the middle of a job leaves it queued again or
failed with a reason, never "running".
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.cli import cli
from app.jobs import RedisQueueRunner
from app.models import AuditEvent, SiteVersion
from app.services.job_lease import abandoned_message
from tests.conftest import _serve
from tests.factories import create_site_api, example_content
from tests.fakes.llm_server import FakeLLMServer, Reply
from tests.jobs.conftest import job_row, wait_for

GOOD = json.dumps(example_content("customer_review"))
# Long enough that a loaded machine does not outlast it between two steps of a test.
LEASE_S = 4
Worker = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def app(llm_settings: dict[str, Any], redis_url: str) -> Iterator[Flask]:
    """The web side: drafts through the loopback LLM server, queues jobs in Redis."""
    llm_settings.update(REDIS_URL=redis_url, LLM_TIMEOUT_S=60, JOB_LEASE_S=LEASE_S)
    yield from _serve(llm_settings)


def create(app: Flask, client: FlaskClient, make_token: Any, samples_dir: Path) -> str:
    response = create_site_api(client, make_token(), samples_dir)
    assert response.status_code == 202, response.get_data(as_text=True)
    job_id: str = response.get_json()["job"]["id"]
    return job_id


def versions(app: Flask) -> list[int]:
    with app.extensions["sitewright.db"].session() as session:
        return list(session.scalars(select(SiteVersion.number)))


def test_the_web_process_queues_and_a_worker_process_runs_the_job(
    app: Flask,
    client: FlaskClient,
    make_token: Any,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    start_worker: Worker,
) -> None:
    llm_server.default_content = GOOD
    job_id = create(app, client, make_token, samples_dir)
    runner = app.extensions["sitewright.deps"].runner
    assert isinstance(runner, RedisQueueRunner)
    time.sleep(0.3)
    assert job_row(app, job_id).status == "queued"  # nothing runs jobs in the web process
    assert runner.holding() == {job_id}
    worker = start_worker("--burst")
    assert worker.wait(timeout=90) == 0, worker.stdout.read() if worker.stdout else ""
    job = job_row(app, job_id)
    assert (job.status, job.version, job.attempts) == ("succeeded", 1, 1), job.error
    assert versions(app) == [1]
    assert runner.holding() == set()
    assert len(llm_server.requests) == 1


def test_a_worker_killed_mid_job_leaves_the_job_queued_again_then_done(
    app: Flask,
    client: FlaskClient,
    make_token: Any,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    start_worker: Worker,
) -> None:
    llm_server.default_content = GOOD
    llm_server.script(Reply(content=GOOD, delay_s=30))  # the first answer never arrives in time
    job_id = create(app, client, make_token, samples_dir)
    worker = start_worker()
    wait_for(app, job_id, lambda job: job.step == "drafting")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert job_row(app, job_id).status == "running"  # nobody has noticed yet
    deps = app.extensions["sitewright.deps"]
    assert deps.lease.reclaim(deps.runner).requeued == []  # the lease has not run out yet
    time.sleep(LEASE_S + 0.3)
    done = deps.lease.reclaim(deps.runner)
    assert done.requeued == [job_id]
    job = job_row(app, job_id)
    assert (job.status, job.restarts, job.error) == ("queued", 1, None)
    assert deps.runner.holding() == {job_id}  # handed to the queue again
    assert deps.lease.reclaim(deps.runner).requeued == []  # a second pass changes nothing
    assert start_worker("--burst").wait(timeout=90) == 0
    job = job_row(app, job_id)
    assert (job.status, job.attempts, job.version) == ("succeeded", 2, 1), job.error
    assert versions(app) == [1]


def test_a_job_whose_worker_died_too_often_fails_with_the_reason(
    app: Flask,
    client: FlaskClient,
    make_token: Any,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    start_worker: Worker,
) -> None:
    llm_server.script(Reply(content=GOOD, delay_s=30))
    job_id = create(app, client, make_token, samples_dir)
    worker = start_worker()
    wait_for(app, job_id, lambda job: job.step == "drafting")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    deps = app.extensions["sitewright.deps"]
    deps.lease.max_attempts = 1
    time.sleep(LEASE_S + 0.3)
    assert deps.lease.reclaim(deps.runner).failed == [job_id]
    job = job_row(app, job_id)
    assert job.status == "failed" and job.error == abandoned_message(1)
    assert versions(app) == []
    with deps.db.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "generation.failed")
        ).one()
        assert event.data["job_id"] == job_id


def test_queued_jobs_redis_lost_are_handed_over_again(
    app: Flask,
    client: FlaskClient,
    make_token: Any,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    start_worker: Worker,
) -> None:
    llm_server.default_content = GOOD
    job_id = create(app, client, make_token, samples_dir)
    deps = app.extensions["sitewright.deps"]
    deps.runner.redis.flushdb()  # Redis restarted: it keeps nothing on disk here
    assert deps.runner.holding() == set()
    assert deps.lease.reclaim(deps.runner).resubmitted == []  # too young to tell from a delay
    time.sleep(LEASE_S + 0.3)
    assert deps.lease.reclaim(deps.runner).resubmitted == [job_id]
    assert start_worker("--burst").wait(timeout=90) == 0
    assert job_row(app, job_id).status == "succeeded"


def test_redis_down_when_queueing_loses_nothing(
    app: Flask, client: FlaskClient, make_token: Any, samples_dir: Path
) -> None:
    deps = app.extensions["sitewright.deps"]
    live = deps.runner
    deps.runner = RedisQueueRunner("redis://127.0.0.1:1/0", job_timeout_s=60)
    try:
        job_id = create(app, client, make_token, samples_dir)  # still 202: the job is saved
        assert deps.runner.holding() is None  # "cannot tell": maintenance will not guess
        assert job_row(app, job_id).status == "queued"
    finally:
        deps.runner = live


def test_worker_refuses_to_start_without_redis() -> None:
    result = CliRunner().invoke(cli, ["worker"], env={"SITEWRIGHT_REDIS_URL": ""})
    assert result.exit_code == 2
    assert "SITEWRIGHT_REDIS_URL is not set" in result.output


def test_worker_refuses_to_start_on_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    env = {
        "SITEWRIGHT_REDIS_URL": "redis://127.0.0.1:6379/15",
        "SITEWRIGHT_DATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(cli, ["worker"], env=env)
    assert result.exit_code == 1
    assert "run `sitewright db upgrade` first" in result.output
