"""Uploads and rendered pages as objects in an S3-compatible store (AWS S3, MinIO, Ceph...).

Keys: ``<prefix>/uploads/<sha[:2]>/<sha>`` and ``<prefix>/pages/<site_id>/<number>.html``.
A ``put_object`` replaces an object whole, so readers see the old page or the new one and no
temporary objects are needed. Missing objects raise :class:`FileNotFoundError`, like files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.storage.base import StoreUnavailable, checked_sha256, page_name

_MISSING = {"404", "NoSuchKey", "NotFound"}
HTML = "text/html; charset=utf-8"


def s3_client(endpoint_url: str = "", region: str = "", session: Any = None) -> Any:
    """Return an S3 client with bounded timeouts and standard retries.

    Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``,
    a profile, or an instance role). A custom endpoint gets path-style addressing and checksums
    only where the API requires them, which S3-compatible servers accept. Clients made from one
    ``session`` share its loaded service description.
    """
    config = Config(
        connect_timeout=3,
        read_timeout=30,
        retries={"mode": "standard", "total_max_attempts": 3},
        **(
            {
                "s3": {"addressing_style": "path"},
                "request_checksum_calculation": "when_required",
                "response_checksum_validation": "when_required",
            }
            if endpoint_url
            else {}
        ),
    )
    # Sessions are not thread-safe, the clients made from them are: make clients at start-up.
    session = session or boto3.session.Session()
    return session.client(
        "s3", endpoint_url=endpoint_url or None, region_name=region or None, config=config
    )


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING


class _Objects:
    """Keys under one prefix of one bucket, through one client."""

    def __init__(self, client: Any, bucket: str, prefix: str, folder: str) -> None:
        self.client = client
        self.bucket = bucket
        self.base = "/".join(part for part in (prefix.strip("/"), folder) if part) + "/"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(s3://{self.bucket}/{self.base})"

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return head

    def _get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise FileNotFoundError(f"s3://{self.bucket}/{key}") from exc
            raise
        body: bytes = response["Body"].read()
        return body

    def ready(self) -> None:
        """Raise StoreUnavailable unless a small object can be written and removed."""
        key = self.base + ".ready"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=b"")
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(
                f"s3://{self.bucket}/{self.base} is not writable: {exc}"
            ) from exc


class S3BlobStore(_Objects):
    """Uploaded files as objects ``<prefix>/uploads/<sha[:2]>/<sha>``."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        super().__init__(client, bucket, prefix, "uploads")

    def _key(self, sha256: str) -> str:
        sha256 = checked_sha256(sha256)
        return f"{self.base}{sha256[:2]}/{sha256}"

    def put(self, data: bytes) -> str:
        """Store bytes (once) and return their sha256."""
        digest = hashlib.sha256(data).hexdigest()
        key = self._key(digest)
        if self._head(key) is None:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return digest

    def get(self, sha256: str) -> bytes:
        """Return the bytes stored under sha256."""
        return self._get(self._key(sha256))

    def exists(self, sha256: str) -> bool:
        """Say whether the blob is stored."""
        return self._head(self._key(sha256)) is not None

    def delete(self, sha256: str) -> bool:
        """Remove the blob stored under sha256; return whether there was one."""
        key = self._key(sha256)
        if self._head(key) is None:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return True


class S3PageStore(_Objects):
    """Rendered pages as objects ``<prefix>/pages/<site_id>/<number>.html``."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        super().__init__(client, bucket, prefix, "pages")

    def _key(self, site_id: int, number: int) -> str:
        return self.base + page_name(site_id, number)

    def write(self, site_id: int, number: int, html: str) -> None:
        """Write a version's page in one request: readers see the old page or the new."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(site_id, number),
            Body=html.encode("utf-8"),
            ContentType=HTML,
        )

    def read(self, site_id: int, number: int) -> bytes:
        """Return a version's rendered page."""
        return self._get(self._key(site_id, number))

    def exists(self, site_id: int, number: int) -> bool:
        """Say whether a version's page has been rendered."""
        return self._head(self._key(site_id, number)) is not None

    def rendered_on(self, site_id: int, number: int) -> dt.date | None:
        """Return the day (UTC) the page object was last written, or None if it was not."""
        head = self._head(self._key(site_id, number))
        if head is None:
            return None
        modified: dt.datetime = head["LastModified"]
        return modified.astimezone(dt.UTC).date()

    def delete_site(self, site_id: int) -> int:
        """Remove every object under the site's folder; return how many pages there were."""
        folder = f"{self.base}{int(site_id)}/"
        pages = 0
        for listing in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=folder
        ):
            keys = [item["Key"] for item in listing.get("Contents", [])]
            if not keys:
                continue
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise OSError(
                    f"could not delete {len(answer['Errors'])} objects under "
                    f"s3://{self.bucket}/{folder}: {first.get('Key')}: {first.get('Message')}"
                )
            pages += sum(1 for key in keys if key.endswith(".html"))
        return pages
