"""Uploads stored once by content hash; pages written atomically."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.storage import BlobStore, PageStore


def test_blobs_are_stored_once_by_hash(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    first = store.put(b"month,users\n2026-01,3\n")
    again = store.put(b"month,users\n2026-01,3\n")
    assert first == again == hashlib.sha256(b"month,users\n2026-01,3\n").hexdigest()
    assert len(list((tmp_path / "uploads").rglob("*"))) == 2  # one folder, one file
    assert store.get(first) == b"month,users\n2026-01,3\n"


def test_blob_names_must_be_hashes(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        BlobStore(tmp_path).get("../../etc/passwd")


def test_pages_replace_atomically_and_leave_no_temp_files(tmp_path: Path) -> None:
    pages = PageStore(tmp_path)
    pages.write(1, 1, "<p>one</p>")
    pages.write(1, 1, "<p>uno</p>")
    assert pages.read(1, 1) == b"<p>uno</p>"
    assert [p.name for p in (tmp_path / "pages" / "1").iterdir()] == ["1.html"]
