"""A real S3 API on loopback (moto's server mode), for tests and for local multi-process runs.

boto3 talks HTTP to it exactly as to AWS S3 or MinIO, so clients, retries and errors are real::

    with FakeS3Server() as server:
        settings = server.storage_settings(prefix="sitewright")
        # {"STORAGE_URL": "s3://sw-test-…/sitewright", "S3_ENDPOINT_URL": "http://127.0.0.1:…", …}

The app reads credentials from the environment: set :data:`TEST_CREDENTIALS` there (pytest's
``monkeypatch.setenv``, or ``env`` of a subprocess). moto keeps the objects in this process's
memory, so a server started again in the same process sees the same buckets.

Outside pytest: ``python -m tests.fakes.s3_server --port 9000 --bucket sitewright`` serves until
interrupted and prints the settings to export.
"""

from __future__ import annotations

import argparse
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sitewright-test",
    "AWS_SECRET_ACCESS_KEY": "sitewright-test-secret",
    "AWS_DEFAULT_REGION": REGION,
}


class FakeS3Server:
    """moto's S3 server in a daemon thread on 127.0.0.1 (``port=0``: a free port)."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server: ThreadedMotoServer | None = None
        self._client: Any = None

    @property
    def endpoint_url(self) -> str:
        """The endpoint to give boto3, e.g. ``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("the fake S3 server is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeS3Server:
        """Start serving; after a stop, start again on the same port with the same objects."""
        if self._server is None:
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            self._server.start()
            self.port = self._server.get_host_and_port()[1]
        return self

    def stop(self) -> None:
        """Stop serving: clients now get connection errors."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeS3Server:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self) -> Any:
        """Return a boto3 client for this server with the test credentials (made once)."""
        if self._client is None:
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=REGION,
                aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        return self._client

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh random name unless given) and return its name."""
        bucket = name or f"sw-test-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def storage_settings(
        self, prefix: str = "sitewright", bucket: str | None = None
    ) -> dict[str, str]:
        """Create a bucket and return the Sitewright settings that store files in it."""
        name = self.create_bucket(bucket)
        return {
            "STORAGE_URL": f"s3://{name}/{prefix}" if prefix else f"s3://{name}",
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": REGION,
        }

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """List every key in a bucket under a prefix, sorted."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@contextmanager
def s3_storage(prefix: str = "sitewright", port: int = 0) -> Iterator[dict[str, str]]:
    """Run a fake S3 server with a fresh bucket; yield the settings that point Sitewright at it."""
    with FakeS3Server(port) as server:
        yield server.storage_settings(prefix)


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted; print the settings and credentials to export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--bucket", default=None, help="bucket to create (default: random)")
    parser.add_argument("--prefix", default="sitewright", help="key prefix in STORAGE_URL")
    args = parser.parse_args(argv)
    with FakeS3Server(args.port) as server:
        settings = server.storage_settings(args.prefix, args.bucket)
        for name, value in {**TEST_CREDENTIALS, **settings}.items():
            prefix = "" if name.startswith("AWS_") else "SITEWRIGHT_"
            print(f"{prefix}{name}={value}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
