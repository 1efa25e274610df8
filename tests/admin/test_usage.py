"""Usage and budgets: tokens recorded per model call, the admins' report, and the 429 budget."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import OverBudget
from app.llm import Draft
from app.models import Job, Site, SiteVersion, UsageRecord, User, utcnow
from app.services import usage, workspace
from app.services.usage import Month
from tests.conftest import Auth, csrf_from, wait_for_jobs
from tests.factories import create_site_api, create_site_ui, example_content
from tests.fakes.llm_server import FakeLLMServer

ADMIN = "admin@example.com"  # in the test settings' SITEWRIGHT_ADMINS
ALICE, BOB = "alice@example.com", "bob@example.com"
GOOD = json.dumps(example_content("customer_review"))


@pytest.fixture
def app(llm_app: Flask, llm_server: FakeLLMServer) -> Flask:
    """Every test here drafts through the loopback LLM server, which answers valid content."""
    llm_server.default_content = GOOD
    return llm_app


@pytest.fixture
def tokens(make_token: Callable[..., str]) -> dict[str, str]:
    """API tokens of two builders and an admin (creating their users)."""
    return {"alice": make_token(ALICE), "bob": make_token(BOB), "admin": make_token(ADMIN)}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def db(app: Flask) -> Iterator[Session]:
    with app.extensions["sitewright.db"].transaction() as session:
        yield session


def user_id(app: Flask, email: str) -> int:
    with db(app) as session:
        found = session.scalars(select(User.id).where(User.email == email)).first()
        assert found is not None
        return found


def configure(app: Flask, **values: Any) -> None:
    """Change workspace settings as the admin would."""
    with db(app) as session:
        admin = session.scalars(select(User).where(User.email == ADMIN)).one()
        workspace.update(session, app.config, admin, values)


def spend(
    app: Flask, email: str, tokens: int, at: dt.datetime | None = None, **fields: Any
) -> None:
    """Record tokens a person spent (rows written directly, for budgets and months)."""
    with db(app) as session:
        session.add(
            UsageRecord(
                user_id=user_id(app, email),
                kind="generate",
                model="fake-model",
                tokens_in=tokens,
                tokens_out=0,
                created_at=at or utcnow(),
                **fields,
            )
        )


def make_site(app: Flask, client: FlaskClient, token: str, samples_dir: Path, **fields: Any) -> int:
    created = create_site_api(client, token, samples_dir, **fields)
    assert created.status_code == 202, created.get_json()
    wait_for_jobs(app)
    site_id: int = created.get_json()["site"]["id"]
    return site_id


def regenerate(
    app: Flask, client: FlaskClient, token: str, site_id: int, server: FakeLLMServer
) -> None:
    """Regenerate a site from scratch; the model answers a new summary, so a version is made."""
    content = example_content("customer_review")
    content["summary"] = "Northwind renews in March; propose the Hamburg expansion."
    server.default_content = json.dumps(content)
    response = client.post(
        f"/api/v1/sites/{site_id}/revisions", json={"regenerate": True}, headers=bearer(token)
    )
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)


def version_tokens(app: Flask, site_id: int | None = None) -> tuple[int, int]:
    """Add up the tokens the versions' provenance recorded (an independent account)."""
    with db(app) as session:
        query = select(
            func.coalesce(func.sum(SiteVersion.tokens_in), 0),
            func.coalesce(func.sum(SiteVersion.tokens_out), 0),
        )
        if site_id is not None:
            query = query.where(SiteVersion.site_id == site_id)
        tokens_in, tokens_out = session.execute(query).one()
        return int(tokens_in), int(tokens_out)


