"""Admin API routes: token usage and cost, and the signals about which sites to keep."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from app.auth import workspace_settings
from app.db import get_session
from app.services import signals, usage_report
from app.services.usage import Month
from app.services.wiring import get_deps
from app.web.api import OPENAPI_PATHS, OPENAPI_SCHEMAS, bp
from app.web.api.admin import require_admin
from app.web.api.openapi import errors, ok, ref


@bp.get("/admin/usage")
def admin_usage() -> Response:
    """Return tokens in/out, calls and estimated cost by month, user, site and department.

    :raise 400: ``since`` or ``until`` is not a month like 2026-11, or since is after until.
    :raise 403: not an admin.
    """
    require_admin()
    since = Month.parse(request.args.get("since"), "since")
    until = Month.parse(request.args.get("until"), "until")
    report = usage_report.report(get_session(), workspace_settings(), since, until)
    return jsonify(usage_report.report_json(report))


@bp.get("/admin/signals")
def admin_signals() -> Response:
    """Return sites made per template and department, the most used, and what to keep or retire.

    :raise 403: not an admin.
    """
    require_admin()
    deps = get_deps()
    deps.views.flush(deps.db)  # count the latest views first
    return jsonify(signals.report(get_session()).as_json())


_INT = {"type": "integer"}
_TALLY = {
    "tokens_in": _INT,
    "tokens_out": _INT,
    "tokens": _INT,
    "calls": _INT,
    "cost": {"type": "number"},
}


def _rows(**identity: Any) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "object", "properties": {**identity, **_TALLY}}}


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
OPENAPI_SCHEMAS["Usage"] = {
    "type": "object",
    "properties": {
        "since": _NULLABLE_STRING,
        "until": _NULLABLE_STRING,
        "currency": _STRING,
        "price_per_1k_tokens": {"type": "number"},
        "total": {"type": "object", "properties": _TALLY},
        "by_month": _rows(month=_STRING),
        "by_user": _rows(user_id=_INT, email=_STRING, name=_STRING),
        "by_site": _rows(
            site_id={"type": ["integer", "null"]}, name=_NULLABLE_STRING, department=_STRING
        ),
        "by_department": _rows(department=_STRING),
        "more_users": {"type": "boolean"},
        "more_sites": {"type": "boolean"},
        "budget": {
            "type": "object",
            "properties": {
                "monthly_token_budget": _INT,
                "month": _STRING,
                "near_or_over": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "user_id": _INT,
                            "email": _STRING,
                            "name": _STRING,
                            "tokens": _INT,
                            "over": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
}
OPENAPI_SCHEMAS["SiteSignal"] = {
    "type": "object",
    "properties": {
        "site_id": _INT,
        "slug": _STRING,
        "name": _STRING,
        "owner": _STRING,
        "owner_active": {"type": "boolean"},
        "department": _STRING,
        "template": _STRING,
        "status": _STRING,
        "views": _INT,
        "last_viewed_at": _NULLABLE_STRING,
        "revisions": _INT,
        "created_at": _NULLABLE_STRING,
        "expires_on": _STRING,
        "official_until": _NULLABLE_STRING,
        "reasons": {"type": "array", "items": _STRING},
    },
}
_SITES = {"type": "array", "items": ref("SiteSignal")}
OPENAPI_SCHEMAS["Signals"] = {
    "type": "object",
    "properties": {
        "months": {"type": "array", "items": _STRING},
        "created": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "template": _STRING,
                    "department": _STRING,
                    "counts": {"type": "array", "items": _INT},
                    "total": _INT,
                },
            },
        },
        "more_created": {"type": "boolean"},
        "most_viewed": _SITES,
        "most_revised": _SITES,
        "owner_left": _SITES,
        "maintain": _SITES,
        "retire": _SITES,
    },
}
OPENAPI_PATHS.update(
    {
        "/admin/usage": {
            "get": {
                "summary": "Tokens and estimated cost by month, user, site and department (admins)",
                "parameters": [
                    {
                        "name": name,
                        "in": "query",
                        "required": False,
                        "description": "A month like 2026-11 (included)",
                        "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                    }
                    for name in ("since", "until")
                ],
                "responses": {**ok(ref("Usage")), **errors(400, 401, 403)},
            }
        },
        "/admin/signals": {
            "get": {
                "summary": "Sites made by template and department, most used, to keep or retire",
                "responses": {**ok(ref("Signals")), **errors(401, 403)},
            }
        },
    }
)
