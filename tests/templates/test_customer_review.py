"""A customer review made from the samples through the loopback model: what the reader sees."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.content.conftest import OWNER
from tests.factories import browser_sign_in
from tests.fakes.llm_server import FakeLLMServer
from tests.templates.conftest import (
    Element,
    ReplayedModel,
    figure_json,
    make_site,
    parse,
    replay,
    section,
    shoot,
    table_rows,
)

TEMPLATE = "customer_review"
TODAY = dt.date(2026, 12, 10)  # after one next step's due date, before the others


def read_csv(samples_dir: Path, name: str) -> list[dict[str, str]]:
    with (samples_dir / TEMPLATE / name).open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def numbers_table(chart_figure: Element) -> list[list[str]]:
    """The rows of the 'numbers behind this chart' table of a chart's <figure>."""
    return table_rows(chart_figure.find("details", class_="chart-numbers").find("table"))


def test_review_from_the_samples_shows_the_files_numbers_and_the_sections(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    loopback_model: ReplayedModel,
) -> None:
    site = make_site(app, client, owner_token, samples_dir, TEMPLATE, TODAY)
    page = parse(site.page(1))
    tickets = read_csv(samples_dir, "tickets.csv")
    usage = read_csv(samples_dir, "usage.csv")

    # The named sections, in the order a reader meets them.
    headings = [h.words for h in page.find("main").find_all("h2")]
    assert headings == [
        "Northwind Logistics",
        "Usage trends",
        "Support picture",
        "Product updates that matter to them",
        "What we heard",
        "Open questions",
        "Risks",
        "Next steps",
        "Contacts",
    ]

    # Account header: contract facts as written, the renewal counted down on the render day.
    account = section(page, "account")
    facts = {d.find("dt").words: d.find("dd").words for d in account.find("dl").children}
    assert facts["Renewal"] == "31 Mar 2027 in 111 days, as of 10 Dec 2026"
    assert facts["Seats"].startswith("1,100 named users")
    assert facts["ARR"] == "412,000 USD"
    assert "Health: Needs attention" in account.words
    assert "auto-renews for 12 months" in account.words

    # Support: tickets per category split by severity, counted by the server from tickets.csv.
    support = section(page, "support")
    figures = support.find_all("figure", class_="chart")
    by_category = numbers_table(figures[0])
    severities = [s for s, _ in Counter(t["severity"] for t in tickets).most_common()]
    pairs = Counter((t["category"], t["severity"]) for t in tickets)
    categories = sorted({t["category"] for t in tickets})
    expected = [["category", *severities, "Total"]]
    for category in categories:
        counts = [pairs[(category, severity)] for severity in severities]
        expected.append([category, *map(str, counts), str(sum(counts))])
    totals = [sum(pairs[(c, severity)] for c in categories) for severity in severities]
    expected.append(["Total", *map(str, totals), str(len(tickets))])
    assert by_category == expected
    figure = figure_json(page, "fig-support_charts-0")
    assert [trace["name"] for trace in figure["data"]] == severities  # one trace per severity
    assert figure["layout"]["barmode"] == "stack"
    low = next(trace for trace in figure["data"] if trace["name"] == "low")
    assert (
        dict(zip(low["x"], low["y"], strict=True))["permissions"] == pairs[("permissions", "low")]
    )

    # Open items: tickets by status, from the same file.
    by_status = {row[0]: row[-1] for row in numbers_table(figures[1])[1:]}
    statuses = Counter(t["status"] for t in tickets)
    assert by_status == {**{s: str(n) for s, n in statuses.items()}, "Total": str(len(tickets))}
    assert statuses["open"] == 13 and statuses["pending"] == 15  # the sample's open items

    # Mean hours to first reply, computed per category.
    hours: dict[str, list[float]] = defaultdict(list)
    for t in tickets:
        hours[t["category"]].append(float(t["hours_to_first_reply"]))
    means = {row[0]: row[1] for row in numbers_table(figures[2])[1:]}
    assert means == {c: f"{round(sum(v) / len(v), 2):.6g}" for c, v in hours.items()}

    # Usage: every month of usage.csv, in the chart and in the table under it.
    usage_figure = figure_json(page, "fig-usage_charts-0")
    active = usage_figure["data"][0]
    assert active["name"] == "active_users"
    assert active["x"] == [row["month"] for row in usage]
    assert active["y"] == [int(row["active_users"]) for row in usage]
    usage_rows = numbers_table(section(page, "usage").find_all("figure", class_="chart")[0])
    assert usage_rows[0] == ["month", "active_users", "seats_purchased"]
    assert usage_rows[-1] == ["2026-11", "1,243", "1,280"]
    assert len(usage_rows) == 1 + len(usage)

    # Next steps: the one past its due date is marked overdue, as of the render day.
    steps = section(page, "next-steps")
    assert "Due dates as of 10 Dec 2026" in steps.find("caption").words
    rows = {row.find("td").words: row for row in steps.find("tbody").find_all("tr")}
    overdue = rows["Confirm the answer on EU residency for Parquet exports."]
    assert "overdue" in overdue.attrs["class"].split()
    assert overdue.words.endswith("Overdue by 5 days")
    workshop = rows["Run an adoption workshop in Rotterdam."]
    assert "class" not in workshop.attrs and workshop.words.endswith("15 Dec 2026 in 5 days")
    assert rows["Send a renewal proposal with a Hamburg expansion option."].words.endswith(
        "20 Jan 2027 in 41 days"
    )

    # The rest of the notes, and charts drawn by the static script only.
    assert "Who replaces their departing admin, Lars Becker, in January?" in page.words
    assert "No owner named yet" in section(page, "questions").words
    assert [r.words for r in section(page, "contacts").find("tbody").find_all("th")] == [
        "Priya Raman",
        "Tomás Ortega",
        "Dana Kim",
        "Lars Becker",
    ]
    sources = [s.attrs.get("src", "") for s in page.find_all("script") if s.attrs.get("src")]
    assert any(src.startswith("/static/vendor/plotly.min.js") for src in sources)
    assert not any("sortable" in src for src in sources)