def test_usage_adds_up_generations_and_revisions_by_user_site_department_and_month(
    app: Flask,
    client: FlaskClient,
    tokens: dict[str, str],
    samples_dir: Path,
    llm_server: FakeLLMServer,
) -> None:
    configure(app, price_per_1k_tokens=0.5, currency="EUR")
    sales = make_site(app, client, tokens["alice"], samples_dir, department="Sales")
    ops = make_site(app, client, tokens["bob"], samples_dir, department="Ops")
    regenerate(app, client, tokens["alice"], sales, llm_server)
    last_month = Month.of(utcnow()).previous()
    spend(app, BOB, 1000, at=last_month.start + dt.timedelta(days=2), department="Finance")

    response = client.get("/api/v1/admin/usage", headers=bearer(tokens["admin"]))
    assert response.status_code == 200
    body = response.get_json()
    sales_in, sales_out = version_tokens(app, sales)
    ops_in, ops_out = version_tokens(app, ops)
    assert sales_in > 100 and sales_out > 10  # real answers of the fake model were counted
    everything = sales_in + sales_out + ops_in + ops_out + 1000

    assert body["currency"] == "EUR" and body["price_per_1k_tokens"] == 0.5
    assert body["total"] == {
        "tokens_in": sales_in + ops_in + 1000,
        "tokens_out": sales_out + ops_out,
        "tokens": everything,
        "calls": 4,
        "cost": round(everything / 1000 * 0.5, 4),
    }
    this_month = Month.of(utcnow())
    assert [(m["month"], m["tokens"], m["calls"]) for m in body["by_month"]] == [
        (last_month.key, 1000, 1),
        (this_month.key, everything - 1000, 3),
    ]
    users = {row["email"]: row for row in body["by_user"]}
    assert users[ALICE]["tokens"] == sales_in + sales_out and users[ALICE]["calls"] == 2
    assert users[BOB]["tokens"] == ops_in + ops_out + 1000 and users[BOB]["calls"] == 2
    assert users[BOB]["cost"] == round((ops_in + ops_out + 1000) / 2000, 4)
    sites = {row["site_id"]: row for row in body["by_site"]}
    assert sites[sales]["tokens_in"] == sales_in and sites[sales]["tokens_out"] == sales_out
    assert sites[sales]["department"] == "Sales" and sites[sales]["name"] == "API customer_review"
    assert sites[None]["tokens"] == 1000 and sites[None]["name"] is None  # no site any more
    departments = {row["department"]: row["tokens"] for row in body["by_department"]}
    assert departments == {
        "Sales": sales_in + sales_out,
        "Ops": ops_in + ops_out,
        "Finance": 1000,
    }
    assert body["budget"] == {
        "monthly_token_budget": 0,
        "month": this_month.key,
        "near_or_over": [],
    }
    with db(app) as session:
        assert session.get(Site, sales).tokens_spent == sales_in + sales_out  # type: ignore[union-attr]
        kinds = session.scalars(
            select(UsageRecord.kind).where(UsageRecord.site_id == sales).order_by(UsageRecord.id)
        ).all()
        assert kinds == ["generate", "regenerate"]

    only_this_month = client.get(
        f"/api/v1/admin/usage?since={this_month.key}&until={this_month.key}",
        headers=bearer(tokens["admin"]),
    ).get_json()
    assert only_this_month["since"] == this_month.key
    assert only_this_month["total"]["tokens"] == everything - 1000
    assert [d["department"] for d in only_this_month["by_department"]] == sorted(
        ["Sales", "Ops"], key=lambda name: -departments[name]
    )


