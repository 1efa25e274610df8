"""Queue fixtures: a Redis database of its own per test process, and worker subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.models import Job

SITEWRIGHT = str(Path(sys.executable).parent / "sitewright")


def env_for(settings: dict[str, Any]) -> dict[str, str]:
    """The environment that gives a subprocess the test app's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEWRIGHT_")}
    for key, value in settings.items():
        if key == "TESTING" or value is None:
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, list):
            value = ",".join(value)
        env[f"SITEWRIGHT_{key}"] = str(value)
    env["SITEWRIGHT_SWEEP_MINUTES"] = "0"
    return env


@pytest.fixture
def start_worker(settings: dict[str, Any]) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``sitewright worker`` subprocesses with the test's settings; stop them after."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [SITEWRIGHT, "worker", *args],
            env=env_for(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def job_row(app: Flask, job_id: str) -> Job:
    """Read the job row afresh."""
    with app.extensions["sitewright.db"].session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def wait_for(app: Flask, job_id: str, until: Callable[[Job], bool], timeout: float = 60) -> Job:
    """Poll the job row until ``until`` holds; fail with the last state after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        job = job_row(app, job_id)
        if until(job):
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} stayed {job.status}/{job.step}: {job.error}")
        time.sleep(0.1)
