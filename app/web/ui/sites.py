"""The builders' pages: my sites, new site, progress, preview and publish, API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import audit
from app.access import Action, Principal, Role, can, role_of
from app.auth import current_principal, login_required, require_user, workspace_settings
from app.auth.sessions import create_api_token
from app.db import get_session
from app.errors import BadInput, Conflict, Forbidden, NotFound, SitewrightError
from app.ingest import ACCEPTED_EXTENSIONS
from app.models import ApiToken, Job, Site, SiteVersion, utcnow
from app.services import notices, sharing, workspace
from app.services import sites as site_service
from app.services.generation import STEPS
from app.services.template_choice import CHOOSING, choice_json
from app.services.wiring import get_deps
from app.web.ui import bp
from app.web.ui.governance import governance_context, index_context


def _latest_jobs(site_ids: list[int]) -> dict[int, Job]:
    if not site_ids:
        return {}
    jobs = (
        get_session()
        .scalars(select(Job).where(Job.site_id.in_(site_ids)).order_by(Job.created_at))
        .all()
    )
    return {job.site_id: job for job in jobs}


@bp.get("/")
@login_required
def index() -> str | tuple[str, int]:
    """List the signed-in user's sites, the sites shared with them, and their deleted sites."""
    user = require_user()
    who = current_principal()
    db = get_session()
    settings = workspace_settings()
    if workspace.sites_hidden(settings) and not who.is_admin:
        return render_template("ui/switched_off.html", message=workspace.HIDDEN_MESSAGE), 503
    sites = db.scalars(
        select(Site)
        .where(Site.owner_id == user.id, Site.deleted_at.is_(None))
        .order_by(Site.updated_at.desc())
    ).all()
    others = [s for s in site_service.listed_sites(db, who) if s.owner_id != user.id]
    # Shared with the user by name or group (viewers and editors), or with the whole workspace.
    granted = [s for s in others if role_of(who, s) is not Role.NONE and _granted_to(who, s)]
    shared = [
        s
        for s in others
        if s not in granted and s.audience == "workspace" and can(who, Action.VIEW, s)
    ][:50]
    return render_template(
        "ui/index.html",
        sites=sites,
        granted=granted,
        shared=shared,
        roles={s.id: role_of(who, s).value for s in granted},
        viewable={s.id for s in granted if can(who, Action.VIEW, s)},
        jobs=_latest_jobs([s.id for s in sites]),
        today=dt.date.today(),
        notices=notices.unread(db, user.id),
        switched_off=not settings["FEATURE_ENABLED"],
        may_create=_may_create(settings, who),
        warning_days=settings["EXPIRY_WARNING_DAYS"],
        **index_context(user),
    )


def _may_create(settings: dict[str, Any], who: Principal) -> bool:
    try:
        workspace.check_may_create(settings, who.groups, who.is_admin)
    except SitewrightError:
        return False
    return True


@bp.post("/notices/dismiss")
@login_required
def dismiss_notices() -> Response:
    """Mark the signed-in member's notices read (all, or the one named in the form)."""
    raw = request.form.get("notice_id", "")
    ids = [int(raw)] if raw.isdigit() else None
    notices.dismiss(get_session(), require_user().id, ids)
    return redirect(url_for("ui.index"), 303)


def _granted_to(who: Principal, site: Site) -> bool:
    """Say whether the site's grants (not its workspace audience) let this member in."""
    by_name = sharing.with_sharing(site, "people", sharing.current_grants(site))
    return role_of(who, by_name) is not Role.NONE


def _form_defaults() -> dict[str, Any]:
    return {
        "template": request.args.get("template", ""),
        "prompt": "",
        "name": "",
        "department": "",
        "data_source_note": "",
        "categories": [],
        "expires_on": site_service.default_expiry(workspace_settings()).isoformat(),
    }


def _render_new(form: dict[str, Any], error: SitewrightError | None = None) -> tuple[str, int]:
    deps = get_deps()
    today = dt.date.today()
    return render_template(
        "ui/new.html",
        templates=list(deps.registry),
        form=form,
        error=error,
        categories=site_service.CATEGORIES,
        accepted=",".join(ACCEPTED_EXTENSIONS),
        accepted_label=", ".join(ACCEPTED_EXTENSIONS),
        max_file_mb=deps.settings["MAX_FILE_MB"],
        max_files=deps.settings["MAX_FILES"],
        max_upload_mb=deps.settings["MAX_UPLOAD_MB"],
        min_date=(today + dt.timedelta(days=1)).isoformat(),
        max_date=(today + dt.timedelta(days=workspace_settings()["MAX_EXPIRY_DAYS"])).isoformat(),
    ), error.status if error else 200


@bp.get("/new")
@login_required
def new_site() -> tuple[str, int]:
    """Show the new-site form: template cards, prompt, files and the site's details.

    :raise 503: the feature is switched off.
    :raise 403: only some groups may create sites.
    """
    who, settings = current_principal(), workspace_settings()
    workspace.check_may_create(settings, who.groups, who.is_admin)
    return _render_new(_form_defaults())


@bp.post("/new")
@login_required
def create_site() -> Response | tuple[str, int]:
    """Save the request and its files, queue generation, and show the progress page."""
    user = require_user()
    form: dict[str, Any] = {
        key: request.form.get(key, "")
        for key in ("template", "prompt", "name", "department", "data_source_note", "expires_on")
    }
    form["categories"] = request.form.getlist("categories")
    uploads = [
        site_service.Upload(f.filename or "upload", f.read())
        for f in request.files.getlist("files")
        if f.filename
    ]
    try:
        new = site_service.NewSite(
            template=form["template"],
            prompt=form["prompt"],
            name=form["name"],
            department=form["department"],
            data_source_note=form["data_source_note"],
            expires_on=site_service.parse_date(form["expires_on"]),
            categories=form["categories"],
        )
        site, job = site_service.create_site(get_session(), get_deps(), user, new, uploads)
    except SitewrightError as exc:
        get_session().rollback()
        if uploads:
            exc.details.append(
                "For safety, files are not kept after a refused request: "
                "select them again before sending."
            )
        return _render_new(form, exc)
    get_deps().runner.submit(job.id)
    return redirect(url_for("ui.job_progress", site_id=site.id, job_id=job.id), 303)


