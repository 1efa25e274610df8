"""The whole app with STORAGE_URL on a loopback S3 server: build, serve, purge, readiness."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app import create_app
from app.models import Site, utcnow
from app.services import Deps
from app.services.sweep import sweep
from app.storage import S3BlobStore, S3PageStore
from tests.conftest import wait_for_jobs
from tests.factories import SAMPLE_FILES, create_site_api
from tests.fakes.s3_server import FakeS3Server
from tests.storage.conftest import bucket_keys

OWNER = "owner@example.com"


@pytest.fixture
def settings(s3_settings: dict[str, Any]) -> dict[str, Any]:
    """Every app here keeps its files in the bucket; deleted sites are purged after 30 days."""
    s3_settings.update(RETENTION_DAYS=30)
    return s3_settings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_published_site(app: Flask, client: FlaskClient, token: str, samples_dir: Path) -> Any:
    """Create a launch hub through the API, wait for version 1, publish it; return the site."""
    created = create_site_api(client, token, samples_dir, "launch_hub")
    assert created.status_code == 202, created.get_json()
    wait_for_jobs(app)
    job = client.get(f"/api/v1/jobs/{created.get_json()['job']['id']}", headers=bearer(token))
    assert job.get_json()["status"] == "succeeded", job.get_json()
    site_id = created.get_json()["site"]["id"]
    published = client.post(
        f"/api/v1/sites/{site_id}/publish", json={"version": 1}, headers=bearer(token)
    )
    assert published.status_code == 200, published.get_json()
    return published.get_json()


def test_a_site_is_built_served_and_purged_from_the_bucket(
    app: Flask,
    client: FlaskClient,
    deps: Deps,
    settings: dict[str, Any],
    s3_server: FakeS3Server,
    make_token: Callable[..., str],
    samples_dir: Path,
) -> None:
    assert isinstance(deps.blobs, S3BlobStore) and isinstance(deps.pages, S3PageStore)
    token = make_token(OWNER)
    site = make_published_site(app, client, token, samples_dir)
    shas = {
        hashlib.sha256((samples_dir / "launch_hub" / name).read_bytes()).hexdigest()
        for name in SAMPLE_FILES["launch_hub"]
    }
    assert bucket_keys(s3_server, settings) == sorted(
        [f"pages/{site['id']}/1.html"] + [f"uploads/{sha[:2]}/{sha}" for sha in shas]
    )
    data_dir = Path(settings["DATA_DIR"])
    assert not (data_dir / "pages").exists() and not (data_dir / "uploads").exists()

    # The page is read from the bucket: change the object there and the change is served.
    pages: S3PageStore = deps.pages
    key = f"{pages.base}{site['id']}/1.html"
    html = pages.read(site["id"], 1).decode()
    s3_server.client().put_object(
        Bucket=pages.bucket, Key=key, Body=html.replace("</body>", "<p>from-the-bucket</p></body>")
    )
    served = client.get(f"/s/{site['slug']}/", headers=bearer(token))
    assert served.status_code == 200 and "from-the-bucket" in served.get_data(as_text=True)

    # Deleted, then purged by the sweep once the retention period is over.
    assert client.delete(f"/api/v1/sites/{site['id']}", headers=bearer(token)).status_code == 200
    deleted_at = utcnow() - dt.timedelta(days=31)
    with deps.db.transaction() as session:
        session.execute(update(Site).where(Site.id == site["id"]).values(deleted_at=deleted_at))
    report = sweep(deps, utcnow())
    assert [s.id for s in report.purged] == [site["id"]], report.lines()
    assert report.files_deleted == len(shas) and not report.failed
    assert bucket_keys(s3_server, settings) == []


def test_readyz_reports_the_bucket_and_503_when_the_store_stops(
    settings: dict[str, Any], aws_env: None
) -> None:
    with FakeS3Server() as server:
        settings.update(server.storage_settings("sitewright"))
        app = create_app(settings)
        try:
            client = app.test_client()
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.get_json()
            assert ready.get_json()["checks"] == {"database": "ok", "storage": "ok"}
            assert bucket_keys(server, settings) == []  # the probe object is removed again
            server.stop()
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.get_json() == {
                "status": "unavailable",
                "checks": {"database": "ok", "storage": "unavailable"},
            }
            server.start()  # same port, same objects
            assert client.get("/readyz").status_code == 200
        finally:
            app.extensions["sitewright.deps"].close()
            app.extensions["sitewright.db"].dispose()
