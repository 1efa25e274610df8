"""Admin: the workspace settings page."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.auth import require_user
from app.db import get_session
from app.errors import BadInput
from app.models import User
from app.services import workspace
from app.services.categories import CATEGORIES
from app.web.admin import bp


def _form_changes() -> dict[str, Any]:
    """Read the form: every field is on the page, so an unticked box means false."""
    changes: dict[str, Any] = {}
    for field in workspace.FIELDS:
        if isinstance(field.default, bool):
            changes[field.name] = request.form.get(field.name) == "on"
        elif field.name == "review_categories":
            changes[field.name] = request.form.getlist(field.name)
        else:
            changes[field.name] = request.form.get(field.name, "")
    return changes


def _page(values: dict[str, Any], problems: list[str], status: int = 200) -> tuple[str, int]:
    session = get_session()
    change = workspace.last_change(session)
    changed_by = session.get(User, change[1]) if change and change[1] else None
    groups: dict[str, list[workspace.Field]] = {}
    for field in workspace.FIELDS:
        groups.setdefault(field.group, []).append(field)
    html = render_template(
        "admin/settings.html",
        groups=groups,
        values=values,
        problems=problems,
        categories=CATEGORIES,
        changed_at=change[0] if change else None,
        changed_by=changed_by,
    )
    return html, status


@bp.get("/settings")
def settings() -> tuple[str, int]:
    """Show the workspace settings with what each one does."""
    return _page(workspace.load(get_session(), current_app.config), [])


@bp.post("/settings")
def save_settings() -> Response | tuple[str, int]:
    """Save the settings; a bad value re-shows the form with what was typed and why."""
    changes = _form_changes()
    try:
        workspace.update(get_session(), current_app.config, require_user(), changes)
    except BadInput as exc:
        entered = {**workspace.load(get_session(), current_app.config), **changes}
        return _page(entered, exc.details or [exc.message], status=400)
    flash("Settings saved. They apply from the next request.", "success")
    return redirect(url_for("admin.settings"))
