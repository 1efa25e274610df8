"""The sweep: expire, warn idle, disable idle, purge deleted; each once, however often it runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app.access import State, state_of
from app.db import Database
from app.models import (
    Annotation,
    AuditEvent,
    Grant,
    Job,
    Notice,
    Site,
    SiteVersion,
    Source,
    UsageRecord,
    User,
    utcnow,
)
from app.services import Deps, notices, workspace
from app.services.audit_log import verify
from app.services.sweep import SweepReport, sweep
from app.services.sweep_timer import SweepTimer, start_timer
from tests.conftest import SAMPLES, wait_for_jobs
from tests.factories import create_site_api

OWNER = "owner@example.com"
DAY = dt.timedelta(days=1)
SHARED_FILE = SAMPLES / "launch_hub" / "launch_plan.md"


@pytest.fixture
def settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Idle sites are disabled after 30 days, with a 14-day warning; deleted ones kept 30 days."""
    settings.update(INACTIVITY_DAYS=30, INACTIVITY_WARNING_DAYS=14, RETENTION_DAYS=30)
    return settings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(make_token: Callable[..., str]) -> str:
    """The owner's API token."""
    return make_token(OWNER)


@pytest.fixture
def make_site(
    app: Flask, client: FlaskClient, token: str, samples_dir: Path
) -> Callable[..., dict[str, Any]]:
    """Create a site through the API as the owner, wait for version 1 and publish it."""

    def make(name: str = "Atlas launch", files: list[tuple[str, bytes]] | None = None) -> Any:
        uploads = [(io.BytesIO(data), filename) for filename, data in files or []]
        created = create_site_api(
            client,
            token,
            samples_dir,
            "launch_hub",
            name=name,
            **({"files": uploads} if files is not None else {}),
        )
        assert created.status_code == 202, created.get_json()
        wait_for_jobs(app)
        site = created.get_json()["site"]
        published = client.post(
            f"/api/v1/sites/{site['id']}/publish", json={"version": 1}, headers=bearer(token)
        )
        assert published.status_code == 200, published.get_json()
        return published.get_json()

    return make


def set_site(deps: Deps, site_id: int, **values: Any) -> None:
    """Change a site's columns directly, keeping ``updated_at`` unless it is given."""
    values.setdefault("updated_at", Site.updated_at)
    with deps.db.transaction() as session:
        session.execute(update(Site).where(Site.id == site_id).values(**values))


def backdate(deps: Deps, site_id: int, days: int) -> dt.datetime:
    """Make the site's last activity ``days`` ago (made and changed then, never opened)."""
    then = utcnow() - dt.timedelta(days=days)
    set_site(deps, site_id, created_at=then, updated_at=then, last_viewed_at=None)
    return then


def load(deps: Deps, site_id: int) -> Site | None:
    with deps.db.session() as session:
        site = session.get(Site, site_id)
        if site is not None:
            session.expunge(site)
        return site


def events(deps: Deps, action: str, site_id: int) -> list[AuditEvent]:
    with deps.db.session() as session:
        query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.site_id == site_id)
        found = list(session.scalars(query.order_by(AuditEvent.id)))
        session.expunge_all()
        return found


def told(deps: Deps, site_id: int, kind: str) -> list[str]:
    """Return the messages of one kind the site's owner was told about it."""
    with deps.db.session() as session:
        query = select(Notice.message).where(Notice.site_id == site_id, Notice.kind == kind)
        return list(session.scalars(query.order_by(Notice.id)))


def total_events(deps: Deps) -> int:
    with deps.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def assert_nothing_more(deps: Deps, now: dt.datetime) -> None:
    """A second sweep at the same time does nothing and writes nothing."""
    before = total_events(deps)
    again = sweep(deps, now)
    assert again.lines() == ["Nothing to do."] and not again.acted
    assert total_events(deps) == before


def test_expiry_is_recorded_once_and_again_after_an_extension(
    client: FlaskClient, deps: Deps, make_site: Callable[..., Any], token: str
) -> None:
    site = make_site("Q3 pipeline")
    live = make_site("Still current")
    today = utcnow().date()
    set_site(deps, site["id"], expires_on=today - DAY)
    now = utcnow()

    report = sweep(deps, now)

    assert report.lines() == [f"Expired 1 site: Q3 pipeline (#{site['id']})."]
    swept = load(deps, site["id"])
    assert swept is not None and swept.expired_at == now
    assert load(deps, live["id"]).expired_at is None  # type: ignore[union-attr]
    [event] = events(deps, "site.expired", site["id"])
    assert event.actor_id is None and event.data["expires_on"] == (today - DAY).isoformat()
    [message] = told(deps, site["id"], "expired")
    assert "Q3 pipeline expired" in message and "Set a later expiry date" in message
    assert_nothing_more(deps, now)
    assert len(told(deps, site["id"], "expired")) == 1

    new_date = today + dt.timedelta(days=10)
    extended = client.patch(
        f"/api/v1/sites/{site['id']}",
        json={"expires_on": new_date.isoformat()},
        headers=bearer(token),
    )
    assert extended.status_code == 200, extended.get_json()
    assert load(deps, site["id"]).expired_at is None  # type: ignore[union-attr]
    assert_nothing_more(deps, now)
    later = now + dt.timedelta(days=11)
    assert sweep(deps, later).expired[0].id == site["id"]
    assert len(events(deps, "site.expired", site["id"])) == 2


