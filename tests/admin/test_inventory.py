"""The admin inventory: filters, sorting, pages, views counted, CSV that opens as text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import State, state_of
from app.models import Site, User, utcnow
from app.services import inventory
from tests.conftest import Auth, csrf_from
from tests.governance.conftest import Api

ADMIN = "admin@example.com"
TODAY = dt.date.today()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.extensions["sitewright.db"].session() as db:
        yield db


def _user(session: Session, email: str, active: bool = True) -> User:
    user = User(issuer="test", subject=email, email=email, name=email.split("@")[0])
    user.is_active = active
    session.add(user)
    session.flush()
    return user


def _site(session: Session, owner: User, name: str, **values: Any) -> Site:
    fields: dict[str, Any] = {
        "slug": name.lower().replace(" ", "-").replace("=", "").replace('"', "")[:60]
        + f"-{owner.id}-{len(name)}",
        "name": name,
        "owner_id": owner.id,
        "department": "Sales",
        "template": "launch_hub",
        "expires_on": TODAY + dt.timedelta(days=30),
        "categories": [],
        "status": "published",
        "published_version": 1,
        "latest_version": 1,
        "review_state": "not_required",
    }
    fields.update(values)
    site = Site(**fields)
    session.add(site)
    session.flush()
    return site


@pytest.fixture
def seeded(session: Session) -> dict[str, Site]:
    """Sites in every state, two owners (one left), three departments."""
    ana, ben = _user(session, "ana@example.com"), _user(session, "ben@example.com", active=False)
    now = utcnow()
    sites = {
        "published": _site(
            session, ana, "Pipeline", view_count=40, last_viewed_at=now, tokens_spent=900
        ),
        "draft": _site(
            session, ana, "Budget", status="draft", published_version=None, department="Finance"
        ),
        "pending": _site(
            session, ben, "Customer list", categories=["customer"], review_state="pending"
        ),
        "unpublished": _site(session, ben, "Launch", status="unpublished", department="Ops"),
        "expired": _site(session, ana, "Old plan", expires_on=TODAY - dt.timedelta(days=1)),
        "disabled": _site(session, ben, "Payroll", disabled_at=now, categories=["employee"]),
        "deleted": _site(session, ana, "Gone", deleted_at=now),
        "formula": _site(session, ana, '=HYPERLINK("http://x","y")', department="+Ops"),
    }
    session.commit()
    return sites


def _names(page: inventory.InventoryPage) -> list[str]:
    return [site.name for site in page.sites]


def test_the_state_filter_in_sql_agrees_with_the_access_policy(
    session: Session, seeded: dict[str, Site]
) -> None:
    everything = session.scalars(select(Site)).all()
    now = utcnow()
    for state in State:
        query = inventory.InventoryQuery(status=state.value)
        listed = {site.id for site in inventory.inventory_page(session, query, now).sites}
        expected = {site.id for site in everything if state_of(site, now.date()) is state}
        assert listed == expected, state
    assert {State.DELETED, State.PENDING_REVIEW, State.EXPIRED} <= {
        state_of(site) for site in everything
    }


def test_filters_sort_and_pages(session: Session, seeded: dict[str, Site]) -> None:
    page = inventory.inventory_page(session, inventory.InventoryQuery())
    assert page.total == 7  # every site but the deleted one
    by = inventory.InventoryQuery
    assert _names(inventory.inventory_page(session, by(owner="BEN@example.com", sort="name"))) == [
        "Customer list",
        "Launch",
        "Payroll",
    ]
    assert _names(inventory.inventory_page(session, by(department="Finance"))) == ["Budget"]
    assert _names(inventory.inventory_page(session, by(category="employee"))) == ["Payroll"]
    assert _names(inventory.inventory_page(session, by(search="PIPE"))) == ["Pipeline"]
    assert _names(inventory.inventory_page(session, by(search="%"))) == []
    soon = TODAY + dt.timedelta(days=2)
    assert _names(inventory.inventory_page(session, by(expires_before=soon))) == ["Old plan"]
    top = inventory.inventory_page(session, by(sort="-views"))
    assert _names(top)[0] == "Pipeline"
    viewed = inventory.inventory_page(session, by(sort="last_viewed_at"))
    assert _names(viewed)[0] == "Pipeline"  # never-viewed sites come last either way
    idle = inventory.inventory_page(session, by(idle_days=0), utcnow() + dt.timedelta(days=1))
    assert "Pipeline" in _names(idle)
    assert _names(inventory.inventory_page(session, by(idle_days=30))) == []

    names = [
        _names(inventory.inventory_page(session, by(sort="name", per_page=3, page=n)))
        for n in (1, 2, 3)
    ]
    assert [len(chunk) for chunk in names] == [3, 3, 1]
    flat = list(itertools.chain(*names))
    assert flat == sorted(flat) and len(set(flat)) == 7
    assert inventory.inventory_page(session, by(per_page=3)).pages == 3


@pytest.mark.parametrize(
    "args",
    [
        {"status": "lost"},
        {"category": "gossip"},
        {"sort": "colour"},
        {"expires_before": "soon"},
        {"idle_days": "-1"},
        {"page": "0"},
    ],
)
def test_bad_filters_say_what_is_accepted(
    api: Callable[..., Api], args: dict[str, str], seeded: dict[str, Site]
) -> None:
    query = "&".join(f"{key}={value}" for key, value in args.items())
    response = api(ADMIN).get(f"/api/v1/admin/sites?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_input"


def test_the_api_lists_rows_with_every_column(
    api: Callable[..., Api], seeded: dict[str, Site]
) -> None:
    body = api(ADMIN).get("/api/v1/admin/sites?status=disabled").get_json()
    assert body["total"] == 1 and body["pages"] == 1
    (row,) = body["sites"]
    assert row["name"] == "Payroll" and row["owner"] == "ben@example.com"
    assert row["owner_active"] is False and row["status"] == "disabled"
    for column in inventory.CSV_COLUMNS:
        assert column in row


def test_csv_export_neutralises_formulas_in_every_cell(
    client: FlaskClient, api: Callable[..., Api], seeded: dict[str, Site]
) -> None:
    admin = api(ADMIN)
    with client.get(
        "/api/v1/admin/sites?format=csv&sort=name",
        headers={"Authorization": f"Bearer {admin.token}"},
    ) as response:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        text = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 7
    formula = next(row for row in rows if "HYPERLINK" in row["name"])
    assert formula["name"] == '\'=HYPERLINK("http://x","y")'
    assert formula["department"] == "'+Ops"
    for row in rows:
        for value in row.values():
            assert not value.lstrip(" ").startswith(("=", "+", "@", "\t", "\r")), row
            assert not (value.startswith("-") and not value.lstrip("-").isdigit()), row


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("  =1+1", "'  =1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("\tTab", "'\tTab"),
        ("Plain", "Plain"),
        (-5, -5),
        (True, "yes"),
        (None, ""),
        (["customer", "finance"], "customer, finance"),
    ],
)
def test_neutralise(value: Any, expected: Any) -> None:
    assert inventory.neutralise(value) == expected


def test_the_inventory_page_filters_sorts_and_exports(
    client: FlaskClient, auth: Auth, seeded: dict[str, Site]
) -> None:
    auth.login(ADMIN, "Ada Admin")
    html = client.get("/admin/sites?sort=name&per_page=3").get_data(as_text=True)
    assert "Sites 1–3 of 7" in html and "Page 1 of 3" in html
    assert 'aria-sort="ascending"' in html
    assert "&#34;" in html or "&quot;" in html  # the formula name is escaped, not markup
    filtered = client.get("/admin/sites?status=disabled").get_data(as_text=True)
    assert "Payroll" in filtered and "Pipeline" not in filtered
    bad = client.get("/admin/sites?status=lost").get_data(as_text=True)
    assert "Unknown status" in bad
    with client.get("/admin/sites?format=csv&department=%2BOps") as exported:
        assert exported.mimetype == "text/csv"
        assert "'+Ops" in exported.get_data(as_text=True)


def test_views_are_counted_and_shown(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    api: Callable[..., Api],
    make_site: Callable[..., dict[str, Any]],
) -> None:
    site = make_site(api("owner@example.com"), audience="workspace")
    auth.login("member@example.com")
    for _ in range(3):
        assert client.get(f"/s/{site['slug']}/").status_code == 200
    with app.extensions["sitewright.db"].session() as session:
        before = session.get(Site, site["id"])
        assert before is not None and before.view_count == 0  # counted in memory first
        updated_at = before.updated_at
    row = api(ADMIN).get("/api/v1/admin/sites").get_json()["sites"][0]  # flushes the counts
    assert row["views"] == 3 and row["last_viewed_at"] is not None
    with app.extensions["sitewright.db"].session() as session:
        after = session.get(Site, site["id"])
        assert after is not None and after.updated_at == updated_at  # a view is not a change


def test_views_are_not_saved_from_a_request_that_holds_the_write_lock(
    app: Flask, client: FlaskClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    deps = app.extensions["sitewright.deps"]
    monkeypatch.setattr(deps.views, "_flush_every_s", 0.0)
    flushed: list[bool] = []
    original = deps.views.flush
    monkeypatch.setattr(deps.views, "flush", lambda db: flushed.append(True) or original(db))
    auth.login(ADMIN, "Ada Admin")
    deps.views.record(1)
    flushed.clear()
    page = client.get("/admin/settings").get_data(as_text=True)  # a read: flushes
    assert flushed == [True]
    deps.views.record(1)
    flushed.clear()
    # A POST that answers after reading again still holds its write transaction: no flush.
    bad = client.post(
        "/admin/settings", data={"csrf_token": csrf_from(page), "retention_days": "x"}
    )
    assert bad.status_code == 400
    assert flushed == []
    client.get("/admin/settings")
    assert flushed == [True]
