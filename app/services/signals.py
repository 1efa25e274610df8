"""Signals for admins: which sites people make, use and revise, and which to maintain or retire.

Every list is one grouped query with a limit, never a loop over all sites. The thresholds below
decide the candidates; each candidate carries the reasons it was chosen, in plain words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, extract, func, or_, select
from sqlalchemy.orm import Session

from app.access import state_of
from app.models import Site, SiteVersion, User, utcnow
from app.services.usage import Month

MONTHS = 12  # sites created: this many calendar months, the current one included
TOP = 10  # most viewed, most revised
MAX_CREATED_ROWS = 40  # template × department rows, the busiest first
MAX_CANDIDATES = 50
# Candidates to maintain: officially confirmed, or at least two of these.
POPULAR_VIEWS = 50  # opened at least this often
REVISED_VERSIONS = 3  # revised at least this often (versions beyond the first)
LASTING_DAYS = 90  # made this long ago ...
RECENT_DAYS = 30  # ... and still opened this recently
# Candidates to retire: any of these (unless the site is a candidate to maintain).
IDLE_DAYS = 90  # not opened or changed for this long
UNSEEN_DAYS = 30  # never opened, this long after it was made


@dataclass
class SiteSignal:
    """One site as the signals page lists it."""

    site: Site
    revisions: int
    today: dt.date
    reasons: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        """Return the site's state (draft, published, expired...)."""
        return state_of(self.site, self.today).value

    def as_json(self) -> dict[str, Any]:
        """Describe the site for the API."""
        site = self.site
        return {
            "site_id": site.id,
            "slug": site.slug,
            "name": site.name,
            "owner": site.owner.email,
            "owner_active": site.owner.is_active,
            "department": site.department,
            "template": site.template,
            "status": self.state,
            "views": site.view_count,
            "last_viewed_at": _iso(site.last_viewed_at),
            "revisions": self.revisions,
            "created_at": _iso(site.created_at),
            "expires_on": site.expires_on.isoformat(),
            "official_until": site.official_until.isoformat() if site.official_until else None,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class CreatedRow:
    """Sites made from one template in one department, per month."""

    template: str
    department: str
    counts: list[int]

    @property
    def total(self) -> int:
        """Return the sites made over all months shown."""
        return sum(self.counts)


@dataclass
class SignalsReport:
    """Everything the signals page shows."""

    months: list[Month]
    created: list[CreatedRow]
    more_created: bool
    most_viewed: list[SiteSignal]
    most_revised: list[SiteSignal]
    owner_left: list[SiteSignal]
    maintain: list[SiteSignal]
    retire: list[SiteSignal]

    def as_json(self) -> dict[str, Any]:
        """Describe the report for the API (snake_case)."""
        return {
            "months": [month.key for month in self.months],
            "created": [
                {
                    "template": row.template,
                    "department": row.department,
                    "counts": row.counts,
                    "total": row.total,
                }
                for row in self.created
            ],
            "more_created": self.more_created,
            "most_viewed": [s.as_json() for s in self.most_viewed],
            "most_revised": [s.as_json() for s in self.most_revised],
            "owner_left": [s.as_json() for s in self.owner_left],
            "maintain": [s.as_json() for s in self.maintain],
            "retire": [s.as_json() for s in self.retire],
        }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _day(moment: dt.datetime | dt.date | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else ""


def created_by_template(session: Session, months: list[Month]) -> tuple[list[CreatedRow], bool]:
    """Count the sites made per template and department in each of ``months``."""
    year = extract("year", Site.created_at)
    month = extract("month", Site.created_at)
    counts: dict[tuple[str, str], list[int]] = {}
    index = {each: n for n, each in enumerate(months)}
    rows = session.execute(
        select(Site.template, Site.department, year, month, func.count(Site.id))
        .where(Site.created_at >= months[0].start, Site.created_at < months[-1].next().start)
        .group_by(Site.template, Site.department, year, month)
    )
    for template, department, y, m, count in rows:
        position = index.get(Month(int(y), int(m)))
        if position is not None:
            line = counts.setdefault((template, department or ""), [0] * len(months))
            line[position] += int(count)
    ordered = sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0]))
    created = [CreatedRow(t, d, c) for (t, d), c in ordered[:MAX_CREATED_ROWS]]
    return created, len(ordered) > MAX_CREATED_ROWS