def _owned_site(site_id: int, action: Action = Action.VIEW_DRAFTS) -> Site:
    return site_service.get_site(get_session(), current_principal(), site_id, action)


@bp.get("/sites/<int:site_id>")
@login_required
def site_detail(site_id: int) -> str:
    """Show a site's versions with provenance, preview links and the publish form."""
    site = _owned_site(site_id)
    db = get_session()
    versions = db.scalars(
        select(SiteVersion)
        .where(SiteVersion.site_id == site.id)
        .order_by(SiteVersion.number.desc())
    ).all()
    jobs = db.scalars(
        select(Job).where(Job.site_id == site.id).order_by(Job.created_at.desc()).limit(5)
    ).all()
    return render_template(
        "ui/site.html",
        site=site,
        template_choice=choice_json(site),
        versions=versions,
        jobs=jobs,
        audiences=site_service.AUDIENCES,
        today=dt.date.today(),
        **governance_context(site),
    )


@bp.post("/sites/<int:site_id>/publish")
@login_required
def publish(site_id: int) -> Response:
    """Publish the chosen version with the chosen audience."""
    site = _owned_site(site_id, Action.PUBLISH)
    try:
        number = int(request.form.get("version", ""))
    except ValueError as exc:
        raise BadInput("Choose a version to publish.") from exc
    try:
        site_service.publish_version(
            get_session(),
            site,
            number,
            require_user(),
            audience=request.form.get("audience") or None,
            who=current_principal(),
        )
    except (Conflict, BadInput, Forbidden) as exc:  # review gate, unknown audience, not owner
        get_session().rollback()
        flash(exc.message, "error")
        return redirect(url_for("ui.site_detail", site_id=site.id), 303)
    if site.status == "unpublished":
        flash(f"Version {number} will be served once the site is republished.", "success")
    else:
        address = url_for("serve.site_page", slug=site.slug)
        flash(f"Version {number} is published at {address}.", "success")
    return redirect(url_for("ui.site_detail", site_id=site.id), 303)


def _job(site_id: int, job_id: str) -> Job:
    job = site_service.get_job(get_session(), current_principal(), job_id)
    if job.site_id != site_id:
        raise NotFound("No such job.")
    return job


def job_state(job: Job) -> dict[str, Any]:
    """Describe a job for the progress page and the API."""
    return {
        "id": job.id,
        "status": job.status,
        "step": job.step,
        "error": job.error,
        "site_id": job.site_id,
        "version": job.version,
        "attempts": job.attempts,
        # How Sitewright chose the template the builder left open (first generation only).
        "template_choice": choice_json(job.site) if job.kind == "generate" else None,
    }


def job_steps(job: Job) -> tuple[str, ...]:
    """Return the steps the progress page lists; a model choosing the template adds one."""
    choice = choice_json(job.site) if job.kind == "generate" else None
    if choice and (choice["pending"] or choice["by"] == "model"):
        return (STEPS[0], CHOOSING, *STEPS[1:])
    return STEPS


@bp.get("/sites/<int:site_id>/jobs/<job_id>")
@login_required
def job_progress(site_id: int, job_id: str) -> str:
    """Show the steps of a generation; the page polls for updates and survives reloads."""
    job = _job(site_id, job_id)
    return render_template(
        "ui/progress.html", job=job, site=job.site, steps=job_steps(job), state=job_state(job)
    )


@bp.get("/sites/<int:site_id>/jobs/<job_id>/status")
@login_required
def job_status(site_id: int, job_id: str) -> Response:
    """Answer the job's state as JSON for the progress page."""
    job = _job(site_id, job_id)
    state = job_state(job)
    if job.status == "succeeded":
        state["preview_url"] = url_for("serve.site_version", slug=job.site.slug, number=job.version)
        state["site_url"] = url_for("ui.site_detail", site_id=site_id)
    return jsonify(state)


@bp.post("/sites/<int:site_id>/jobs/<job_id>/retry")
@login_required
def retry(site_id: int, job_id: str) -> Response:
    """Run a failed generation again with its saved prompt and files."""
    job = _job(site_id, job_id)
    site_service.retry_job(get_session(), get_deps(), job, require_user(), current_principal())
    return redirect(url_for("ui.job_progress", site_id=site_id, job_id=job_id), 303)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> str:
    """List, create and revoke personal API tokens."""
    user = require_user()
    db = get_session()
    new_token = None
    if request.method == "POST":
        if request.form.get("revoke"):
            row = db.get(ApiToken, int(request.form["revoke"]))
            if row is None or row.user_id != user.id:
                raise NotFound("No such token.")
            row.revoked_at = utcnow()
            audit.track_event(db, audit.TokenRevoked(data={"token": row.prefix}), actor=user)
            flash(f"Token {row.name} is revoked.", "success")
        else:
            row, new_token = create_api_token(db, user, request.form.get("name", "").strip())
            db.flush()
            audit.track_event(db, audit.TokenCreated(data={"token": row.prefix}), actor=user)
        db.commit()
    rows = db.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("ui/tokens.html", tokens=rows, new_token=new_token)
