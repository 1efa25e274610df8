"""The database layer: SQLite writers from many threads never see 'database is locked'."""

from __future__ import annotations

import threading

from flask import Flask, g
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.db import Database
from app.models import Group


def test_concurrent_read_then_write_transactions_do_not_fail(app: Flask) -> None:
    database: Database = app.extensions["sitewright.db"]
    with database.transaction() as session:
        session.add(Group(name="counter-0"))
    errors: list[BaseException] = []

    def bump(worker: int) -> None:
        for n in range(15):
            try:
                with database.transaction() as session:
                    # Read, then write in the same transaction: the pattern that deadlocks
                    # with deferred transactions on SQLite.
                    count = len(session.scalars(select(Group)).all())
                    session.add(Group(name=f"w{worker}-{n}-{count}"))
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.transaction() as session:
        assert len(session.scalars(select(Group)).all()) == 1 + 6 * 15


def test_sqlite_pragmas(app: Flask) -> None:
    database: Database = app.extensions["sitewright.db"]
    if not database.is_sqlite:
        return
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


class DroppedConnectionSession:
    """A request session whose connection the database dropped after the view answered."""

    def __init__(self) -> None:
        self.invalidated = False

    def rollback(self) -> None:
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))

    close = rollback

    def invalidate(self) -> None:
        self.invalidated = True


def test_a_connection_dropped_at_teardown_does_not_turn_the_answer_into_a_500(app: Flask) -> None:
    # A PostgreSQL restart under load: the view read and answered, then ending its read
    # transaction failed (found by bench/load_viewers.py --restart-db-at).
    dropped = DroppedConnectionSession()

    @app.get("/_test/answered")
    def answered() -> str:
        g.db_session = dropped
        return "answered"

    response = app.test_client().get("/_test/answered")
    assert response.status_code == 200
    assert response.text == "answered"
    assert dropped.invalidated
