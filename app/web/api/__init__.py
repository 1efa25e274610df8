"""JSON API under /api/v1, authenticated with personal API tokens (Bearer).

One blueprint; each module of this package adds the routes of one concern and describes them
in :data:`OPENAPI_PATHS` (and any schemas in :data:`OPENAPI_SCHEMAS`) for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request

from app.errors import BadInput, NotSignedIn
from app.extensions import csrf

bp: Blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
# Only Bearer tokens authenticate here, never cookies, so cross-site forms cannot act: no CSRF.
csrf.exempt(bp)

OPENAPI_PATHS: dict[str, Any] = {}
OPENAPI_SCHEMAS: dict[str, Any] = {}


@bp.before_request
def require_token() -> None:
    """Refuse requests without a valid Bearer token (except the OpenAPI document)."""
    if request.endpoint == "api.openapi":
        return
    if g.get("auth_method") != "token":
        raise NotSignedIn(
            "Send a personal API token as 'Authorization: Bearer <token>'; "
            "create one with 'sitewright token create' or on /account/tokens."
        )


def json_body() -> dict[str, Any]:
    """Return the request's JSON object.

    :raise 400: the body is not a JSON object.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("Send a JSON object with Content-Type: application/json.")
    return body


from app.web.api import admin, admin_sites, admin_usage, content, governance, sites  # noqa: E402,F401 - registers the routes
