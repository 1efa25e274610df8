"""Adding a version to a site: one place for generation, revision, edit and restore.

Each new version is rendered, numbered after the latest, re-anchors the open comments, and
writes one ``version.created`` audit event, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from app import audit
from app.access import Action, Principal, can
from app.models import Annotation, Site, SiteVersion, Source, User, utcnow
from app.services import Deps
from app.services.annotations import mark_resolved, reanchor_annotations
from app.services.pages import render_version
from app.services.sites import get_site


def visible_site(session: Session, who: Principal, site_id: int) -> Site:
    """Return a site ``who`` can open or read the drafts of.

    :raise 404: unknown or not visible. :raise 410: gone, for people it was shared with.
    """
    site = session.get(Site, site_id)
    if site is not None and can(who, Action.VIEW_DRAFTS, site):
        return site
    return get_site(session, who, site_id, Action.VIEW)


def lock_site(session: Session, site: Site) -> Site:
    """Re-read the site row for update, so two writers cannot take the same version number."""
    session.refresh(site, with_for_update={"of": Site})
    return site


@dataclass
class Provenance:
    """How a version came about: the instruction, its parent and what the model spent."""

    kind: str  # prompt, revision, annotations, edit, restore or regenerate
    instruction: str = ""
    parent: int | None = None
    changed_paths: list[str] = field(default_factory=list)
    annotation_ids: list[int] = field(default_factory=list)
    model: str = ""
    offline: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    job_id: str | None = None


def add_version(
    session: Session,
    deps: Deps,
    site: Site,
    author: User,
    content: dict[str, Any],
    sources: Sequence[Source],
    provenance: Provenance,
    tables: Mapping[str, pd.DataFrame] | None = None,
    resolves: Sequence[Annotation] = (),
) -> SiteVersion:
    """Render and store the next version of ``site``; the caller commits.

    Open comments move onto the new version, except ``resolves`` (the comments this version
    addresses), which are marked resolved in it. The caller must have locked the site
    (:func:`lock_site` or a ``with_for_update`` read).
    """
    template = deps.registry.get(site.template)
    if template is None:
        raise LookupError(f"template {site.template!r} is not installed")
    number = site.latest_version + 1
    version = SiteVersion(
        site_id=site.id,
        number=number,
        content=content,
        template=template.name,
        template_version=template.version,
        instruction_kind=provenance.kind,
        instruction=provenance.instruction,
        parent_number=provenance.parent,
        annotation_ids=list(provenance.annotation_ids),
        changed_paths=list(provenance.changed_paths),
        model=provenance.model,
        offline=provenance.offline,
        tokens_in=provenance.tokens_in,
        tokens_out=provenance.tokens_out,
        author=author,
        created_at=utcnow(),
        sources=list(sources),
    )
    render_version(deps, site, version, tables, new=True)
    session.add(version)
    site.latest_version = number
    moved = reanchor_annotations(session, site, content, number, skip={r.id for r in resolves})
    data: dict[str, Any] = {
        "instruction_kind": provenance.kind,
        "parent": provenance.parent,
        "changed_paths": list(provenance.changed_paths),
        "model": provenance.model,
        "tokens_in": provenance.tokens_in,
        "tokens_out": provenance.tokens_out,
        "sources": [{"filename": s.filename, "sha256": s.sha256} for s in sources],
    }
    if provenance.job_id:
        data["job_id"] = provenance.job_id
    if provenance.annotation_ids:
        data["annotation_ids"] = list(provenance.annotation_ids)
    if moved:
        data["annotations"] = moved
    audit.track_event(
        session, audit.VersionCreated(data=data), actor=author, site=site, version=number
    )
    if resolves:
        mark_resolved(session, site, resolves, number, author)
    return version


def provenance(version: SiteVersion) -> dict[str, Any]:
    """Describe where a version came from: who, when, template, instruction, model, tokens."""
    return {
        "number": version.number,
        "created_at": version.created_at.isoformat() + "Z",
        "author": version.author.email,
        "template": version.template,
        "template_version": version.template_version,
        "instruction": {"kind": version.instruction_kind, "text": version.instruction},
        "parent": version.parent_number,
        "changed_paths": list(version.changed_paths or []),
        "model": version.model,
        "offline": version.offline,
        "tokens": {"input": version.tokens_in, "output": version.tokens_out},
    }
