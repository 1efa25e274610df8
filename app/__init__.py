"""Sitewright: a prompt plus files become a governed internal site."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from app.settings import SettingsError, load_settings, resolve_paths

log = logging.getLogger(__name__)


def _config(overrides: dict[str, Any] | None) -> dict[str, Any]:
    values = load_settings()
    values.update(overrides or {})
    values = resolve_paths(values)
    if not values["SECRET_KEY"]:
        if not values["DEV_LOGIN"] and not values.get("TESTING"):
            raise SettingsError(
                "SITEWRIGHT_SECRET_KEY is required (a long random string); "
                "only the development sign-in may run without it."
            )
        values["SECRET_KEY"] = secrets.token_hex(32)
    max_upload = values["MAX_UPLOAD_MB"] * 1024 * 1024
    values.update(
        MAX_CONTENT_LENGTH=max_upload,
        MAX_FORM_MEMORY_SIZE=max_upload,
        MAX_FORM_PARTS=200,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=values["SECURE_COOKIES"],
        SESSION_COOKIE_NAME="sitewright_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=values["SESSION_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,
        TRUSTED_HOSTS=values["TRUSTED_HOSTS"] or None,
    )
    return values


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, services, blueprints, errors, CLI."""
    app = Flask(__name__)
    app.config.update(_config(overrides))
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    from app import db, extensions, logs
    from app.auth import init_app as init_auth
    from app.cli import init_app as init_cli
    from app.services.wiring import init_app as init_services
    from app.web import init_app as init_web
    from app.web import metrics

    logs.init_app(app)  # first hooks: the request id and timer cover every later hook
    metrics.init_app(app)
    db.init_app(app)
    extensions.init_app(app)
    init_services(app)
    init_auth(app)
    init_web(app)
    init_cli(app)
    return app
