"""The access policy: pure functions of (who, action, site), shared by the UI and the API.

Nothing here touches the request or the database, so a table-driven test can cover every
role x action x site state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from app.models import Site


class Action(StrEnum):
    VIEW = "view"  # the published page
    VIEW_DRAFTS = "view_drafts"  # versions, drafts, progress, provenance
    PUBLISH = "publish"  # choose the published version, set the audience
    RETRY = "retry"  # retry a failed generation


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in member (``id`` None means signed out)."""

    id: int | None
    email: str = ""
    is_admin: bool = False
    is_active: bool = True
    groups: frozenset[str] = frozenset()

    @property
    def signed_in(self) -> bool:
        """Say whether this is an active, signed-in member."""
        return self.id is not None and self.is_active


ANONYMOUS = Principal(id=None)


def is_expired(site: Site, today: dt.date | None = None) -> bool:
    """Say whether the site is past its expiry date."""
    return site.expires_on < (today or dt.date.today())


def can(who: Principal, action: Action, site: Site, today: dt.date | None = None) -> bool:
    """Say whether ``who`` may do ``action`` on ``site``.

    Owners and admins may do everything. Other members may only view the published version,
    and only when the site is shared with the whole workspace and is live (published, not
    expired).
    """
    if not who.signed_in:
        return False
    if who.id == site.owner_id or who.is_admin:
        return True
    if action is not Action.VIEW:
        return False
    live = site.status == "published" and site.published_version is not None
    return live and not is_expired(site, today) and site.audience == "workspace"
