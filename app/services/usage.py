"""Token usage: recording each model call and enforcing the monthly budget.

Every model call (generation, repair, revision) adds one :class:`~app.models.UsageRecord` with
the site's department at that moment, and adds its tokens to ``Site.tokens_spent`` in the same
transaction, so the inventory sorts by spend without aggregating. The offline drafter spends
nothing. Months are calendar months in UTC. The admins' report is in
:mod:`app.services.usage_report`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.errors import BadInput, OverBudget
from app.llm import Draft
from app.models import Job, Site, UsageRecord, User, utcnow
from app.services import Deps

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in UTC."""

    year: int
    month: int

    @classmethod
    def of(cls, moment: dt.datetime | dt.date) -> Month:
        """Return the month a moment falls in."""
        return cls(moment.year, moment.month)

    @classmethod
    def parse(cls, raw: str | None, name: str) -> Month | None:
        """Parse an optional YYYY-MM query argument (empty: None).

        :raise 400: not a month like 2026-11.
        """
        if not raw or not raw.strip():
            return None
        year, _, month = raw.strip().partition("-")
        if len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit():
            if 1 <= int(month) <= 12 and int(year) >= 1900:
                return cls(int(year), int(month))
        raise BadInput(f"'{name}' is a month like 2026-11.")

    @property
    def start(self) -> dt.datetime:
        """Return midnight UTC on the first day of the month."""
        return dt.datetime(self.year, self.month, 1)

    def next(self) -> Month:
        """Return the month after this one."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        """Return the month before this one."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def key(self) -> str:
        """Return the month as YYYY-MM."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def title(self) -> str:
        """Return the month in words, like "November 2026"."""
        return f"{MONTH_NAMES[self.month - 1]} {self.year}"


def months_between(first: Month, last: Month) -> list[Month]:
    """Return every month from ``first`` to ``last``, both included."""
    months = []
    current = first
    while current <= last:
        months.append(current)
        current = current.next()
    return months


def record(deps: Deps, job: Job, draft: Draft, kind: str) -> None:
    """Record the tokens of one model call and add them to the site's total (offline: none)."""
    if draft.offline:
        return
    with deps.db.transaction() as session:
        # Added in SQL so concurrent jobs never overwrite each other's counts; spending tokens
        # is not a change to the site, so its updated_at stays.
        session.execute(
            update(Site)
            .where(Site.id == job.site_id)
            .values(
                tokens_spent=Site.tokens_spent + (draft.tokens_in + draft.tokens_out),
                updated_at=Site.updated_at,
            )
            .execution_options(synchronize_session=False)
        )
        department = session.scalar(select(Site.department).where(Site.id == job.site_id))
        session.add(
            UsageRecord(
                user_id=job.created_by_id,
                site_id=job.site_id if department is not None else None,  # purged meanwhile
                job_id=job.id,
                kind=kind,
                model=draft.model,
                tokens_in=draft.tokens_in,
                tokens_out=draft.tokens_out,
                department=department or "",
            )
        )


def tokens_spent(session: Session, user_id: int, month: Month) -> int:
    """Return the tokens (in and out) a person spent in a month."""
    spent = session.scalar(
        select(func.coalesce(func.sum(UsageRecord.tokens_in + UsageRecord.tokens_out), 0)).where(
            UsageRecord.user_id == user_id,
            UsageRecord.created_at >= month.start,
            UsageRecord.created_at < month.next().start,
        )
    )
    return int(spent or 0)


def whom_to_ask(settings: Mapping[str, Any]) -> str:
    """Name the admins to ask: their e-mails, else their group, else just "an admin"."""
    admins = [str(email) for email in settings.get("ADMINS") or []]
    if admins:
        return f"an admin ({', '.join(admins)})"
    group = str(settings.get("ADMIN_GROUP") or "")
    return f"an admin (the group {group})" if group else "an admin"


def check_budget(
    session: Session, user: User, settings: Mapping[str, Any], now: dt.datetime | None = None
) -> None:
    """Refuse new model work to a person who spent their monthly token budget (0: no limit).

    :raise 429: the budget is spent; the message says when it resets and whom to ask.
    """
    budget = int(settings.get("MONTHLY_TOKEN_BUDGET") or 0)
    if budget <= 0:
        return
    month = Month.of(now or utcnow())
    spent = tokens_spent(session, user.id, month)
    if spent < budget:
        return
    resets = month.next()
    raise OverBudget(
        f"You have used {spent:,} of your {budget:,} tokens for {month.title}. "
        f"Your budget resets on 1 {resets.title} (UTC). "
        f"Ask {whom_to_ask(settings)} to raise it."
    )
