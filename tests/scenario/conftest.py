"""The sample operating model, and an independent computation of it written from its logic."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from app.ingest import IngestLimits
from app.scenario.workbook import CompiledWorkbook, compile_workbook

SAMPLE = Path(__file__).resolve().parents[2] / "site_templates" / "scenario_planner"
MODEL_XLSX = SAMPLE / "example_files" / "model.xlsx"
SCENARIOS = ("Base", "Optimistic", "Pessimistic")
OUTPUTS = ("Customers", "Revenue", "Gross profit", "Operating result")
MONTHS = 12

MODEL_REF: dict[str, Any] = {
    "assumptions_source": "model.xlsx#Assumptions",
    "label_column": "Assumption",
    "unit_column": "Unit",
    "source_column": "Source",
    "projection_source": "model.xlsx#Projection",
    "period_column": "Month",
    "scenario_column": "Scenario",
    "output_columns": list(OUTPUTS),
    "drivers": None,
    "horizon_periods": None,
    "primary_output": "Operating result",
}


def content_for(model: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """Scenario planner content pointing at the sample workbook (the parts the planner reads)."""
    return {
        "scenarios": [
            {"name": "Base", "description": "", "is_base": True},
            {"name": "Optimistic", "description": "", "is_base": False},
            {"name": "Pessimistic", "description": "", "is_base": False},
        ],
        "assumptions": [],
        "model": {**MODEL_REF, **(model or {}), **changes},
    }


def read_assumptions(data: bytes) -> dict[str, dict[str, float]]:
    """Scenario → assumption name → value, read with openpyxl from the Assumptions sheet."""
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Assumptions"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    return {
        scenario: {str(row[0]): float(row[header.index(scenario)]) for row in rows[1:]}
        for scenario in SCENARIOS
    }


def independent_projection(a: dict[str, float], months: int = MONTHS) -> dict[str, list[float]]:
    """The model's logic written out by hand: churn, new customers, price, margin, fixed costs."""
    result: dict[str, list[float]] = {name: [] for name in OUTPUTS}
    customers = a["Starting customers"]
    for _ in range(months):
        customers = customers * (1 - a["Monthly churn"]) + a["Monthly new customers"]
        revenue = customers * a["Price per customer"]
        gross_profit = revenue * a["Gross margin"]
        result["Customers"].append(customers)
        result["Revenue"].append(revenue)
        result["Gross profit"].append(gross_profit)
        result["Operating result"].append(gross_profit - a["Fixed costs"])
    return result


def projection_cell(scenario: str, output: str, month: int) -> str:
    """The sample's Projection cell of one scenario, output and month (scenarios stacked)."""
    row = 2 + SCENARIOS.index(scenario) * MONTHS + month - 1
    return f"Projection!{'CDEF'[OUTPUTS.index(output)]}{row}"


@pytest.fixture(scope="session")
def model_bytes() -> bytes:
    """The sample workbook's bytes."""
    return MODEL_XLSX.read_bytes()


@pytest.fixture(scope="session")
def workbook(model_bytes: bytes) -> CompiledWorkbook:
    """The sample workbook, compiled."""
    return compile_workbook("model.xlsx", model_bytes, IngestLimits())


@pytest.fixture(scope="session")
def assumptions(model_bytes: bytes) -> dict[str, dict[str, float]]:
    """The sample's assumptions by scenario."""
    return read_assumptions(model_bytes)
