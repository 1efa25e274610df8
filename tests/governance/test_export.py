"""Export: a zip that opens offline, with every version, its content and a source manifest."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.factories import SAMPLE_FILES
from tests.governance.conftest import Api, count_events, last_event

Make = Callable[..., dict[str, Any]]
REFERENCE = re.compile(r'\b(?:src|href)="([^"]*)"')


def archive_of(response: Any) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_export_holds_pages_assets_content_and_manifest(
    api: Callable[..., Api], make_site: Make, samples_dir: Path, db: Any
) -> None:
    owner = api()
    site = make_site(owner, "customer_review", audience="owner")
    response = owner.get(f"/api/v1/sites/{site['id']}/export")
    assert f'filename="{site["slug"]}.zip"' in response.headers["Content-Disposition"]
    archive = archive_of(response)
    names = set(archive.namelist())
    assert {
        "index.html",
        "v1.html",
        "content/v1.json",
        "manifest.json",
        "assets/plotly.min.js",
        "assets/site.css",
        "assets/site.js",
        "assets/favicon.svg",
    } <= names

    for page_name in ("index.html", "v1.html"):
        page = archive.read(page_name).decode("utf-8")
        assert "<!--sitewright:banners-->" not in page and "Exported from Sitewright" in page
        assert 'div class="plot"' in page  # the customer review has charts
        for target in REFERENCE.findall(page):
            if target.startswith(("#", "mailto:", "http://", "https://")):
                continue
            assert not target.startswith("/"), f"{page_name} points outside: {target}"
            assert target in names, f"{page_name} references missing {target}"

    content = json.loads(archive.read("content/v1.json"))
    version = owner.get(f"/api/v1/sites/{site['id']}/versions/1").get_json()
    assert content == version["content"]

    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["site"]["name"] == site["name"] and manifest["site"]["owner"] == (
        "owner@example.com"
    )
    assert manifest["index"] == "index.html"
    expected = {
        name: hashlib.sha256((samples_dir / "customer_review" / name).read_bytes()).hexdigest()
        for name in SAMPLE_FILES["customer_review"]
    }
    assert {s["filename"]: s["sha256"] for s in manifest["sources"]} == expected
    assert all(s["uploader"] == "owner@example.com" and s["size"] > 0 for s in manifest["sources"])
    (first,) = manifest["versions"]
    assert first["number"] == 1 and first["page"] == "v1.html"
    assert first["model"] == "offline-drafter" and first["instruction"]["kind"] == "prompt"
    assert set(first["sources"]) == set(expected.values())

    assert count_events(db, "site.exported", site["id"]) == 1
    assert last_event(db, "site.exported", site["id"]).data["versions"] == 1


def test_export_is_for_those_who_work_on_the_site(api: Callable[..., Api], make_site: Make) -> None:
    owner, viewer, stranger = api(), api("vera@example.com"), api("sue@example.com")
    editor, admin = api("ed@example.com"), api("admin@example.com")
    site = make_site(owner, audience="owner")
    owner.put(
        f"/api/v1/sites/{site['id']}/sharing",
        {
            "audience": "people",
            "grants": [
                {"email": "vera@example.com"},
                {"email": "ed@example.com", "role": "editor"},
            ],
        },
    )
    path = f"/api/v1/sites/{site['id']}/export"
    assert stranger.get(path).status_code == 404
    assert viewer.get(path).status_code == 403
    assert archive_of(editor.get(path)).namelist()
    assert archive_of(admin.get(path)).namelist()
