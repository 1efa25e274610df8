"""Database engine and sessions.

SQLite is the embedded default. Several threads and processes write to it, so write transactions
start with ``BEGIN IMMEDIATE`` (a deferred transaction that reads and then writes can fail at once
with "database is locked" when another writer got in between; an immediate one waits its turn).
Read transactions stay deferred so readers never block each other under WAL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
F = TypeVar("F", bound=Callable[..., Any])


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves instead of the driver's implicit deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=30000",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sitewright_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One engine and two session factories: deferred reads and immediate writes."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            # A file does not drop connections: no ping before each use.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        # A server may close connections (restart, failover). No ping before each use (a round
        # trip per request): the requests in flight on a dropped connection fail (503), and the
        # disconnect error makes SQLAlchemy invalidate the whole pool, so the next requests
        # connect afresh.
        self.url = url
        self.engine = create_engine(url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        write_engine = self.engine.execution_options(sitewright_write=True)
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write = sessionmaker(bind=write_engine, expire_on_commit=False)
        # A server database reads each statement of a read-only request in autocommit: under
        # READ COMMITTED every statement sees the latest commits anyway, and there is no BEGIN
        # and no ROLLBACK to send. SQLite keeps its deferred transaction (one snapshot, no cost).
        self._read_only = (
            self._read
            if self.is_sqlite
            else sessionmaker(
                bind=self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
        )

    def session(self, *, write: bool = False, read_only: bool = False) -> Session:
        """Open a session; ``write=True`` when the transaction will change data, ``read_only``
        when nothing in it will (see :func:`one_read_transaction`)."""
        if write:
            return self._write()
        return (self._read_only if read_only else self._read)()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Run a write transaction outside a request: commit on success, roll back on error."""
        session = self.session(write=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def get_db() -> Database:
    """Return the application's database."""
    database: Database = current_app.extensions["sitewright.db"]
    return database


def download(filename: str, mimetype: str, produce: Callable[[Session], Iterator[str]]) -> Response:
    """Stream a download produced from a session of its own, closed when the stream ends.

    The request's session closes when the view returns, before a streamed body is sent.
    """
    database = get_db()

    def chunks() -> Iterator[str]:
        session = database.session()
        try:
            yield from produce(session)
        finally:
            session.close()

    response = Response(chunks(), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def one_read_transaction(view: F) -> F:
    """Mark a read-only view that may read in the sign-in look-up's transaction.

    Saves a commit and a second connection check-out per request (a round trip on PostgreSQL,
    where the request reads in autocommit: :class:`Database`); only for views that neither
    write nor read what they just had saved.
    """
    view.one_read_transaction = True  # type: ignore[attr-defined]
    return view


def reads_in_one_transaction() -> bool:
    """Say whether this request is a read-only view marked with :func:`one_read_transaction`."""
    view = current_app.view_functions.get(request.endpoint or "")
    marked = bool(getattr(view, "one_read_transaction", False))
    return marked and request.method not in UNSAFE_METHODS


def get_session() -> Session:
    """Return this request's session: a write session for POST/PUT/PATCH/DELETE."""
    if "db_session" not in g:
        g.db_session = get_db().session(
            write=request.method in UNSAFE_METHODS, read_only=reads_in_one_transaction()
        )
    session: Session = g.db_session
    return session


def init_app(app: Flask) -> None:
    """Create the engine and close each request's session when the request ends."""
    app.extensions["sitewright.db"] = Database(app.config["DATABASE_URL"])

    @app.teardown_appcontext
    def close_session(error: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return
        try:
            if error is not None:
                session.rollback()
            session.close()
        except SQLAlchemyError:
            # The answer is already made: ending the transaction of a connection the database
            # dropped (a restart) must not turn it into a 500. The pool replaces the connection.
            log.warning("closing a request's database session failed", exc_info=True)
            session.invalidate()
