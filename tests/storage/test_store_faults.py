"""The store failing while a version is written leaves no half-written version visible.

The outage starts as the page of the new version is written: on disk, ``fsync`` of the
temporary file fails with "no space left" after the bytes went in; on S3, the server stops.
The version's row is added in the same transaction, after the page, so a failed write rolls
everything back: the site keeps its earlier version, which is still served.
"""

from __future__ import annotations

import errno
import io
import os
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import app.storage.local as local_storage
from app.models import Job, Site, SiteVersion
from app.services import Deps
from app.storage import PageStore
from tests.conftest import wait_for_jobs
from tests.factories import create_site_api
from tests.fakes.s3_server import FakeS3Server
from tests.storage.conftest import bucket_keys

OWNER = "owner@example.com"
NEW_NAME = "Atlas Reports 2.1"


class OutageOnWrite:
    """The app's page store; its next page write happens during an outage of the store."""

    def __init__(self, store: PageStore, begin: Callable[[], None], end: Callable[[], None]):
        self.store, self.begin, self.end = store, begin, end
        self.failed: list[tuple[int, int]] = []

    def write(self, site_id: int, number: int, html: str) -> None:
        if self.failed:  # one outage only: later writes go straight through
            self.store.write(site_id, number, html)
            return
        self.begin()
        try:
            self.store.write(site_id, number, html)
        except Exception:
            self.failed.append((site_id, number))
            raise
        finally:
            self.end()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def fault_server(backend: str, request: pytest.FixtureRequest) -> Iterator[FakeS3Server | None]:
    """A server of this test's own (the outage stops it), or None on disk."""
    if backend == "local":
        yield None
        return
    request.getfixturevalue("aws_env")
    with FakeS3Server() as server:
        yield server


@pytest.fixture
def settings(settings: dict[str, Any], fault_server: FakeS3Server | None) -> dict[str, Any]:
    """Files on disk, or in a bucket on this test's server."""
    if fault_server is not None:
        settings.update(fault_server.storage_settings("sitewright"))
    return settings


