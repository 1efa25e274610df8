"""Which sites each sweep rule picks: the clock, the workspace's limits, and SQL conditions.

Each condition is plain, portable SQL over the site's own columns, so one query finds the
candidates among 100,000 sites, and the same condition guards each site's write (see
:mod:`app.services.sweep`). Activity is the latest of when a site was made, changed and opened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, func, or_

from app.models import Site


@dataclass(frozen=True)
class Rules:
    """The sweep's clock and the workspace's limits, read once per sweep."""

    now: dt.datetime
    settings: Mapping[str, Any]

    @property
    def today(self) -> dt.date:
        """Return the sweep's date (UTC)."""
        return self.now.date()

    @property
    def inactivity(self) -> dt.timedelta:
        """Return how long a site may be idle before it is disabled (zero: never)."""
        return dt.timedelta(days=max(int(self.settings["INACTIVITY_DAYS"]), 0))

    @property
    def warning(self) -> dt.timedelta:
        """Return how long before disabling an idle site its owner is warned (at least a day)."""
        return dt.timedelta(days=max(int(self.settings["INACTIVITY_WARNING_DAYS"]), 1))

    @property
    def warn_after(self) -> dt.timedelta:
        """Return how long a site is idle before the warning (never on its last active day)."""
        return max(self.inactivity - self.warning, dt.timedelta(days=1))

    @property
    def retention(self) -> dt.timedelta:
        """Return how long a deleted site is kept."""
        return dt.timedelta(days=int(self.settings["RETENTION_DAYS"]))

    def disable_on(self, idle_since: dt.datetime) -> dt.date:
        """Return the first day a site warned now and left alone can be disabled."""
        return max(idle_since + self.inactivity, self.now + self.warning).date()


def _activity() -> tuple[SQLColumnExpression[dt.datetime], ...]:
    """The moments that count as activity: made, changed, opened."""
    return (
        Site.created_at,
        Site.updated_at,
        func.coalesce(Site.last_viewed_at, Site.created_at),
    )


def _live() -> list[ColumnElement[bool]]:
    return [Site.deleted_at.is_(None), Site.disabled_at.is_(None)]


def _idle_since_before(cutoff: dt.datetime) -> list[ColumnElement[bool]]:
    return [moment < cutoff for moment in _activity()]


def _warning_stands() -> list[ColumnElement[bool]]:
    """The owner was warned after the site's latest activity."""
    return [Site.idle_warned_at.is_not(None), *(Site.idle_warned_at >= m for m in _activity())]


def _warning_lapsed() -> ColumnElement[bool]:
    """The owner was never warned, or the site was opened or changed since."""
    return or_(Site.idle_warned_at.is_(None), *(Site.idle_warned_at < m for m in _activity()))


def expirable(rules: Rules) -> list[ColumnElement[bool]]:
    """Sites past their expiry date whose expiry is not yet recorded."""
    return [Site.deleted_at.is_(None), Site.expires_on < rules.today, Site.expired_at.is_(None)]


def warnable(rules: Rules) -> list[ColumnElement[bool]]:
    """Idle sites whose owner has not been warned since their latest activity."""
    return [*_live(), *_idle_since_before(rules.now - rules.warn_after), _warning_lapsed()]


def stale_warnings(rules: Rules) -> list[ColumnElement[bool]]:
    """Warned sites opened or changed since the warning, and not idle enough to warn again."""
    recent = rules.now - rules.warn_after
    return [
        *_live(),
        Site.idle_warned_at.is_not(None),
        _warning_lapsed(),
        or_(*(moment >= recent for moment in _activity())),
    ]


def disableable(rules: Rules) -> list[ColumnElement[bool]]:
    """Sites idle past the limit whose owner was warned at least the warning period ago."""
    return [
        *_live(),
        *_idle_since_before(rules.now - rules.inactivity),
        *_warning_stands(),
        Site.idle_warned_at <= rules.now - rules.warning,
    ]


def purgeable(rules: Rules) -> list[ColumnElement[bool]]:
    """Deleted sites past the retention period."""
    return [Site.deleted_at.is_not(None), Site.deleted_at < rules.now - rules.retention]


@dataclass(frozen=True)
class SweptSite:
    """A site the sweep acted on (a purged one lives on only here and in the audit log)."""

    id: int
    name: str

    def __str__(self) -> str:
        return f"{self.name} (#{self.id})"
