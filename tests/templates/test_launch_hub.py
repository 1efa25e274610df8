"""A launch hub made from the samples through the loopback model: what the reader sees, and how
new notes revise it (statuses change, a decision is appended, nothing else is rewritten)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import wait_for_jobs
from tests.content.conftest import OWNER, bearer, patch_reply, version_row
from tests.factories import browser_sign_in
from tests.fakes.llm_server import FakeLLMServer
from tests.templates.conftest import (
    ReplayedModel,
    figure_json,
    make_site,
    parse,
    section,
    shoot,
    table_rows,
)

TEMPLATE = "launch_hub"
TODAY = dt.date(2026, 12, 21)  # three days after the feature freeze was due
SYNC_NOTES = b"""# Atlas Reports 2.0 - launch sync, 2026-12-21

- Feature freeze reached on 2026-12-18 as planned (Ravi Patel).
- The pen-test vendor confirmed a slot on 2027-01-04; Alicia Gomez expects the security review
  sign-off on time.
- Decided by the launch steering group today: Japanese localisation ships at GA, German follows
  in 2.1, because the translation vendor cannot deliver both before GA.
"""
NEW_DECISION = {
    "date": "2026-12-21",
    "decision": "Japanese localisation ships at GA; German follows in 2.1",
    "decided_by": "Launch steering group",
    "rationale": "The translation vendor cannot deliver both languages before GA.",
}


def decisions_csv(samples_dir: Path) -> list[dict[str, str]]:
    with (samples_dir / TEMPLATE / "decisions.csv").open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def traces(figure: dict[str, Any]) -> dict[str, list[str]]:
    """Milestone names by trace (status) name."""
    return {trace["name"]: [point[0] for point in trace["customdata"]] for trace in figure["data"]}


def test_launch_hub_from_the_samples_counts_down_and_draws_the_milestones(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    loopback_model: ReplayedModel,
) -> None:
    site = make_site(app, client, owner_token, samples_dir, TEMPLATE, TODAY)
    page = parse(site.page(1))

    assert [h.words for h in page.find("main").find_all("h2")] == [
        "Atlas Reports 2.0",
        "Milestones",
        "Owners",
        "Messaging",
        "Decisions log",
        "Risks",
        "Links",
        "Frequently asked questions",
    ]
    launch = section(page, "launch")
    facts = {d.find("dt").words: d.find("dd").words for d in launch.find("dl").children}
    assert (
        facts["Countdown"] == "51 days to launch as of 21 Dec 2026, the day this page was rendered"
    )
    assert facts["General availability"] == "10 Feb 2027"
    assert facts["Beta"] == "13 Jan 2027 opens in 23 days"

    # The timeline: one trace per status, owners in the labels, what is overdue in the hover.
    figure = figure_json(page, "timeline-milestones")
    assert traces(figure) == {
        "On track": ["Feature freeze", "Beta cohort invited (40 customers)"],
        "At risk": ["Security review sign-off"],
        "Not started": ["Pricing page live", "Sales enablement session", "Press briefing"],
    }
    at_risk = next(t for t in figure["data"] if t["name"] == "At risk")
    assert at_risk["text"] == ["<b>Security review sign-off</b><br>Alicia Gomez (Security)"]
    assert at_risk["x"] == ["2027-01-08"]
    on_track = next(t for t in figure["data"] if t["name"] == "On track")
    assert on_track["customdata"][0] == [
        "Feature freeze",
        "Due 18 Dec 2026",
        "Ravi Patel",
        "On track · overdue by 3 days",
    ]
    colours = {t["name"]: t["marker"]["color"] for t in figure["data"]}
    assert len(set(colours.values())) == 3  # a colour per status, and the legend names them
    marks = [note["text"] for note in figure["layout"]["annotations"]]
    assert marks == ["Today", "GA", "Beta"]
    assert [shape["x0"] for shape in figure["layout"]["shapes"]] == [
        "2026-12-21",
        "2027-02-10",
        "2027-01-13",
    ]
    plot = page.find("div", **{"data-figure": "timeline-milestones"})
    assert plot.attrs["role"] == "img"
    assert "2 on track, 1 at risk, 3 not started" in plot.attrs["aria-label"]

    # The same milestones as a table, the overdue one marked.
    milestones = section(page, "milestones").find("tbody").find_all("tr")
    assert [row.find("th").words for row in milestones][:2] == [
        "Feature freeze On track Overdue by 3 days",
        "Security review sign-off At risk",
    ]
    assert "overdue" in milestones[0].attrs["class"].split()
    assert "overdue" not in milestones[1].attrs["class"].split()

    # The decisions log: the rows of decisions.csv in a table made sortable by a static script.
    log = section(page, "decisions").find("table")
    assert "data-sortable" in log.attrs
    headers = log.find("thead").find_all("th")
    assert [h.words for h in headers] == [
        "Date",
        "Decision",
        "Decided by",
        "Rationale",
        "Recorded in",
    ]
    assert headers[0].attrs["data-sort-type"] == "date"
    assert all(h.attrs.get("data-sort-type") for h in headers)
    rows = table_rows(log)[1:]
    logged = decisions_csv(samples_dir)
    assert [row[1:4] for row in rows] == [
        [d["decision"], d["decided_by"], d["rationale"]] for d in logged
    ]
    assert [cell.attrs["data-sort-value"] for cell in log.find_all("td", class_="nowrap")] == [
        d["date"] for d in logged
    ]
    assert rows[2][1] == "Price Reports as an add-on (12 USD/seat/month)"
    scripts = [s.attrs["src"] for s in page.find_all("script") if s.attrs.get("src")]
    assert any(src.startswith("/static/vendor/plotly.min.js") for src in scripts)
    sortable = next(src for src in scripts if src.startswith("/static/sortable.js?v="))
    served = client.get(sortable.split("?")[0])
    served.close()
    assert served.status_code == 200 and served.mimetype == "text/javascript"

    messaging = section(page, "messaging")
    assert "Do not name the competitor." in messaging.find("div", class_="do-not-say").words
    assert "Owner: Alicia Gomez" in section(page, "risks").words


def test_new_notes_update_milestone_statuses_and_append_a_decision(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    loopback_model: ReplayedModel,
) -> None:
    site = make_site(app, client, owner_token, samples_dir, TEMPLATE, TODAY)
    loopback_model.patches.append(
        patch_reply(
            ("replace", "/milestones/0/status", "done"),
            ("replace", "/milestones/1/status", "on track"),
            ("add", "/decisions/-", NEW_DECISION),
        )
    )
    response = client.post(
        f"/api/v1/sites/{site.site_id}/revisions",
        data={
            "instruction": "Update the milestones and the decisions log from this week's sync.",
            "files": [(io.BytesIO(SYNC_NOTES), "launch_sync.md")],
        },
        content_type="multipart/form-data",
        headers=bearer(owner_token),
    )
    assert response.status_code == 202, response.get_json()
    wait_for_jobs(app)
    job = client.get(
        f"/api/v1/jobs/{response.get_json()['job']['id']}", headers=bearer(owner_token)
    )
    assert job.get_json()["status"] == "succeeded", job.get_json()

    old, new = version_row(app, site.site_id, 1), version_row(app, site.site_id, 2)
    assert new.changed_paths == ["/milestones/0/status", "/milestones/1/status", "/decisions/0"]
    assert new.content["decisions"] == [NEW_DECISION]
    untouched = set(old.content) - {"milestones", "decisions"}
    assert {k: new.content[k] for k in untouched} == {k: old.content[k] for k in untouched}

    # The model saw the revising guidance and only the sections the instruction is about.
    request = llm_server.requests[-1]
    assert request["response_format"]["json_schema"]["name"] == "json_patch"
    system, user = (m["content"] for m in request["messages"][:2])
    assert "Template guidance for revisions" in system
    assert "never remove or reword a logged decision" in system
    assert "/milestones:" in user and "/decisions:" in user
    assert "Live instead of stale" not in user and "Design spec" not in user
    assert "Japanese localisation ships at GA" in user  # the new notes, in full

    page = parse(site.page(2))
    assert traces(figure_json(page, "timeline-milestones")) == {
        "Done": ["Feature freeze"],
        "On track": ["Security review sign-off", "Beta cohort invited (40 customers)"],
        "Not started": ["Pricing page live", "Sales enablement session", "Press briefing"],
    }
    milestones = section(page, "milestones").find("tbody").find_all("tr")
    assert "overdue" not in milestones[0].attrs["class"].split()  # done, so not overdue
    rows = table_rows(section(page, "decisions").find("table"))[1:]
    assert len(rows) == len(decisions_csv(samples_dir)) + 1
    assert rows[-1] == [
        "21 Dec 2026",
        NEW_DECISION["decision"],
        NEW_DECISION["decided_by"],
        NEW_DECISION["rationale"],
        "Notes",
    ]


@pytest.mark.browser
def test_on_a_phone_the_timeline_draws_and_the_decisions_sort_by_keyboard(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    loopback_model: ReplayedModel,
    live_server: str,
    page: Any,
) -> None:
    site = make_site(app, client, owner_token, samples_dir, TEMPLATE, TODAY)
    page.set_viewport_size({"width": 390, "height": 844})
    browser_sign_in(page, live_server, OWNER, "Owner")
    page.goto(f"{live_server}/s/{site.slug}/v/1/")
    page.wait_for_selector("div.plot[data-drawn=true] .main-svg", timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, "launch_hub-phone", "launch", "milestones", "decisions")

    log = page.locator("#decisions table")
    by_whom = log.get_by_role("button", name="Decided by")
    by_whom.focus()
    page.keyboard.press("Enter")
    header = log.locator("thead th").nth(2)
    assert header.get_attribute("aria-sort") == "ascending"
    first = log.locator("tbody tr").first.locator("td").nth(2)
    assert first.inner_text() == "Launch steering group"
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    assert first.inner_text() == "Ravi Patel"
    log.get_by_role("button", name="Date").click()
    assert header.get_attribute("aria-sort") is None
    assert log.locator("tbody tr").first.locator("td").first.inner_text() == "2 Oct 2026"
    assert page.locator("#decisions [aria-live=polite]").inner_text() == (
        "Sorted by Date, ascending."
    )
    assert page.errors == []
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "launch_hub-desktop", "launch", "milestones", "decisions")
