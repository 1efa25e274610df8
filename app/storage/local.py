"""Files on disk under DATA_DIR: uploads stored once by content hash, pages written atomically."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from app.storage.base import StoreUnavailable, checked_sha256, page_name


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


def check_writable(root: Path) -> None:
    """Raise OSError if the folder cannot be written."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=root, prefix=".ready-"):
        pass


def _ready(root: Path) -> None:
    try:
        check_writable(root)
    except OSError as exc:
        raise StoreUnavailable(f"folder {root} is not writable: {exc}") from exc


class LocalBlobStore:
    """Uploaded files under ``<data_dir>/uploads/<sha[:2]>/<sha>``."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "uploads"

    def _path(self, sha256: str) -> Path:
        sha256 = checked_sha256(sha256)
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
        try:
            self._path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def ready(self) -> None:
        """Raise StoreUnavailable if the uploads folder cannot be written."""
        _ready(self.root)


class LocalPageStore:
    """Rendered pages under ``<data_dir>/pages/<site_id>/<number>.html``."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "pages"

    def _path(self, site_id: int, number: int) -> Path:
        return self.root / page_name(site_id, number)

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

    def ready(self) -> None:
        """Raise StoreUnavailable if the pages folder cannot be written."""
        _ready(self.root)
