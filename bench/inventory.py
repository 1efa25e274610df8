"""Benchmark the admin inventory on 100,000 sites, on SQLite and PostgreSQL.

What is measured
    For each representative inventory query (a filter, a sort key and a page), the median wall
    time of what the inventory page does: ``inventory_page(session, query, now)`` (its COUNT, the
    paged SELECT with the owner joined, the grants loaded with the sites) plus ``site_row`` for
    each row, in a fresh session each run.

What it is compared with
    The baseline is the cheapest way to fetch the same rows: ``SELECT * FROM sites WHERE id IN
    (<the ids of that page>)`` through the primary key index, in the same kind of session, rows
    materialised. The printed ratio, page / baseline, is what the filter, sort, paging and COUNT
    cost on top of fetching the page. Both are timed in the same run, interleaved, on the same
    database, so the ratio stays meaningful on a shared, noisy machine where absolute milliseconds
    do not; speed targets are checked by this script, never by timing asserts in the tests.

    A third column, ``orm ms``, loads the same ids as ORM ``Site`` objects and builds the rows:
    the floor that ORM loading and rendering alone set. When page / orm is near 1 the SQL is
    cheap and the rest of the ratio is Python; when it is high the query plan is the problem
    (see ``--explain``).

The data
    2,000 users (some deactivated, owning skewed numbers of sites) and 100,000 sites spread over
    12 departments, the 3 templates, draft/published/unpublished, review states, JSON category
    lists, two years of creation dates, 30% never viewed, some disabled, deleted and expired,
    plus their grants; the same seeded data on both databases, inserted with Core executemany in
    chunks, then analysed (``ANALYZE`` on SQLite, ``VACUUM ANALYZE`` on PostgreSQL, the steady
    state autovacuum keeps).

Run (from the repository root, with the project's virtualenv)::

    .venv/bin/python bench/inventory.py                     # both databases, 100,000 sites
    .venv/bin/python bench/inventory.py --db sqlite --sites 20000 --repeat 5
    .venv/bin/python bench/inventory.py --explain           # also print each query's plan
    .venv/bin/python bench/inventory.py --sql "CREATE INDEX ix_try ON sites (name, id)"
                                            # try an index (prefix sqlite: or postgresql:)

PostgreSQL comes from ``SITEWRIGHT_BENCH_POSTGRES_URL`` or ``SITEWRIGHT_TEST_POSTGRES_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); the benchmark works in a new
schema that it drops at the end. When PostgreSQL is unreachable it says so and runs SQLite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Measure the code beside this script, not whatever copy of ``app`` happens to be installed.
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from alembic import command  # noqa: E402
from sqlalchemy import create_engine, event, insert, select, text  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402

from app.cli import alembic_config  # noqa: E402
from app.db import Database  # noqa: E402
from app.models import Base, Site  # noqa: E402
from app.services.inventory import InventoryQuery, inventory_page, site_row  # noqa: E402

TABLES = Base.metadata.tables
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SEED = 20261124
CHUNK = 5_000
USERS = 2_000
REVIEWERS = 20  # users 1..20 review; user 1 is also the admin who disables sites

DEPARTMENTS = {
    "Sales": 16,
    "Engineering": 14,
    "Customer Success": 12,
    "Marketing": 10,
    "Finance": 9,
    "Operations": 8,
    "Product": 8,
    "Data": 6,
    "People": 5,
    "Legal": 4,
    "IT": 4,
    "Procurement": 3,
}
TEMPLATES = {"customer_review": 45, "scenario_planner": 35, "launch_hub": 20}
# Each category independently, with this probability (about 45% of sites have none).
CATEGORY_ODDS = {
    "customer": 0.33,
    "finance": 0.22,
    "employee": 0.12,
    "legal": 0.07,
    "security": 0.06,
}
FIRST = "ana ben chloe dev emma farid grace hugo ines jon kim leo mia nora omar raj sara".split()
LAST = "adams baker chen diaz evans fischer garcia hansen ito jones khan lopez meyer novak".split()
TOPICS = (
    "Quarterly Regional Global Customer Pricing Pipeline Churn Hiring Launch Budget Forecast "
    "Incident Vendor Partner Roadmap Capacity Renewal Onboarding Compliance Expansion"
).split()
KINDS = "review dashboard planner tracker report hub scenarios summary brief scorecard".split()


@dataclass(frozen=True)
class Owner:
    id: int
    email: str
    department: str


@dataclass(frozen=True)
class Case:
    label: str
    query: InventoryQuery


@dataclass(frozen=True)
class Result:
    database: str
    label: str
    rows: int
    total: int
    page_ms: float
    baseline_ms: float
    orm_ms: float


# --- seeding ---------------------------------------------------------------------------------


def _between(
    rng: random.Random, start: dt.datetime, end: dt.datetime, skew: float = 1.0
) -> dt.datetime:
    """A time between start and end; skew > 1 leans towards end."""
    fraction: float = 1 - rng.random() ** skew
    return start + (end - start) * fraction


def make_users(now: dt.datetime) -> tuple[list[dict[str, Any]], list[Owner], list[float]]:
    """Return the user rows, the owners and each owner's cumulative weight (Zipf-like)."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible sample data, not secrets
    departments = list(DEPARTMENTS)
    weights = list(DEPARTMENTS.values())
    rows: list[dict[str, Any]] = []
    owners: list[Owner] = []
    for user_id in range(1, USERS + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}{user_id}@example.com"
        department = "" if rng.random() < 0.03 else rng.choices(departments, weights)[0]
        created = now - dt.timedelta(days=rng.uniform(30, 1100))
        active = user_id <= REVIEWERS or rng.random() > 0.06
        rows.append(
            {
                "id": user_id,
                "issuer": "https://idp.example.com",
                "subject": f"sub-{user_id:06d}",
                "email": email,
                "name": f"{first.title()} {last.title()}",
                "is_active": active,
                "created_at": created,
                "last_login_at": _between(rng, created, now, 3) if rng.random() < 0.95 else None,
                "deactivated_at": None if active else _between(rng, created, now, 2),
                "deactivation_reason": "" if active else "No longer in the identity provider.",
            }
        )
        owners.append(Owner(user_id, email, department))
    # A few people own hundreds of sites, most own a handful: weight 1 / rank^0.6.
    ranks = list(range(1, USERS + 1))
    rng.shuffle(ranks)
    cumulative: list[float] = []
    running = 0.0
    for rank in ranks:
        running += rank**-0.6
        cumulative.append(running)
    return rows, owners, cumulative


