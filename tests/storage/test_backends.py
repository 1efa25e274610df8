"""Choosing the backend from STORAGE_URL, and clear errors for URLs that are not storage URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.settings import SettingsError
from app.storage import (
    BucketLocation,
    LocalBlobStore,
    LocalPageStore,
    S3BlobStore,
    S3PageStore,
    build_stores,
    parse_storage_url,
)


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("", None),
        ("  ", None),
        ("s3://sites", BucketLocation("sites", "")),
        ("s3://sites/", BucketLocation("sites", "")),
        ("s3://my.sites-1/team/sitewright/", BucketLocation("my.sites-1", "team/sitewright")),
        ("s3://sites//a//b", BucketLocation("sites", "a/b")),
    ],
)
def test_storage_urls_name_a_bucket_and_an_optional_prefix(
    url: str, location: BucketLocation | None
) -> None:
    assert parse_storage_url(url) == location


@pytest.mark.parametrize(
    "url",
    [
        "sites/prefix",
        "/var/lib/sitewright",
        "file:///var/lib/sitewright",
        "https://s3.amazonaws.com/sites",
        "s3://",
        "s3:///prefix",
        "s3://My_Bucket/prefix",
        "s3://ab",
        "s3://sites/prefix?region=eu",
        "s3://sites/../other",
        "s3://sites:9000/prefix",
    ],
)
def test_a_malformed_storage_url_says_what_to_write(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        build_stores({"DATA_DIR": "unused", "STORAGE_URL": url})
    message = str(caught.value)
    assert message.startswith(f"SITEWRIGHT_STORAGE_URL: {url!r} is not a storage URL.")
    assert "Write s3://bucket or s3://bucket/prefix" in message
    assert "leave it empty to keep files under DATA_DIR" in message


def test_credentials_in_the_url_are_refused_without_being_repeated() -> None:
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID") as caught:
        parse_storage_url("s3://AKIAEXAMPLE:very-secret@sites/prefix")
    assert "very-secret" not in str(caught.value) and "AKIAEXAMPLE" not in str(caught.value)


def test_a_malformed_endpoint_says_what_to_write() -> None:
    config = {"DATA_DIR": "unused", "STORAGE_URL": "s3://sites", "S3_ENDPOINT_URL": "minio:9000"}
    with pytest.raises(SettingsError, match="SITEWRIGHT_S3_ENDPOINT_URL: 'minio:9000' is not"):
        build_stores(config)


def test_empty_url_keeps_files_under_data_dir_and_s3_urls_use_the_bucket(tmp_path: Path) -> None:
    blobs, pages = build_stores({"DATA_DIR": str(tmp_path), "STORAGE_URL": ""})
    assert isinstance(blobs, LocalBlobStore) and blobs.root == tmp_path / "uploads"
    assert isinstance(pages, LocalPageStore) and pages.root == tmp_path / "pages"
    config = {
        "DATA_DIR": str(tmp_path),
        "STORAGE_URL": "s3://sites/team",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "S3_REGION": "eu-west-3",
    }
    blobs, pages = build_stores(config)
    assert isinstance(blobs, S3BlobStore) and isinstance(pages, S3PageStore)
    assert (blobs.bucket, blobs.base, pages.base) == ("sites", "team/uploads/", "team/pages/")
    assert blobs.client is not pages.client  # one client per store
    assert blobs.client.meta.region_name == "eu-west-3"
    assert blobs.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert blobs.client.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert blobs.client.meta.config.connect_timeout == 3


def test_the_app_refuses_to_start_with_a_malformed_storage_url(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SITEWRIGHT_STORAGE_URL: 'bucket/prefix'"):
        create_app(
            {
                "TESTING": True,
                "DATA_DIR": str(tmp_path / "data"),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                "STORAGE_URL": "bucket/prefix",
            }
        )