def test_idle_site_is_warned_then_disabled_after_the_warning_period(
    deps: Deps, make_site: Callable[..., Any]
) -> None:
    site = make_site("Old dashboard")
    idle_since = backdate(deps, site["id"], days=20)  # warned after 16 idle days (30 - 14)
    now = utcnow()

    warned = sweep(deps, now)

    assert warned.lines() == [f"Warned the owners of 1 idle site: Old dashboard (#{site['id']})."]
    row = load(deps, site["id"])
    assert row is not None and row.idle_warned_at == now and row.disabled_at is None
    assert row.updated_at == idle_since  # the warning is not activity
    disable_on = (now + dt.timedelta(days=14)).date().isoformat()
    [message] = told(deps, site["id"], "idle_warning")
    assert f"before {disable_on} to keep it" in message and "an admin must enable it" in message
    [event] = events(deps, "site.idle_warned", site["id"])
    assert event.data["disable_on"] == disable_on and event.data["inactivity_days"] == 30
    assert_nothing_more(deps, now)

    assert not sweep(deps, now + dt.timedelta(days=13, hours=23)).acted  # still warning
    then = now + dt.timedelta(days=14)
    disabled = sweep(deps, then)

    assert disabled.lines() == [f"Disabled 1 idle site: Old dashboard (#{site['id']})."]
    row = load(deps, site["id"])
    assert row is not None and state_of(row) is State.DISABLED
    assert row.disabled_at == then and row.disabled_by_id is None
    assert row.disabled_reason == "Nobody opened or changed it for 30 days"
    assert row.updated_at == idle_since
    [event] = events(deps, "site.disabled", site["id"])
    assert event.actor_id is None
    assert event.data["by"] == "sweep" and event.data["reason"] == row.disabled_reason
    assert event.data["idle_since"] == idle_since.isoformat() + "Z"
    [message] = told(deps, site["id"], "disabled")
    assert "Old dashboard was disabled" in message and "ask an admin" in message
    assert_nothing_more(deps, then)
    assert len(told(deps, site["id"], "idle_warning")) == 1


def test_a_site_is_never_disabled_without_a_warning_period_first(
    deps: Deps, make_site: Callable[..., Any]
) -> None:
    site = make_site()
    backdate(deps, site["id"], days=400)
    now = utcnow()

    report = sweep(deps, now)

    assert [s.id for s in report.warned] == [site["id"]] and not report.disabled
    message = told(deps, site["id"], "idle_warning")[0]
    assert f"before {(now + dt.timedelta(days=14)).date().isoformat()}" in message
    assert not sweep(deps, now + dt.timedelta(days=13)).disabled
    assert sweep(deps, now + dt.timedelta(days=14)).disabled


def test_a_warned_site_opened_again_is_not_disabled_and_its_warning_is_reset(
    client: FlaskClient, deps: Deps, make_site: Callable[..., Any], token: str
) -> None:
    site = make_site("Launch hub")
    backdate(deps, site["id"], days=20)
    now = utcnow()
    assert sweep(deps, now).warned

    opened = client.get(f"/s/{site['slug']}/", headers=bearer(token))
    assert opened.status_code == 200
    report = sweep(deps, now + dt.timedelta(days=14))  # counts the view, then checks

    assert not report.disabled
    assert report.lines() == [
        f"Cleared the idle warning of 1 site opened or changed since it was sent: "
        f"Launch hub (#{site['id']})."
    ]
    row = load(deps, site["id"])
    assert row is not None and row.idle_warned_at is None and row.last_viewed_at is not None
    assert row.last_viewed_at > now
    with deps.db.session() as session:
        cleared = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "site.idle_warning_cleared")
        ).all()
        assert [event.site_id for event in cleared] == [site["id"]]

    # Idle again: a new warning (16 days after the view), then the full warning period.
    second = now + dt.timedelta(days=17)
    assert sweep(deps, second).warned
    assert len(told(deps, site["id"], "idle_warning")) == 2
    assert not sweep(deps, second + dt.timedelta(days=13)).disabled
    assert sweep(deps, second + dt.timedelta(days=14)).disabled


