"""Notices: what a member is told on "My sites" (a site transferred to them, an idle warning...).

Sitewright sends no e-mail; owners learn of what happened to their sites here, until they
dismiss the notice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from app.models import Notice, Site, utcnow

KINDS = ("transferred", "disabled", "enabled", "idle_warning", "expired")


def tell(session: Session, user_id: int, kind: str, message: str, site: Site | None = None) -> None:
    """Add a notice for one member inside the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    session.add(
        Notice(user_id=user_id, site_id=site.id if site else None, kind=kind, message=message)
    )


def unread(session: Session, user_id: int, limit: int = 50) -> list[Notice]:
    """Return the member's notices not yet dismissed, newest first."""
    query = (
        select(Notice)
        .where(Notice.user_id == user_id, Notice.read_at.is_(None))
        .order_by(Notice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def dismiss(session: Session, user_id: int, notice_ids: list[int] | None = None) -> int:
    """Mark the member's notices read (all of them, or the given ones); return how many."""
    query = update(Notice).where(Notice.user_id == user_id, Notice.read_at.is_(None))
    if notice_ids is not None:
        query = query.where(Notice.id.in_(notice_ids))
    result: CursorResult[Any] = session.execute(query.values(read_at=utcnow()))  # type: ignore[assignment]
    session.commit()
    return int(result.rowcount or 0)
