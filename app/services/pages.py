"""Rendering a version's page to the page store, from its content and its source files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from app.compute import template_compute
from app.ingest import ingest
from app.models import Site, SiteVersion, Source
from app.render import PageContext
from app.services import Deps


def version_tables(deps: Deps, sources: Sequence[Source]) -> dict[str, pd.DataFrame]:
    """Read the tables of a version's source files again from the blob store."""
    tables: dict[str, pd.DataFrame] = {}
    for source in sources:
        if source.kind != "table":
            continue
        file = ingest(source.filename, deps.blobs.get(source.sha256), deps.ingest_limits)
        tables.update({table.name: table.frame for table in file.tables})
    return tables


def version_workbooks(deps: Deps, sources: Sequence[Source]) -> dict[str, bytes]:
    """Read a version's uploaded workbooks (for templates that evaluate their formulas)."""
    return {
        source.filename: deps.blobs.get(source.sha256)
        for source in sources
        if source.filename.lower().endswith(".xlsx")
    }


def render_version(
    deps: Deps,
    site: Site,
    version: SiteVersion,
    tables: Mapping[str, pd.DataFrame] | None = None,
    *,
    new: bool = False,
) -> None:
    """Render one version of a site and write its page atomically.

    Call it with ``new`` for a new version (its template's computation verifies the numbers,
    see :mod:`app.compute`), and without for existing versions when what the frame shows
    (name, owner, department, expiry) or the day changes. ``tables`` saves re-reading the files.
    """
    template = deps.registry.get(version.template)
    if template is None:
        raise LookupError(f"template {version.template!r} is not installed")
    if tables is None:
        tables = version_tables(deps, version.sources)
    files = version_workbooks(deps, version.sources) if template_compute(template.name) else {}
    html = deps.renderer.render(
        template,
        version.content,
        page_context(site, version, version.sources),
        tables,
        files,
        verify=new,
    )
    deps.pages.write(site.id, version.number, html)


def page_context(site: Site, version: SiteVersion, sources: Sequence[Source]) -> PageContext:
    """Return what the shared site frame shows around a version's content."""
    return PageContext(
        site={
            "name": site.name,
            "owner_name": site.owner.name,
            "owner_email": site.owner.email,
            "department": site.department,
            "expires_on": site.expires_on.isoformat(),
            "data_source_note": site.data_source_note,
            "purpose": site.purpose,
        },
        version={
            "number": version.number,
            "created_at": version.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            "model": version.model,
            "offline": version.offline,
            "author": version.author.name,
        },
        sources=[
            {
                "filename": s.filename,
                "kind": s.kind,
                "sha256": s.sha256,
                "size_label": _size_label(s.size),
                "uploader": s.uploader.name,
            }
            for s in sources
        ],
    )


def _size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
