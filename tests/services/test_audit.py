"""The audit chain: every event hashed with its predecessor; tampering is found."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select, update

from app import audit
from app.models import AuditEvent, User


def test_chain_holds_and_detects_edits_and_deletions(app: Flask) -> None:
    database = app.extensions["sitewright.db"]
    with database.transaction() as session:
        user = User(issuer="t", subject="s", email="a@example.com", name="A")
        session.add(user)
        session.flush()
        for n in range(4):
            audit.track_event(session, audit.TokenCreated(data={"n": n}), actor=user)
    with database.transaction() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert audit.verify_chain(events) is None
        second, third = events[1].id, events[2].id
        session.execute(update(AuditEvent).where(AuditEvent.id == second).values(data={"n": 99}))
    with database.transaction() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert audit.verify_chain(events) == second
        session.execute(update(AuditEvent).where(AuditEvent.id == second).values(data={"n": 1}))
    with database.transaction() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert audit.verify_chain(events) is None
        session.delete(session.get(AuditEvent, second))
    with database.transaction() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert audit.verify_chain(events) == third
