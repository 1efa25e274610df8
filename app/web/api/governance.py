"""API routes for a site's governance: details, sharing, review, official, life cycle, export."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from app.access import Action, can
from app.auth import current_principal, require_user, workspace_settings
from app.db import get_session
from app.errors import BadInput, Conflict, Forbidden
from app.models import Site
from app.services import export, lifecycle, review, sharing
from app.services import sites as site_service
from app.services.categories import recorded_suggestions
from app.services.wiring import get_deps
from app.web.api import OPENAPI_PATHS, OPENAPI_SCHEMAS, bp, json_body
from app.web.api.openapi import SITE_ID, errors, ok, ref
from app.web.api.sites import site_json

DETAIL_FIELDS = ("name", "department", "expires_on", "data_source_note", "categories")


def _site(site_id: int, action: Action) -> Site:
    return site_service.get_site(get_session(), current_principal(), site_id, action)


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadInput(f"'{key}' must be a string.")
    return value


@bp.patch("/sites/<int:site_id>")
def update_site(site_id: int) -> Response:
    """Change a site's details; sending ``categories`` confirms them (owner)."""
    site = _site(site_id, Action.MANAGE)
    body = json_body()
    unknown = sorted(set(body) - set(DETAIL_FIELDS))
    if unknown:
        raise BadInput(f"Unknown fields: {', '.join(unknown)}; send {', '.join(DETAIL_FIELDS)}.")
    categories = body.get("categories")
    if categories is not None and (
        not isinstance(categories, list) or not all(isinstance(c, str) for c in categories)
    ):
        raise BadInput("'categories' must be a list of strings.")
    change = lifecycle.DetailsChange(
        name=_text(body, "name"),
        department=_text(body, "department"),
        expires_on=site_service.parse_date(_text(body, "expires_on")),
        data_source_note=_text(body, "data_source_note"),
        categories=categories,
    )
    lifecycle.update_details(get_session(), get_deps(), site, require_user(), change)
    return jsonify(site_json(site))


@bp.get("/sites/<int:site_id>/categories")
def categories(site_id: int) -> Response:
    """The site's categories, the suggestions made from its files and its review state."""
    site = _site(site_id, Action.VIEW_DRAFTS)
    return jsonify(
        categories=site.categories,
        confirmed=site.review_state != "unconfirmed",
        suggested=[s.as_json() for s in recorded_suggestions(get_session(), site)],
        review_state=site.review_state,
    )


@bp.get("/sites/<int:site_id>/sharing")
def get_sharing(site_id: int) -> Response:
    """The site's audience and grants (owner)."""
    return jsonify(sharing.sharing_json(_site(site_id, Action.SHARE)))


def _sharing_request() -> tuple[str, list[sharing.GrantSpec]]:
    body = json_body()
    audience = body.get("audience")
    if not isinstance(audience, str):
        raise BadInput(f"'audience' must be one of {', '.join(sharing.AUDIENCES)}.")
    return audience, sharing.parse_grants(body.get("grants"))


@bp.post("/sites/<int:site_id>/sharing/preview")
def preview_sharing(site_id: int) -> Response:
    """Say who would gain or lose access, without changing anything."""
    site = _site(site_id, Action.SHARE)
    audience, grants = _sharing_request()
    change = sharing.preview(get_session(), site, audience, grants, workspace_settings())
    return jsonify(sharing.preview_json(change))


@bp.put("/sites/<int:site_id>/sharing")
def set_sharing(site_id: int) -> Response:
    """Set the audience and grants; answer the new sharing and who gained or lost access."""
    site = _site(site_id, Action.SHARE)
    audience, grants = _sharing_request()
    change = sharing.set_sharing(
        get_session(), site, require_user(), audience, grants, workspace_settings()
    )
    return jsonify(sharing=sharing.sharing_json(site), **sharing.preview_json(change))


