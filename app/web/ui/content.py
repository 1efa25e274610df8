"""The content pages: revise, edit by hand, history and diffs, restore, and annotate mode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

import app.services.annotations as annotation_service
from app.access import Action, can
from app.auth import current_principal, login_required, require_user
from app.db import get_session
from app.errors import BadInput, Conflict, InvalidContent, SitewrightError
from app.ingest import ACCEPTED_EXTENSIONS
from app.models import Annotation, Job, Site
from app.services import history
from app.services.content_edit import (
    KeptEdit,
    edit_content,
    edit_page_fields,
    form_operations,
    group_fields,
    keep_edits,
)
from app.services.content_versions import visible_site
from app.services.revisions import request_revision
from app.services.sites import Upload, get_site, get_version
from app.services.wiring import get_deps
from app.site_template import SiteTemplate
from app.web.ui import bp

FIELD_PREFIX = "text:"


@bp.app_template_global("content_panel")
def content_panel(site: Site) -> dict[str, Any]:
    """What the site page's content panel may offer to the person looking at it."""
    who = current_principal()
    db = get_session()
    open_comments = db.scalar(
        select(func.count())
        .select_from(Annotation)
        .where(Annotation.site_id == site.id, Annotation.status == "open")
    )
    busy = db.scalars(
        select(Job.id).where(Job.site_id == site.id, Job.status.in_(("queued", "running")))
    ).first()
    return {
        "can_edit": can(who, Action.EDIT, site) and site.latest_version > 0,
        "can_comment": can(who, Action.COMMENT, site),
        "can_view_drafts": can(who, Action.VIEW_DRAFTS, site),
        "offline": get_deps().provider.name == "offline",
        "open_comments": int(open_comments or 0),
        "busy": busy is not None,
        "accepted": ",".join(ACCEPTED_EXTENSIONS),
    }


def _template(site: Site) -> SiteTemplate:
    template = get_deps().registry.get(site.template)
    if template is None:
        raise BadInput(f"The template {site.template!r} is no longer installed; ask an admin.")
    return template


def _uploads() -> list[Upload]:
    return [
        Upload(f.filename or "upload", f.read())
        for f in request.files.getlist("files")
        if f.filename
    ]


def _render_revise(site: Site, form: Mapping[str, Any], error: SitewrightError | None) -> Any:
    deps = get_deps()
    page = render_template(
        "ui/revise.html",
        site=site,
        form=form,
        error=error,
        offline=deps.provider.name == "offline",
        accepted=",".join(ACCEPTED_EXTENSIONS),
        accepted_label=", ".join(ACCEPTED_EXTENSIONS),
        max_files=deps.settings["MAX_FILES"],
        max_file_mb=deps.settings["MAX_FILE_MB"],
    )
    return page, error.status if error else 200


@bp.get("/sites/<int:site_id>/revise")
@login_required
def revise_page(site_id: int) -> Any:
    """Show the revise form: an instruction, optional files, or regenerate from scratch."""
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    return _render_revise(site, {"instruction": "", "regenerate": False}, None)


@bp.post("/sites/<int:site_id>/revise")
@login_required
def revise(site_id: int) -> Any:
    """Queue a revision (or regeneration) and show its progress."""
    user = require_user()
    uploads = _uploads()
    instruction = request.form.get("instruction", "")
    regenerate = bool(request.form.get("regenerate"))
    form = {"instruction": instruction, "regenerate": regenerate}
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    try:
        job = request_revision(
            get_session(), get_deps(), site, user, instruction, uploads, (), regenerate
        )
    except SitewrightError as exc:
        get_session().rollback()
        if uploads:
            exc.details.append("Files are not kept after a refused request: choose them again.")
        return _render_revise(site, form, exc)
    get_deps().runner.submit(job.id)
    return redirect(url_for("ui.job_progress", site_id=site.id, job_id=job.id), 303)


def _render_edit(
    site: Site, base_version: int, fields: Sequence[KeptEdit], status: int = 200, **extra: Any
) -> tuple[str, int]:
    page = render_template(
        "ui/edit.html",
        site=site,
        base_version=base_version,
        groups=group_fields(fields),
        prefix=FIELD_PREFIX,
        word_diff=history.word_diff,
        **extra,
    )
    return page, status


@bp.get("/sites/<int:site_id>/edit")
@login_required
def edit_page(site_id: int) -> tuple[str, int]:
    """List every text field of the latest version for editing by hand."""
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    latest = get_version(get_session(), site, site.latest_version)
    return _render_edit(site, latest.number, edit_page_fields(_template(site), latest.content))


