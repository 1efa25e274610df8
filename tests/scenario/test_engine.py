"""The formula subset, the evaluator against ``formulas`` on other workbooks, the driver model,
and the planner's checks and refusals."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pandas as pd
import pytest

from app.errors import ComputeError
from app.ingest import IngestLimits, ingest
from app.scenario import crosscheck, engine
from app.scenario.formula import FormulaError, parse_formula, readable
from app.scenario.planner import ScenarioPlanner, check_model
from app.scenario.spec import driver_spec
from app.scenario.workbook import WorkbookError, compile_workbook
from tests.scenario.conftest import OUTPUTS, content_for, independent_projection


def same_sheet(name: str) -> str:
    return name


def evaluate_formula(text: str, values: dict[str, Any] | None = None) -> Any:
    node = parse_formula(text, "S", same_sheet)
    model = {"values": values or {}, "formulas": {"S!Z99": node}, "order": ["S!Z99"]}
    return engine.evaluate(model)["S!Z99"]


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("=-2^2", 4),  # negation binds tighter than ^, as in Excel
        ("=2^3^2", 64),  # ^ is left-associative in Excel
        ("=1+2*3", 7),
        ("=(1+2)*3", 9),
        ("=50%*4", 2),
        ("=10-4-3", 3),
        ("=2*A1+A2", 8),  # A2 is empty: zero
        ('="a"&"b"&1', "ab1"),
        ("=IF(A1>3,1,2)", 1),
        ('=IF(A1=4,"yes","no")', "yes"),
        ("=ROUND(2.5,0)+ROUND(-2.5,0)", 0),
        ("=SUM(A1:B1,1)", 10),
        ("=AVERAGE(A1:B1)", 4.5),
        ("=MIN(A1:B1)+MAX(A1:B1)", 9),
        ("=AND(A1>1,NOT(A1>5))", True),
        ("=IFERROR(1/0,7)", 7),
        ("=ABS(-3)", 3),
    ],
)
def test_formula_subset(formula: str, expected: Any) -> None:
    assert evaluate_formula(formula, {"S!A1": 4, "S!B1": 5}) == expected


def test_division_by_zero_is_an_error_value() -> None:
    assert evaluate_formula("=1/0") == {"error": "#DIV/0!"}


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("=VLOOKUP(A1,B1:C3,2)", "VLOOKUP"),
        ("=Churn*2", "cannot read"),
        ("=Other!A1", "does not have"),
        ("=[1]Sheet!A1", "cannot read"),
    ],
)
def test_formulas_outside_the_subset_are_refused(formula: str, message: str) -> None:
    def resolve(name: str) -> str:
        if name != "S":
            raise FormulaError(f"refers to a sheet {name!r} that the workbook does not have")
        return name

    with pytest.raises(FormulaError, match=message):
        parse_formula(formula, "S", resolve)


def test_readable_keeps_needed_brackets_only() -> None:
    node = parse_formula("=C2*(1-B4)+B3", "S", same_sheet)
    labels = {"S!C2": "customers", "S!B4": "churn", "S!B3": "new"}
    assert readable(node, labels.__getitem__) == "customers × (1 − churn) + new"
    node = parse_formula("=A1-(B1-C1)", "S", same_sheet)
    assert readable(node, lambda c: c[2:]) == "A1 − (B1 − C1)"


def workbook_bytes(cells: dict[str, dict[str, Any]]) -> bytes:
    """A workbook with the given sheet → cell → value (formulas as '=...')."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet, values in cells.items():
        ws = book.create_sheet(sheet)
        for cell, value in values.items():
            ws[cell] = value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_evaluator_agrees_with_formulas_on_every_vetted_function() -> None:
    data = workbook_bytes(
        {
            "Inputs": {"A1": 3, "A2": 4.5, "A3": -2, "A4": "label", "A5": 0.125},
            "Calc": {
                "A1": "=SUM(Inputs!A1:A3)*2",
                "A2": "=AVERAGE(Inputs!A1:A3)",
                "A3": "=MIN(Inputs!A1:A3)-MAX(Inputs!A1:A3)",
                "A4": "=ROUND(Inputs!A2/7,3)",
                "A5": "=IF(A1>10,A1*Inputs!A5,-A1)",
                "A6": "=ABS(Inputs!A3)^2+10%",
                "A7": "=IF(AND(A1>0,OR(A2<0,A3<0)),1,0)",
                "A8": "=IFERROR(A1/(Inputs!A1-3),-1)",
                "A9": "=A1-A2/A3*(A4+1)",
            },
        }
    )
    compiled = compile_workbook("check.xlsx", data, IngestLimits())
    ours = engine.evaluate(compiled.model())
    assert crosscheck.disagreements(compiled.order, data, ours) == []
    assert ours["Calc!A1"] == 11
    assert ours["Calc!A8"] == -1


