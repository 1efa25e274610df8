"""Files on disk under DATA_DIR: uploads stored once by content hash, pages written atomically.

Both stores have a small interface so an object-storage backend can implement it later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class BlobStore:
    """Uploaded files, each stored once under its sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root / "uploads"

    def _path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store bytes (once) and return their sha256."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            _write_atomically(path, data)
        return digest

    def get(self, sha256: str) -> bytes:
        """Return the bytes stored under sha256."""
        return self._path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        """Say whether the blob is stored."""
        return self._path(sha256).exists()

    def delete(self, sha256: str) -> bool:
        """Remove the blob stored under sha256; return whether there was one."""
        path = self._path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True


class PageStore:
    """Rendered site pages, one file per site version."""

    def __init__(self, root: Path) -> None:
        self.root = root / "pages"

    def _path(self, site_id: int, number: int) -> Path:
        return self.root / str(int(site_id)) / f"{int(number)}.html"

    def write(self, site_id: int, number: int, html: str) -> None:
        """Write a version's page atomically: readers see the old file or the new, never half."""
        _write_atomically(self._path(site_id, number), html.encode("utf-8"))

    def read(self, site_id: int, number: int) -> bytes:
        """Return a version's rendered page."""
        return self._path(site_id, number).read_bytes()

    def exists(self, site_id: int, number: int) -> bool:
        """Say whether a version's page has been rendered."""
        return self._path(site_id, number).exists()

    def rendered_on(self, site_id: int, number: int) -> dt.date | None:
        """Return the day (UTC) a version's page was last written, or None if it was not."""
        try:
            stamp = self._path(site_id, number).stat().st_mtime
        except FileNotFoundError:
            return None
        return dt.datetime.fromtimestamp(stamp, dt.UTC).date()

    def delete_site(self, site_id: int) -> int:
        """Remove every rendered page of a site; return how many pages there were."""
        folder = self.root / str(int(site_id))
        if not folder.is_dir():
            return 0
        pages = sum(1 for _ in folder.glob("*.html"))
        shutil.rmtree(folder)
        return pages


def check_writable(root: Path) -> None:
    """Raise OSError if the data folder cannot be written."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=root, prefix=".ready-"):
        pass