def make_sites(
    count: int, owners: list[Owner], cumulative: list[float], now: dt.datetime
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Yield each site row with its grant rows; the same data on every call."""
    rng = random.Random(SEED + 1)  # noqa: S311 - reproducible sample data
    departments = list(DEPARTMENTS)
    department_weights = list(DEPARTMENTS.values())
    templates = list(TEMPLATES)
    template_weights = list(TEMPLATES.values())
    inactive = [owner.id for owner in owners if owner.id > REVIEWERS][:50]
    today = now.date()
    for site_id in range(1, count + 1):
        owner = rng.choices(owners, cum_weights=cumulative)[0]
        department = owner.department
        if rng.random() < 0.1:
            department = rng.choices(departments, department_weights)[0]
        created = now - dt.timedelta(seconds=rng.uniform(0, 730 * 86400))
        topic, kind = rng.choice(TOPICS), rng.choice(KINDS)
        name = f"{topic} {kind} {rng.choice(('', department, 'FY' + str(created.year)))}".strip()
        roll = rng.random()
        status = "draft" if roll < 0.25 else "published" if roll < 0.9 else "unpublished"
        if status == "draft":
            latest, published = rng.randint(0, 2), None
        else:
            latest = min(60, 1 + int(rng.expovariate(1 / 4)))
            published = rng.randint(1, latest)
        categories = [c for c, odds in CATEGORY_ODDS.items() if rng.random() < odds]
        review_state = "not_required"
        if categories:
            if status == "draft":
                review_state = rng.choice(("pending", "not_required"))
            else:
                review_state = rng.choices(
                    ("approved", "pending", "rejected", "not_required"), (75, 15, 5, 5)
                )[0]
        reviewed = review_state in ("approved", "rejected")
        reviewer = rng.randint(1, REVIEWERS)
        reviewed_at = _between(rng, created, now) if reviewed else None
        official = review_state == "approved" and rng.random() < 0.1
        official_since = (reviewed_at or created).date() if official else None
        never_viewed = rng.random() < (0.6 if status == "draft" else 0.2)  # 30% overall
        last_viewed = None if never_viewed else _between(rng, created, now, 3)
        expires_on = today + dt.timedelta(days=rng.randint(-45, 365))  # about 11% expired
        disabled = rng.random() < 0.02
        deleted = rng.random() < 0.03
        transferred = rng.random() < 0.01
        idle = last_viewed is None or last_viewed < now - dt.timedelta(days=180)
        audience = rng.choices(("owner", "workspace", "people", "groups"), (40, 35, 20, 5))[0]
        yield (
            {
                "id": site_id,
                "slug": f"{topic.lower()}-{kind}-{site_id}",
                "name": name,
                "owner_id": owner.id,
                "department": department,
                "template": rng.choices(templates, template_weights)[0],
                "purpose": f"{topic} {kind} for the {department or 'whole'} team.",
                "expires_on": expires_on,
                "data_source_note": "" if rng.random() < 0.7 else "Exported from the CRM.",
                "categories": categories,
                "audience": audience,
                "status": status,
                "latest_version": latest,
                "published_version": published,
                "created_at": created,
                "updated_at": _between(rng, created, now, 2),
                "review_state": review_state,
                "review_note": "Remove the salary column." if review_state == "rejected" else "",
                "reviewed_by_id": reviewer if reviewed else None,
                "reviewed_at": reviewed_at,
                "official_version": published if official else None,
                "official_since": official_since,
                "official_until": (
                    official_since + dt.timedelta(days=180) if official_since else None
                ),
                "official_by_id": reviewer if official else None,
                "unpublished_at": _between(rng, created, now) if status == "unpublished" else None,
                "disabled_at": _between(rng, created, now) if disabled else None,
                "disabled_reason": "Customer data shared too widely." if disabled else "",
                "deleted_at": _between(rng, created, now) if deleted else None,
                "disabled_by_id": 1 if disabled else None,
                "view_count": 0 if last_viewed is None else int(rng.lognormvariate(3, 1.5)),
                "last_viewed_at": last_viewed,
                "tokens_spent": latest * rng.randint(2_000, 12_000),
                "expired_at": (
                    dt.datetime.combine(expires_on, dt.time(3)) + dt.timedelta(days=1)
                    if expires_on < today
                    else None
                ),
                "idle_warned_at": now - dt.timedelta(days=rng.randint(1, 20))
                if idle and rng.random() < 0.3
                else None,
                "transferred_at": _between(rng, created, now) if transferred else None,
                "transferred_from_id": rng.choice(inactive) if transferred else None,
            },
            list(_grants(rng, site_id, audience, owners)),
        )


def _grants(
    rng: random.Random, site_id: int, audience: str, owners: list[Owner]
) -> Iterator[dict[str, Any]]:
    """Grants of a site shared with people or groups (ids, role and dates added later)."""
    if audience == "people":
        for owner in rng.sample(owners, rng.randint(1, 3)):
            yield {"site_id": site_id, "email": owner.email, "group_name": ""}
    elif audience == "groups":
        for group in rng.sample(sorted(DEPARTMENTS), rng.randint(1, 2)):
            yield {"site_id": site_id, "email": "", "group_name": group.lower().replace(" ", "-")}


def seed(db: Database, sites: int, now: dt.datetime, extra_sql: list[str]) -> tuple[Owner, float]:
    """Fill the database, run ``extra_sql`` (trial indexes), analyse; return the heaviest owner
    and the seconds it took."""
    started = time.perf_counter()
    users, owners, cumulative = make_users(now)
    writer = db.engine.execution_options(sitewright_write=True)
    with writer.begin() as connection:
        for start in range(0, len(users), CHUNK):
            connection.execute(insert(TABLES["users"]), users[start : start + CHUNK])
    site_chunk: list[dict[str, Any]] = []
    grant_chunk: list[dict[str, Any]] = []
    grant_id = 0

    def flush() -> None:
        with writer.begin() as connection:
            connection.execute(insert(TABLES["sites"]), site_chunk)
            if grant_chunk:
                connection.execute(insert(TABLES["grants"]), grant_chunk)
        site_chunk.clear()
        grant_chunk.clear()

    for site, grants in make_sites(sites, owners, cumulative, now):
        site_chunk.append(site)
        for grant in grants:
            grant_id += 1
            grant_chunk.append(
                {
                    **grant,
                    "id": grant_id,
                    "role": "viewer",
                    "created_at": site["created_at"],
                    "created_by_id": site["owner_id"],
                }
            )
        if len(site_chunk) >= CHUNK:
            flush()
    if site_chunk:
        flush()
    if extra_sql:
        with writer.begin() as connection:
            for statement in extra_sql:
                connection.exec_driver_sql(statement)
    analyse(db)
    heaviest = max(
        range(len(owners)), key=lambda i: cumulative[i] - (cumulative[i - 1] if i else 0)
    )
    return owners[heaviest], time.perf_counter() - started


def analyse(db: Database) -> None:
    """Give the planner statistics, as a database in service has them."""
    if db.is_sqlite:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        return
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("VACUUM ANALYZE users, sites, grants")


# --- measuring -------------------------------------------------------------------------------


def cases(sites: int, heaviest: Owner) -> list[Case]:
    """The representative inventory pages."""
    deep = max(1, min(1000, int(sites * 0.95) // 50))
    return [
        Case(
            "(a) dept=Sales, published, -last_viewed_at",
            InventoryQuery(department="Sales", status="published", sort="-last_viewed_at"),
        ),
        Case(f"(b) no filter, name, page {deep}", InventoryQuery(sort="name", page=deep)),
        Case("(c) category=finance, -views", InventoryQuery(category="finance", sort="-views")),
        Case(
            "(d) owner (heaviest), -created_at",
            InventoryQuery(owner=heaviest.email, sort="-created_at"),
        ),
        Case("(e) search 'forecast', -created_at", InventoryQuery(search="forecast")),
        Case("(f) idle 180 days, sort owner", InventoryQuery(idle_days=180, sort="owner")),
    ]


def run_page(db: Database, query: InventoryQuery, now: dt.datetime) -> tuple[list[int], int]:
    """What the inventory page does: the page query and its rendered rows."""
    with db.session() as session:
        page = inventory_page(session, query, now)
        rows = [site_row(site, now.date()) for site in page.sites]
    return [row["id"] for row in rows], page.total


def run_baseline(db: Database, ids: list[int]) -> int:
    """The same rows by primary key, as plain rows."""
    sites = TABLES["sites"]
    with db.session() as session:
        rows = session.execute(select(sites).where(sites.c.id.in_(ids))).all()
    return len(rows)


def run_orm(db: Database, ids: list[int], now: dt.datetime) -> int:
    """The same rows by primary key, as ORM objects rendered like the page."""
    with db.session() as session:
        loaded = session.scalars(select(Site).where(Site.id.in_(ids))).all()
        rows = [site_row(site, now.date()) for site in loaded]
    return len(rows)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def measure(db: Database, name: str, case: Case, repeat: int, now: dt.datetime) -> Result:
    """Median times of the page, its baseline and its ORM floor, interleaved run by run."""
    ids, total = run_page(db, case.query, now)  # warm-up (caches, compiled statements)
    if run_baseline(db, ids) != len(ids) or run_orm(db, ids, now) != len(ids):
        raise SystemExit(f"{name} {case.label}: the baseline did not return the page's rows")
    page, baseline, orm = [], [], []
    for _ in range(repeat):
        page.append(_timed(lambda: run_page(db, case.query, now)))
        baseline.append(_timed(lambda: run_baseline(db, ids)))
        orm.append(_timed(lambda: run_orm(db, ids, now)))
    return Result(
        name,
        case.label,
        len(ids),
        total,
        statistics.median(page),
        statistics.median(baseline),
        statistics.median(orm),
    )


def explain(db: Database, case: Case, now: dt.datetime) -> None:
    """Print the plan of each SELECT the page runs, with the parameters it really used."""
    captured: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.session() as session:
            inventory_page(session, case.query, now)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    print(f"\n=== {case.label}")
    with db.engine.connect() as connection:
        for statement, parameters in captured:
            flat = " ".join(statement.split())
            head, _, tail = flat.partition(" FROM ")
            if not tail.startswith("sites"):  # the loads that follow the page: grants, groups
                print(f"--- also ran: {flat[:140]}...")
                continue
            if len(head) > 60:
                head = "SELECT sites.*, users_1.*"
            print(f"--- {head} FROM {tail}"[:600])
            print(f"    parameters: {str(parameters)[:200]}")
            for line in plan(connection, db.is_sqlite, statement, parameters):
                print("    " + line)


def print_statistics(db: Database) -> None:
    """Print what SQLite's planner knows of each sites index (sqlite_stat1: rows, then the
    average rows per key prefix). It holds averages only, so a value shared by most rows,
    such as deleted_at IS NULL, looks as selective as any other."""
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'sites' ORDER BY idx"
        ).all()
    print("\nsqlite_stat1 for sites (rows, average rows per key):")
    for index, stat in rows:
        print(f"    {index:<28} {stat}")


def plan(connection: Connection, is_sqlite: bool, statement: str, parameters: Any) -> list[str]:
    """Return the query plan as lines: EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PG."""
    if is_sqlite:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return lines
    rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
    return [row[0] for row in rows]


# --- databases -------------------------------------------------------------------------------


def bench_database(name: str, url: str, args: argparse.Namespace, now: dt.datetime) -> list[Result]:
    """Migrate, seed, measure (and explain) one database."""
    started = time.perf_counter()
    command.upgrade(alembic_config(url), "head")
    schema_s = time.perf_counter() - started
    db = Database(url)
    try:
        extra = [
            sql.split(":", 1)[1] if sql.startswith(("sqlite:", "postgresql:")) else sql
            for sql in args.sql
            if not sql.startswith(("sqlite:", "postgresql:")) or sql.startswith(name + ":")
        ]
        heaviest, seed_s = seed(db, args.sites, now, extra)
        for statement in extra:
            print(f"{name}: after seeding ran: {statement}")
        print(
            f"{name}: schema {schema_s:.1f} s, seeded {args.sites:,} sites and {USERS:,} users "
            f"(with grants, then analysed) in {seed_s:.1f} s",
            flush=True,
        )
        results = []
        for case in cases(args.sites, heaviest):
            results.append(measure(db, name, case, args.repeat, now))
            print(f"  measured {case.label}", flush=True)
        if args.explain:
            if db.is_sqlite:
                print_statistics(db)
            for case in cases(args.sites, heaviest):
                explain(db, case, now)
            print()
        return results
    finally:
        db.dispose()


def bench_sqlite(args: argparse.Namespace, now: dt.datetime) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="sitewright-bench-") as folder:
        return bench_database("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args, now)


def bench_postgresql(args: argparse.Namespace, now: dt.datetime) -> list[Result]:
    base = os.environ.get("SITEWRIGHT_BENCH_POSTGRES_URL") or os.environ.get(
        "SITEWRIGHT_TEST_POSTGRES_URL", DEFAULT_PG_URL
    )
    if base in ("", "0", "off"):
        print("postgresql: skipped: no URL (SITEWRIGHT_TEST_POSTGRES_URL is off)")
        return []
    admin = create_engine(base, connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        print(f"postgresql: skipped: {base} is unreachable ({type(error).__name__})")
        admin.dispose()
        return []
    schema = "bench_" + secrets.token_hex(4)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    joiner = "&" if "?" in base else "?"
    try:
        return bench_database(
            "postgresql", f"{base}{joiner}options=-csearch_path%3D{schema}", args, now
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def print_table(results: list[Result]) -> None:
    header = (
        f"{'database':<11}{'query':<44}{'rows':>5}{'total':>8}"
        f"{'page ms':>10}{'base ms':>9}{'ratio':>8}{'orm ms':>9}{'page/orm':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.database:<11}{r.label:<44}{r.rows:>5}{r.total:>8}"
            f"{r.page_ms:>10.2f}{r.baseline_ms:>9.2f}{r.page_ms / r.baseline_ms:>7.1f}x"
            f"{r.orm_ms:>9.2f}{r.page_ms / r.orm_ms:>9.1f}x"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100_000, help="sites to seed")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per query")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--explain", action="store_true", help="print each page query's plan")
    parser.add_argument(
        "--sql",
        action="append",
        default=[],
        metavar="STATEMENT",
        help="run after seeding, before ANALYZE, to try an index (repeatable); "
        "prefix 'sqlite:' or 'postgresql:' to run it on one database only",
    )
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    started = time.perf_counter()
    results: list[Result] = []
    for name, bench in (("sqlite", bench_sqlite), ("postgresql", bench_postgresql)):
        if args.db in (name, "both"):
            try:
                results += bench(args, now)
            except Exception as error:  # noqa: BLE001 - report it, keep the other database's
                print(f"{name}: failed: {type(error).__name__}: {error}".splitlines()[0])
    print(
        f"\nmedian of {args.repeat} runs after one warm-up; ratio = page / base "
        "(the same rows by primary key); page/orm = page / the same rows as ORM objects"
    )
    print_table(results)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
