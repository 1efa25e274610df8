"""The admin inventory: every site with its owner, state, usage and dates; filtered, sorted,
paged, and exported as CSV that spreadsheets open as text.

The state filter is written in SQL as the mirror of :func:`app.access.state_of`, so a page of
100,000 sites is one indexed query; a test checks that both agree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session, lazyload

from app.access import State, state_of
from app.errors import BadInput
from app.models import Site, User, utcnow
from app.services.categories import CATEGORIES
from app.services.review import official_status

PER_PAGE = 50
MAX_PER_PAGE = 500
# Sort keys: the column each one orders by. A leading "-" sorts descending.
SORTS: dict[str, Any] = {
    "name": Site.name,
    "owner": User.email,
    "department": Site.department,
    "template": Site.template,
    "expires_on": Site.expires_on,
    "created_at": Site.created_at,
    "last_viewed_at": Site.last_viewed_at,
    "views": Site.view_count,
    "versions": Site.latest_version,
    "tokens_spent": Site.tokens_spent,
}
DEFAULT_SORT = "-created_at"
_UNSAFE_LEAD = ("=", "+", "-", "@", "\t", "\r", "\n")


def state_condition(state: State, today: dt.date) -> ColumnElement[bool]:
    """Return the SQL condition for sites in ``state`` (see :func:`app.access.state_of`)."""
    live = [Site.deleted_at.is_(None), Site.disabled_at.is_(None)]
    current = [*live, Site.expires_on >= today]
    online = [*current, Site.status != "unpublished", Site.published_version.is_not(None)]
    pending = Site.review_state.in_(("pending", "rejected"))
    conditions: dict[State, list[ColumnElement[bool]]] = {
        State.DELETED: [Site.deleted_at.is_not(None)],
        State.DISABLED: [Site.deleted_at.is_(None), Site.disabled_at.is_not(None)],
        State.EXPIRED: [*live, Site.expires_on < today],
        State.UNPUBLISHED: [*current, Site.status == "unpublished"],
        State.DRAFT: [*current, Site.status != "unpublished", Site.published_version.is_(None)],
        State.PENDING_REVIEW: [*online, pending],
        State.PUBLISHED: [*online, ~pending],
    }
    return and_(*conditions[state])


def _date(raw: str | None, name: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise BadInput(f"'{name}' is a date like 2026-12-31.") from None


def _number(raw: str | None, name: str, low: int, high: int) -> int | None:
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise BadInput(f"'{name}' is a whole number from {low} to {high}.") from None
    if not low <= value <= high:
        raise BadInput(f"'{name}' is a whole number from {low} to {high}.")
    return value


@dataclass(frozen=True)
class InventoryQuery:
    """Which sites to list and how: filters, sort key and page."""

    owner: str = ""  # e-mail address
    department: str = ""
    template: str = ""
    status: str = ""  # a State value; empty: every state but deleted
    category: str = ""
    expires_before: dt.date | None = None
    idle_days: int | None = None  # nobody opened or changed it for at least this many days
    search: str = ""  # part of the name
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = PER_PAGE
    site_ids: tuple[int, ...] = field(default=())  # a selection (bulk actions)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> InventoryQuery:
        """Build a query from URL arguments.

        :raise 400: an unknown status, category or sort key, or a malformed date or number.
        """
        status = (args.get("status") or "").strip()
        if status and status not in {s.value for s in State}:
            raise BadInput(
                f"Unknown status {status!r}; use one of {', '.join(s.value for s in State)}."
            )
        category = (args.get("category") or "").strip().lower()
        if category and category not in CATEGORIES:
            raise BadInput(f"Unknown category {category!r}; use one of {', '.join(CATEGORIES)}.")
        sort = (args.get("sort") or DEFAULT_SORT).strip()
        if sort.lstrip("-") not in SORTS:
            raise BadInput(f"Unknown sort {sort!r}; sort by one of {', '.join(SORTS)}.")
        return cls(
            owner=(args.get("owner") or "").strip().lower(),
            department=(args.get("department") or "").strip(),
            template=(args.get("template") or "").strip(),
            status=status,
            category=category,
            expires_before=_date(args.get("expires_before"), "expires_before"),
            idle_days=_number(args.get("idle_days"), "idle_days", 0, 36500),
            search=(args.get("q") or "").strip()[:200],
            sort=sort,
            page=_number(args.get("page"), "page", 1, 10**6) or 1,
            per_page=_number(args.get("per_page"), "per_page", 1, MAX_PER_PAGE) or PER_PAGE,
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """Return the URL arguments of this query (with changes), leaving out the defaults."""
        values = {
            "owner": self.owner,
            "department": self.department,
            "template": self.template,
            "status": self.status,
            "category": self.category,
            "expires_before": self.expires_before.isoformat() if self.expires_before else "",
            "idle_days": "" if self.idle_days is None else self.idle_days,
            "q": self.search,
            "sort": "" if self.sort == DEFAULT_SORT else self.sort,
            "page": "" if self.page == 1 else self.page,
            "per_page": "" if self.per_page == PER_PAGE else self.per_page,
            **changes,
        }
        return {key: value for key, value in values.items() if value not in ("", None)}

    def where(self, now: dt.datetime) -> list[ColumnElement[bool]]:
        """Return the SQL conditions of the filters."""
        today = now.date()
        conditions: list[ColumnElement[bool]] = []
        if self.site_ids:
            conditions.append(Site.id.in_(self.site_ids))
        if self.status:
            conditions.append(state_condition(State(self.status), today))
        elif not self.site_ids:
            conditions.append(Site.deleted_at.is_(None))
        if self.owner:
            owners = select(User.id).where(func.lower(User.email) == self.owner.lower())
            conditions.append(Site.owner_id.in_(owners.scalar_subquery()))
        if self.department:
            conditions.append(Site.department == self.department)
        if self.template:
            conditions.append(Site.template == self.template)
        if self.category:
            # Categories are a JSON list of known words; the quoted word matches exactly one.
            as_text = cast(Site.categories, String)
            conditions.append(as_text.like(f'%"{self.category}"%'))
        if self.expires_before:
            conditions.append(Site.expires_on < self.expires_before)
        if self.idle_days is not None:
            cutoff = now - dt.timedelta(days=self.idle_days)
            # updated_at starts at created_at and only moves forward, so it covers creation.
            conditions += [
                Site.updated_at < cutoff,
                or_(Site.last_viewed_at.is_(None), Site.last_viewed_at < cutoff),
            ]
        if self.search:
            pattern = "%" + self.search.replace("\\", "\\\\").replace("%", r"\%")
            pattern = pattern.replace("_", r"\_") + "%"
            conditions.append(Site.name.ilike(pattern, escape="\\"))
        return conditions

    def select(self, now: dt.datetime) -> Select[Site]:
        """Return the sorted query of matching sites (not yet paged)."""
        return self._ordered(select(Site), now).options(lazyload(Site.grants))

    def select_ids(self, now: dt.datetime) -> Select[Any]:
        """Return the sorted query of matching site ids: a page of them can come from an
        index alone, without reading the rows it skips."""
        return self._ordered(select(Site.id), now)

    def _ordered(self, query: Select[Any], now: dt.datetime) -> Select[Any]:
        key = self.sort.lstrip("-")
        column = SORTS[key]
        descending = self.sort.startswith("-")
        query = query.where(*self.where(now))
        if key == "owner":
            query = query.join(User, User.id == Site.owner_id)
        order = column.desc() if descending else column.asc()
        if key == "last_viewed_at":
            order = order.nulls_last()  # never-viewed sites last, in both directions
        tie = Site.id.desc() if descending else Site.id.asc()
        return query.order_by(order, tie)


@dataclass(frozen=True)
class InventoryPage:
    """One page of the inventory."""

    sites: list[Site]
    total: int
    query: InventoryQuery

    @property
    def pages(self) -> int:
        """Return how many pages the matching sites fill."""
        return max(1, -(-self.total // self.query.per_page))


def inventory_page(
    session: Session, query: InventoryQuery, now: dt.datetime | None = None
) -> InventoryPage:
    """Return one page of matching sites and how many match in all."""
    now = now or utcnow()
    total = session.scalar(select(func.count()).select_from(Site).where(*query.where(now))) or 0
    offset = (query.page - 1) * query.per_page
    page = query.select_ids(now).limit(query.per_page).offset(offset)
    ids: list[int] = list(session.scalars(page))
    found = session.scalars(
        select(Site).where(Site.id.in_(ids)).options(lazyload(Site.grants))
    ).all()
    by_id = {site.id: site for site in found}
    sites = [by_id[site_id] for site_id in ids if site_id in by_id]
    return InventoryPage(sites=sites, total=int(total), query=query)


def facets(session: Session) -> dict[str, list[str]]:
    """Return the departments and templates in use, for the filter menus."""
    departments = session.scalars(
        select(Site.department).where(Site.department != "").distinct().order_by(Site.department)
    )
    templates = session.scalars(select(Site.template).distinct().order_by(Site.template))
    return {"departments": list(departments), "templates": list(templates)}


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def site_row(site: Site, today: dt.date | None = None) -> dict[str, Any]:
    """Describe one site for the inventory (JSON and CSV share these fields)."""
    official = official_status(site, today)
    return {
        "id": site.id,
        "slug": site.slug,
        "name": site.name,
        "owner": site.owner.email,
        "owner_name": site.owner.name,
        "owner_active": site.owner.is_active,
        "department": site.department,
        "template": site.template,
        "status": state_of(site, today).value,
        "audience": site.audience,
        "categories": list(site.categories),
        "review_state": site.review_state,
        "official": (None if official is None else ("current" if official.current else "lapsed")),
        "official_until": official.until.isoformat() if official else None,
        "expires_on": site.expires_on.isoformat(),
        "created_at": _when(site.created_at),
        "last_viewed_at": _when(site.last_viewed_at),
        "views": site.view_count,
        "versions": site.latest_version,
        "tokens_spent": site.tokens_spent,
        "disabled_reason": site.disabled_reason if site.disabled_at else "",
    }


CSV_COLUMNS = (
    "id",
    "name",
    "owner",
    "owner_active",
    "department",
    "template",
    "status",
    "audience",
    "categories",
    "review_state",
    "official",
    "official_until",
    "expires_on",
    "created_at",
    "last_viewed_at",
    "views",
    "versions",
    "tokens_spent",
    "disabled_reason",
)


def neutralise(value: Any) -> Any:
    """Make a cell safe to open in a spreadsheet: text that a spreadsheet would run as a
    formula (starting with = + - @, a tab or a line break, even after spaces) gets a leading
    apostrophe, so it shows as text. Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    text = str(value)
    if text.lstrip(" ").startswith(_UNSAFE_LEAD):
        return "'" + text
    return text


def export_csv(
    session: Session, query: InventoryQuery, now: dt.datetime | None = None
) -> Iterator[str]:
    """Yield the CSV of every matching site (all pages), header first, in chunks.

    It starts with a byte-order mark so spreadsheets read it as UTF-8.
    """
    now = now or utcnow()
    yield "\ufeff"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = session.scalars(query.select(now).execution_options(yield_per=500))
    try:
        for count, site in enumerate(rows, start=1):
            row = site_row(site, now.date())
            writer.writerow([neutralise(row[column]) for column in CSV_COLUMNS])
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    finally:
        rows.close()
    yield buffer.getvalue()
