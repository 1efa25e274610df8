"""Serving sites at /s/<slug>/: an access check, then the pre-rendered page."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import plotly
from flask import Blueprint, current_app, redirect, render_template, send_file, url_for
from markupsafe import escape
from werkzeug.wrappers import Response

from app.access import Action, can, is_expired
from app.auth import current_principal
from app.db import get_session
from app.errors import NotFound, NotSignedIn
from app.models import Site
from app.render import BANNER_SLOT
from app.services.sites import get_site_by_slug
from app.services.wiring import get_deps
from app.web import SITE_CSP

bp = Blueprint("serve", __name__)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@cache
def _plotly_version() -> str:
    return str(plotly.__version__)


def _banners(site: Site, number: int) -> str:
    """Banners for this request: dev sign-in, draft, expiry; escaped here, never from content."""
    parts = []
    if current_app.config["DEV_LOGIN"]:
        parts.append(
            '<p class="banner banner-dev" role="note">Development sign-in is on: '
            "anyone on this machine can sign in as anyone. Do not use with real data."
            "</p>"
        )
    if number != site.published_version:
        parts.append(
            f'<p class="banner banner-draft" role="note">Draft: version {number} '
            f"is not the published version of {escape(site.name)}. Only its owner "
            "and admins can see it.</p>"
        )
    days_left = (site.expires_on - dt.date.today()).days
    if days_left <= 14 and can(current_principal(), Action.VIEW_DRAFTS, site):
        parts.append(
            f'<p class="banner banner-expiry" role="note">This site expires on '
            f"{site.expires_on.isoformat()} ({max(days_left, 0)} days left).</p>"
        )
    return "".join(parts)


def _send_page(site: Site, number: int) -> Response:
    html = get_deps().pages.read(site.id, number).decode("utf-8")
    body = html.replace(BANNER_SLOT, _banners(site, number), 1)
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = SITE_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _find(slug: str) -> Site:
    site = get_site_by_slug(get_session(), slug)
    if current_principal().id is None:
        raise NotSignedIn("Sign in to open this site.")
    if site is None:
        raise NotFound("No such site, or it is not shared with you.")
    return site


@bp.get("/s/<slug>")
def site_redirect(slug: str) -> Response:
    """Add the trailing slash so relative links work."""
    return redirect(url_for("serve.site_page", slug=slug), 308)


@bp.get("/s/<slug>/")
def site_page(slug: str) -> Response:
    """Serve the published version to members allowed to see it.

    :raise 401: signed out (the browser is sent to sign-in).
    :raise 404: unknown, unpublished for this viewer, or not shared with them.
    """
    site = _find(slug)
    who = current_principal()
    if site.published_version is None or site.status != "published":
        if can(who, Action.VIEW_DRAFTS, site) and site.latest_version:
            return redirect(url_for("ui.site_detail", site_id=site.id))
        raise NotFound("No such site, or it is not shared with you.")
    if not can(who, Action.VIEW, site):
        if site.audience == "workspace" and is_expired(site) and who.signed_in:
            return _gone(site)
        raise NotFound("No such site, or it is not shared with you.")
    return _send_page(site, site.published_version)


def _gone(site: Site) -> Response:
    html = render_template("gone.html", site=site)
    return Response(html, status=410, mimetype="text/html")


@bp.get("/s/<slug>/v/<int:number>/")
def site_version(slug: str, number: int) -> Response:
    """Serve one version (draft or earlier) to the owner and admins.

    :raise 404: not allowed, or no such version.
    """
    site = _find(slug)
    if not can(current_principal(), Action.VIEW_DRAFTS, site):
        raise NotFound("No such site, or it is not shared with you.")
    if not 1 <= number <= site.latest_version or not get_deps().pages.exists(site.id, number):
        raise NotFound(f"Version {number} of this site does not exist.")
    return _send_page(site, number)


@bp.get("/static/vendor/plotly.min.js")
def plotly_js() -> Response:
    """Serve plotly.js from the installed plotly package: no CDN at run time."""
    return send_file(
        PLOTLY_JS,
        mimetype="text/javascript",
        max_age=86400,
        conditional=True,
        etag=_plotly_version(),
    )
