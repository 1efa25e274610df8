"""Audit events: one typed event per state change, written in the same transaction.

Each row stores the hash of its own content and of the previous row, so editing or deleting a
row breaks the chain and :func:`verify_chain` names the first broken row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import AuditEvent, AuditHead, Site, User, utcnow

GENESIS = "0" * 64
HEAD_ID = 1


@dataclass(frozen=True)
class Event:
    """Base of every audit event: ``action`` names the change, ``data`` holds before/after."""

    action: ClassVar[str] = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __init_subclass__(cls, action: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.action = action


class SiteCreated(Event, action="site.created"):
    """A builder created a site (its files and first job are saved)."""


class TemplateChosen(Event, action="site.template_chosen"):
    """The generation job asked the model to choose the template the builder left open."""


class SiteUpdated(Event, action="site.updated"):
    """Details changed: name, department, expiry, data-source note, categories."""


class VersionCreated(Event, action="version.created"):
    """A new version was saved (generation, revision, edit, restore, applied comments)."""


class GenerationFailed(Event, action="generation.failed"):
    """A generation or revision job failed; its inputs are kept."""


class GenerationRetried(Event, action="generation.retried"):
    """A failed job was queued again with its saved inputs."""


class RevisionRequested(Event, action="revision.requested"):
    """An owner or editor asked for a revision (by prompt or by applying comments)."""


class VersionPublished(Event, action="version.published"):
    """The published version changed."""


class SiteUnpublished(Event, action="site.unpublished"):
    """The owner took the site offline for viewers."""


class SiteRepublished(Event, action="site.republished"):
    """The owner put the site back online."""


class SiteDeleted(Event, action="site.deleted"):
    """The owner deleted the site (restorable during the retention period)."""


class SiteRestored(Event, action="site.restored"):
    """A deleted site was restored."""


class SiteExported(Event, action="site.exported"):
    """Someone downloaded the site's archive."""


class SharingChanged(Event, action="sharing.changed"):
    """The audience or the grants changed."""


class ReviewDecided(Event, action="review.decided"):
    """A reviewer approved or rejected the site."""


class OfficialMarked(Event, action="official.marked"):
    """A reviewer marked a version official until a date."""


class AnnotationCreated(Event, action="annotation.created"):
    """Someone commented on an element of the page."""


class AnnotationResolved(Event, action="annotation.resolved"):
    """A comment was resolved (by hand or by an applied revision)."""


class SignedIn(Event, action="user.signed_in"):
    """A member signed in."""


class SignInRefused(Event, action="user.sign_in_refused"):
    """An identity was refused (domain, group, deactivated)."""


class TokenCreated(Event, action="token.created"):
    """A personal API token was created."""


class TokenRevoked(Event, action="token.revoked"):
    """A personal API token was revoked."""


class SettingsChanged(Event, action="workspace.settings_changed"):
    """An admin changed workspace settings (before/after of each changed value)."""


class SiteDisabled(Event, action="site.disabled"):
    """An admin (or the sweep, for idle sites) disabled a site, with a reason."""


class SiteEnabled(Event, action="site.enabled"):
    """An admin enabled a disabled site again."""


class SiteTransferred(Event, action="site.transferred"):
    """An admin gave a site to a new owner."""


class UserDeactivated(Event, action="user.deactivated"):
    """A member was deactivated: by an admin, or absent from the identity provider's group."""


class UserReactivated(Event, action="user.reactivated"):
    """An admin reactivated a member."""


class SiteExpired(Event, action="site.expired"):
    """The sweep found the site past its expiry date (viewers get a "gone" page)."""


class IdleWarned(Event, action="site.idle_warned"):
    """The sweep told the owner that an idle site will be disabled."""


class IdleWarningCleared(Event, action="site.idle_warning_cleared"):
    """The sweep forgot an idle warning: the site was opened or changed since."""


class SitePurged(Event, action="site.purged"):
    """The sweep removed a deleted site for good after the retention period."""


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
        data=dict(event.data),
        request_id=request_id,
        prev_hash=prev_hash,
        hash="",
    )
    row.hash = _digest(prev_hash, _row(row))
    session.add(row)
    session.flush()
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        count = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        session.add(AuditHead(id=HEAD_ID, last_id=row.id, last_hash=row.hash, events=count))
    else:
        head.last_id, head.last_hash, head.events = row.id, row.hash, head.events + 1
    return row


def verify_chain(events: Iterable[AuditEvent]) -> int | None:
    """Return the id of the first event that breaks the chain, or None if it holds."""
    prev_hash = GENESIS
    for event in events:
        if event.prev_hash != prev_hash or event.hash != _digest(prev_hash, _row(event)):
            return event.id
        prev_hash = event.hash
    return None
