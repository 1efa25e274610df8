"""Counting page views without a database write per view.

Each process counts views in memory and adds them to the sites' rows at most every
:data:`FLUSH_EVERY_S` seconds (from the request that notices the time is up), before the
inventory or signals are read, and at exit. Increments are added (``view_count + n``), so several
processes flushing their own counts never overwrite each other. A crash loses at most the last
few seconds of counts.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from sqlalchemy import case, update
from sqlalchemy.exc import SQLAlchemyError

from app.db import Database
from app.models import Site, utcnow

log = logging.getLogger(__name__)
FLUSH_EVERY_S = 10.0


class ViewCounter:
    """Views waiting to be added to the database, by site."""

    def __init__(self, flush_every_s: float = FLUSH_EVERY_S) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[int, dt.datetime]] = {}
        self._flush_every_s = flush_every_s
        self._last_flush = time.monotonic()

    def record(self, site_id: int, at: dt.datetime | None = None) -> None:
        """Count one view of a site."""
        at = at or utcnow()
        with self._lock:
            count, last = self._pending.get(site_id, (0, at))
            self._pending[site_id] = (count + 1, max(last, at))

    def due(self) -> bool:
        """Say whether views wait and the last flush is long enough ago."""
        return bool(self._pending) and (time.monotonic() - self._last_flush >= self._flush_every_s)

    def flush(self, db: Database) -> int:
        """Add the waiting views to the sites' rows in one transaction; return how many sites.

        On a database error the views are kept for the next flush.
        """
        with self._lock:
            pending, self._pending = self._pending, {}
            self._last_flush = time.monotonic()
        if not pending:
            return 0
        try:
            with db.transaction() as session:
                for site_id, (count, last) in sorted(pending.items()):
                    session.execute(
                        update(Site)
                        .where(Site.id == site_id)
                        .values(
                            view_count=Site.view_count + count,
                            last_viewed_at=case(
                                (Site.last_viewed_at.is_(None), last),
                                (Site.last_viewed_at < last, last),
                                else_=Site.last_viewed_at,
                            ),
                            updated_at=Site.updated_at,  # a view is not a change
                        )
                        .execution_options(synchronize_session=False)
                    )
        except SQLAlchemyError:
            log.exception("could not save %d sites' view counts; will retry", len(pending))
            with self._lock:
                for site_id, (count, last) in pending.items():
                    now_count, now_last = self._pending.get(site_id, (0, last))
                    self._pending[site_id] = (now_count + count, max(now_last, last))
            return 0
        return len(pending)
