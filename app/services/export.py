"""Export: one zip that opens offline, so a site can graduate into a maintained system.

The archive holds the rendered page of every version (``index.html`` is the published one), the
assets they need with their URLs made relative, the content JSON of every version and a
manifest of the site, its sources and each version's provenance.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.models import Site, SiteVersion, Source, User, utcnow
from app.render import BANNER_SLOT
from app.services import Deps
from app.services.content_versions import provenance as version_provenance
from app.services.pages import render_version
from app.services.review import official_json
from app.site_assets import PLOTLY_JS, PLOTLY_URL

STATIC = Path(__file__).resolve().parent.parent / "static"
# URL in a served page -> (path inside the archive, file on disk)
ASSETS: dict[str, tuple[str, Path]] = {
    PLOTLY_URL: ("assets/plotly.min.js", PLOTLY_JS),  # the bundle pages load
    "/static/site.css": ("assets/site.css", STATIC / "site.css"),
    "/static/site.js": ("assets/site.js", STATIC / "site.js"),
    "/static/scenario_model.js": ("assets/scenario_model.js", STATIC / "scenario_model.js"),
    "/static/scenario_planner.js": ("assets/scenario_planner.js", STATIC / "scenario_planner.js"),
    "/static/sortable.js": ("assets/sortable.js", STATIC / "sortable.js"),
    "/static/favicon.svg": ("assets/favicon.svg", STATIC / "favicon.svg"),
}
FORMAT = "sitewright-export/1"
# Pages name their assets with a content digest (app.site_assets); the archive holds one copy.
VERSIONED = re.compile(r'"(/static/[^"?]+)\?v=[0-9a-f]+"')


def page_file(number: int) -> str:
    """Return the archive path of a version's page."""
    return f"v{number}.html"


def offline_page(html: str, note: str) -> str:
    """Point a served page at the archive's assets and put an export note in the banner slot."""
    html = VERSIONED.sub(r'"\1"', html)
    for url, (local, _) in ASSETS.items():
        html = html.replace(f'"{url}"', f'"{local}"')
    banner = f'<p class="banner" role="note">{escape(note)}</p>'
    return html.replace(BANNER_SLOT, banner, 1)


def provenance(version: SiteVersion) -> dict[str, Any]:
    """Describe where a version came from, with its files inside the archive."""
    return {
        **version_provenance(version),
        "sources": [s.sha256 for s in version.sources],
        "page": page_file(version.number),
        "content": f"content/v{version.number}.json",
    }


def manifest(site: Site, sources: list[Source], versions: list[SiteVersion], actor: User) -> Any:
    """Describe the site, its sources and its versions."""
    return {
        "format": FORMAT,
        "exported_at": utcnow().isoformat() + "Z",
        "exported_by": actor.email,
        "site": {
            "id": site.id,
            "slug": site.slug,
            "name": site.name,
            "owner": site.owner.email,
            "owner_name": site.owner.name,
            "department": site.department,
            "template": site.template,
            "purpose": site.purpose,
            "status": site.status,
            "audience": site.audience,
            "categories": list(site.categories),
            "review_state": site.review_state,
            "expires_on": site.expires_on.isoformat(),
            "data_source_note": site.data_source_note,
            "published_version": site.published_version,
            "latest_version": site.latest_version,
            "official": official_json(site),
            "created_at": site.created_at.isoformat() + "Z",
        },
        "sources": [
            {
                "filename": s.filename,
                "sha256": s.sha256,
                "size": s.size,
                "kind": s.kind,
                "uploader": s.uploader.email,
                "uploaded_at": s.created_at.isoformat() + "Z",
            }
            for s in sources
        ],
        "index": "index.html" if index_number(site) else None,
        "versions": [provenance(v) for v in versions],
    }


def index_number(site: Site) -> int | None:
    """Return the version shown as index.html: the published one, else the latest."""
    return site.published_version or site.latest_version or None


def build_archive(session: Session, deps: Deps, site: Site, actor: User) -> tuple[str, bytes]:
    """Return the archive's file name and bytes, and record the export."""
    versions = list(
        session.scalars(
            select(SiteVersion).where(SiteVersion.site_id == site.id).order_by(SiteVersion.number)
        )
    )
    sources = list(
        session.scalars(select(Source).where(Source.site_id == site.id).order_by(Source.id))
    )
    today = utcnow().date().isoformat()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for version in versions:
            if not deps.pages.exists(site.id, version.number):
                render_version(deps, site, version)
            html = deps.pages.read(site.id, version.number).decode("utf-8")
            published = version.number == site.published_version
            note = (
                f"Exported from Sitewright on {today}: version {version.number} of {site.name}"
                + (" (the published version)." if published else ".")
            )
            page = offline_page(html, note)
            archive.writestr(page_file(version.number), page)
            if version.number == index_number(site):
                archive.writestr("index.html", page)
            archive.writestr(
                f"content/v{version.number}.json",
                json.dumps(version.content, indent=2, ensure_ascii=False),
            )
        for local, path in ASSETS.values():
            archive.write(path, local)
        archive.writestr(
            "manifest.json",
            json.dumps(manifest(site, sources, versions, actor), indent=2, ensure_ascii=False),
        )
    data = buffer.getvalue()
    session.commit()  # end the read; the export is recorded in a write transaction of its own
    with deps.db.transaction() as writer:
        audit.track_event(
            writer,
            audit.SiteExported(data={"versions": len(versions), "bytes": len(data)}),
            actor=writer.get(User, actor.id),
            site=writer.get(Site, site.id),
            version=site.published_version,
        )
    return f"{site.slug}.zip", data