@bp.post("/sites/<int:site_id>/review")
def decide_review(site_id: int) -> Response:
    """Approve or reject a site waiting for review (reviewers; never its owner)."""
    site = _site(site_id, Action.REVIEW)
    body = json_body()
    decision, note = body.get("decision"), body.get("note") or ""
    if not isinstance(decision, str) or not isinstance(note, str):
        raise BadInput("Send 'decision' ('approve' or 'reject') and a 'note'.")
    review.decide(get_session(), site, require_user(), decision, note)
    return jsonify(site_json(site))


@bp.post("/sites/<int:site_id>/official")
def mark_official(site_id: int) -> Response:
    """Mark a version official until a date (reviewers)."""
    site = _site(site_id, Action.REVIEW)
    body = json_body()
    number, until = body.get("version"), body.get("until")
    if not isinstance(number, int) or isinstance(number, bool):
        raise BadInput("'version' must be a version number.")
    if not isinstance(until, str):
        raise BadInput("'until' must be a date like 2027-03-31.")
    day = site_service.parse_date(until, "until")
    assert day is not None  # a non-empty string parses or raises
    review.mark_official(get_session(), site, require_user(), number, day, workspace_settings())
    return jsonify(site_json(site))


@bp.get("/reviews")
def review_queue() -> Response:
    """The sites waiting for the caller's review."""
    who = current_principal()
    if not who.is_reviewer:
        raise Forbidden("Only reviewers (admins and the reviewer group) have a review queue.")
    return jsonify(sites=[site_json(s) for s in review.review_queue(get_session(), who)])


@bp.post("/sites/<int:site_id>/unpublish")
def unpublish(site_id: int) -> Response:
    """Take the site offline for the people it is shared with (owner)."""
    site = _site(site_id, Action.MANAGE)
    lifecycle.unpublish(get_session(), site, require_user())
    return jsonify(site_json(site))


@bp.post("/sites/<int:site_id>/republish")
def republish(site_id: int) -> Response:
    """Put an unpublished site back online (owner)."""
    site = _site(site_id, Action.MANAGE)
    lifecycle.republish(get_session(), site, require_user())
    return jsonify(site_json(site))


@bp.delete("/sites/<int:site_id>")
def delete_site(site_id: int) -> Response:
    """Delete the site softly; it can be restored during the retention period (owner)."""
    site = _site(site_id, Action.MANAGE)
    lifecycle.delete_site(get_session(), site, require_user(), workspace_settings())
    return jsonify(site_json(site))


@bp.post("/sites/<int:site_id>/undelete")
def undelete_site(site_id: int) -> Response:
    """Restore a deleted site during the retention period (owner, admins)."""
    who = current_principal()
    site = _site(site_id, Action.VIEW_DRAFTS)
    if site.deleted_at is None:
        raise Conflict(f"{site.name} is not deleted.")
    if not can(who, Action.RESTORE, site):
        raise Forbidden(f"Only the owner or an admin can restore {site.name}.")
    lifecycle.undelete_site(get_session(), site, require_user(), workspace_settings())
    return jsonify(site_json(site))


@bp.get("/sites/<int:site_id>/export")
def export_site(site_id: int) -> Response:
    """Download the site as a zip that opens offline."""
    site = _site(site_id, Action.EXPORT)
    name, data = export.build_archive(get_session(), get_deps(), site, require_user())
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# The OpenAPI description of the routes above.
_STRINGS = {"type": "array", "items": {"type": "string"}}
_GRANT = {
    "type": "object",
    "properties": {
        "email": {"type": "string"},
        "group": {"type": "string"},
        "role": {"type": "string", "enum": list(sharing.ROLES)},
    },
}
_PERSON = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in ("email", "name", "before", "after")},
}
_SHARING_FIELDS: dict[str, Any] = {
    "audience": {"type": "string", "enum": list(sharing.AUDIENCES)},
    "grants": {"type": "array", "items": _GRANT},
}
_SHARING = {"type": "object", "properties": _SHARING_FIELDS}
_ACCESS_CHANGE = {
    "type": "object",
    "properties": {
        "widens": {"type": "boolean"},
        "gained_count": {"type": "integer"},
        "gained": {"type": "array", "items": _PERSON},
        "invited": _STRINGS,
        "new_groups": _STRINGS,
        "lost_count": {"type": "integer"},
        "lost": {"type": "array", "items": _PERSON},
        "removed_groups": _STRINGS,
        "changed": {"type": "array", "items": _PERSON},
        "warnings": _STRINGS,
        "sharing": _SHARING,
    },
}