class _Rules:
    """The SQL conditions behind the candidates, computed once for a moment in time."""

    def __init__(self, now: dt.datetime) -> None:
        self.now, self.today = now, now.date()
        counted = (
            select(SiteVersion.site_id, func.count(SiteVersion.id).label("versions"))
            .group_by(SiteVersion.site_id)
            .subquery()
        )
        self.versions = counted
        self.revisions = func.coalesce(counted.c.versions, 1) - 1
        self.official = and_(
            Site.official_version.is_not(None),
            Site.official_since.is_not(None),
            Site.official_until.is_not(None),
            Site.official_since <= self.today,
            Site.official_until >= self.today,
        )
        self.popular = Site.view_count >= POPULAR_VIEWS
        self.revised = self.revisions >= REVISED_VERSIONS
        self.lasting = and_(
            Site.created_at <= now - dt.timedelta(days=LASTING_DAYS),
            Site.last_viewed_at.is_not(None),
            Site.last_viewed_at >= now - dt.timedelta(days=RECENT_DAYS),
        )
        score = sum(
            (case((rule, 1), else_=0) for rule in (self.popular, self.revised, self.lasting)),
            start=case((self.official, 2), else_=0),
        )
        # Written with CASE so it is never NULL: NOT (maintain) must hold for every other site.
        self.maintain: ColumnElement[bool] = and_(Site.disabled_at.is_(None), score >= 2)
        idle_since = now - dt.timedelta(days=IDLE_DAYS)
        self.owner_left = User.is_active.is_(False)
        self.expired = Site.expires_on < self.today
        self.unseen = and_(
            Site.view_count == 0, Site.created_at < now - dt.timedelta(days=UNSEEN_DAYS)
        )
        self.idle = and_(
            func.coalesce(Site.last_viewed_at, Site.created_at) < idle_since,
            Site.updated_at < idle_since,
        )

    def sites(self) -> Select[Any]:
        """Return live (not deleted) sites with their revision counts and owners."""
        return (
            select(Site, self.revisions)
            .join(User, User.id == Site.owner_id)
            .outerjoin(self.versions, self.versions.c.site_id == Site.id)
            .where(Site.deleted_at.is_(None))
        )


def _listed(session: Session, rules: _Rules, query: Select[Any]) -> list[SiteSignal]:
    return [
        SiteSignal(site, int(revisions), rules.today) for site, revisions in session.execute(query)
    ]


def maintain_reasons(signal: SiteSignal, now: dt.datetime) -> list[str]:
    """Say why a site deserves to become a maintained system."""
    site, reasons = signal.site, []
    today = now.date()
    if (
        site.official_version is not None
        and site.official_since is not None
        and site.official_until is not None
        and site.official_since <= today <= site.official_until
    ):
        reasons.append(f"confirmed official until {_day(site.official_until)}")
    if site.view_count >= POPULAR_VIEWS:
        reasons.append(f"opened {site.view_count:,} times")
    if signal.revisions >= REVISED_VERSIONS:
        reasons.append(f"revised {signal.revisions:,} times")
    lasting = site.created_at <= now - dt.timedelta(days=LASTING_DAYS)
    recent = site.last_viewed_at and site.last_viewed_at >= now - dt.timedelta(days=RECENT_DAYS)
    if lasting and recent:
        months = max(3, (now - site.created_at).days // 30)
        reasons.append(f"in use for about {months} months, last opened {_day(site.last_viewed_at)}")
    if not site.owner.is_active:
        reasons.append("its owner left: transfer it to a new owner first")
    return reasons


def retire_reasons(signal: SiteSignal, now: dt.datetime) -> list[str]:
    """Say why a site may be retired."""
    site, reasons = signal.site, []
    owner = site.owner
    if not owner.is_active:
        left = f" on {_day(owner.deactivated_at)}" if owner.deactivated_at else ""
        reasons.append(f"its owner, {owner.email}, left{left}")
    if site.expires_on < now.date():
        reasons.append(f"expired on {_day(site.expires_on)}")
    if site.view_count == 0 and site.created_at < now - dt.timedelta(days=UNSEEN_DAYS):
        reasons.append(f"never opened since it was made on {_day(site.created_at)}")
    idle_since = now - dt.timedelta(days=IDLE_DAYS)
    if (
        site.last_viewed_at is not None
        and site.last_viewed_at < idle_since
        and site.updated_at < idle_since
    ):
        reasons.append(f"not opened or changed since {_day(site.last_viewed_at)}")
    return reasons


def report(session: Session, now: dt.datetime | None = None) -> SignalsReport:
    """Gather the signals: sites made, most viewed and revised, orphaned, and the candidates."""
    now = now or utcnow()
    rules = _Rules(now)
    last = Month.of(now)
    months = [last]
    while len(months) < MONTHS:
        months.insert(0, months[0].previous())
    created, more_created = created_by_template(session, months)
    base = rules.sites()
    most_viewed = _listed(
        session,
        rules,
        base.where(Site.view_count > 0).order_by(Site.view_count.desc(), Site.id).limit(TOP),
    )
    most_revised = _listed(
        session,
        rules,
        base.where(rules.revisions > 0).order_by(rules.revisions.desc(), Site.id).limit(TOP),
    )
    owner_left = _listed(
        session,
        rules,
        base.where(rules.owner_left).order_by(User.deactivated_at, Site.id).limit(MAX_CANDIDATES),
    )
    maintain = _listed(
        session,
        rules,
        base.where(rules.maintain).order_by(Site.view_count.desc(), Site.id).limit(MAX_CANDIDATES),
    )
    retire = _listed(
        session,
        rules,
        base.where(
            ~rules.maintain,
            or_(rules.owner_left, rules.expired, rules.unseen, rules.idle),
        )
        .order_by(func.coalesce(Site.last_viewed_at, Site.created_at), Site.id)
        .limit(MAX_CANDIDATES),
    )
    for signal in maintain:
        signal.reasons.extend(maintain_reasons(signal, now))
    for signal in retire:
        signal.reasons.extend(retire_reasons(signal, now))
    return SignalsReport(
        months=months,
        created=created,
        more_created=more_created,
        most_viewed=most_viewed,
        most_revised=most_revised,
        owner_left=owner_left,
        maintain=maintain,
        retire=retire,
    )
