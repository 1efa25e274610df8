"""Audit events: one typed event per state change, written in the same transaction.

Each row stores the hash of its own content and of the previous row, so editing or deleting a
row breaks the chain and :func:`verify_chain` names the first broken row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import AuditEvent, Site, User, utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    """Base of every audit event; ``action`` names the change."""

    action: str = field(init=False, default="")
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteCreated(Event):
    action: str = field(init=False, default="site.created")


@dataclass(frozen=True)
class VersionCreated(Event):
    action: str = field(init=False, default="version.created")


@dataclass(frozen=True)
class GenerationFailed(Event):
    action: str = field(init=False, default="generation.failed")


@dataclass(frozen=True)
class GenerationRetried(Event):
    action: str = field(init=False, default="generation.retried")


@dataclass(frozen=True)
class VersionPublished(Event):
    action: str = field(init=False, default="version.published")


@dataclass(frozen=True)
class SharingChanged(Event):
    action: str = field(init=False, default="sharing.changed")


@dataclass(frozen=True)
class SignedIn(Event):
    action: str = field(init=False, default="user.signed_in")


@dataclass(frozen=True)
class SignInRefused(Event):
    action: str = field(init=False, default="user.sign_in_refused")


@dataclass(frozen=True)
class TokenCreated(Event):
    action: str = field(init=False, default="token.created")


@dataclass(frozen=True)
class TokenRevoked(Event):
    action: str = field(init=False, default="token.revoked")


def _digest(prev_hash: str, row: dict[str, Any]) -> str:
    payload = json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "created_at": event.created_at.isoformat(),
        "action": event.action,
        "actor_id": event.actor_id,
        "actor_email": event.actor_email,
        "site_id": event.site_id,
        "site_name": event.site_name,
        "version": event.version,
        "data": event.data,
        "request_id": event.request_id,
    }


def track_event(
    session: Session,
    event: Event,
    *,
    actor: User | None,
    site: Site | None = None,
    version: int | None = None,
    request_id: str = "",
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends so two transactions cannot chain onto the same previous row.
        session.execute(text("SELECT pg_advisory_xact_lock(7461)"))
    session.flush()
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev_hash = last.hash if last else GENESIS
    row = AuditEvent(
        created_at=utcnow(),
        action=event.action,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else "",
        site_id=site.id if site else None,
        site_name=site.name if site else "",
        version=version,
        data=asdict(event)["data"],
        request_id=request_id,
        prev_hash=prev_hash,
        hash="",
    )
    row.hash = _digest(prev_hash, _row(row))
    session.add(row)
    return row


def verify_chain(events: Iterable[AuditEvent]) -> int | None:
    """Return the id of the first event that breaks the chain, or None if it holds."""
    prev_hash = GENESIS
    for event in events:
        if event.prev_hash != prev_hash or event.hash != _digest(prev_hash, _row(event)):
            return event.id
        prev_hash = event.hash
    return None