def _json_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, statuses: tuple[int, ...], body: Any = None, answer: Any = None) -> Any:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [SITE_ID],
        "responses": {**ok(answer or ref("Site")), **errors(401, *statuses)},
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


_DATE = {"type": "string", "format": "date"}
OPENAPI_SCHEMAS.update(Sharing=_SHARING, AccessChange=_ACCESS_CHANGE)
OPENAPI_PATHS.update(
    {
        "/sites/{site_id}": {
            "patch": _op(
                "Change details; categories confirms them",
                (400, 403, 404, 410),
                _json_body(
                    {
                        "name": {"type": "string"},
                        "department": {"type": "string"},
                        "expires_on": _DATE,
                        "data_source_note": {"type": "string"},
                        "categories": _STRINGS,
                    },
                    [],
                ),
            ),
            "delete": _op("Delete softly (owner)", (403, 404)),
        },
        "/sites/{site_id}/undelete": {"post": _op("Restore a deleted site", (403, 404, 409, 410))},
        "/sites/{site_id}/unpublish": {"post": _op("Unpublish (owner)", (403, 404, 409))},
        "/sites/{site_id}/republish": {"post": _op("Republish (owner)", (403, 404, 409))},
        "/sites/{site_id}/categories": {
            "get": _op(
                "Categories, suggestions from the files, review state",
                (403, 404),
                answer={"type": "object"},
            )
        },
        "/sites/{site_id}/sharing": {
            "get": _op("Audience and grants (owner)", (403, 404), answer=ref("Sharing")),
            "put": _op(
                "Set audience and grants; answers who gained or lost access",
                (400, 403, 404, 409, 410),
                _json_body(_SHARING_FIELDS, ["audience"]),
                ref("AccessChange"),
            ),
        },
        "/sites/{site_id}/sharing/preview": {
            "post": _op(
                "Who would gain or lose access; changes nothing",
                (400, 403, 404),
                _json_body(_SHARING_FIELDS, ["audience"]),
                ref("AccessChange"),
            )
        },
        "/sites/{site_id}/review": {
            "post": _op(
                "Approve or reject (reviewers)",
                (400, 403, 404, 409),
                _json_body(
                    {
                        "decision": {"type": "string", "enum": ["approve", "reject"]},
                        "note": {"type": "string"},
                    },
                    ["decision"],
                ),
            )
        },
        "/sites/{site_id}/official": {
            "post": _op(
                "Mark a version official until a date (reviewers)",
                (400, 403, 404, 409),
                _json_body({"version": {"type": "integer"}, "until": _DATE}, ["version", "until"]),
            )
        },
        "/sites/{site_id}/export": {
            "get": {
                "summary": "The site as a zip that opens offline",
                "parameters": [SITE_ID],
                "responses": {
                    "200": {
                        "description": "A zip archive",
                        "content": {"application/zip": {"schema": {"type": "string"}}},
                    },
                    **errors(401, 403, 404, 410),
                },
            }
        },
        "/reviews": {
            "get": {
                "summary": "Sites waiting for the caller's review",
                "responses": {
                    **ok({"type": "object", "properties": {"sites": {"type": "array"}}}),
                    **errors(401, 403),
                },
            }
        },
    }
)
