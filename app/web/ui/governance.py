"""The governance pages: share, review and official, details and expiry, life cycle, export."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.access import Action, allowed_actions, state_of
from app.auth import current_principal, login_required, require_user, workspace_settings
from app.db import get_session
from app.errors import BadInput, Conflict, Forbidden, NotFound, SitewrightError
from app.models import Site, User, utcnow
from app.services import export, lifecycle, review, sharing
from app.services import sites as site_service
from app.services.categories import CATEGORIES, recorded_suggestions
from app.services.wiring import get_deps
from app.web.ui import bp

AUDIENCE_LABELS = {
    "owner": "Only me (and admins)",
    "people": "Named people",
    "groups": "Named people and groups",
    "workspace": "Everyone in the workspace",
}
REVIEW_LABELS = {
    "unconfirmed": "Categories to confirm",
    "not_required": "No review needed",
    "pending": "Waiting for review",
    "approved": "Approved",
    "rejected": "Rejected",
}
_SPLIT = re.compile(r"[\s,;]+")


def _site(site_id: int, action: Action) -> Site:
    return site_service.get_site(get_session(), current_principal(), site_id, action)


def _user_name(user_id: int | None) -> str:
    user = get_session().get(User, user_id) if user_id else None
    return user.name if user else ""


def governance_context(site: Site) -> dict[str, Any]:
    """Return what the governance panel of the site page shows."""
    settings = workspace_settings()
    today = dt.date.today()
    return {
        "allowed": {a.value for a in allowed_actions(current_principal(), site)},
        "state": state_of(site).value,
        "audience_label": AUDIENCE_LABELS.get(site.audience, site.audience),
        "grants": sharing.current_grants(site),
        "review_label": REVIEW_LABELS.get(site.review_state, site.review_state),
        "reviewer_name": _user_name(site.reviewed_by_id),
        "needs_review": review.review_categories(site.categories, settings),
        "suggestions": recorded_suggestions(get_session(), site)
        if site.review_state == "unconfirmed"
        else [],
        "all_categories": CATEGORIES,
        "official": review.official_status(site),
        "official_by": _user_name(site.official_by_id),
        "expiry": lifecycle.expiry_notice(site, settings),
        "min_expiry": (today + dt.timedelta(days=1)).isoformat(),
        "max_expiry": lifecycle.latest_expiry(settings).isoformat(),
        "restorable_until": lifecycle.restorable_until(site, settings),
    }


def _back(site: Site) -> Response:
    return redirect(url_for("ui.site_detail", site_id=site.id), 303)


def _act(site: Site, work: Callable[[], str]) -> Response:
    """Run a form's action; say what happened, or why not, on the site page."""
    try:
        flash(work(), "success")
    except SitewrightError as exc:
        get_session().rollback()
        flash(exc.message, "error")
    return _back(site)


@bp.post("/sites/<int:site_id>/details")
@login_required
def update_details(site_id: int) -> Response:
    """Change details, extend the expiry, or confirm the data categories."""
    site = _site(site_id, Action.MANAGE)
    form = request.form

    def work() -> str:
        change = lifecycle.DetailsChange(
            name=form.get("name"),
            department=form.get("department"),
            expires_on=site_service.parse_date(form.get("expires_on")),
            data_source_note=form.get("data_source_note"),
            categories=form.getlist("categories") if form.get("confirm_categories") else None,
        )
        lifecycle.update_details(get_session(), get_deps(), site, require_user(), change)
        if change.categories is not None and site.review_state == "pending":
            return "Categories confirmed. The site is now in the reviewers' queue."
        return "Saved."

    return _act(site, work)


@bp.post("/sites/<int:site_id>/unpublish")
@login_required
def unpublish_site(site_id: int) -> Response:
    """Take the site offline for the people it is shared with."""
    site = _site(site_id, Action.MANAGE)

    def work() -> str:
        lifecycle.unpublish(get_session(), site, require_user())
        return f"{site.name} is unpublished: the people it is shared with see that it is offline."

    return _act(site, work)


@bp.post("/sites/<int:site_id>/republish")
@login_required
def republish_site(site_id: int) -> Response:
    """Put the site back online."""
    site = _site(site_id, Action.MANAGE)

    def work() -> str:
        lifecycle.republish(get_session(), site, require_user())
        return f"{site.name} is back online."

    return _act(site, work)


@bp.post("/sites/<int:site_id>/delete")
@login_required
def delete_site(site_id: int) -> Response:
    """Delete the site softly, restorable during the retention period."""
    site = _site(site_id, Action.MANAGE)
    lifecycle.delete_site(get_session(), site, require_user(), workspace_settings())
    until = lifecycle.restorable_until(site, workspace_settings())
    flash(
        f"{site.name} is deleted. You can restore it from My sites"
        + (f" until {until.strftime('%Y-%m-%d')}." if until else "."),
        "success",
    )
    return redirect(url_for("ui.index"), 303)


@bp.post("/sites/<int:site_id>/undelete")
@login_required
def undelete_site(site_id: int) -> Response:
    """Restore a deleted site."""
    site = _site(site_id, Action.RESTORE)
    lifecycle.undelete_site(get_session(), site, require_user(), workspace_settings())
    flash(f"{site.name} is restored.", "success")
    return _back(site)


@bp.post("/sites/<int:site_id>/review")
@login_required
def review_site(site_id: int) -> Response:
    """Approve or reject the site with a note."""
    site = _site(site_id, Action.REVIEW)

    def work() -> str:
        decision = request.form.get("decision", "")
        review.decide(get_session(), site, require_user(), decision, request.form.get("note", ""))
        return f"{site.name} is {review.DECISIONS[decision]}."

    return _act(site, work)