def test_circular_references_are_refused() -> None:
    data = workbook_bytes({"S": {"A1": "=B1+1", "B1": "=A1*2"}})
    with pytest.raises(WorkbookError, match="circle"):
        compile_workbook("loop.xlsx", data, IngestLimits())


def test_single_scenario_sheet_is_rerun_with_each_scenarios_assumptions() -> None:
    data = workbook_bytes(
        {
            "Inputs": {
                "A1": "Driver", "B1": "Base", "C1": "High",
                "A2": "Start", "B2": 100, "C2": 100,
                "A3": "Growth", "B3": 0.1, "C3": 0.2,
            },
            "Plan": {
                "A1": "Month", "B1": "Value",
                "A2": 1, "B2": "=Inputs!B2*(1+Inputs!B3)",
                "A3": 2, "B3": "=B2*(1+Inputs!B3)",
            },
        }
    )  # fmt: skip
    planner = ScenarioPlanner()
    content = {
        "scenarios": [
            {"name": "Base", "description": "", "is_base": True},
            {"name": "High", "description": "", "is_base": False},
        ],
        "assumptions": [],
        "model": {
            "assumptions_source": "plan.xlsx#Inputs",
            "label_column": "Driver",
            "unit_column": None,
            "source_column": None,
            "projection_source": "plan.xlsx#Plan",
            "period_column": "Month",
            "scenario_column": None,
            "output_columns": ["Value"],
            "drivers": None,
            "horizon_periods": None,
            "primary_output": "Value",
        },
    }
    spec = planner.spec(content, {}, {"plan.xlsx": data})
    projected = engine.project(spec.to_json())
    assert projected["Base"]["Value"] == pytest.approx([110, 121])
    assert projected["High"]["Value"] == pytest.approx([120, 144])


def test_driver_model_matches_the_workbook_logic(
    model_bytes: bytes, assumptions: dict[str, dict[str, float]]
) -> None:
    frame = next(
        t.frame for t in ingest("model.xlsx", model_bytes).tables if t.name.endswith("Assumptions")
    )
    content = content_for(
        projection_source=None,
        period_column=None,
        scenario_column=None,
        drivers={
            "starting_customers": "Starting customers",
            "new_customers": "Monthly new customers",
            "churn": "Monthly churn",
            "price": "Price per customer",
            "gross_margin": "Gross margin",
            "fixed_costs": "Fixed costs",
        },
        horizon_periods=18,
    )
    spec = driver_spec(content, frame)
    projected = engine.project(spec.to_json())
    for scenario, values in assumptions.items():
        expected = independent_projection(values, months=18)
        for output in OUTPUTS:
            assert projected[scenario][output] == pytest.approx(expected[output], rel=1e-12)
    assert round(projected["Base"]["Operating result"][11], 2) == -100448.98


