"""The admin area under /admin: one blueprint; each module adds the pages of one concern.

Every page here is for admins only: :func:`require_admin` runs before each request, so a page
cannot forget its check. The navigation lists the areas in :data:`AREAS`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask

from app.auth import current_principal, require_user
from app.errors import Forbidden

bp: Blueprint = Blueprint("admin", __name__, url_prefix="/admin")

# (endpoint, label) of each area, in the order of the admin navigation.
AREAS: tuple[tuple[str, str], ...] = (
    ("admin.inventory", "Sites"),
    ("admin.people", "People"),
    ("admin.usage", "Usage"),
    ("admin.signals", "Signals"),
    ("admin.audit", "Audit log"),
    ("admin.settings", "Settings"),
)


@bp.before_request
def require_admin() -> None:
    """Refuse everyone but admins.

    :raise 401: signed out (the browser is sent to sign-in).
    :raise 403: signed in, not an admin.
    """
    require_user()
    if not current_principal().is_admin:
        raise Forbidden("Only admins can open the admin area; ask one of your workspace's admins.")


def init_app(app: Flask) -> None:
    """Give admin templates the navigation."""

    @app.context_processor
    def admin_navigation() -> dict[str, Any]:
        areas = [(endpoint, label) for endpoint, label in AREAS if endpoint in app.view_functions]
        return {"admin_areas": areas}


from app.web.admin import audit, inventory, people, settings  # noqa: E402,F401 - registers the pages

__all__ = ["AREAS", "bp", "init_app"]
from app.web.admin import signals  # noqa: E402,F401,I001
from app.web.admin import usage  # noqa: E402,F401,I001
