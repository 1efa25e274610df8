"""The browser UI: one blueprint; each module of this package adds the pages of one concern."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app

from app.auth import current_principal, current_user, dev_login_available

bp: Blueprint = Blueprint("ui", __name__)


def init_app(app: Flask) -> None:
    """Give every UI template the signed-in user and the dev sign-in flag."""

    @app.context_processor
    def globals_for_templates() -> dict[str, Any]:
        return {
            "current_user": current_user(),
            "principal": current_principal(),
            "dev_login_on": bool(current_app.config["DEV_LOGIN"]),
            "dev_login_here": dev_login_available(),
        }


from app.web.ui import content, governance, sites  # noqa: E402,F401 - registers the pages
from app.web.ui.sites import job_state  # noqa: E402 - re-exported for the API

__all__ = ["bp", "init_app", "job_state"]
