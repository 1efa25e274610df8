"""Liveness and readiness."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from app.db import get_db
from app.storage import check_writable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer while the process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Answer 200 when the database and the storage folder are reachable, else 503."""
    checks = {}
    try:
        get_db().ping()
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means not ready
        checks["database"] = "unreachable"
    try:
        check_writable(Path(current_app.config["DATA_DIR"]))
        checks["storage"] = "ok"
    except OSError:
        checks["storage"] = "not writable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
