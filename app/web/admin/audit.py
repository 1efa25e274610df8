"""Admin: the audit log — filtered pages, a JSON Lines export, and checking the hash chain."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, render_template, request

from app.audit import Event
from app.db import download, get_session
from app.errors import BadInput
from app.services import audit_log
from app.web.admin import bp

PER_PAGE = 100


def _actions() -> list[str]:
    """Every typed event's action name, for the filter menu."""
    found: set[str] = set()
    todo = list(Event.__subclasses__())
    while todo:
        kind = todo.pop()
        found.add(kind.action)
        todo.extend(kind.__subclasses__())
    return sorted(found)


@bp.app_template_filter("readable_json")
def readable_json(value: Any) -> str:
    """Show stored JSON as people write it (real quotes, not escapes); autoescape does the rest."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@bp.get("/audit")
def audit() -> tuple[str, int]:
    """The audit log, oldest first, filtered by actor, site, action and time."""
    try:
        where = audit_log.AuditFilter.from_args(request.args)
    except BadInput as exc:
        flash(exc.message, "error")
        where = audit_log.AuditFilter()
    after = request.args.get("after", type=int) or 0
    events, more = audit_log.page(get_session(), where, after, PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    html = render_template(
        "admin/audit.html",
        events=events,
        more=more,
        args=args,
        actions=_actions(),
        report=None,
    )
    return html, 200


@bp.get("/audit/export")
def audit_export() -> Response:
    """Every matching event as JSON Lines."""
    where = audit_log.AuditFilter.from_args(request.args)
    return download(
        "audit.jsonl", "application/x-ndjson", lambda db: audit_log.export_lines(db, where)
    )


@bp.post("/audit/verify")
def audit_verify() -> tuple[str, int]:
    """Check every event's hash and link; name the first broken one."""
    report = audit_log.verify(get_session())
    html = render_template(
        "admin/audit.html", events=[], more=False, args={}, actions=_actions(), report=report
    )
    return html, 200