def test_a_chart_naming_a_missing_column_is_sent_back_once_with_the_real_columns(
    app: Flask,
    client: FlaskClient,
    owner_token: str,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    loopback_model: ReplayedModel,
) -> None:
    wrong = replay(TEMPLATE)
    wrong["support_charts"][0]["y"] = ["severity", "status"]  # counts split by two columns
    wrong["support_charts"][1]["x"] = "priority"  # the file has no such column
    loopback_model.drafts.append(json.dumps(wrong))
    site = make_site(app, client, owner_token, samples_dir, TEMPLATE, TODAY)

    repair = llm_server.requests[-1]["messages"][-1]["content"]
    assert "at /support_charts/0/y: with aggregate 'count', y is empty or names the one" in repair
    assert "column 'priority' is not in tickets.csv" in repair
    assert "category, severity, status" in repair  # the real columns, for the repair
    page = parse(site.page(1))
    assert figure_json(page, "fig-support_charts-1")["layout"]["xaxis"]["title"]["text"] == (
        "status"
    )


@pytest.mark.browser
def test_on_a_phone_every_chart_draws_and_nothing_overflows(
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
    charts = len(replay(TEMPLATE)["usage_charts"]) + len(replay(TEMPLATE)["support_charts"])
    drawn = page.locator("div.plot[data-drawn=true]")
    drawn.nth(charts - 1).wait_for(timeout=30_000)
    assert drawn.count() == charts
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    numbers = page.locator("#usage details.chart-numbers").first
    numbers.locator("summary").click()
    assert numbers.locator("tbody tr").last.inner_text().split() == ["2026-11", "1,243", "1,280"]
    assert page.errors == []
    shoot(page, "customer_review-phone", "account", "usage", "support", "next-steps")
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "customer_review-desktop", "account", "usage", "support", "next-steps")
