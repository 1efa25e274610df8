"""Admin: people — deactivate and reactivate members, and the sites of those who left."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.auth import require_user
from app.db import get_session
from app.errors import BadInput, SitewrightError
from app.services import admin_sites
from app.web.admin import bp


@bp.get("/people")
def people() -> str:
    """Members who left and the sites they still own; find a member to deactivate."""
    session = get_session()
    search = request.args.get("q", "").strip()[:200]
    return render_template(
        "admin/people.html",
        departures=admin_sites.departures(session),
        search=search,
        found=admin_sites.find_users(session, search) if search else [],
    )


@bp.post("/people/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Response:
    """Deactivate a member: signed out at once; their sites are listed for transfer."""
    session = get_session()
    user = admin_sites.get_user(session, user_id)
    try:
        admin_sites.deactivate(session, user, require_user(), request.form.get("reason", ""))
    except SitewrightError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{user.email} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("admin.people"))


@bp.post("/people/<int:user_id>/reactivate")
def reactivate(user_id: int) -> Response:
    """Let a member sign in again."""
    session = get_session()
    user = admin_sites.get_user(session, user_id)
    try:
        admin_sites.reactivate(session, user, require_user())
    except SitewrightError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{user.email} can sign in again.", "success")
    return redirect(url_for("admin.people"))


@bp.post("/people/<int:user_id>/sites")
def departed_sites(user_id: int) -> Response:
    """Transfer or disable all or some of a departed member's sites."""
    session, actor = get_session(), require_user()
    admin_sites.get_user(session, user_id)
    ids = [int(raw) for raw in request.form.getlist("site_ids") if raw.isdigit()]
    action = request.form.get("action", "")
    try:
        if action == "transfer":
            result = admin_sites.bulk_transfer(
                session, ids, actor, request.form.get("new_owner", "")
            )
            verb = "Transferred"
        elif action == "disable":
            result = admin_sites.bulk_disable(session, ids, actor, request.form.get("reason", ""))
            verb = "Disabled"
        else:
            raise BadInput("Choose to transfer or to disable the selected sites.")
    except SitewrightError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.people"))
    if result.done:
        flash(f"{verb} {len(result.done)} site{'s' if len(result.done) != 1 else ''}.", "success")
    for site_id, why in result.skipped:
        flash(f"Site #{site_id} was left as it was: {why}", "error")
    return redirect(url_for("admin.people"))
