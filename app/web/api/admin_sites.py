"""Admin API routes: workspace settings, the site inventory, disable/enable/transfer, people."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request

from app.auth import require_user
from app.db import download, get_session
from app.errors import BadInput
from app.services import admin_sites, inventory, workspace
from app.services.wiring import get_deps
from app.web.api import OPENAPI_PATHS, OPENAPI_SCHEMAS, bp, json_body
from app.web.api.admin import require_admin
from app.web.api.openapi import SITE_ID, errors, ok, ref


@bp.get("/admin/settings")
def get_settings() -> Response:
    """Return every workspace setting."""
    require_admin()
    return jsonify(workspace.load(get_session(), current_app.config))


@bp.put("/admin/settings")
def put_settings() -> Response:
    """Change some workspace settings (the others stay); returns them all."""
    require_admin()
    values = workspace.update(get_session(), current_app.config, require_user(), json_body())
    return jsonify(values)


@bp.get("/admin/sites")
def admin_sites_list() -> Response:
    """The inventory: filters, sort and paging in the query; ?format=csv exports every page."""
    require_admin()
    query = inventory.InventoryQuery.from_args(request.args)
    deps = get_deps()
    deps.views.flush(deps.db)
    if request.args.get("format") == "csv":
        return download("sites.csv", "text/csv", lambda db: inventory.export_csv(db, query))
    page = inventory.inventory_page(get_session(), query)
    return jsonify(
        sites=[inventory.site_row(site) for site in page.sites],
        total=page.total,
        page=query.page,
        per_page=query.per_page,
        pages=page.pages,
    )


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise BadInput("'reason' is text.")
    return reason


@bp.post("/admin/sites/<int:site_id>/disable")
def admin_disable(site_id: int) -> Response:
    """Disable a site with a reason the owner sees."""
    require_admin()
    session = get_session()
    site = admin_sites.get_any_site(session, site_id)
    admin_sites.disable(session, site, require_user(), _reason(json_body()))
    return jsonify(site=inventory.site_row(site))


@bp.post("/admin/sites/<int:site_id>/enable")
def admin_enable(site_id: int) -> Response:
    """Enable a disabled site."""
    require_admin()
    session = get_session()
    site = admin_sites.get_any_site(session, site_id)
    body = request.get_json(silent=True)
    reason = _reason(body) if isinstance(body, dict) else ""
    admin_sites.enable(session, site, require_user(), reason)
    return jsonify(site=inventory.site_row(site))


@bp.post("/admin/sites/<int:site_id>/transfer")
def admin_transfer(site_id: int) -> Response:
    """Give a site to a new owner (an active member, by e-mail)."""
    require_admin()
    session = get_session()
    site = admin_sites.get_any_site(session, site_id)
    email = json_body().get("new_owner")
    if not isinstance(email, str):
        raise BadInput("Send {'new_owner': 'e-mail address'}.")
    admin_sites.transfer(session, site, require_user(), admin_sites.find_member(session, email))
    return jsonify(site=inventory.site_row(site))


@bp.post("/admin/sites/bulk")
def admin_bulk() -> Response:
    """Disable, enable or transfer a selection of sites at once."""
    require_admin()
    body = json_body()
    ids = body.get("site_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise BadInput("'site_ids' is a list of site ids.")
    session, actor = get_session(), require_user()
    action = body.get("action")
    if action == "disable":
        result = admin_sites.bulk_disable(session, ids, actor, _reason(body))
    elif action == "enable":
        result = admin_sites.bulk_enable(session, ids, actor)
    elif action == "transfer":
        email = body.get("new_owner")
        if not isinstance(email, str):
            raise BadInput("Send 'new_owner' (an e-mail address) to transfer.")
        result = admin_sites.bulk_transfer(session, ids, actor, email)
    else:
        raise BadInput("'action' is one of disable, enable, transfer.")
    return jsonify(
        done=[site.id for site in result.done],
        skipped=[{"site_id": site_id, "reason": why} for site_id, why in result.skipped],
    )


def _user_json(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "active": user.is_active,
        "deactivated_at": (
            user.deactivated_at.isoformat(timespec="seconds") + "Z" if user.deactivated_at else None
        ),
        "deactivation_reason": user.deactivation_reason,
    }


@bp.get("/admin/departures")
def admin_departures() -> Response:
    """Deactivated members and the sites they still own."""
    require_admin()
    return jsonify(
        departures=[
            {**_user_json(d.user), "sites": [inventory.site_row(s) for s in d.sites]}
            for d in admin_sites.departures(get_session())
        ]
    )


@bp.post("/admin/users/<int:user_id>/deactivate")
def admin_deactivate(user_id: int) -> Response:
    """Deactivate a member: signed out at once; their sites wait for transfer."""
    require_admin()
    session = get_session()
    user = admin_sites.get_user(session, user_id)
    body = request.get_json(silent=True)
    reason = _reason(body) if isinstance(body, dict) else ""
    admin_sites.deactivate(session, user, require_user(), reason)
    return jsonify(user=_user_json(user))


@bp.post("/admin/users/<int:user_id>/reactivate")
def admin_reactivate(user_id: int) -> Response:
    """Let a deactivated member sign in again."""
    require_admin()
    session = get_session()
    user = admin_sites.get_user(session, user_id)
    admin_sites.reactivate(session, user, require_user())
    return jsonify(user=_user_json(user))


# OpenAPI ------------------------------------------------------------------------------------

_SETTING_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
OPENAPI_SCHEMAS["WorkspaceSettings"] = {
    "type": "object",
    "properties": {
        field.name: {
            "type": _SETTING_TYPES[type(field.default)],
            "description": f"{field.label}. {field.help}",
            **({"items": {"type": "string"}} if isinstance(field.default, list) else {}),
        }
        for field in workspace.FIELDS
    },
}
OPENAPI_SCHEMAS["InventorySite"] = {
    "type": "object",
    "properties": {
        **{
            name: {"type": "string"}
            for name in (
                "slug",
                "name",
                "owner",
                "owner_name",
                "department",
                "template",
                "status",
                "audience",
                "review_state",
                "expires_on",
                "disabled_reason",
            )
        },
        **{
            name: {"type": ["string", "null"]}
            for name in ("official", "official_until", "created_at", "last_viewed_at")
        },
        **{name: {"type": "integer"} for name in ("id", "views", "versions", "tokens_spent")},
        "owner_active": {"type": "boolean"},
        "categories": {"type": "array", "items": {"type": "string"}},
    },
}
_SITE = {"type": "object", "properties": {"site": ref("InventorySite")}}
_USER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "name": {"type": "string"},
        "active": {"type": "boolean"},
        "deactivated_at": {"type": ["string", "null"]},
        "deactivation_reason": {"type": "string"},
    },
}
_USER_ID = {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_REASON_BODY = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"reason": {"type": "string"}}}
        }
    },
}
_INVENTORY_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}
    for name, kind, text in (
        ("owner", "string", "owner's e-mail address"),
        ("department", "string", "exact department"),
        ("template", "string", "template name"),
        (
            "status",
            "string",
            "draft, published, pending_review, unpublished, expired, "
            "disabled or deleted (default: all but deleted)",
        ),
        ("category", "string", "a data category"),
        ("expires_before", "string", "YYYY-MM-DD"),
        ("idle_days", "integer", "nobody opened or changed it for at least this many days"),
        ("q", "string", "part of the name"),
        (
            "sort",
            "string",
            "name, owner, department, template, expires_on, created_at, "
            "last_viewed_at, views, versions or tokens_spent; a leading '-' sorts descending",
        ),
        ("page", "integer", "page number, from 1"),
        ("per_page", "integer", "sites per page (at most 500)"),
        ("format", "string", "csv: every matching site as CSV"),
    )
]
OPENAPI_PATHS.update(
    {
        "/admin/settings": {
            "get": {
                "summary": "The workspace settings (admins)",
                "responses": {**ok(ref("WorkspaceSettings")), **errors(401, 403)},
            },
            "put": {
                "summary": "Change workspace settings (admins); send only the ones to change",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("WorkspaceSettings")}},
                },
                "responses": {**ok(ref("WorkspaceSettings")), **errors(400, 401, 403)},
            },
        },
        "/admin/sites": {
            "get": {
                "summary": "Inventory of every site (admins); ?format=csv exports it",
                "parameters": _INVENTORY_PARAMS,
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {
                                "sites": {"type": "array", "items": ref("InventorySite")},
                                "total": {"type": "integer"},
                                "page": {"type": "integer"},
                                "per_page": {"type": "integer"},
                                "pages": {"type": "integer"},
                            },
                        }
                    ),
                    **errors(400, 401, 403),
                },
            }
        },
        "/admin/sites/{site_id}/disable": {
            "post": {
                "summary": "Disable a site with a reason (admins)",
                "parameters": [SITE_ID],
                "requestBody": {**_REASON_BODY, "required": True},
                "responses": {**ok(_SITE), **errors(400, 401, 403, 404, 409)},
            }
        },
        "/admin/sites/{site_id}/enable": {
            "post": {
                "summary": "Enable a disabled site (admins)",
                "parameters": [SITE_ID],
                "requestBody": _REASON_BODY,
                "responses": {**ok(_SITE), **errors(401, 403, 404, 409)},
            }
        },
        "/admin/sites/{site_id}/transfer": {
            "post": {
                "summary": "Give a site to a new owner (admins)",
                "parameters": [SITE_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["new_owner"],
                                "properties": {"new_owner": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {**ok(_SITE), **errors(400, 401, 403, 404, 409)},
            }
        },
        "/admin/sites/bulk": {
            "post": {
                "summary": "Disable, enable or transfer several sites (admins)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["action", "site_ids"],
                                "properties": {
                                    "action": {"enum": ["disable", "enable", "transfer"]},
                                    "site_ids": {"type": "array", "items": {"type": "integer"}},
                                    "reason": {"type": "string"},
                                    "new_owner": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {
                                "done": {"type": "array", "items": {"type": "integer"}},
                                "skipped": {"type": "array", "items": {"type": "object"}},
                            },
                        }
                    ),
                    **errors(400, 401, 403),
                },
            }
        },
        "/admin/departures": {
            "get": {
                "summary": "Deactivated members and the sites they still own (admins)",
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {"departures": {"type": "array", "items": _USER}},
                        }
                    ),
                    **errors(401, 403),
                },
            }
        },
        "/admin/users/{user_id}/deactivate": {
            "post": {
                "summary": "Deactivate a member (admins)",
                "parameters": [
                    {
                        "name": "user_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "requestBody": _REASON_BODY,
                "responses": {
                    **ok({"type": "object", "properties": {"user": _USER}}),
                    **errors(401, 403, 404, 409),
                },
            }
        },
        "/admin/users/{user_id}/reactivate": {
            "post": {
                "summary": "Reactivate a member (admins)",
                "parameters": [
                    {
                        "name": "user_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    **ok({"type": "object", "properties": {"user": _USER}}),
                    **errors(401, 403, 404, 409),
                },
            }
        },
    }
)