@bp.post("/sites/<int:site_id>/edit")
@login_required
def edit(site_id: int) -> Any:
    """Save the changed fields as a new version; on a newer version, keep the text (409)."""
    user = require_user()
    try:
        base = int(request.form.get("base_version", ""))
    except ValueError as exc:
        raise BadInput("The form lost its version number; reload the edit page.") from exc
    submitted = {
        key[len(FIELD_PREFIX) :]: value
        for key, value in request.form.items()
        if key.startswith(FIELD_PREFIX)
    }
    db = get_session()
    site = get_site(db, current_principal(), site_id, Action.EDIT)
    template = _template(site)
    latest = get_version(db, site, site.latest_version)
    if base != latest.number:
        return _edit_conflict(site, template, base, latest, submitted)
    ops = form_operations(template, latest.content, submitted)
    if not ops:
        flash("Nothing changed: no field differs from the latest version.", "info")
        return redirect(url_for("ui.edit_page", site_id=site.id), 303)
    try:
        version = edit_content(db, get_deps(), site, user, base, ops)
    except InvalidContent as exc:
        db.rollback()
        fields, _ = keep_edits(template, latest.content, latest.content, submitted)
        return _render_edit(site, latest.number, fields, exc.status, error=exc)
    except Conflict:  # someone saved a version between our check and the lock
        db.rollback()
        db.refresh(site)
        newest = get_version(db, site, site.latest_version)
        return _edit_conflict(site, template, base, newest, submitted)
    flash(f"Saved as version {version.number}, a draft: publish it when it is ready.", "success")
    return redirect(_diff_url(site.id, version.parent_number, version.number), 303)


def _edit_conflict(
    site: Site, template: Any, base: int, latest: Any, submitted: dict[str, str]
) -> tuple[str, int]:
    """Show what changed since ``base`` and keep the person's text (HTTP 409)."""
    old = get_version(get_session(), site, base)
    fields, lost = keep_edits(template, old.content, latest.content, submitted)
    changes = history.content_changes(template, old.content, latest.content)
    conflict = {"base": base, "sections": history.sections(template, changes), "lost": lost}
    return _render_edit(site, latest.number, fields, 409, conflict=conflict)


def _diff_url(site_id: int, start: int | None, end: int) -> str:
    versions: dict[str, Any] = {"from": start, "to": end}
    return url_for("ui.diff", site_id=site_id, **versions)


@bp.get("/sites/<int:site_id>/history")
@login_required
def history_page(site_id: int) -> str:
    """List the versions with their provenance: view, compare, restore, publish."""
    who = current_principal()
    site = get_site(get_session(), who, site_id, Action.VIEW_DRAFTS)
    return render_template(
        "ui/history.html",
        site=site,
        versions=history.versions_of(get_session(), site),
        can_edit=can(who, Action.EDIT, site),
        can_publish=can(who, Action.PUBLISH, site),
    )


@bp.get("/sites/<int:site_id>/diff")
@login_required
def diff(site_id: int) -> str:
    """Show a readable diff between two versions, section by section."""
    who = current_principal()
    db = get_session()
    site = get_site(db, who, site_id, Action.VIEW_DRAFTS)
    start, end = history.version_numbers(site, request.args.get("from"), request.args.get("to"))
    old, new = get_version(db, site, start), get_version(db, site, end)
    template = _template(site)
    changes = history.content_changes(template, old.content, new.content)
    return render_template(
        "ui/diff.html",
        site=site,
        old=old,
        new=new,
        sections=history.sections(template, changes),
        count=len(changes),
        versions=history.versions_of(db, site),
        can_publish=can(who, Action.PUBLISH, site),
        word_diff=history.word_diff,
    )


@bp.post("/sites/<int:site_id>/restore")
@login_required
def restore(site_id: int) -> Response:
    """Restore an earlier version as a new version."""
    try:
        number = int(request.form.get("version", ""))
    except ValueError as exc:
        raise BadInput("Choose a version to restore.") from exc
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    version = history.restore_version(get_session(), get_deps(), site, number, require_user())
    flash(f"Version {number} is restored as version {version.number}, a draft.", "success")
    return redirect(_diff_url(site.id, version.parent_number, version.number), 303)


