"""Admin: the site inventory, one site's admin page, disable/enable/transfer, bulk actions."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.access import State
from app.auth import require_user
from app.db import download, get_session
from app.errors import BadInput, SitewrightError
from app.models import Site, User
from app.services import admin_sites, inventory
from app.services.categories import CATEGORIES
from app.services.wiring import get_deps
from app.web.admin import bp

SORT_LABELS = {
    "name": "Site",
    "owner": "Owner",
    "department": "Department",
    "template": "Template",
    "expires_on": "Expires",
    "created_at": "Created",
    "last_viewed_at": "Last viewed",
    "views": "Views",
    "versions": "Versions",
    "tokens_spent": "Tokens",
}


@bp.get("/")
def home() -> WerkzeugResponse:
    """The admin area opens on the inventory."""
    return redirect(url_for("admin.inventory"))


@bp.get("/sites", endpoint="inventory")
def inventory_page() -> Response | tuple[str, int]:
    """Every site with filters, sorting and pages; a CSV of every matching site."""
    deps = get_deps()
    deps.views.flush(deps.db)
    try:
        query = inventory.InventoryQuery.from_args(request.args)
    except BadInput as exc:
        flash(exc.message, "error")
        query = inventory.InventoryQuery()
    if request.args.get("format") == "csv":
        return download("sites.csv", "text/csv", lambda db: inventory.export_csv(db, query))
    session = get_session()
    page = inventory.inventory_page(session, query)
    html = render_template(
        "admin/inventory.html",
        page=page,
        query=query,
        rows=[inventory.site_row(site) for site in page.sites],
        facets=inventory.facets(session),
        states=[state.value for state in State],
        categories=CATEGORIES,
        sort_labels=SORT_LABELS,
    )
    return html, 200


def _selected_ids() -> list[int]:
    ids = []
    for raw in request.form.getlist("site_ids"):
        try:
            ids.append(int(raw))
        except ValueError:
            continue
    return ids


def _back() -> WerkzeugResponse:
    """Return to the inventory page the form was sent from (same filters and page)."""
    target = request.form.get("back", "")
    if not target.startswith("/admin/sites"):
        target = url_for("admin.inventory")
    return redirect(target)


@bp.post("/sites/bulk")
def bulk() -> WerkzeugResponse:
    """Disable, enable or transfer the selected sites; say what was done and what was not."""
    session, actor = get_session(), require_user()
    action = request.form.get("action", "")
    ids = _selected_ids()
    try:
        if action == "disable":
            result = admin_sites.bulk_disable(session, ids, actor, request.form.get("reason", ""))
            verb = "Disabled"
        elif action == "enable":
            result = admin_sites.bulk_enable(session, ids, actor)
            verb = "Enabled"
        elif action == "transfer":
            email = request.form.get("new_owner", "")
            result = admin_sites.bulk_transfer(session, ids, actor, email)
            verb = f"Transferred to {email.strip().lower()}:"
        else:
            raise BadInput("Choose what to do with the selected sites.")
    except SitewrightError as exc:
        flash(exc.message, "error")
        return _back()
    if result.done:
        count = len(result.done)
        flash(f"{verb} {count} site{'s' if count != 1 else ''}.", "success")
    for site_id, why in result.skipped:
        flash(f"Site #{site_id} was left as it was: {why}", "error")
    return _back()


def _site_page(site: Site, status: int = 200, **form: Any) -> tuple[str, int]:
    session = get_session()
    disabled_by = session.get(User, site.disabled_by_id) if site.disabled_by_id else None
    previous = session.get(User, site.transferred_from_id) if site.transferred_from_id else None
    html = render_template(
        "admin/site.html",
        site=site,
        row=inventory.site_row(site),
        disabled_by=disabled_by,
        previous_owner=previous,
        form=form,
    )
    return html, status


@bp.get("/sites/<int:site_id>")
def site(site_id: int) -> tuple[str, int]:
    """One site's admin page: its facts, disable or enable, transfer."""
    return _site_page(admin_sites.get_any_site(get_session(), site_id))


@bp.post("/sites/<int:site_id>/disable")
def disable(site_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Disable the site at once, with the reason its owner will read."""
    session = get_session()
    site = admin_sites.get_any_site(session, site_id)
    reason = request.form.get("reason", "")
    try:
        admin_sites.disable(session, site, require_user(), reason)
    except SitewrightError as exc:
        flash(exc.message, "error")
        return _site_page(site, exc.status, reason=reason)
    flash(f"{site.name} is disabled. Its viewers get the “disabled” page from now on.", "success")
    return redirect(url_for("admin.site", site_id=site.id))


@bp.post("/sites/<int:site_id>/enable")
def enable(site_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Enable the site again."""
    session = get_session()
    site = admin_sites.get_any_site(session, site_id)
    try:
        admin_sites.enable(session, site, require_user(), request.form.get("reason", ""))
    except SitewrightError as exc:
        flash(exc.message, "error")
        return _site_page(site, exc.status)
    flash(f"{site.name} is enabled again.", "success")
    return redirect(url_for("admin.site", site_id=site.id))


@bp.post("/sites/<int:site_id>/transfer")
def transfer(site_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Give the site to another active member."""
    session = get_session()
    site = admin_sites.get_any_site(session, site_id)
    email = request.form.get("new_owner", "")
    try:
        new_owner = admin_sites.find_member(session, email)
        admin_sites.transfer(session, site, require_user(), new_owner)
    except SitewrightError as exc:
        flash(exc.message, "error")
        return _site_page(site, exc.status, new_owner=email)
    flash(f"{site.name} now belongs to {new_owner.name} ({new_owner.email}).", "success")
    return redirect(url_for("admin.site", site_id=site.id))
