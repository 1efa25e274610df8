"""What the services need from a store of uploads and a store of rendered pages.

Two backends implement it: files under DATA_DIR (:mod:`app.storage.local`) and any S3-compatible
object store (:mod:`app.storage.s3`). Missing objects raise :class:`FileNotFoundError` in both.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class StoreUnavailable(OSError):
    """The store cannot be reached or written; the message says which store and why."""


def checked_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is a lowercase hex digest, else raise ValueError."""
    if not _SHA256.match(sha256):
        raise ValueError("not a sha256 hex digest")
    return sha256


def page_name(site_id: int, number: int) -> str:
    """Return a version's page path below the pages root, e.g. ``12/3.html``."""
    return f"{int(site_id)}/{int(number)}.html"


class BlobStore(Protocol):
    """Uploaded files, each stored once under its sha256."""

    def put(self, data: bytes) -> str:
        """Store bytes (once) and return their sha256."""
        ...

    def get(self, sha256: str) -> bytes:
        """Return the bytes stored under sha256; raise FileNotFoundError if there are none."""
        ...

    def exists(self, sha256: str) -> bool:
        """Say whether the blob is stored."""
        ...

    def delete(self, sha256: str) -> bool:
        """Remove the blob stored under sha256; return whether there was one."""
        ...

    def ready(self) -> None:
        """Raise StoreUnavailable (an OSError) if the store cannot be written now."""
        ...


class PageStore(Protocol):
    """Rendered site pages, one per site version, each replaced whole or not at all."""

    def write(self, site_id: int, number: int, html: str) -> None:
        """Write a version's page: readers see the old page or the new, never half of one."""
        ...

    def read(self, site_id: int, number: int) -> bytes:
        """Return a version's rendered page; raise FileNotFoundError if it was not written."""
        ...

    def exists(self, site_id: int, number: int) -> bool:
        """Say whether a version's page has been rendered."""
        ...

    def rendered_on(self, site_id: int, number: int) -> dt.date | None:
        """Return the day (UTC) a version's page was last written, or None if it was not."""
        ...

    def delete_site(self, site_id: int) -> int:
        """Remove every rendered page of a site; return how many pages there were."""
        ...

    def ready(self) -> None:
        """Raise StoreUnavailable (an OSError) if the store cannot be written now."""
        ...
