"""Admin API routes: the audit log (read, export, verify)."""

from __future__ import annotations

from flask import Response, jsonify, request

from app.auth import current_principal
from app.db import download, get_session
from app.errors import Forbidden
from app.services import audit_log
from app.web.api import OPENAPI_PATHS, bp
from app.web.api.openapi import errors, ok


def require_admin() -> None:
    """Refuse callers who are not admins.

    :raise 403: not an admin.
    """
    if not current_principal().is_admin:
        raise Forbidden("Only admins can do this; ask one of your workspace's admins.")


@bp.get("/admin/audit")
def audit_events() -> Response:
    """List audit events with filters (actor, site, action, since, until); ?format=jsonl."""
    require_admin()
    where = audit_log.AuditFilter.from_args(request.args)
    if request.args.get("format") == "jsonl":
        return download(
            "audit.jsonl", "application/x-ndjson", lambda db: audit_log.export_lines(db, where)
        )
    after = request.args.get("after", type=int) or 0
    limit = request.args.get("limit", type=int) or 100
    events, more = audit_log.page(get_session(), where, after, limit)
    return jsonify(
        events=[audit_log.event_json(e) for e in events],
        next_after=events[-1].id if more else None,
    )


@bp.get("/admin/audit/verify")
def verify_audit() -> Response:
    """Check the hash chain of the whole audit log and name the first broken event."""
    require_admin()
    report = audit_log.verify(get_session())
    return jsonify(
        ok=report.ok,
        events=report.events,
        first_broken=report.first_broken,
        reason=report.reason or None,
        message=report.message(),
    )


_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "created_at": {"type": "string"},
        "action": {"type": "string"},
        "actor": {"type": ["string", "null"]},
        "site_id": {"type": ["integer", "null"]},
        "site_name": {"type": "string"},
        "version": {"type": ["integer", "null"]},
        "data": {"type": "object"},
        "request_id": {"type": "string"},
        "prev_hash": {"type": "string"},
        "hash": {"type": "string"},
    },
}
_FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
    for name, kind in (
        ("actor", "string"),
        ("site", "integer"),
        ("action", "string"),
        ("since", "string"),
        ("until", "string"),
        ("after", "integer"),
        ("limit", "integer"),
        ("format", "string"),
    )
]
OPENAPI_PATHS.update(
    {
        "/admin/audit": {
            "get": {
                "summary": "Audit events (admins); ?format=jsonl exports JSON Lines",
                "parameters": _FILTERS,
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {
                                "events": {"type": "array", "items": _EVENT},
                                "next_after": {"type": ["integer", "null"]},
                            },
                        }
                    ),
                    **errors(400, 401, 403),
                },
            }
        },
        "/admin/audit/verify": {
            "get": {
                "summary": "Verify the audit log's hash chain (admins)",
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {
                                "ok": {"type": "boolean"},
                                "events": {"type": "integer"},
                                "first_broken": {"type": ["integer", "null"]},
                                "reason": {"enum": ["edited", "missing", None]},
                                "message": {"type": "string"},
                            },
                        }
                    ),
                    **errors(401, 403),
                },
            }
        },
    }
)
