"""API routes for sites: templates, create, jobs, list, get, versions, publish."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.access import Action, can, state_of
from app.auth import current_principal, require_user, workspace_settings
from app.db import get_session
from app.errors import BadInput, Forbidden
from app.models import Job, Site, SiteVersion
from app.services import sites as site_service
from app.services.content_versions import provenance
from app.services.lifecycle import restorable_until
from app.services.review import official_json
from app.services.sharing import sharing_json
from app.services.template_choice import choice_json
from app.services.wiring import get_deps
from app.web.api import bp, json_body
from app.web.api.openapi import openapi_document
from app.web.ui import job_state


def site_json(site: Site) -> dict[str, Any]:
    """Describe a site for the API; who it is shared with only for those who manage it."""
    who = current_principal()
    body = {
        "id": site.id,
        "slug": site.slug,
        "url": url_for("serve.site_page", slug=site.slug, _external=True),
        "name": site.name,
        "owner": site.owner.email,
        "owner_name": site.owner.name,
        "department": site.department,
        "template": site.template,
        "template_choice": choice_json(site),  # None: the builder chose the template
        "status": site.status,
        "audience": site.audience,
        "categories": site.categories,
        "expires_on": site.expires_on.isoformat(),
        "official": official_json(site),
        "state": state_of(site).value,
        "review": {
            "state": site.review_state,
            "note": site.review_note,
            "reviewed_at": site.reviewed_at.isoformat() + "Z" if site.reviewed_at else None,
        },
        "published_version": site.published_version,
        "latest_version": site.latest_version,
        "data_source_note": site.data_source_note,
        "purpose": site.purpose,
        "created_at": site.created_at.isoformat() + "Z",
        "updated_at": site.updated_at.isoformat() + "Z",
    }
    if can(who, Action.VIEW_DRAFTS, site):
        until = restorable_until(site, workspace_settings())
        if can(who, Action.SHARE, site) or who.is_admin:
            body["sharing"] = sharing_json(site)  # grantees' e-mails: for who manages sharing
        body.update(
            unpublished_at=site.unpublished_at.isoformat() + "Z" if site.unpublished_at else None,
            deleted_at=site.deleted_at.isoformat() + "Z" if site.deleted_at else None,
            restorable_until=until.isoformat() + "Z" if until else None,
            disabled={"at": site.disabled_at.isoformat() + "Z", "reason": site.disabled_reason}
            if site.disabled_at
            else None,
        )
    return body


def version_json(version: SiteVersion, *, with_content: bool = False) -> dict[str, Any]:
    """Describe a version and its provenance for the API."""
    body: dict[str, Any] = {
        **provenance(version),
        "sources": [
            {
                "filename": s.filename,
                "sha256": s.sha256,
                "size": s.size,
                "uploader": s.uploader.email,
            }
            for s in version.sources
        ],
    }
    if with_content:
        body["content"] = version.content
    return body


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document for this API."""
    return jsonify(openapi_document())


@bp.get("/templates")
def templates() -> Response:
    """List the vetted templates."""
    return jsonify(
        templates=[
            {
                "name": t.name,
                "title": t.title,
                "description": t.description,
                "version": t.version,
                "categories": list(t.categories),
            }
            for t in get_deps().registry
        ]
    )


@bp.post("/sites")
def create_site() -> tuple[Response, int]:
    """Create a site from a template (empty: Sitewright chooses), a prompt and files.

    Generation runs as a job.
    """
    user = require_user()
    form = request.form
    new = site_service.NewSite(
        template=form.get("template", ""),
        prompt=form.get("prompt", ""),
        name=form.get("name", ""),
        department=form.get("department", ""),
        expires_on=site_service.parse_date(form.get("expires_on")),
        data_source_note=form.get("data_source_note", ""),
        categories=form.getlist("categories"),
        purpose=form.get("purpose", ""),
    )
    uploads = [
        site_service.Upload(f.filename or "upload", f.read())
        for f in request.files.getlist("files")
        if f.filename
    ]
    site, job = site_service.create_site(get_session(), get_deps(), user, new, uploads)
    get_deps().runner.submit(job.id)
    return jsonify(site=site_json(site), job={"id": job.id, "status": job.status}), 202


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> Response:
    """Report a job's status and step."""
    return jsonify(job_state(site_service.get_job(get_session(), current_principal(), job_id)))


