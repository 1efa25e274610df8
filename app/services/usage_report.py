"""The admins' usage report: tokens, model calls and estimated cost by month, person, site and
department, and who is near their monthly budget. Every breakdown is one grouped query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, extract, func, select
from sqlalchemy.orm import Session

from app.errors import BadInput
from app.models import Site, UsageRecord, User, utcnow
from app.services.usage import Month, months_between

MAX_ROWS = 200  # users or sites listed in one report, the biggest spenders first
NEAR_BUDGET = 0.8  # the report lists people who used this share of their budget or more


@dataclass(frozen=True)
class Tally:
    """Tokens in and out, model calls, and their estimated cost."""

    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    cost: float = 0.0

    @property
    def tokens(self) -> int:
        """Return tokens in and out together."""
        return self.tokens_in + self.tokens_out

    def as_json(self) -> dict[str, Any]:
        """Describe the tally for the API."""
        return {
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tokens": self.tokens,
            "calls": self.calls,
            "cost": self.cost,
        }


@dataclass(frozen=True)
class UsageRow:
    """One line of a breakdown: what it is about (month, person, site or department), its tally.

    ``key`` is the month (YYYY-MM), the e-mail, the department, or the site id (None for sites
    purged since); ``label`` is what to show.
    """

    key: Any
    label: str
    tally: Tally
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetRow:
    """A person who spent most or all of their budget this month."""

    user_id: int
    email: str
    name: str
    tokens: int
    over: bool


@dataclass
class UsageReport:
    """Usage in a range of months, by month, person, site and department."""

    since: Month | None
    until: Month | None
    price_per_1k: float
    currency: str
    budget: int
    this_month: Month
    total: Tally
    by_month: list[UsageRow]
    by_user: list[UsageRow]
    by_site: list[UsageRow]
    by_department: list[UsageRow]
    near_budget: list[BudgetRow]
    more_users: bool = False
    more_sites: bool = False


def _sums() -> tuple[Any, ...]:
    return (
        func.coalesce(func.sum(UsageRecord.tokens_in), 0),
        func.coalesce(func.sum(UsageRecord.tokens_out), 0),
        func.count(UsageRecord.id),
    )


def _spend() -> Any:
    return func.coalesce(func.sum(UsageRecord.tokens_in + UsageRecord.tokens_out), 0)


def _tally(tokens_in: Any, tokens_out: Any, calls: Any, price: float) -> Tally:
    tin, tout = int(tokens_in or 0), int(tokens_out or 0)
    return Tally(tin, tout, int(calls or 0), round((tin + tout) / 1000 * price, 4))


def _limited(session: Session, query: Select[Any], limit: int) -> tuple[list[Any], bool]:
    rows = list(session.execute(query.limit(limit + 1)).all())
    return rows[:limit], len(rows) > limit


def report(
    session: Session,
    settings: Mapping[str, Any],
    since: Month | None = None,
    until: Month | None = None,
    now: dt.datetime | None = None,
) -> UsageReport:
    """Add up usage from ``since`` to ``until`` (months, both included; None: unbounded).

    :raise 400: ``since`` is after ``until``.
    """
    if since and until and since > until:
        raise BadInput(f"'since' ({since.key}) is after 'until' ({until.key}).")
    price = float(settings.get("PRICE_PER_1K_TOKENS") or 0)
    where: list[ColumnElement[bool]] = []
    if since:
        where.append(UsageRecord.created_at >= since.start)
    if until:
        where.append(UsageRecord.created_at < until.next().start)

    tokens_in, tokens_out, calls = session.execute(select(*_sums()).where(*where)).one()
    total = _tally(tokens_in, tokens_out, calls, price)

    year = extract("year", UsageRecord.created_at)
    month = extract("month", UsageRecord.created_at)
    spent = {
        Month(int(y), int(m)): _tally(tin, tout, calls, price)
        for y, m, tin, tout, calls in session.execute(
            select(year, month, *_sums()).where(*where).group_by(year, month)
        )
    }
    by_month = []
    if spent:
        for each in months_between(since or min(spent), until or max(spent)):
            by_month.append(UsageRow(each.key, each.title, spent.get(each, _tally(0, 0, 0, price))))

    users, more_users = _limited(
        session,
        select(User.id, User.email, User.name, *_sums())
        .join(User, User.id == UsageRecord.user_id)
        .where(*where)
        .group_by(User.id, User.email, User.name)
        .order_by(_spend().desc(), User.email),
        MAX_ROWS,
    )
    by_user = [
        UsageRow(email, name or email, _tally(tin, tout, calls, price), {"user_id": user_id})
        for user_id, email, name, tin, tout, calls in users
    ]

    sites, more_sites = _limited(
        session,
        select(UsageRecord.site_id, Site.name, Site.department, *_sums())
        .outerjoin(Site, Site.id == UsageRecord.site_id)
        .where(*where)
        .group_by(UsageRecord.site_id, Site.name, Site.department)
        .order_by(_spend().desc(), UsageRecord.site_id),
        MAX_ROWS,
    )
    by_site = [
        UsageRow(
            site_id,
            name if site_id is not None else "Sites deleted since",
            _tally(tin, tout, calls, price),
            {"department": department or ""},
        )
        for site_id, name, department, tin, tout, calls in sites
    ]

    by_department = [
        UsageRow(department, department or "(none)", _tally(tin, tout, calls, price))
        for department, tin, tout, calls in session.execute(
            select(UsageRecord.department, *_sums())
            .where(*where)
            .group_by(UsageRecord.department)
            .order_by(_spend().desc(), UsageRecord.department)
        )
    ]

    budget = int(settings.get("MONTHLY_TOKEN_BUDGET") or 0)
    this_month = Month.of(now or utcnow())
    return UsageReport(
        since=since,
        until=until,
        price_per_1k=price,
        currency=str(settings.get("CURRENCY") or ""),
        budget=budget,
        this_month=this_month,
        total=total,
        by_month=by_month,
        by_user=by_user,
        by_site=by_site,
        by_department=by_department,
        near_budget=near_budget(session, budget, this_month),
        more_users=more_users,
        more_sites=more_sites,
    )


def near_budget(session: Session, budget: int, month: Month) -> list[BudgetRow]:
    """Return who spent at least 80 % of the budget in ``month``, the biggest spenders first."""
    if budget <= 0:
        return []
    rows = session.execute(
        select(User.id, User.email, User.name, _spend())
        .join(User, User.id == UsageRecord.user_id)
        .where(UsageRecord.created_at >= month.start, UsageRecord.created_at < month.next().start)
        .group_by(User.id, User.email, User.name)
        .having(_spend() >= int(budget * NEAR_BUDGET))
        .order_by(_spend().desc(), User.email)
        .limit(MAX_ROWS)
    )
    return [
        BudgetRow(user_id, email, name, int(tokens), int(tokens) >= budget)
        for user_id, email, name, tokens in rows
    ]


def report_json(usage: UsageReport) -> dict[str, Any]:
    """Describe a usage report for the API (snake_case)."""
    return {
        "since": usage.since.key if usage.since else None,
        "until": usage.until.key if usage.until else None,
        "currency": usage.currency,
        "price_per_1k_tokens": usage.price_per_1k,
        "total": usage.total.as_json(),
        "by_month": [{"month": row.key, **row.tally.as_json()} for row in usage.by_month],
        "by_user": [
            {"user_id": row.extra["user_id"], "email": row.key, "name": row.label}
            | row.tally.as_json()
            for row in usage.by_user
        ],
        "by_site": [
            {
                "site_id": row.key,
                "name": row.label if row.key is not None else None,
                "department": row.extra["department"],
            }
            | row.tally.as_json()
            for row in usage.by_site
        ],
        "by_department": [
            {"department": row.key} | row.tally.as_json() for row in usage.by_department
        ],
        "more_users": usage.more_users,
        "more_sites": usage.more_sites,
        "budget": {
            "monthly_token_budget": usage.budget,
            "month": usage.this_month.key,
            "near_or_over": [
                {
                    "user_id": row.user_id,
                    "email": row.email,
                    "name": row.name,
                    "tokens": row.tokens,
                    "over": row.over,
                }
                for row in usage.near_budget
            ],
        },
    }