@pytest.fixture
def outage(
    deps: Deps, fault_server: FakeS3Server | None, monkeypatch: pytest.MonkeyPatch
) -> OutageOnWrite:
    """Put the outage in front of the app's page store (restored after the test)."""
    if fault_server is not None:
        begin, end = fault_server.stop, fault_server.start
    else:

        def no_space(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        full_disk = types.SimpleNamespace(fdopen=os.fdopen, replace=os.replace, fsync=no_space)
        monkeypatch.setattr(local_storage, "os", os)  # put back after the test whatever happens

        def begin() -> None:
            local_storage.os = full_disk  # type: ignore[assignment]

        def end() -> None:
            local_storage.os = os

    wrapper = OutageOnWrite(deps.pages, begin, end)
    monkeypatch.setattr(deps, "pages", wrapper)
    return wrapper


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(make_token: Callable[..., str]) -> str:
    return make_token(OWNER)


@pytest.fixture
def site(app: Flask, client: FlaskClient, token: str, samples_dir: Path) -> dict[str, Any]:
    """A launch hub with version 1 published, made before the outage."""
    created = create_site_api(client, token, samples_dir, "launch_hub")
    assert created.status_code == 202, created.get_json()
    wait_for_jobs(app)
    site_id = created.get_json()["site"]["id"]
    published = client.post(
        f"/api/v1/sites/{site_id}/publish", json={"version": 1}, headers=bearer(token)
    )
    assert published.status_code == 200, published.get_json()
    body: dict[str, Any] = published.get_json()
    served = client.get(f"/s/{body['slug']}/", headers=bearer(token))
    assert served.status_code == 200
    body["page"] = served.get_data(as_text=True)
    return body


def page_names(deps: Deps, settings: dict[str, Any], server: FakeS3Server | None, site_id: int):
    """Every file or object in the site's page folder (temporary files included)."""
    if server is not None:
        return [key.split("/")[-1] for key in bucket_keys(server, settings, f"pages/{site_id}/")]
    folder = Path(settings["DATA_DIR"]) / "pages" / str(site_id)
    return sorted(path.name for path in folder.iterdir())


def assert_only_version_1(
    deps: Deps,
    client: FlaskClient,
    token: str,
    site: dict[str, Any],
    names: list[str],
) -> None:
    """The site has its first version only, still served, and no page of a version 2."""
    with deps.db.session() as session:
        numbers = session.scalars(
            select(SiteVersion.number).where(SiteVersion.site_id == site["id"])
        ).all()
        assert numbers == [1]
        assert session.get_one(Site, site["id"]).latest_version == 1
    served = client.get(f"/s/{site['slug']}/", headers=bearer(token))
    assert served.status_code == 200 and served.get_data(as_text=True) == site["page"]
    assert client.get(f"/s/{site['slug']}/v/2/", headers=bearer(token)).status_code == 404
    assert not deps.pages.exists(site["id"], 2)
    with pytest.raises(FileNotFoundError):
        deps.pages.read(site["id"], 2)
    assert names == ["1.html"]  # no half-written page, no temporary file


def test_a_hand_edit_during_an_outage_fails_clearly_and_changes_nothing(
    deps: Deps,
    client: FlaskClient,
    settings: dict[str, Any],
    fault_server: FakeS3Server | None,
    site: dict[str, Any],
    token: str,
    outage: OutageOnWrite,
) -> None:
    edit = {
        "base_version": 1,
        "patch": [{"op": "replace", "path": "/launch_name", "value": NEW_NAME}],
    }
    response = client.put(f"/api/v1/sites/{site['id']}/content", json=edit, headers=bearer(token))

    assert outage.failed == [(site["id"], 2)]
    assert response.status_code == 503 and response.headers["Retry-After"]
    error = response.get_json()["error"]
    assert error["code"] == "store_unavailable"
    assert "nothing you sent was lost" in error["message"]
    assert_only_version_1(
        deps, client, token, site, page_names(deps, settings, fault_server, site["id"])
    )
    # Once the store is back, the same edit makes version 2: nothing was left locked or taken.
    again = client.put(f"/api/v1/sites/{site['id']}/content", json=edit, headers=bearer(token))
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["number"] == 2
    assert NEW_NAME.encode() in deps.pages.read(site["id"], 2)


def test_a_revision_job_during_an_outage_fails_clearly_and_changes_nothing(
    app: Flask,
    deps: Deps,
    client: FlaskClient,
    settings: dict[str, Any],
    fault_server: FakeS3Server | None,
    site: dict[str, Any],
    token: str,
    outage: OutageOnWrite,
) -> None:
    revision = {
        "instruction": "Add the risks from this file.",
        "files": [(io.BytesIO(b"# Risks\n\n- The pen-test slot is not booked.\n"), "risks.md")],
    }
    response = client.post(
        f"/api/v1/sites/{site['id']}/revisions",
        data=revision,
        content_type="multipart/form-data",
        headers=bearer(token),
    )
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)

    assert outage.failed == [(site["id"], 2)]
    job = client.get(f"/api/v1/jobs/{response.get_json()['job']['id']}", headers=bearer(token))
    state = job.get_json()
    assert state["status"] == "failed", state
    assert "Your prompt and files are saved: press Retry" in state["error"]
    with deps.db.session() as session:
        row = session.get_one(Job, state["id"])
        assert row.version is None
    assert_only_version_1(
        deps, client, token, site, page_names(deps, settings, fault_server, site["id"])
    )


class LostAnswer:
    """The app's page store; its next write lands but the answer is lost (a timeout, a reset)."""

    def __init__(self, store: PageStore) -> None:
        self.store, self.lost = store, 0

    def write(self, site_id: int, number: int, html: str) -> None:
        self.store.write(site_id, number, html)
        if not self.lost:
            self.lost += 1
            raise TimeoutError("the store did not answer in time")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_page_written_for_a_failed_version_is_never_served_and_is_replaced(
    deps: Deps,
    client: FlaskClient,
    site: dict[str, Any],
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deps, "pages", LostAnswer(deps.pages))
    edit = {
        "base_version": 1,
        "patch": [{"op": "replace", "path": "/launch_name", "value": "Stray name"}],
    }
    response = client.put(f"/api/v1/sites/{site['id']}/content", json=edit, headers=bearer(token))
    assert response.status_code == 500
    # The page object of the failed version may exist, but no version row points at it.
    assert deps.pages.exists(site["id"], 2)
    assert client.get(f"/s/{site['slug']}/v/2/", headers=bearer(token)).status_code == 404
    versions = client.get(f"/api/v1/sites/{site['id']}/versions", headers=bearer(token))
    assert [v["number"] for v in versions.get_json()["versions"]] == [1]
    # The next version takes the number and writes its own page over the stray one.
    edit["patch"][0]["value"] = NEW_NAME
    again = client.put(f"/api/v1/sites/{site['id']}/content", json=edit, headers=bearer(token))
    assert again.status_code == 201 and again.get_json()["number"] == 2
    page = client.get(f"/s/{site['slug']}/v/2/", headers=bearer(token)).get_data(as_text=True)
    assert NEW_NAME in page and "Stray name" not in page
