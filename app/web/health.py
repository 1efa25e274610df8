"""Liveness and readiness."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from app.db import get_db
from app.services.wiring import get_deps

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer while the process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Answer 200 when the database and both stores (uploads, pages) can be used, else 503."""
    checks = {}
    try:
        get_db().ping()
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means not ready
        checks["database"] = "unreachable"
    deps = get_deps()
    try:
        deps.blobs.ready()
        deps.pages.ready()
        checks["storage"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness: storage unavailable: %s", exc)
        checks["storage"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