@bp.post("/sites/<int:site_id>/official")
@login_required
def mark_official(site_id: int) -> Response:
    """Mark a version official until a date."""
    site = _site(site_id, Action.REVIEW)

    def work() -> str:
        try:
            number = int(request.form.get("version", ""))
        except ValueError as exc:
            raise BadInput("Choose the version to mark official.") from exc
        until = site_service.parse_date(request.form.get("until"), "until")
        if until is None:
            raise BadInput("Choose the date until which the version is official.")
        review.mark_official(
            get_session(), site, require_user(), number, until, workspace_settings()
        )
        return f"Version {number} is official until {until.isoformat()}."

    return _act(site, work)


@bp.get("/sites/<int:site_id>/export")
@login_required
def export_site(site_id: int) -> Response:
    """Download the site as a zip that opens offline."""
    site = _site(site_id, Action.EXPORT)
    name, data = export.build_archive(get_session(), get_deps(), site, require_user())
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/reviews")
@login_required
def review_queue() -> str:
    """List the sites waiting for the signed-in reviewer."""
    who = current_principal()
    if not who.is_reviewer:
        raise NotFound("There is nothing here, or it is not shared with you.")
    return render_template("ui/review_queue.html", sites=review.review_queue(get_session(), who))


def _addresses(raw: str) -> list[str]:
    return [item for item in _SPLIT.split(raw) if item]


def _groups(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _share_form(site: Site) -> dict[str, str]:
    """The share form's fields: from the request, or from the site's current sharing."""
    if request.method == "POST":
        keys = ("choice", "viewers", "editors", "viewer_groups", "editor_groups")
        return {key: request.form.get(key, "") for key in keys}
    grants = sharing.current_grants(site)

    def listed(role: str, kind: str) -> str:
        values = [getattr(g, kind) for g in grants if g.role == role and getattr(g, kind)]
        return ("\n" if kind == "email" else ", ").join(values)

    return {
        "choice": {"people": "named", "groups": "named"}.get(site.audience, site.audience),
        "viewers": listed("viewer", "email"),
        "editors": listed("editor", "email"),
        "viewer_groups": listed("viewer", "group"),
        "editor_groups": listed("editor", "group"),
    }


def _proposal(form: dict[str, str]) -> tuple[str, list[sharing.GrantSpec]]:
    """Turn the share form into an audience and grants."""
    choice = form["choice"]
    if choice not in ("owner", "named", "workspace"):
        raise BadInput("Choose who can open the site.")
    if choice == "owner":
        return "owner", []
    grants = [sharing.GrantSpec(email=e, role="viewer") for e in _addresses(form["viewers"])]
    grants += [sharing.GrantSpec(email=e, role="editor") for e in _addresses(form["editors"])]
    grants += [sharing.GrantSpec(group=g, role="viewer") for g in _groups(form["viewer_groups"])]
    grants += [sharing.GrantSpec(group=g, role="editor") for g in _groups(form["editor_groups"])]
    if choice == "workspace":
        return "workspace", grants
    return ("groups" if any(g.group for g in grants) else "people"), grants


@bp.route("/sites/<int:site_id>/share", methods=["GET", "POST"])
@login_required
def share_site(site_id: int) -> Response | tuple[str, int]:
    """Share the site: choose who, review who gains or loses access, then confirm."""
    site = _site(site_id, Action.SHARE)
    form = _share_form(site)
    step = request.form.get("step", "edit") if request.method == "POST" else "edit"
    change, error = None, None
    if step in ("review", "confirm"):
        try:
            audience, grants = _proposal(form)
            if step == "confirm":
                change = sharing.set_sharing(
                    get_session(), site, require_user(), audience, grants, workspace_settings()
                )
                flash(_saved_message(change), "success")
                return _back(site)
            change = sharing.preview(get_session(), site, audience, grants, workspace_settings())
            if change.widens:
                review.check_can_widen(site)
        except (BadInput, Conflict, Forbidden) as exc:
            get_session().rollback()
            change, error = None, exc
    html = render_template(
        "ui/share.html",
        site=site,
        form=form,
        step="review" if change is not None else "edit",
        change=change,
        error=error,
        blocked=review.blocks_sharing(site),
    )
    return html, error.status if error else 200


def _saved_message(change: sharing.SharingPreview) -> str:
    gained = len(change.gained) + len(change.invited)
    parts = [f"Sharing saved: {gained} gained access"]
    if change.new_groups:
        parts.append(f"groups added: {', '.join(change.new_groups)}")
    parts.append(f"{len(change.lost)} lost access")
    return "; ".join(parts) + "."


def index_context(user: User) -> dict[str, Any]:
    """Return the governance parts of "My sites": expiry warnings, deleted sites, queue size."""
    settings = workspace_settings()
    db = get_session()
    who = current_principal()
    mine = db.scalars(
        select(Site).where(Site.owner_id == user.id).order_by(Site.updated_at.desc())
    ).all()
    expiring = [
        (site, notice)
        for site in mine
        if site.deleted_at is None and site.disabled_at is None
        for notice in [lifecycle.expiry_notice(site, settings)]
        if notice is not None
    ]
    now = utcnow()
    deleted = [
        (site, until, until is not None and until > now)
        for site in mine
        if site.deleted_at is not None
        for until in [lifecycle.restorable_until(site, settings)]
    ]
    return {
        "expiring": expiring,
        "deleted": deleted,
        "queue_size": len(review.review_queue(db, who)) if who.is_reviewer else None,
        "audience_labels": AUDIENCE_LABELS,
    }
