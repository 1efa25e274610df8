"""Serving sites at /s/<slug>/: an access check, then the pre-rendered page and its banners."""

from __future__ import annotations

import functools

from flask import Blueprint, g, redirect, render_template, request, send_file, url_for
from markupsafe import Markup, escape
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload, lazyload
from werkzeug.wrappers import Response

from app.access import Action, Principal, State, can, sees_gone_page, state_of
from app.auth import current_principal, workspace_settings
from app.db import get_session, one_read_transaction
from app.errors import NotFound, NotSignedIn
from app.models import Site, User
from app.render import BANNER_SLOT, STATUS_SLOT
from app.services.lifecycle import expiry_notice, restorable_until
from app.services.review import official_status
from app.services.wiring import get_deps
from app.site_assets import IMMUTABLE, PLOTLY_JS, is_current
from app.web import SITE_CSP

bp = Blueprint("serve", __name__)

NOT_FOUND = "No such site, or it is not shared with you."
# What the header badge says for each state of the version shown: (style, words).
STATUS_WORDS = {
    State.PUBLISHED: ("published", "Published"),
    State.PENDING_REVIEW: ("draft", "Waiting for review"),
    State.UNPUBLISHED: ("draft", "Unpublished"),
    State.EXPIRED: ("stale", "Expired"),
    State.DISABLED: ("stopped", "Disabled"),
    State.DRAFT: ("draft", "Draft"),
}


def _banner(kind: str, text: str | Markup) -> str:
    return f'<p class="banner banner-{kind}" role="note">{escape(text)}</p>'


def _official_banner(site: Site, number: int) -> str:
    official = official_status(site)
    if official is None:
        return ""
    reviewer = get_session().get(User, site.official_by_id) if site.official_by_id else None
    by = f" by {reviewer.name}" if reviewer else ""
    window = f"{official.since.isoformat()} until {official.until.isoformat()}"
    if official.version != number:
        return _banner(
            "stale",
            f"Not the official version: version {official.version} was confirmed{by} "
            f"(official since {window}).",
        )
    if official.current:
        return _banner("official", f"Official since {window}, confirmed{by}.")
    return _banner(
        "stale",
        f"No longer confirmed: this version was official from {window}; "
        "ask a reviewer to confirm it again.",
    )


def _status_badge(site: Site, number: int) -> str:
    """The header's status badge for this version, as of this request."""
    official = official_status(site)
    if official is not None and official.version == number:
        style, words = ("official", "Official") if official.current else ("stale", "Not confirmed")
    elif site.published_version is None or number > site.published_version:
        style, words = "draft", "Draft"
    elif number < site.published_version:
        style, words = "stale", "Earlier version"
    else:
        style, words = STATUS_WORDS.get(state_of(site), ("draft", "Draft"))
    return (
        f'<p class="site-status"><span class="visually-hidden">Status: </span>'
        f'<span class="badge badge-{style}">{escape(words)}</span></p>'
    )


def _owner_banners(site: Site, who: Principal) -> list[str]:
    """What the people who work on or review the site are told; viewers never see these."""
    parts = []
    if site.review_state == "pending":
        parts.append(
            _banner(
                "draft",
                "Waiting for review: this site holds data that a reviewer must approve "
                "before anyone but its owner can open it.",
            )
        )
    elif site.review_state == "rejected":
        note = f" The reviewer wrote: “{site.review_note}”" if site.review_note else ""
        parts.append(_banner("dev", f"A reviewer rejected sharing this site.{note}"))
    state = state_of(site)
    if state is State.UNPUBLISHED:
        parts.append(_banner("draft", "Unpublished: the people it is shared with cannot open it."))
    if state is State.DISABLED:
        reason = f": {site.disabled_reason}" if site.disabled_reason else ""
        parts.append(_banner("dev", f"Disabled by an admin{reason}."))
    notice = expiry_notice(site, workspace_settings())
    if notice is not None and can(who, Action.MANAGE, site):
        if notice.expired:
            text = (
                f"Expired on {notice.expires_on.isoformat()}: the people it is shared with "
                f"get a “gone” page. Extend it (up to {notice.latest.isoformat()}) "
                "on the site's page."
            )
        else:
            text = (
                f"This site expires on {notice.expires_on.isoformat()} "
                f"({notice.days_left} days left). You can extend it up to "
                f"{notice.latest.isoformat()} on the site's page."
            )
        parts.append(_banner("draft", text))
    return parts


def _banners(site: Site, number: int) -> str:
    """Banners for this request, escaped here; never from content. Pages are pre-rendered."""
    who = current_principal()
    parts = []
    if workspace_settings()["DEV_LOGIN"]:
        parts.append(
            _banner(
                "dev",
                "Development sign-in is on: anyone on this machine can sign in as anyone. "
                "Do not use with real data.",
            )
        )
    if number != site.published_version:
        parts.append(
            _banner(
                "draft",
                f"Draft: version {number} is not the published version of {site.name}. "
                "Only the people who edit or review it can see it.",
            )
        )
    parts.append(_official_banner(site, number))
    if can(who, Action.VIEW_DRAFTS, site):
        parts.extend(_owner_banners(site, who))
    parts.append(_tools(site, number, who))
    return "".join(parts)


