"""The same behaviour from both backends: files under DATA_DIR and objects in an S3 bucket."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from app.storage import LocalPageStore, StoreUnavailable, build_stores, parse_storage_url
from tests.storage.conftest import Stores

CSV = b"month,users\n2026-01,3\n"
SHA = hashlib.sha256(CSV).hexdigest()


def test_blobs_put_get_exists_delete(stores: Stores) -> None:
    assert not stores.blobs.exists(SHA)
    assert stores.blobs.put(CSV) == SHA
    assert stores.blobs.exists(SHA) and stores.blobs.get(SHA) == CSV
    assert stores.blobs.delete(SHA) is True
    assert stores.blobs.delete(SHA) is False  # there was none any more
    assert not stores.blobs.exists(SHA)
    with pytest.raises(FileNotFoundError):
        stores.blobs.get(SHA)


def test_the_same_bytes_are_stored_once_under_their_hash(stores: Stores) -> None:
    assert stores.blobs.put(CSV) == stores.blobs.put(CSV) == SHA
    other = stores.blobs.put(b"# Notes\n")
    assert stores.names() == sorted([f"uploads/{SHA[:2]}/{SHA}", f"uploads/{other[:2]}/{other}"])


@pytest.mark.parametrize("name", ["../../etc/passwd", SHA.upper(), SHA[:-1], SHA + "0", ""])
def test_blob_names_must_be_sha256_digests(stores: Stores, name: str) -> None:
    for call in (stores.blobs.get, stores.blobs.exists, stores.blobs.delete):
        with pytest.raises(ValueError, match="sha256"):
            call(name)


def test_pages_write_read_exists_and_replace_whole(stores: Stores) -> None:
    assert not stores.pages.exists(1, 1) and stores.pages.rendered_on(1, 1) is None
    with pytest.raises(FileNotFoundError):
        stores.pages.read(1, 1)
    stores.pages.write(1, 1, "<p>one – ü</p>")
    stores.pages.write(1, 1, "<p>uno – ü</p>")
    assert stores.pages.read(1, 1) == "<p>uno – ü</p>".encode()
    assert stores.pages.exists(1, 1) and not stores.pages.exists(1, 2)
    assert stores.pages.rendered_on(1, 1) == dt.datetime.now(dt.UTC).date()
    assert stores.names() == ["pages/1/1.html"]  # no temporary files or objects left


def test_delete_site_removes_only_that_sites_pages_and_counts_them(stores: Stores) -> None:
    for number in (1, 2, 3):
        stores.pages.write(1, number, f"<p>{number}</p>")
    stores.pages.write(12, 1, "<p>site 12</p>")  # "1" is a prefix of "12": must be kept
    assert stores.pages.delete_site(1) == 3
    assert stores.pages.delete_site(1) == 0
    assert stores.pages.delete_site(99) == 0
    assert not stores.pages.exists(1, 1)
    assert stores.names() == ["pages/12/1.html"]


def test_ready_passes_and_leaves_nothing_behind(stores: Stores) -> None:
    stores.blobs.ready()
    stores.pages.ready()
    assert stores.names() == []


def test_two_prefixes_do_not_see_each_other(stores: Stores, tmp_path: Path) -> None:
    """Two deployments sharing a bucket (S3: prefixes "sitewright" and "sitewright-b")."""
    config = dict(stores.config, DATA_DIR=str(tmp_path / "data-b"))
    if stores.backend == "s3":
        location = parse_storage_url(config["STORAGE_URL"])
        assert location is not None
        config["STORAGE_URL"] = f"s3://{location.bucket}/{location.prefix}-b"
    blobs_b, pages_b = build_stores(config)
    stores.blobs.put(CSV)
    stores.pages.write(1, 1, "<p>a</p>")
    assert not blobs_b.exists(SHA) and not pages_b.exists(1, 1)
    assert blobs_b.delete(SHA) is False and pages_b.delete_site(1) == 0
    pages_b.write(1, 1, "<p>b</p>")
    blobs_b.put(CSV)
    assert blobs_b.delete(SHA) and pages_b.delete_site(1) == 1
    assert stores.blobs.get(SHA) == CSV and stores.pages.read(1, 1) == b"<p>a</p>"


def test_a_store_that_cannot_be_written_is_not_ready(stores: Stores, tmp_path: Path) -> None:
    config = dict(stores.config)
    if stores.backend == "s3":
        config["STORAGE_URL"] = "s3://no-such-bucket/sitewright"
    else:
        blocked = tmp_path / "blocked"
        blocked.mkdir()
        (blocked / "uploads").write_text("a file where the folder should be")
        (blocked / "pages").write_text("a file where the folder should be")
        config["DATA_DIR"] = str(blocked)
    blobs, pages = build_stores(config)
    for store in (blobs, pages):
        with pytest.raises(StoreUnavailable, match="not writable"):
            store.ready()


def test_pages_leave_no_temporary_files_on_disk(tmp_path: Path) -> None:
    pages = LocalPageStore(tmp_path)
    pages.write(1, 1, "<p>one</p>")
    pages.write(1, 1, "<p>uno</p>")
    assert [p.name for p in (tmp_path / "pages" / "1").iterdir()] == ["1.html"]


def test_s3_keys_sit_under_the_prefix_and_pages_are_html(
    request: pytest.FixtureRequest, s3_server: object, aws_env: None
) -> None:
    from tests.fakes.s3_server import FakeS3Server

    assert isinstance(s3_server, FakeS3Server)
    for prefix, base in (("team/site-builder", "team/site-builder/"), ("", "")):
        settings = s3_server.storage_settings(prefix)
        blobs, pages = build_stores({"DATA_DIR": "unused", **settings})
        blobs.put(CSV)
        pages.write(7, 2, "<p>x</p>")
        location = parse_storage_url(settings["STORAGE_URL"])
        assert location is not None
        assert s3_server.keys(location.bucket) == [
            f"{base}pages/7/2.html",
            f"{base}uploads/{SHA[:2]}/{SHA}",
        ]
        head = s3_server.client().head_object(Bucket=location.bucket, Key=f"{base}pages/7/2.html")
        assert head["ContentType"] == "text/html; charset=utf-8"
