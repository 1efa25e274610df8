"""Stores under test: files under a temporary DATA_DIR, or a bucket on a loopback S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.storage import BlobStore, PageStore, build_stores, parse_storage_url
from tests.fakes.s3_server import TEST_CREDENTIALS, FakeS3Server


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test credentials in the environment, where boto3 (and so the app) reads them."""
    for name, value in TEST_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[FakeS3Server]:
    """One loopback S3 server per test process; each test takes its own bucket."""
    with FakeS3Server() as server:
        yield server


@dataclass
class Stores:
    """A blob store and a page store of one backend, and a way to list what they hold."""

    backend: str
    blobs: BlobStore
    pages: PageStore
    config: dict[str, Any]
    server: FakeS3Server | None = None

    def names(self) -> list[str]:
        """Every stored object or file, relative to the root (``uploads/…``, ``pages/…``)."""
        if self.server is None:
            root = Path(self.config["DATA_DIR"])
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        location = parse_storage_url(self.config["STORAGE_URL"])
        assert location is not None
        base = f"{location.prefix}/" if location.prefix else ""
        return [key[len(base) :] for key in self.server.keys(location.bucket, base)]


def make_stores(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, prefix: str
) -> Stores:
    """Build stores through the factory, as the app does."""
    config: dict[str, Any] = {"DATA_DIR": str(tmp_path / f"data-{prefix}")}
    server = None
    if backend == "s3":
        request.getfixturevalue("aws_env")
        server = request.getfixturevalue("s3_server")
        config.update(server.storage_settings(prefix))
    blobs, pages = build_stores(config)
    return Stores(backend, blobs, pages, config, server)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend under test."""
    return str(request.param)


@pytest.fixture
def stores(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Stores:
    """Both stores of the backend under test, empty."""
    return make_stores(request, backend, tmp_path, "sitewright")


@pytest.fixture
def s3_settings(settings: dict[str, Any], s3_server: FakeS3Server, aws_env: None) -> dict[str, Any]:
    """The app's settings with uploads and pages in a fresh bucket on the loopback server."""
    settings.update(s3_server.storage_settings("sitewright"))
    return settings


def bucket_keys(server: FakeS3Server, settings: dict[str, Any], under: str = "") -> list[str]:
    """The keys in the app's bucket below ``<prefix>/<under>``, without the prefix."""
    location = parse_storage_url(settings["STORAGE_URL"])
    assert location is not None
    base = f"{location.prefix}/"
    return [key[len(base) :] for key in server.keys(location.bucket, base + under)]