@bp.get("/sites/<int:site_id>/annotate")
@login_required
def annotate(site_id: int) -> str:
    """Show a version in a frame beside its comments; click an element to comment on it."""
    who = current_principal()
    site = visible_site(get_session(), who, site_id)
    return _render_annotate(site, request.args.get("version", type=int))[0]


def _render_annotate(
    site: Site,
    requested: int | None,
    status: int = 200,
    instruction: str = "",
    selected: Sequence[str] = (),
) -> tuple[str, int]:
    who = current_principal()
    db = get_session()
    drafts = can(who, Action.VIEW_DRAFTS, site)
    number = annotation_service.version_for(site, who, requested)
    version = get_version(db, site, number)
    html = get_deps().pages.read(site.id, number).decode("utf-8")
    if drafts:
        frame_url = url_for("serve.site_version", slug=site.slug, number=number)
    else:
        frame_url = url_for("serve.site_page", slug=site.slug)
    comments = annotation_service.list_annotations(db, site, who)
    return render_template(
        "ui/annotate.html",
        site=site,
        number=number,
        frame_url=frame_url,
        elements=annotation_service.page_elements(html, version.content),
        comments=comments,
        versions=history.versions_of(db, site) if drafts else [],
        can_comment=can(who, Action.COMMENT, site),
        can_edit=can(who, Action.EDIT, site),
        offline=get_deps().provider.name == "offline",
        instruction=instruction,
        selected={str(x) for x in selected},
    ), status


@bp.get("/sites/<int:site_id>/annotations.json")
@login_required
def annotations_json(site_id: int) -> Response:
    """List the comments as JSON for the annotate page."""
    who = current_principal()
    site = visible_site(get_session(), who, site_id)
    rows = annotation_service.list_annotations(get_session(), site, who)
    return jsonify(annotations=[annotation_service.annotation_json(row) for row in rows])


@bp.post("/sites/<int:site_id>/annotations.json")
@login_required
def add_annotation_json(site_id: int) -> tuple[Response, int]:
    """Create a comment from the annotate page's script (CSRF token in X-CSRFToken)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("Send a JSON object with path and body.")
    who = current_principal()
    site = get_site(get_session(), who, site_id, Action.COMMENT)
    version = body.get("version")
    row = annotation_service.create_annotation(
        get_session(),
        site,
        require_user(),
        who,
        body.get("path"),
        body.get("body"),
        version if isinstance(version, int) and not isinstance(version, bool) else None,
    )
    return jsonify(annotation_service.annotation_json(row)), 201


@bp.post("/sites/<int:site_id>/annotate")
@login_required
def add_annotation(site_id: int) -> Response:
    """Create a comment from the annotate page's form (works without JavaScript)."""
    who = current_principal()
    site = get_site(get_session(), who, site_id, Action.COMMENT)
    version = request.form.get("version", type=int)
    try:
        annotation_service.create_annotation(
            get_session(),
            site,
            require_user(),
            who,
            request.form.get("path"),
            request.form.get("body"),
            version,
        )
        flash("Your comment is saved.", "success")
    except BadInput as exc:
        get_session().rollback()
        flash(exc.message, "error")
    return redirect(url_for("ui.annotate", site_id=site.id, version=version), 303)


@bp.post("/sites/<int:site_id>/annotations/<int:annotation_id>/resolve")
@login_required
def resolve_annotation(site_id: int, annotation_id: int) -> Response:
    """Resolve one comment."""
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    annotation_service.resolve_annotation(get_session(), site, annotation_id, require_user())
    flash("The comment is resolved.", "success")
    version = request.form.get("version", type=int)
    return redirect(url_for("ui.annotate", site_id=site.id, version=version), 303)


@bp.post("/sites/<int:site_id>/annotations/apply")
@login_required
def apply_annotations(site_id: int) -> Response | tuple[str, int]:
    """Apply the chosen comments in one revision and show its progress."""
    user = require_user()
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    ids = request.form.getlist("annotation_ids")
    try:
        job = request_revision(
            get_session(), get_deps(), site, user, request.form.get("instruction", ""), (), ids
        )
    except SitewrightError as exc:
        # Keep what the person typed and ticked; say what went wrong.
        get_session().rollback()
        flash(exc.message, "error")
        version = request.form.get("version", type=int)
        instruction = request.form.get("instruction", "")
        return _render_annotate(site, version, exc.status, instruction, ids)
    get_deps().runner.submit(job.id)
    return redirect(url_for("ui.job_progress", site_id=site.id, job_id=job.id), 303)
