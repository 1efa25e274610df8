"""A scenario planner made from the shared samples, drafted through the loopback LLM server.

The model's answer is a replay of realistic output (replays/scenario_planner.json); every number a
reader sees is computed by the server from model.xlsx, and the what-if panel recomputes with the
same evaluator.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.compute import COMPUTES
from app.models import SiteVersion, Source
from app.render import SiteRenderer
from app.scenario import crosscheck, engine
from app.scenario.planner import ScenarioPlanner
from app.scenario.view import output_text
from app.services.pages import render_version
from app.site_template import load_registry
from app.template_check import example_context, example_tables, page_problems
from tests.conftest import Auth, wait_for_jobs
from tests.factories import browser_sign_in, create_site_ui
from tests.fakes.llm_server import FakeLLMServer
from tests.templates.conftest import shoot

REPLAY = Path(__file__).parent / "replays" / "scenario_planner.json"
# ``app`` is the application drafting through the loopback model (tests/templates/conftest.py).


def generate(
    app: Flask, client: FlaskClient, auth: Auth, samples_dir: Path, llm_server: FakeLLMServer
) -> dict[str, Any]:
    """Make a scenario planner site from the samples; return the job's final status."""
    llm_server.default_content = REPLAY.read_text("utf-8")
    auth.login()
    created = create_site_ui(client, samples_dir, "scenario_planner")
    assert created.status_code == 303, created.get_data(as_text=True)
    wait_for_jobs(app)
    status: dict[str, Any] = client.get(created.location + "/status").get_json()
    return status


def visible_text(page: str) -> str:
    """What a reader sees: tags and JSON data blocks removed, entities decoded, spaces collapsed."""
    page = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


def horizon_row(page: str, output: str) -> list[str]:
    """The values of one output in the 'at the horizon' table, scenario by scenario."""
    table = re.search(r'<table class="data-table sp-horizon".*?</table>', page, flags=re.S)
    assert table, "the projections table is missing"
    row = re.search(
        rf'<th scope="row">{re.escape(output)}</th>(.*?)</tr>', table.group(0), flags=re.S
    )
    assert row, f"no row for {output}"
    return re.findall(r'<span class="sp-value">([^<]*)</span>', row.group(1))


def test_site_from_the_samples_shows_the_workbooks_numbers(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    samples_dir: Path,
    llm_server: FakeLLMServer,
) -> None:
    status = generate(app, client, auth, samples_dir, llm_server)
    assert status["status"] == "succeeded", status
    request = json.dumps(llm_server.requests[0]["messages"])
    assert "model.xlsx#Projection" in request and "history.csv" in request

    page = client.get(status["preview_url"]).get_data(as_text=True)
    text = visible_text(page)
    assert horizon_row(page, "Operating result") == ["-100,448.98", "-16,334.71", "-224,309.38"]
    assert horizon_row(page, "Customers")[0] == "4,459.10"
    for scenario in ("Base", "Optimistic", "Pessimistic"):
        assert f'<th scope="col">{scenario}</th>' in page
    # The assumptions side by side, with unit, source, cell and delta from the base.
    assert "Monthly churn fraction 0.021 Assumptions!B4 0.015 −0.006 (−28.6 %)" in text
    assert "Last 12 months average" in text
    # One chart per output, one line per scenario.
    figures = re.findall(
        r'<script type="application/json" id="sp-figure-(\d+)">(.*?)</script>', page
    )
    assert len(figures) == 4
    for _, figure in figures:
        names = [trace["name"] for trace in json.loads(figure)["data"]]
        assert names == ["Base", "Optimistic", "Pessimistic"]
    # The workbook's formulas, readable, with the cells they use.
    assert "As written in the workbook: =C2*(1-Assumptions!B4)+Assumptions!B3" in text
    assert (
        "Customers, Month 2 (Base) = Customers, Month 1 (Base) × (1 − Monthly churn (Base)) "
        "+ Monthly new customers (Base)"
    ) in text
    assert "Assumptions!B4 Monthly churn (Base)" in text
    # Sensitivity: a tornado figure and its numbers; fixed costs −10 % / +10 % move it ±41,000.
    tornado = re.search(r'id="sp-figure-tornado">(.*?)</script>', page, flags=re.S)
    assert tornado
    bars = json.loads(tornado.group(1))["data"]
    assert [b["type"] for b in bars] == ["bar", "bar"]
    assert {b["orientation"] for b in bars} == {"h"}
    assert "Fixed costs -59,448.98 +41,000.00 (+40.8 %) -141,448.98 −41,000.00 (−40.8 %)" in text
    # What-if: labelled inputs, a reset, and the note that nothing is saved.
    assert '<label for="sp-input-2">Monthly churn</label>' in page
    assert "Reset to the saved values" in text
    assert "What-if changes are not saved." in text
    assert "/static/scenario_model.js" in page and "new Function" not in page


