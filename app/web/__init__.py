"""HTTP: the builders' UI, the served sites, the JSON API and health checks."""

from __future__ import annotations

import uuid

from flask import Flask, g, request
from werkzeug.wrappers import Response

UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Site pages: plotly.js needs inline styles; nothing else is loosened. No forms, no fetches.
SITE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def _request_id() -> None:
    g.request_id = request.headers.get("X-Request-Id", "")[:40] or uuid.uuid4().hex


# Endpoints that show sites without naming one in the URL; the others name a site or a job.
_SITE_LISTS = frozenset({"api.list_sites"})


def _hide_sites_while_off() -> None:
    """While the feature is off with sites hidden, members get the "switched off" answer (503)
    for every site page and site route; admins still see everything.

    :raise 503: sites are hidden and this request is about a site.
    """
    from app.auth import current_principal, workspace_settings
    from app.errors import SwitchedOff
    from app.services import workspace

    who = current_principal()
    if not who.signed_in or who.is_admin:
        return
    args = request.view_args or {}
    about_a_site = (
        "site_id" in args or "slug" in args or "job_id" in args or request.endpoint in _SITE_LISTS
    )
    if about_a_site and workspace.sites_hidden(workspace_settings()):
        raise SwitchedOff(workspace.HIDDEN_MESSAGE)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", UI_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers["X-Request-Id"] = g.get("request_id", "")
    if "text/html" in response.content_type:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Register every blueprint, the error handlers and the security headers."""
    from app.web import admin, api, errors, health, serve, ui

    app.before_request(_request_id)
    app.before_request(_hide_sites_while_off)  # after sign-in's load_user, registered earlier
    app.after_request(_security_headers)
    for blueprint in (ui.bp, admin.bp, serve.bp, api.bp, health.bp):
        app.register_blueprint(blueprint)
    errors.init_app(app)
    ui.init_app(app)
    admin.init_app(app)
