"""Offline pages from the sample sets: computed numbers, charts from the tables, fill-in prompts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from app.ingest import IngestedFile, Table
from app.llm.offline import OfflineDrafter
from app.render import PageContext, SiteRenderer
from tests.test_offline_drafter import TEMPLATES, draft, read, render, template


@pytest.fixture(scope="module")
def samples() -> Path:
    """The shared sample files, next to the repository."""
    path = Path(__file__).resolve().parents[2] / "shared" / "samples"
    if not path.is_dir():
        pytest.skip(f"shared samples not found at {path}; the page tests read them")
    return path


def render_with_workbooks(name: str, folder: Path) -> str:
    """Draft offline from a sample folder; render with the workbooks' bytes, as the server does."""
    spec, files = template(name), read(folder)
    content = draft(spec, files)
    context = PageContext(
        site={
            "name": "Offline draft",
            "owner_name": "Ann",
            "owner_email": "",
            "department": "",
            "expires_on": "2027-06-30",
            "data_source_note": "",
            "purpose": "",
        },
        version={
            "number": 1,
            "created_at": "2026-11-24 10:00",
            "model": "offline-drafter",
            "offline": True,
            "author": "Ann",
        },
    )
    frames = {t.name: t.frame for f in files for t in f.tables}
    workbooks = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix == ".xlsx"}
    return SiteRenderer(TEMPLATES).render(spec, content, context, frames, workbooks)


def test_offline_scenario_page_shows_the_computed_model(samples: Path) -> None:
    html = render_with_workbooks("scenario_planner", samples / "scenario_planner")
    assert "-100,448.98" in html  # Base, month 12, operating result: the workbook's formulas
    assert "the formulas of model.xlsx" in html
    for name in ("Base", "Optimistic", "Pessimistic"):
        assert f'<th scope="col">{name}</th>' in html
    assert 'id="sensitivity"' in html and 'id="what-if"' in html
    assert "To fill in: how the model works" in html


ASSUMPTIONS = pd.DataFrame(
    {
        "Driver": [
            "Starting customers",
            "Monthly new customers",
            "Monthly churn",
            "Price per customer",
            "Gross margin",
            "Fixed costs",
        ],
        "Low": [1000, 10, 0.03, 50, 0.7, 60000],
        "Base case": [1000, 20, 0.02, 55, 0.75, 50000],
        "High": [1000, 30, 0.01, 60, 0.8, 50000],
    }
)


def test_assumptions_csv_fills_the_driver_model() -> None:
    spec = template("scenario_planner")
    files = [IngestedFile("drivers.csv", "table", [Table("drivers.csv", ASSUMPTIONS)], None)]
    content = draft(spec, files)
    model = content["model"]
    assert model["projection_source"] is None and model["horizon_periods"] == 12
    assert model["drivers"]["new_customers"] == "Monthly new customers"
    assert model["drivers"]["starting_customers"] == "Starting customers"
    assert model["primary_output"] == "Operating result"
    names = [(s["name"], s["is_base"]) for s in content["scenarios"]]
    assert names == [("Base case", True), ("Low", False), ("High", False)]
    html = render(spec, content, files)
    assert "the vetted driver model" in html


def test_a_table_without_drivers_leaves_the_model_null() -> None:
    frame = ASSUMPTIONS.assign(Driver=[f"Thing {i}" for i in range(6)])
    files = [IngestedFile("plan.csv", "table", [Table("plan.csv", frame)], None)]
    spec = template("scenario_planner")
    assert OfflineDrafter().draft_content(spec.spec, "", files)["model"] is None


def test_offline_customer_review_page(samples: Path) -> None:
    html = render_with_workbooks("customer_review", samples / "customer_review")
    for number in ("1,243", "1,280", "295,834"):  # usage.csv, in the charts' tables
        assert number in html
    assert "Bar chart of count by category" in html  # tickets.csv
    assert "Northwind Logistics" in html and "412,000 USD" in html
    assert "adoption workshop in Rotterdam" in html
    assert "To fill in: one or two plain sentences that justify the status" in html


def test_offline_launch_hub_page(samples: Path) -> None:
    html = render_with_workbooks("launch_hub", samples / "launch_hub")
    assert "Security review sign-off" in html and "Alicia Gomez (Security)" in html
    assert "Drop the desktop app from GA scope" in html  # decisions.csv
    assert "Live instead of stale" in html  # messaging.md list
    assert "40 beta customers" in html
    assert "Not found in the uploaded files" not in html