@pytest.mark.parametrize(
    "query", ["since=2026-13", "until=yesterday", "since=26-01", "since=2026-05&until=2026-04"]
)
def test_usage_refuses_bad_months(client: FlaskClient, tokens: dict[str, str], query: str) -> None:
    response = client.get(f"/api/v1/admin/usage?{query}", headers=bearer(tokens["admin"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_input"


def test_offline_spending_and_record_keep_the_site_counter_and_dates(
    app: Flask, client: FlaskClient, tokens: dict[str, str], samples_dir: Path
) -> None:
    site_id = make_site(app, client, tokens["alice"], samples_dir, department="Sales")
    with db(app) as session:
        before = session.get(Site, site_id)
        assert before is not None
        spent, updated_at = before.tokens_spent, before.updated_at
        job = session.scalars(select(Job).where(Job.site_id == site_id)).one()
        session.expunge(job)
        rows = session.scalar(select(func.count()).select_from(UsageRecord)) or 0
    deps = app.extensions["sitewright.deps"]
    usage.record(deps, job, Draft({}, "", "fake-model", 70, 30), "revise")
    usage.record(deps, job, Draft({}, "", "offline-drafter", 5, 5, offline=True), "revise")
    with db(app) as session:
        after = session.get(Site, site_id)
        assert after is not None
        assert after.tokens_spent == spent + 100
        assert after.updated_at == updated_at  # spending tokens is not a change to the site
        assert session.scalar(select(func.count()).select_from(UsageRecord)) == rows + 1
        last = session.scalars(select(UsageRecord).order_by(UsageRecord.id.desc())).first()
        assert last is not None and last.department == "Sales" and last.kind == "revise"


def test_budget_message_names_the_month_the_reset_and_the_admins(app: Flask) -> None:
    with db(app) as session:
        person = User(issuer="test", subject="p", email="p@example.com", name="P")
        session.add(person)
        session.flush()
        session.add(
            UsageRecord(
                user_id=person.id,
                kind="generate",
                model="m",
                tokens_in=12_000,
                tokens_out=345,
                created_at=dt.datetime(2026, 12, 3, 10),
            )
        )
        session.add(  # last month's tokens count for last month only
            UsageRecord(
                user_id=person.id,
                kind="generate",
                model="m",
                tokens_in=99_999,
                tokens_out=0,
                created_at=dt.datetime(2026, 11, 30, 23, 59),
            )
        )
        session.flush()
        december = dt.datetime(2026, 12, 31, 23)
        settings = {"MONTHLY_TOKEN_BUDGET": 10_000, "ADMINS": ["a@x.com", "b@x.com"]}
        with pytest.raises(OverBudget) as refused:
            usage.check_budget(session, person, settings, now=december)
        assert refused.value.status == 429
        assert refused.value.message == (
            "You have used 12,345 of your 10,000 tokens for December 2026. "
            "Your budget resets on 1 January 2027 (UTC). "
            "Ask an admin (a@x.com, b@x.com) to raise it."
        )
        group = {"MONTHLY_TOKEN_BUDGET": 10_000, "ADMINS": [], "ADMIN_GROUP": "it-admins"}
        with pytest.raises(OverBudget, match=r"Ask an admin \(the group it-admins\) to raise"):
            usage.check_budget(session, person, group, now=december)
        with pytest.raises(OverBudget, match=r"Ask an admin to raise it\.$"):
            usage.check_budget(session, person, {"MONTHLY_TOKEN_BUDGET": 12_345}, now=december)
        usage.check_budget(session, person, {"MONTHLY_TOKEN_BUDGET": 12_346}, now=december)
        usage.check_budget(session, person, {"MONTHLY_TOKEN_BUDGET": 0}, now=december)
        usage.check_budget(  # a new month: a fresh budget
            session, person, {"MONTHLY_TOKEN_BUDGET": 10_000}, now=dt.datetime(2027, 1, 1)
        )


def counts(app: Flask) -> tuple[int, int, int]:
    with db(app) as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Site, Job, UsageRecord)
        )


def test_over_budget_gets_429_through_the_api_and_nothing_is_written(
    app: Flask, client: FlaskClient, tokens: dict[str, str], samples_dir: Path
) -> None:
    site_id = make_site(app, client, tokens["alice"], samples_dir)
    configure(app, monthly_token_budget=100)
    with db(app) as session:
        spent = usage.tokens_spent(session, user_id(app, ALICE), Month.of(utcnow()))
    assert spent > 100
    with db(app) as session:  # a failed generation, to retry
        job = session.scalars(select(Job).where(Job.site_id == site_id)).one()
        job.status, job_id = "failed", job.id
    before = counts(app)

    month = Month.of(utcnow())
    expected = (
        f"You have used {spent:,} of your 100 tokens for {month.title}. "
        f"Your budget resets on 1 {month.next().title} (UTC). "
        f"Ask an admin ({ADMIN}) to raise it."
    )
    refused = [
        create_site_api(client, tokens["alice"], samples_dir),
        client.post(
            f"/api/v1/sites/{site_id}/revisions",
            json={"instruction": "Shorter summary", "regenerate": True},
            headers=bearer(tokens["alice"]),
        ),
        client.post(f"/api/v1/jobs/{job_id}/retry", headers=bearer(tokens["alice"])),
    ]
    for response in refused:
        assert response.status_code == 429, response.get_json()
        assert response.get_json()["error"] == {"code": "over_budget", "message": expected}
    assert counts(app) == before
    with db(app) as session:
        assert session.get(Job, job_id).status == "failed"  # type: ignore[union-attr]

    # The budget is per person; admins have one too.
    assert create_site_api(client, tokens["bob"], samples_dir).status_code == 202
    spend(app, ADMIN, 150)
    assert create_site_api(client, tokens["admin"], samples_dir).status_code == 429
    wait_for_jobs(app)


def test_over_budget_in_the_ui_keeps_what_was_typed(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path
) -> None:
    auth.login(ALICE, "Alice")
    created = create_site_ui(client, samples_dir)
    assert created.status_code == 303
    wait_for_jobs(app)
    site_id = int(created.location.split("/sites/")[1].split("/")[0])
    auth.login(ADMIN, "Admin", client=app.test_client())  # creates the admin's user row
    configure(app, monthly_token_budget=50)

    refused = create_site_ui(
        client, samples_dir, prompt="Kept prompt about churn", name="Kept site name"
    )
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "of your 50 tokens for" in html and "Ask an admin (admin@example.com)" in html
    assert "Kept prompt about churn" in html and "Kept site name" in html
    assert "select them again" in html  # files are never kept after a refusal

    page = client.get(f"/sites/{site_id}/revise").get_data(as_text=True)
    revise = client.post(
        f"/sites/{site_id}/revise",
        data={"csrf_token": csrf_from(page), "instruction": "Kept instruction text"},
    )
    assert revise.status_code == 429
    html = revise.get_data(as_text=True)
    assert "of your 50 tokens for" in html and "Kept instruction text" in html


def figure(html: str, name: str) -> dict[str, Any]:
    """Read one chart's figure from the JSON element of a page."""
    match = re.search(rf'<script type="application/json" id="figure-{name}">(.*?)</script>', html)
    assert match, f"no figure {name}"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_usage_page_shows_tables_and_charts_under_a_narrow_csp(
    app: Flask, client: FlaskClient, auth: Auth, tokens: dict[str, str]
) -> None:
    spend(app, ALICE, 4321, department="<b>Sales</b>")
    spend(app, BOB, 1234, department="Ops")
    configure(app, price_per_1k_tokens=2, currency="EUR", monthly_token_budget=4000)
    auth.login(ADMIN, "Admin")
    response = client.get("/admin/usage")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self';" in csp
    html = response.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*(?:src=|type=\"application/json\"))", html) == []
    assert "/static/vendor/plotly.min.js" in html and "admin_charts.js" in html
    for text in ("4,321", "1,234", "5,555", "8.64 EUR", "11.11 EUR", "&lt;b&gt;Sales&lt;/b&gt;"):
        assert text in html, text
    assert "People who spent 80 % or more" in html and 'pill-failed">over budget' in html
    departments = figure(html, "departments")
    labels = departments["data"][0]["y"]
    assert labels == ["Sales", "Ops"] and departments["data"][0]["x"] == [4321, 1234]
    assert figure(html, "months")["data"][1]["name"] == "Tokens out"
    assert '<th scope="col" class="num">Tokens in</th>' in html and "<caption>" in html

    bad = client.get("/admin/usage?since=2026-1")
    assert bad.status_code == 400 and "a month like 2026-11" in bad.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/usage", "/admin/signals"])
def test_members_cannot_open_the_usage_pages(
    client: FlaskClient, auth: Auth, tokens: dict[str, str], path: str
) -> None:
    api = client.get(f"/api/v1{path}", headers=bearer(tokens["alice"]))
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "forbidden"
    assert client.get(f"/api/v1{path}").status_code == 401
    auth.login(ALICE, "Alice")
    assert client.get(path).status_code == 403


def test_openapi_describes_usage_and_signals(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert "429" not in document["paths"]["/admin/usage"]["get"]["responses"]
    assert {"Usage", "Signals", "SiteSignal"} <= set(document["components"]["schemas"])
    assert "get" in document["paths"]["/admin/signals"]


def test_a_queued_job_is_checked_again_when_it_starts(
    app: Flask, client: FlaskClient, tokens: dict[str, str], samples_dir: Path
) -> None:
    from app.services.generation import run_generation

    site_id = make_site(app, client, tokens["alice"], samples_dir)
    with db(app) as session:
        first = session.scalars(select(Job).where(Job.site_id == site_id)).one()
        queued = Job(
            id="queued-before-the-budget-ran-out",
            site_id=site_id,
            kind="generate",
            prompt=first.prompt,
            source_ids=list(first.source_ids),
            created_by_id=first.created_by_id,
        )
        session.add(queued)
    configure(app, monthly_token_budget=100)  # Alice's first site already spent more
    before = version_tokens(app, site_id)

    run_generation(app.extensions["sitewright.deps"], "queued-before-the-budget-ran-out")

    with db(app) as session:
        job = session.get_one(Job, "queued-before-the-budget-ran-out")
        assert job.status == "failed" and job.error is not None
        assert "of your 100 tokens" in job.error
    assert version_tokens(app, site_id) == before  # the model was not called


def test_whoever_retries_a_job_spends_their_own_budget(
    app: Flask, client: FlaskClient, tokens: dict[str, str], samples_dir: Path
) -> None:
    site_id = make_site(app, client, tokens["alice"], samples_dir)
    share = client.put(
        f"/api/v1/sites/{site_id}/sharing",
        json={"audience": "people", "grants": [{"email": BOB, "role": "editor"}]},
        headers=bearer(tokens["alice"]),
    )
    assert share.status_code == 200, share.get_json()
    with db(app) as session:
        job = session.scalars(select(Job).where(Job.site_id == site_id)).one()
        job.status, job_id = "failed", job.id
    configure(app, monthly_token_budget=100)
    spend(app, BOB, 150)  # Bob is over; Alice is over too (her first draft)

    refused = client.post(f"/api/v1/jobs/{job_id}/retry", headers=bearer(tokens["bob"]))
    assert refused.status_code == 429
    assert "You have used 150 of your 100 tokens" in refused.get_json()["error"]["message"]

    configure(app, monthly_token_budget=10**9)
    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=bearer(tokens["bob"]))
    assert retried.status_code == 202, retried.get_json()
    wait_for_jobs(app)
    alice, bob = user_id(app, ALICE), user_id(app, BOB)
    with db(app) as session:
        assert session.get_one(Job, job_id).created_by_id == bob
        charged = session.scalars(
            select(UsageRecord.user_id).where(UsageRecord.job_id == job_id)
        ).all()
        assert set(charged) == {alice, bob}
