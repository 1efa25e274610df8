"""Signals: sites made per template and department, the most used, and what to keep or retire."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import Site, SiteVersion, User, utcnow
from app.services.usage import Month
from tests.conftest import Auth

ADMIN = "admin@example.com"  # in the test settings' SITEWRIGHT_ADMINS
NOW = utcnow()
DAY = dt.timedelta(days=1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# name: (owner, template, department, days since made, views, days since last view, versions, extra)
SEEDS: dict[str, tuple[str, str, str, int, int, int | None, int, dict[str, Any]]] = {
    "Popular dashboard": ("alice", "customer_review", "Sales", 200, 120, 1, 5, {}),
    "Official report": (
        "alice",
        "scenario_planner",
        "Finance",
        40,
        3,
        2,
        1,
        {
            "official_version": 1,
            "official_since": (NOW - 10 * DAY).date(),
            "official_until": (NOW + 30 * DAY).date(),
        },
    ),
    "Orphan": ("bob", "launch_hub", "Ops", 20, 5, 5, 1, {}),
    "Popular orphan": (
        "bob",
        "launch_hub",
        '<a href="https://x.test">Legal</a>',
        100,
        80,
        3,
        4,
        {},
    ),
    "Forgotten": ("alice", "customer_review", "Sales", 60, 0, None, 1, {"expires_on": -1}),
    "Idle": ("alice", "launch_hub", "Ops", 150, 2, 120, 1, {}),
    "Fresh": ("alice", "customer_review", "Sales", 0, 0, None, 1, {}),
    "Deleted": ("alice", "customer_review", "Sales", 30, 500, 1, 9, {"deleted_at": NOW}),
    "Ancient": ("alice", "customer_review", "Sales", 420, 1, 2, 1, {}),
}


@pytest.fixture
def seeded(app: Flask) -> dict[str, int]:
    """Sites with known views, versions, owners and dates (rows written directly)."""
    ids = {}
    with app.extensions["sitewright.db"].transaction() as session:
        people = {
            name: User(issuer="test", subject=name, email=f"{name}@example.com", name=name.title())
            for name in ("alice", "bob")
        }
        people["bob"].is_active, people["bob"].deactivated_at = False, NOW - 10 * DAY
        session.add_all(people.values())
        for n, (name, seed) in enumerate(SEEDS.items()):
            owner, template, department, age, views, seen, versions, fixed = seed
            extra = dict(fixed)
            made = NOW - age * DAY
            expires = NOW.date() + dt.timedelta(days=extra.pop("expires_on", 90))
            last_change = (NOW - seen * DAY) if seen is not None else made
            site = Site(
                slug=f"site-{n}",
                name=name,
                owner=people[owner],
                template=template,
                department=department,
                expires_on=expires,
                created_at=made,
                updated_at=min(made, last_change) if name == "Idle" else NOW - DAY,
                view_count=views,
                last_viewed_at=(NOW - seen * DAY) if seen is not None else None,
                latest_version=versions,
                **extra,
            )
            session.add(site)
            session.flush()
            session.add_all(
                SiteVersion(
                    site_id=site.id,
                    number=number,
                    content={},
                    template=template,
                    template_version="1",
                    instruction_kind="prompt" if number == 1 else "revision",
                    model="fake-model",
                    author_id=site.owner_id,
                    created_at=made + number * DAY,
                )
                for number in range(1, versions + 1)
            )
            ids[name] = site.id
    return ids


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def test_signals_count_sites_and_choose_candidates_with_reasons(
    app: Flask, client: FlaskClient, make_token: Callable[..., str], seeded: dict[str, int]
) -> None:
    response = client.get("/api/v1/admin/signals", headers=bearer(make_token(ADMIN)))
    assert response.status_code == 200
    body = response.get_json()

    this_month = Month.of(NOW)
    expected_months = [this_month]
    while len(expected_months) < 12:
        expected_months.insert(0, expected_months[0].previous())
    assert body["months"] == [m.key for m in expected_months]
    made: Counter[tuple[str, str, str]] = Counter()
    for seed in SEEDS.values():
        month = Month.of(NOW - seed[3] * DAY)
        if month in expected_months:
            made[(seed[1], seed[2], month.key)] += 1
    got = Counter(
        {
            (row["template"], row["department"], month): count
            for row in body["created"]
            for month, count in zip(body["months"], row["counts"], strict=True)
            if count
        }
    )
    assert got == made  # the 14-month-old site is left out; deleted sites were still made
    assert body["created"][0]["total"] == max(row["total"] for row in body["created"])

    assert names(body["most_viewed"]) == [
        "Popular dashboard",
        "Popular orphan",
        "Orphan",
        "Official report",
        "Idle",
        "Ancient",
    ]  # never the deleted site, never the unseen ones
    assert [(s["name"], s["revisions"]) for s in body["most_revised"]] == [
        ("Popular dashboard", 4),
        ("Popular orphan", 3),
    ]
    assert names(body["owner_left"]) == ["Orphan", "Popular orphan"]
    assert all(
        s["owner"] == "bob@example.com" and not s["owner_active"] for s in body["owner_left"]
    )

    maintain = {s["name"]: s["reasons"] for s in body["maintain"]}
    assert list(maintain) == ["Popular dashboard", "Popular orphan", "Official report"]
    assert maintain["Popular dashboard"][:2] == ["opened 120 times", "revised 4 times"]
    assert maintain["Popular dashboard"][2].startswith("in use for about 6 months")
    assert maintain["Official report"] == [
        f"confirmed official until {(NOW + 30 * DAY).date().isoformat()}"
    ]
    assert maintain["Popular orphan"][-1] == "its owner left: transfer it to a new owner first"

    retire = {s["name"]: s["reasons"] for s in body["retire"]}
    assert set(retire) == {"Orphan", "Forgotten", "Idle"}  # not "Fresh": too new to judge
    left_on = (NOW - 10 * DAY).date().isoformat()
    assert retire["Orphan"] == [f"its owner, bob@example.com, left on {left_on}"]
    assert retire["Forgotten"] == [
        f"expired on {(NOW - DAY).date().isoformat()}",
        f"never opened since it was made on {(NOW - 60 * DAY).date().isoformat()}",
    ]
    assert retire["Idle"] == [f"not opened or changed since {(NOW - 120 * DAY).date().isoformat()}"]
    assert body["retire"][0]["status"] in ("draft", "expired")
    forgotten = next(s for s in body["retire"] if s["name"] == "Forgotten")
    assert forgotten["status"] == "expired" and forgotten["views"] == 0
    assert forgotten["site_id"] == seeded["Forgotten"] and forgotten["last_viewed_at"] is None


def test_signals_read_views_counted_moments_ago(
    app: Flask, client: FlaskClient, make_token: Callable[..., str], seeded: dict[str, int]
) -> None:
    views = app.extensions["sitewright.deps"].views
    for _ in range(3):
        views.record(seeded["Fresh"])
    body = client.get("/api/v1/admin/signals", headers=bearer(make_token(ADMIN))).get_json()
    fresh = next(s for s in body["most_viewed"] if s["name"] == "Fresh")
    assert fresh["views"] == 3 and fresh["last_viewed_at"] is not None


def figure(html: str, name: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="figure-{name}">(.*?)</script>', html)
    assert match, f"no figure {name}"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_signals_page_has_tables_a_heatmap_and_links(
    app: Flask, client: FlaskClient, auth: Auth, seeded: dict[str, int]
) -> None:
    auth.login(ADMIN, "Admin")
    response = client.get("/admin/signals")
    assert response.status_code == 200
    assert "style-src 'self' 'unsafe-inline'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    for heading in (
        "Sites made per month",
        "Most viewed",
        "Most revised",
        "Sites whose owner left",
        "Candidates to maintain",
        "Candidates to retire",
    ):
        assert heading in html, heading
    assert "never opened since it was made on" in html and "revised 4 times" in html
    assert f'/sites/{seeded["Popular dashboard"]}"' in html  # each site links to its page
    assert f'/sites/{seeded["Deleted"]}"' not in html
    heatmap = figure(html, "created")["data"][0]
    assert heatmap["type"] == "heatmap" and len(heatmap["x"]) == 12
    assert "launch_hub · Legal" in heatmap["y"]  # markup stripped for plotly
    assert not any("<" in label for label in heatmap["y"])
    assert "&lt;a href=" in html  # and escaped in the table
    assert '<th scope="row">' in html and "<caption>" in html


@pytest.mark.browser
def test_charts_draw_in_the_browser_without_console_errors(
    app: Flask, live_server: str, page: Any, seeded: dict[str, int]
) -> None:
    from app.models import UsageRecord
    from tests.factories import browser_sign_in

    with app.extensions["sitewright.db"].transaction() as session:
        session.add(
            UsageRecord(
                user_id=session.get(Site, seeded["Orphan"]).owner_id,  # type: ignore[union-attr]
                site_id=seeded["Orphan"],
                kind="generate",
                model="fake-model",
                tokens_in=1200,
                tokens_out=300,
                department="<b>Ops</b>",
            )
        )
    browser_sign_in(page, live_server, ADMIN, "Admin")
    for path, count in (("/admin/signals", 1), ("/admin/usage", 3)):
        page.goto(f"{live_server}{path}")
        page.wait_for_selector("div.admin-plot[data-drawn=true] .main-svg", timeout=30_000)
        assert page.locator("div.admin-plot[data-drawn=true]").count() == count
        assert page.errors == [], (path, page.errors)
    # plotly would draw <b> as a bold tspan: the department's markup was stripped first
    assert page.locator("div.admin-plot .ytick text", has_text="Ops").count() >= 1
    assert page.locator('div.admin-plot tspan[style*="bold"]').count() == 0
