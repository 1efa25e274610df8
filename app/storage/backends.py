"""Choose where uploads and pages live from the settings: DATA_DIR or an S3-compatible store."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from app.settings import PREFIX, SettingsError
from app.storage.base import BlobStore, PageStore
from app.storage.local import LocalBlobStore, LocalPageStore
from app.storage.s3 import S3BlobStore, S3PageStore, s3_client

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HOW = (
    "Write s3://bucket or s3://bucket/prefix (bucket: 3-63 lowercase letters, digits, dots or "
    "hyphens; credentials go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL), "
    "or leave it empty to keep files under DATA_DIR."
)


@dataclass(frozen=True)
class BucketLocation:
    """A bucket and the key prefix Sitewright's objects go under (may be empty)."""

    bucket: str
    prefix: str


def parse_storage_url(url: str) -> BucketLocation | None:
    """Return the bucket and prefix of ``s3://bucket/prefix``, or None for an empty URL.

    :raise SettingsError: the URL is not of that form; the message says what to write.
    """
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url)
    shown = url if "@" not in parts.netloc else "s3://***@" + parts.netloc.rsplit("@", 1)[1]
    segments = [part for part in parts.path.split("/") if part]
    if (
        parts.scheme != "s3"
        or not _BUCKET.match(parts.netloc)
        or parts.query
        or parts.fragment
        or any(part in (".", "..") for part in segments)
    ):
        raise SettingsError(f"{PREFIX}STORAGE_URL: {shown!r} is not a storage URL. {_HOW}")
    return BucketLocation(parts.netloc, "/".join(segments))


def build_stores(config: Mapping[str, Any]) -> tuple[BlobStore, PageStore]:
    """Return the blob and page stores the settings ask for, each with its own client."""
    location = parse_storage_url(str(config.get("STORAGE_URL") or ""))
    if location is None:
        data_dir = Path(config["DATA_DIR"])
        return LocalBlobStore(data_dir), LocalPageStore(data_dir)
    endpoint = str(config.get("S3_ENDPOINT_URL") or "").strip()
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        raise SettingsError(
            f"{PREFIX}S3_ENDPOINT_URL: {endpoint!r} is not an http(s) URL. Write e.g. "
            "http://minio:9000, or leave it empty for AWS S3."
        )
    region = str(config.get("S3_REGION") or "")
    session = boto3.session.Session()
    return (
        S3BlobStore(s3_client(endpoint, region, session), location.bucket, location.prefix),
        S3PageStore(s3_client(endpoint, region, session), location.bucket, location.prefix),
    )