def test_engines_disagreeing_fails_the_job_and_keeps_the_inputs(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planner = COMPUTES["scenario_planner"]
    assert isinstance(planner, ScenarioPlanner)
    monkeypatch.setattr(planner, "_checked", OrderedDict())  # no earlier verdict
    real = crosscheck.formulas_values

    def drifted(data: bytes) -> dict[str, Any]:
        values = real(data)
        values["PROJECTION!F13"] -= 0.5
        return values

    monkeypatch.setattr(crosscheck, "formulas_values", drifted)
    status = generate(app, client, auth, samples_dir, llm_server)
    assert status["status"] == "failed"
    assert "formula engine" in status["error"] and "Retry" in status["error"]
    with app.extensions["sitewright.db"].transaction() as session:
        assert session.scalar(select(func.count()).select_from(SiteVersion)) == 0
        assert session.scalar(select(func.count()).select_from(Source)) == 2


def test_a_page_rendered_again_does_not_run_the_cross_check_again(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status = generate(app, client, auth, samples_dir, llm_server)
    assert status["status"] == "succeeded", status
    planner = COMPUTES["scenario_planner"]
    assert isinstance(planner, ScenarioPlanner)
    monkeypatch.setattr(planner, "_checked", OrderedDict())  # as in a process started since

    def unreachable(data: bytes) -> dict[str, Any]:
        raise AssertionError("the formula engine ran again")

    monkeypatch.setattr(crosscheck, "formulas_values", unreachable)
    deps = app.extensions["sitewright.deps"]
    with app.extensions["sitewright.db"].transaction() as session:
        version = session.scalars(select(SiteVersion)).one()
        before = deps.pages.read(version.site_id, version.number)
        render_version(deps, version.site, version)  # as a rename or the daily refresh does
        assert deps.pages.read(version.site_id, version.number) == before


@pytest.mark.browser
def test_what_if_recomputes_like_the_server_and_resets(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    samples_dir: Path,
    llm_server: FakeLLMServer,
    live_server: str,
    page: Any,
) -> None:
    status = generate(app, client, auth, samples_dir, llm_server)
    assert status["status"] == "succeeded", status
    browser_sign_in(page, live_server, "builder@example.com", "Builder")
    page.goto(live_server + status["preview_url"])
    page.wait_for_selector("#sp-figure-tornado ~ div.sp-plot[data-drawn]")
    result = page.locator("#sp-result-value-3")  # Operating result at month 12
    assert result.inner_text() == "-100,448.98"

    # What the server computes for Base with monthly churn at 0.03, by the same evaluator.
    spec = json.loads(page.locator("#sp-model").text_content())["spec"]
    churn = [a["name"] for a in spec["assumptions"]].index("Monthly churn")
    expected = engine.project(spec, {"Base": {str(churn): 0.03}})["Base"]["Operating result"][-1]

    box = page.locator(f"#sp-input-{churn}")
    box.focus()
    box.fill("0.03")
    page.keyboard.press("Tab")
    assert result.inner_text() == output_text(expected)
    assert result.inner_text() != "-100,448.98"
    assert "not saved" in page.locator("#sp-whatif-status").inner_text()
    shoot(page, "scenario_planner", "assumptions", "projections", "sensitivity", "what-if")
    drawn = page.evaluate(
        "document.querySelector('[data-sp-figure=\"sp-figure-3\"]').data.map(t => t.name)"
    )
    assert drawn[-1] == "Base (what-if)"

    page.locator("#sp-whatif-reset").press("Enter")  # keyboard only
    assert result.inner_text() == "-100,448.98"
    assert box.input_value() == "0.021"
    assert page.errors == []


def test_example_renders_with_its_workbook() -> None:
    root = Path(__file__).resolve().parents[2] / "site_templates"
    template = load_registry(root).get("scenario_planner")
    assert template is not None
    files = {p.name: p.read_bytes() for p in (template.folder / "example_files").glob("*.xlsx")}
    page = SiteRenderer(root).render(
        template, template.example, example_context(), example_tables(template), files
    )
    assert [str(p) for p in page_problems(page, template, template.example)] == []
    assert horizon_row(page, "Operating result") == ["-100,448.98", "-16,334.71", "-224,309.38"]
    # Without the workbook the page says why there are no numbers instead of failing.
    bare = SiteRenderer(root).render(
        template, template.example, example_context(), example_tables(template)
    )
    assert "The numbers could not be computed" in visible_text(bare)
    assert "sp-model" not in bare