@bp.get("/sites")
def list_sites() -> Response:
    """List the sites visible to the caller; ``?deleted=1``: their deleted sites instead."""
    who = current_principal()
    if request.args.get("deleted") in ("1", "true"):
        query = select(Site).where(Site.owner_id == who.id, Site.deleted_at.is_not(None))
        return jsonify(sites=[site_json(s) for s in get_session().scalars(query).all()])
    sites = site_service.listed_sites(get_session(), who)
    return jsonify(sites=[site_json(s) for s in sites])


@bp.get("/sites/<int:site_id>")
def get_site(site_id: int) -> Response:
    """Describe one site to those who can open it or work on its drafts."""
    try:
        site = site_service.get_site(get_session(), current_principal(), site_id, Action.VIEW)
    except Forbidden:  # an editor of a draft, a reviewer, the owner of a disabled site
        site = site_service.get_site(
            get_session(), current_principal(), site_id, Action.VIEW_DRAFTS
        )
    return jsonify(site_json(site))


@bp.get("/sites/<int:site_id>/versions")
def versions(site_id: int) -> Response:
    """List a site's versions with provenance (owner and admins)."""
    site = site_service.get_site(get_session(), current_principal(), site_id, Action.VIEW_DRAFTS)
    rows = (
        get_session()
        .scalars(
            select(SiteVersion).where(SiteVersion.site_id == site.id).order_by(SiteVersion.number)
        )
        .all()
    )
    return jsonify(versions=[version_json(v) for v in rows])


@bp.get("/sites/<int:site_id>/versions/<int:number>")
def version(site_id: int, number: int) -> Response:
    """Return one version with its content."""
    site = site_service.get_site(get_session(), current_principal(), site_id, Action.VIEW_DRAFTS)
    row = site_service.get_version(get_session(), site, number)
    return jsonify(version_json(row, with_content=True))


@bp.get("/sites/<int:site_id>/jobs")
def site_jobs(site_id: int) -> Response:
    """List a site's generation jobs, newest first."""
    site = site_service.get_site(get_session(), current_principal(), site_id, Action.VIEW_DRAFTS)
    rows = (
        get_session()
        .scalars(select(Job).where(Job.site_id == site.id).order_by(Job.created_at.desc()))
        .all()
    )
    return jsonify(jobs=[job_state(j) for j in rows])


@bp.post("/jobs/<job_id>/retry")
def retry_job(job_id: str) -> tuple[Response, int]:
    """Queue a failed job again with its saved inputs."""
    row = site_service.get_job(get_session(), current_principal(), job_id)
    site_service.retry_job(get_session(), get_deps(), row, require_user(), current_principal())
    return jsonify(job_state(row)), 202


@bp.post("/sites/<int:site_id>/publish")
def publish(site_id: int) -> Response:
    """Make a version the published one; optionally set the audience (owner/workspace)."""
    site = site_service.get_site(get_session(), current_principal(), site_id, Action.PUBLISH)
    body = json_body()
    number = body.get("version")
    if not isinstance(number, int) or isinstance(number, bool):
        raise BadInput("'version' must be a version number.")
    audience = body.get("audience")
    if audience is not None and not isinstance(audience, str):
        raise BadInput("'audience' must be 'owner' or 'workspace'.")
    site_service.publish_version(
        get_session(), site, number, require_user(), audience=audience, who=current_principal()
    )
    return jsonify(site_json(site))