def test_driver_model_from_a_csv_renders_its_formulas() -> None:
    frame = pd.DataFrame(
        {
            "name": ["start", "new", "churn", "price", "margin", "fixed"],
            "Now": [100, 10, 0.05, 20.0, 0.5, 300],
            "Later": [100, 20, 0.04, 22.0, 0.6, 300],
        }
    )
    content = {
        "scenarios": [
            {"name": "Now", "description": "", "is_base": True},
            {"name": "Later", "description": "", "is_base": False},
        ],
        "assumptions": [{"name": "churn", "unit": "fraction", "source": "CRM", "note": None}],
        "model": {
            "assumptions_source": "drivers.csv",
            "label_column": "name",
            "unit_column": None,
            "source_column": None,
            "projection_source": None,
            "period_column": None,
            "scenario_column": None,
            "output_columns": ["Customers", "Operating result"],
            "drivers": {
                "starting_customers": "start",
                "new_customers": "new",
                "churn": "churn",
                "price": "price",
                "gross_margin": "margin",
                "fixed_costs": "fixed",
            },
            "horizon_periods": 3,
            "primary_output": "Operating result",
        },
    }
    computed = ScenarioPlanner().compute(content, {"drivers.csv": frame}, {})
    planner = computed["planner"]
    assert planner["kind"] == "drivers"
    customers = 100 * 0.95 + 10
    assert planner["outputs"][0]["rows"][0]["numbers"][0] == f"{customers:,.2f}"
    formula = planner["formulas"][0]["groups"][1]
    assert formula["readable"] == "Customers, month 1 (Now) × (1 − churn (Now)) + new (Now)"
    churn = next(row for row in planner["assumptions"] if row["name"] == "churn")
    assert churn["unit"] == "fraction" and churn["source"] == "CRM"  # from the notes


def test_check_names_each_wrong_reference() -> None:
    columns = {
        "model.xlsx#Assumptions": ["Assumption", "Base", "Optimistic", "Pessimistic", "Unit"],
        "model.xlsx#Projection": ["Month", "Scenario", "Customers", "Revenue"],
    }
    content = content_for(
        source_column="Origin", output_columns=["Customers", "Profit"], primary_output="Margin"
    )
    content["scenarios"][2]["name"] = "Worst"
    errors = check_model(content, columns)
    assert any(e.startswith("at /model/source_column: column 'Origin'") for e in errors)
    assert any(e.startswith("at /scenarios/2/name: the scenario 'Worst'") for e in errors)
    assert any(e.startswith("at /model/output_columns/1: column 'Profit'") for e in errors)
    assert any(e.startswith("at /model/primary_output") for e in errors)
    assert check_model({**content, "model": None}, columns) == []


def test_disagreeing_engines_refuse_the_version(
    model_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = crosscheck.formulas_values

    def off_by_one(data: bytes) -> dict[str, Any]:
        values = real(data)
        values["PROJECTION!F13"] += 1
        return values

    monkeypatch.setattr(crosscheck, "formulas_values", off_by_one)
    with pytest.raises(ComputeError, match="Retry") as caught:
        ScenarioPlanner().compute(content_for(), {}, {"model.xlsx": model_bytes})
    assert caught.value.details[0].startswith("Projection!F13")


def test_a_version_rendered_again_is_not_cross_checked_again(
    model_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(data: bytes) -> dict[str, Any]:
        raise AssertionError("the formula engine ran for a version rendered again")

    monkeypatch.setattr(crosscheck, "formulas_values", unreachable)
    files = {"model.xlsx": model_bytes}
    computed = ScenarioPlanner().compute(content_for(), {}, files, verify=False)
    assert computed["planner"] is not None and computed["problem"] is None
    with pytest.raises(AssertionError, match="rendered again"):
        ScenarioPlanner().compute(content_for(), {}, files)  # a new version: checked


def test_an_unusable_workbook_is_explained_on_the_page() -> None:
    data = workbook_bytes(
        {
            "Assumptions": {"A1": "Assumption", "B1": "Base", "A2": "x", "B2": 1},
            "Projection": {"A1": "Month", "B1": "Out", "A2": 1, "B2": "=OFFSET(A1,1,1)"},
        }
    )
    content = content_for(
        output_columns=["Out"], primary_output="Out", scenario_column=None, unit_column=None
    )
    content["scenarios"] = content["scenarios"][:1]
    computed = ScenarioPlanner().compute(content, {}, {"model.xlsx": data})
    assert computed["planner"] is None
    assert "OFFSET" in computed["problem"]