def _tools(site: Site, number: int, who: Principal) -> str:
    """Links from the page to commenting and, for its editors, to the site's own page."""
    links = []
    if can(who, Action.COMMENT, site):
        href = url_for("ui.annotate", site_id=site.id, version=number)
        links.append(f'<a href="{escape(href)}" target="_top">Comment on this page</a>')
    if can(who, Action.VIEW_DRAFTS, site):
        href = url_for("ui.site_detail", site_id=site.id)
        links.append(f'<a href="{escape(href)}" target="_top">Versions, sharing and details</a>')
    if not links:
        return ""
    return (
        '<nav class="banner banner-tools" aria-label="Site tools">' + " · ".join(links) + "</nav>"
    )


def _send_page(site: Site, number: int) -> Response:
    deps = get_deps()
    html = deps.pages.read(site.id, number).decode("utf-8")
    deps.views.record(site.id)
    body = html.replace(BANNER_SLOT, _banners(site, number), 1)
    body = body.replace(STATUS_SLOT, _status_badge(site, number), 1)
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = SITE_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


@functools.cache
def _site_by_slug() -> Select[Site]:
    # One query, built once: the site and its grants (what the access check reads). The owner,
    # whom a page never shows, is loaded only if a banner or the "gone" page asks for them.
    return (
        select(Site)
        .where(Site.slug == bindparam("slug"))
        .options(joinedload(Site.grants), lazyload(Site.owner))
    )


def _find(slug: str) -> Site:
    site = get_session().scalars(_site_by_slug(), {"slug": slug}).unique().first()
    if current_principal().id is None:
        raise NotSignedIn("Sign in to open this site.")
    if site is None:
        raise NotFound(NOT_FOUND)
    return site


def _gone(site: Site, who: Principal) -> Response:
    """Tell people the site is shared with that it is gone, and who owns it (HTTP 410)."""
    state = state_of(site)
    html = render_template(
        "gone.html",
        site=site,
        state=state.value,
        is_owner=who.id == site.owner_id,
        can_manage=can(who, Action.VIEW_DRAFTS, site),
        restorable_until=restorable_until(site, workspace_settings()),
    )
    return Response(html, status=410, mimetype="text/html")


@bp.after_app_request
def _cache_site_assets(response: Response) -> Response:
    """Let browsers keep a site asset for good when the URL names its current digest."""
    if response.status_code in (200, 304) and is_current(request.path, request.args.get("v")):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


@bp.after_app_request
def _save_views(response: Response) -> Response:
    """Add counted views to the database every few seconds, after a request's own work.

    Not from a request whose own session may hold SQLite's write lock: the flush would wait
    for it (a later request flushes instead).
    """
    deps = get_deps()
    if deps.views.due() and not _holds_write_transaction():
        deps.views.flush(deps.db)
    return response


def _holds_write_transaction() -> bool:
    session = g.get("db_session")
    if session is None or not session.in_transaction():
        return False
    return bool(session.get_bind().get_execution_options().get("sitewright_write"))


@bp.get("/s/<slug>")
def site_redirect(slug: str) -> Response:
    """Add the trailing slash so relative links work."""
    return redirect(url_for("serve.site_page", slug=slug), 308)


@bp.get("/s/<slug>/")
@one_read_transaction
def site_page(slug: str) -> Response:
    """Serve the published version to members allowed to see it.

    :raise 401: signed out (the browser is sent to sign-in).
    :raise 404: unknown, or not shared with this member.
    :raise 410: unpublished, expired or disabled, for the people it is shared with; deleted,
        for its owner and admins.
    """
    site = _find(slug)
    who = current_principal()
    if can(who, Action.VIEW, site) and site.published_version is not None:
        return _send_page(site, site.published_version)
    state = state_of(site)
    if sees_gone_page(who, site) or (state is State.DELETED and can(who, Action.VIEW_DRAFTS, site)):
        return _gone(site, who)
    if state is not State.DELETED and can(who, Action.VIEW_DRAFTS, site) and site.latest_version:
        return redirect(url_for("ui.site_detail", site_id=site.id))
    raise NotFound(NOT_FOUND)


@bp.get("/s/<slug>/v/<int:number>/")
@one_read_transaction
def site_version(slug: str, number: int) -> Response:
    """Serve one version (draft or earlier) to the people who edit or review the site.

    :raise 404: not allowed, or no such version.
    """
    site = _find(slug)
    if not can(current_principal(), Action.VIEW_DRAFTS, site):
        raise NotFound(NOT_FOUND)
    if not 1 <= number <= site.latest_version or not get_deps().pages.exists(site.id, number):
        raise NotFound(f"Version {number} of this site does not exist.")
    return _send_page(site, number)


@bp.get("/static/vendor/plotly.min.js")
def plotly_js() -> Response:
    """Serve the vendored plotly.js bundle (app/static/vendor): no CDN at run time.

    Kept a day without ``?v=``; with the current digest, for good (see ``_cache_site_assets``).
    """
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400, conditional=True)
