"""HTTP: the builders' UI, the served sites, the JSON API and health checks."""

from __future__ import annotations

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


# What still answers members while sites are hidden: their home page (which says so), their API
# tokens and notices, and what describes the product. Everything else in these blueprints is
# about sites.
_HIDEABLE = ("ui", "serve", "api")
_OPEN_WHILE_HIDDEN = frozenset(
    {
        "ui.index",
        "ui.tokens",
        "ui.dismiss_notices",
        "serve.plotly_js",
        "api.openapi",
        "api.templates",
    }
)


def _hide_sites_while_off() -> None:
    """While the feature is off with sites hidden, members get the "switched off" answer (503)
    from every site page, list and route; admins still see everything.

    :raise 503: sites are hidden and this request is about sites.
    """
    from app.auth import current_principal, workspace_settings
    from app.errors import SwitchedOff
    from app.services import workspace

    endpoint = request.endpoint or ""
    if endpoint.split(".")[0] not in _HIDEABLE or endpoint in _OPEN_WHILE_HIDDEN:
        return
    if request.path.startswith("/api/v1/admin/"):
        return  # admin routes answer 403 to members
    if endpoint.startswith("api.") and g.get("auth_method") != "token":
        return  # the API answers 401 first
    who = current_principal()
    if not who.signed_in or who.is_admin:
        return
    if workspace.sites_hidden(workspace_settings()):
        raise SwitchedOff(workspace.HIDDEN_MESSAGE)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", UI_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers["X-Request-ID"] = g.get("request_id", "")  # set by app.logs
    if "text/html" in response.content_type:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Register every blueprint, the error handlers and the security headers."""
    from app.web import admin, api, errors, health, serve, ui

    app.before_request(_hide_sites_while_off)  # after sign-in's load_user, registered earlier
    app.after_request(_security_headers)
    for blueprint in (ui.bp, admin.bp, serve.bp, api.bp, health.bp):
        app.register_blueprint(blueprint)
    errors.init_app(app)
    ui.init_app(app)
    admin.init_app(app)