def test_no_inactivity_limit_means_idle_sites_are_left_alone(
    deps: Deps, make_site: Callable[..., Any]
) -> None:
    site = make_site()
    backdate(deps, site["id"], days=400)
    with deps.db.transaction() as session:
        actor = session.scalars(select(User).where(User.email == OWNER)).one()
        workspace.update(session, deps.settings, actor, {"inactivity_days": 0})

    assert sweep(deps, utcnow()).lines() == ["Nothing to do."]
    assert load(deps, site["id"]).idle_warned_at is None  # type: ignore[union-attr]


def hanging_rows(deps: Deps, site_id: int) -> dict[str, int]:
    """Count the site's row and the rows that hang off it, by table."""
    with deps.db.session() as session:

        def count(model: Any, column: Any) -> int:
            query = select(func.count()).select_from(model).where(column == site_id)
            return int(session.scalar(query) or 0)

        rows = {"sites": count(Site, Site.id)}
        for model in (SiteVersion, Source, Grant, Annotation, Job, Notice):
            rows[model.__tablename__] = count(model, model.site_id)
        return rows


def test_purge_removes_rows_pages_and_files_but_keeps_a_file_another_site_uses(
    client: FlaskClient, deps: Deps, make_site: Callable[..., Any], token: str
) -> None:
    shared = SHARED_FILE.read_bytes()
    gone = make_site(
        "Old launch", files=[("launch_plan.md", shared), ("mine.md", b"# Only mine\n")]
    )
    kept = make_site("New launch", files=[("launch_plan.md", shared)])
    with deps.db.transaction() as session:
        sources = {
            s.filename: s.sha256
            for s in session.scalars(select(Source).where(Source.site_id == gone["id"]))
        }
        owner_id = session.scalars(select(User.id).where(User.email == OWNER)).one()
        session.add(
            UsageRecord(
                user_id=owner_id,
                site_id=gone["id"],
                kind="generate",
                model="m",
                tokens_in=120,
                tokens_out=80,
            )
        )
        session.add(Grant(site_id=gone["id"], email="mia@example.com", role="viewer"))
        session.add(
            Annotation(
                site_id=gone["id"],
                version=1,
                path="/summary",
                body="Typo",
                author_id=owner_id,
                anchored_version=1,
            )
        )
        site_row = session.get_one(Site, gone["id"])
        notices.tell(session, owner_id, "expired", "Old launch expired.", site_row)
    assert deps.pages.exists(gone["id"], 1) and deps.blobs.exists(sources["mine.md"])
    assert all(hanging_rows(deps, gone["id"]).values())

    deleted = client.delete(f"/api/v1/sites/{gone['id']}", headers=bearer(token))
    assert deleted.status_code == 200, deleted.get_json()
    deleted_at = utcnow() - dt.timedelta(days=29)
    set_site(deps, gone["id"], deleted_at=deleted_at)
    assert not sweep(deps, utcnow()).purged  # still restorable
    now = deleted_at + dt.timedelta(days=30, seconds=1)

    report = sweep(deps, now)

    assert report.lines() == [
        f"Purged 1 deleted site: Old launch (#{gone['id']}); removed 1 uploaded files, kept 1 "
        "that other sites use."
    ]
    assert not any(hanging_rows(deps, gone["id"]).values())
    with deps.db.session() as session:
        usage = session.scalars(select(UsageRecord).where(UsageRecord.tokens_in == 120)).one()
        assert usage.site_id is None and usage.tokens_out == 80  # the numbers stay
    assert not deps.pages.exists(gone["id"], 1)
    assert not (deps.pages.root / str(gone["id"])).exists()
    assert not deps.blobs.exists(sources["mine.md"])
    assert deps.blobs.exists(sources["launch_plan.md"])  # "New launch" still uses it
    assert deps.pages.exists(kept["id"], 1)
    assert client.get(f"/s/{kept['slug']}/", headers=bearer(token)).status_code == 200

    [event] = events(deps, "site.purged", gone["id"])
    assert event.site_name == "Old launch" and event.actor_id is None
    assert event.data["blobs_deleted"] == [sources["mine.md"]]
    assert event.data["blobs_kept"] == [sources["launch_plan.md"]]
    assert event.data["versions"] == 1 and len(event.data["sources"]) == 2
    assert events(deps, "site.created", gone["id"])  # history stays readable
    with deps.db.session() as session:
        assert verify(session).ok
    assert_nothing_more(deps, now)

    # When the last site using a file goes, the file goes too.
    client.delete(f"/api/v1/sites/{kept['id']}", headers=bearer(token))
    set_site(deps, kept["id"], deleted_at=deleted_at)
    assert sweep(deps, now).files_deleted == 1
    assert not deps.blobs.exists(sources["launch_plan.md"])


