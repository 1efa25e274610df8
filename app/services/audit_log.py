"""Reading the audit log: filtered pages, a JSON Lines export, and verifying the hash chain."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.audit import HEAD_ID, verify_chain
from app.errors import BadInput
from app.models import AuditEvent, AuditHead

MAX_PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    """Which events to read: by actor e-mail, site, action and time (UTC, inclusive)."""

    actor: str = ""
    site_id: int | None = None
    action: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @classmethod
    def from_args(cls, args: Any) -> AuditFilter:
        """Build a filter from query arguments.

        :raise 400: a malformed site id or time.
        """
        try:
            site = args.get("site")
            return cls(
                actor=(args.get("actor") or "").strip().lower(),
                site_id=int(site) if site else None,
                action=(args.get("action") or "").strip(),
                since=_time(args.get("since")),
                until=_time(args.get("until")),
            )
        except ValueError as exc:
            raise BadInput(
                "Filters: 'site' is a number; 'since' and 'until' are dates or "
                "times like 2026-11-24 or 2026-11-24T09:30."
            ) from exc

    def query(self) -> Select[AuditEvent]:
        """Return the events matching the filter, oldest first."""
        query = select(AuditEvent).order_by(AuditEvent.id)
        if self.actor:
            query = query.where(AuditEvent.actor_email == self.actor)
        if self.site_id is not None:
            query = query.where(AuditEvent.site_id == self.site_id)
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.since:
            query = query.where(AuditEvent.created_at >= self.since)
        if self.until:
            query = query.where(AuditEvent.created_at <= self.until)
        return query


def _time(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def event_json(event: AuditEvent) -> dict[str, Any]:
    """Describe one event, with its place in the chain."""
    return {
        "id": event.id,
        "created_at": event.created_at.isoformat() + "Z",
        "action": event.action,
        "actor": event.actor_email or None,
        "site_id": event.site_id,
        "site_name": event.site_name,
        "version": event.version,
        "data": event.data,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def page(
    session: Session, where: AuditFilter, after_id: int = 0, limit: int = 100
) -> tuple[list[AuditEvent], bool]:
    """Return up to ``limit`` matching events with ids above ``after_id``, and whether more
    follow."""
    limit = max(1, min(limit, MAX_PAGE))
    query = where.query().where(AuditEvent.id > after_id).limit(limit + 1)
    events = list(session.scalars(query))
    return events[:limit], len(events) > limit


def export_lines(session: Session, where: AuditFilter) -> Iterator[str]:
    """Yield every matching event as one line of JSON, oldest first."""
    for event in session.scalars(where.query().execution_options(yield_per=1000)):
        yield json.dumps(event_json(event), ensure_ascii=False, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the whole chain.

    ``reason`` is "" when intact, "edited" when an event does not match its hash or does not
    follow the one before it (edited, deleted from the middle, or re-ordered), and "missing"
    when the newest events are gone: ``first_broken`` is then the last event the log's head
    recorded.
    """

    events: int
    first_broken: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Say whether every event is intact and in place."""
        return self.first_broken is None

    def message(self) -> str:
        """Say what was found, for people."""
        if self.ok:
            return f"Audit log intact: {self.events} events verified."
        if self.reason == "missing":
            return (
                f"Audit log broken: the newest events are missing; the log ended at event "
                f"{self.first_broken}, which is gone (checked {self.events} events)."
            )
        return (
            f"Audit log broken: event {self.first_broken} was edited, or an event before it was "
            f"deleted or re-ordered (checked {self.events} events)."
        )


class _Tail:
    """Passes events through, remembering the last one and how many went by."""

    def __init__(self, events: Iterator[AuditEvent]) -> None:
        self.events, self.count, self.last_id, self.last_hash = events, 0, 0, ""

    def __iter__(self) -> Iterator[AuditEvent]:
        for event in self.events:
            self.count += 1
            self.last_id, self.last_hash = event.id, event.hash
            yield event


def verify(session: Session) -> ChainReport:
    """Check every event against its hash and its predecessor's, oldest first, and that the
    chain ends where its head says."""
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    query = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    events = session.scalars(query)
    tail = _Tail(iter(events))
    try:
        broken = verify_chain(tail)
    finally:
        events.close()  # the check stops at the first break; release the server-side cursor
    if broken is not None:
        return ChainReport(events=total, first_broken=broken, reason="edited")
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        if tail.count:  # events without a head: the head row itself was deleted
            return ChainReport(events=total, first_broken=tail.last_id, reason="missing")
        return ChainReport(events=total, first_broken=None)
    if (head.last_id, head.last_hash, head.events) != (tail.last_id, tail.last_hash, tail.count):
        return ChainReport(events=total, first_broken=head.last_id, reason="missing")
    return ChainReport(events=total, first_broken=None)
