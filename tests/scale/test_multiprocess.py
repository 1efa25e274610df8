"""Several processes, one database, one store: what one web process does, the other sees.

Two gunicorn processes (each with two workers) and a ``sitewright worker`` run against one
PostgreSQL database, one Redis queue and one S3-compatible store (moto's server on loopback).
The SQLite run starts one gunicorn with several workers and threads, the embedded runner, and
hammers the same site with concurrent edits: no "database is locked", no lost update.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import _serve
from tests.factories import SAMPLE_FILES
from tests.fakes.s3_server import TEST_CREDENTIALS, FakeS3Server
from tests.scale.stack import Processes, api, sign_in, wait_job

pytestmark = pytest.mark.slow

OWNER, VIEWER = "olive@example.com", "victor@example.com"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeS3Server]:
    """A real S3 API on loopback; its credentials in the environment of every process."""
    for key, value in TEST_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with FakeS3Server() as server:
        yield server


@pytest.fixture
def stack(settings: dict[str, Any], tmp_path: Path) -> Iterator[Processes]:
    processes = Processes(settings, tmp_path)
    yield processes
    processes.stop()


def create_site(
    base: str, token: str, samples_dir: Path, template: str = "launch_hub"
) -> dict[str, Any]:
    files = [
        ("files", (name, (samples_dir / template / name).read_bytes()))
        for name in SAMPLE_FILES[template]
    ]
    data = {
        "template": template,
        "prompt": "A launch hub.",
        "name": "Scale test",
        "department": "Ops",
    }
    answer = api(base, token).post(f"{base}/api/v1/sites", data=data, files=files, timeout=60)
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    return body


def concurrent_edits(bases: list[str], token: str, site_id: int, base_version: int) -> list[int]:
    """Send one edit per base URL at the same moment, all from ``base_version``; return statuses."""
    barrier = threading.Barrier(len(bases))
    statuses: list[int] = []

    def edit(index: int, base: str) -> None:
        session = api(base, token)
        patch = [
            {
                "op": "replace",
                "path": "/summary",
                "value": f"Edited by editor {index} from version {base_version}.",
            }
        ]
        barrier.wait()
        answer = session.put(
            f"{base}/api/v1/sites/{site_id}/content",
            json={"base_version": base_version, "patch": patch},
            timeout=60,
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=edit, args=(i, b)) for i, b in enumerate(bases)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def versions(base: str, token: str, site_id: int) -> list[int]:
    answer = api(base, token).get(f"{base}/api/v1/sites/{site_id}/versions", timeout=10)
    return sorted(v["number"] for v in answer.json()["versions"])


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_two_web_processes_and_a_worker_share_database_queue_and_store(
    settings: dict[str, Any],
    redis_url: str,
    s3: FakeS3Server,
    stack: Processes,
    make_token: Callable[..., str],
    samples_dir: Path,
) -> None:
    first, second = stack.web(), stack.web()
    stack.worker()
    token = make_token(OWNER)

    # A site created through the first process, drafted by the worker, is served by the second.
    created = create_site(first, token, samples_dir)
    site_id = created["site"]["id"]
    job = wait_job(api(second, token), second, created["job"]["id"])
    assert job["status"] == "succeeded", job
    owner = sign_in(second, OWNER)
    page = owner.get(f"{second}/s/{created['site']['slug']}/v/1", timeout=10)
    assert page.status_code == 200 and "Scale test" in page.text
    bucket = settings["STORAGE_URL"].removeprefix("s3://").split("/")[0]
    stored = s3.keys(bucket)
    assert f"scale/pages/{site_id}/1.html" in stored
    assert sum("/uploads/" in key for key in stored) == len(SAMPLE_FILES["launch_hub"])

    # Shared through the first process: the viewer opens it on the second.
    owner_api = api(first, token)
    assert owner_api.post(f"{first}/api/v1/sites/{site_id}/publish", json={"version": 1}).ok
    shared = owner_api.put(
        f"{first}/api/v1/sites/{site_id}/sharing",
        json={"audience": "people", "grants": [{"email": VIEWER}]},
    )
    assert shared.status_code == 200, shared.text
    viewer = sign_in(first, VIEWER)
    url = f"{second}/s/{created['site']['slug']}/"
    assert viewer.get(url, timeout=10).status_code == 200

    # Revoked through the first process: refused on the second at the very next request.
    revoked = owner_api.put(f"{first}/api/v1/sites/{site_id}/sharing", json={"audience": "owner"})
    assert revoked.status_code == 200, revoked.text
    assert viewer.get(url, timeout=10).status_code in (403, 404)

    # Two concurrent edits of one version, one through each process: one wins, one gets 409.
    for round_ in range(3):
        latest = 1 + round_
        assert concurrent_edits([first, second], token, site_id, latest) == [201, 409]
        assert versions(first, token, site_id) == list(range(1, latest + 2))
    assert not stack.grep(r"Traceback|Internal Server Error"), stack.output()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_concurrent_edits_on_sqlite_with_several_workers_lose_nothing(
    settings: dict[str, Any],
    stack: Processes,
    make_token: Callable[..., str],
    samples_dir: Path,
) -> None:
    base = stack.web(workers=3, threads=4)
    token = make_token(OWNER)
    created = create_site(base, token, samples_dir)
    job = wait_job(api(base, token), base, created["job"]["id"])
    assert job["status"] == "succeeded", job
    site_id = created["site"]["id"]
    for round_ in range(5):
        statuses = concurrent_edits([base] * 8, token, site_id, 1 + round_)
        assert statuses == [201] + [409] * 7, statuses
    assert versions(base, token, site_id) == list(range(1, 7))
    assert not stack.grep("database is locked"), stack.output()
    assert not stack.grep(r"Traceback|Internal Server Error"), stack.output()


@pytest.fixture
def app(settings: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The in-process app the tests use for tokens: same database, queue and store."""
    if "redis_url" in request.fixturenames:
        settings["REDIS_URL"] = request.getfixturevalue("redis_url")
    if "s3" in request.fixturenames:
        server: FakeS3Server = request.getfixturevalue("s3")
        settings.update(server.storage_settings(prefix="scale"))
    yield from _serve(settings)