def test_two_sweeps_at_once_do_the_work_once(deps: Deps, make_site: Callable[..., Any]) -> None:
    sites = [make_site(f"Site {n}") for n in range(3)]
    today = utcnow().date()
    for site in sites:
        set_site(deps, site["id"], expires_on=today - DAY)
    now = utcnow()
    reports: list[SweepReport] = []
    threads = [threading.Thread(target=lambda: reports.append(sweep(deps, now))) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(s.id for report in reports for s in report.expired) == [s["id"] for s in sites]
    assert not any(report.failed for report in reports)
    for site in sites:
        assert len(events(deps, "site.expired", site["id"])) == 1
        assert len(told(deps, site["id"], "expired")) == 1


def test_cli_prints_what_it_did_and_then_that_there_is_nothing_to_do(
    app: Flask, deps: Deps, make_site: Callable[..., Any]
) -> None:
    site = make_site("Q3 pipeline")
    expires_on = utcnow().date() + dt.timedelta(days=5)
    set_site(deps, site["id"], expires_on=expires_on)
    runner = app.test_cli_runner()
    now = f"{(expires_on + DAY).isoformat()}T00:00"

    first = runner.invoke(args=["sweep", "--now", now])
    second = runner.invoke(args=["sweep", "--now", now])
    refused = runner.invoke(args=["sweep", "--now", "next tuesday"])

    assert first.exit_code == 0, first.output
    assert first.output == f"Expired 1 site: Q3 pipeline (#{site['id']}).\n"
    assert second.exit_code == 0 and second.output == "Nothing to do.\n"
    assert refused.exit_code == 2 and "2026-12-01T00:00" in refused.output
    assert runner.invoke(args=["sweep"]).output == "Nothing to do.\n"  # now: not yet expired


def test_the_timer_sweeps_in_the_background_and_stops(
    deps: Deps, make_site: Callable[..., Any]
) -> None:
    site = make_site()
    set_site(deps, site["id"], expires_on=utcnow().date() - DAY)
    timer = SweepTimer(deps, every_s=0.05)
    timer.start()
    try:
        deadline = time.monotonic() + 20
        while load(deps, site["id"]).expired_at is None and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.05)
    finally:
        timer.stop()
    assert load(deps, site["id"]).expired_at is not None  # type: ignore[union-attr]
    assert timer.sweeps >= 1 and not timer.running
    assert len(events(deps, "site.expired", site["id"])) == 1


def test_the_timer_logs_a_failed_sweep_and_keeps_going(
    tmp_path: Path, deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    broken = dataclasses.replace(deps, db=Database(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"))
    timer = SweepTimer(broken, every_s=0.01)
    timer.start()
    try:
        deadline = time.monotonic() + 10
        while timer.sweeps < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert timer.sweeps >= 2 and timer.running  # failed twice, still alive
    finally:
        timer.stop()
    assert not timer.running
    assert any("sweep: failed" in r.message and r.levelno == logging.ERROR for r in caplog.records)


def test_the_timer_is_off_at_zero_and_not_started_by_the_app(app: Flask, deps: Deps) -> None:
    assert not any(thread.name == "sitewright-sweep" for thread in threading.enumerate())
    assert (
        start_timer(dataclasses.replace(deps, settings={**deps.settings, "SWEEP_MINUTES": 0}))
        is None
    )
    assert deps.settings["SWEEP_MINUTES"] == 10  # the default


def test_dated_pages_are_rendered_again_once_a_day(
    deps: Deps, make_site: Callable[..., Any]
) -> None:
    site = make_site("Countdown")  # a launch hub: its page counts days to the launch
    page = deps.pages._path(site["id"], 1)
    assert deps.registry.get("launch_hub").dated  # type: ignore[union-attr]
    assert not sweep(deps).refreshed  # rendered today already

    yesterday = time.time() - 86400 * 1.5
    os.utime(page, (yesterday, yesterday))
    page.write_bytes(page.read_bytes().replace(b"days to launch", b"STALE to launch"))
    assert b"STALE" in page.read_bytes()
    os.utime(page, (yesterday, yesterday))
    report = sweep(deps)
    assert [s.id for s in report.refreshed] == [site["id"]]
    assert "Rendered 1 dated page again for today: Countdown" in report.lines()[0]
    assert b"STALE" not in page.read_bytes()
    assert not sweep(deps).acted  # once a day

    os.utime(page, (yesterday, yesterday))
    set_site(deps, site["id"], disabled_at=utcnow())  # only live, published sites
    assert not sweep(deps).refreshed
