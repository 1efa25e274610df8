"""The sample workbook evaluated three ways agrees cell by cell: scenario_model.js (in QuickJS),
the ``formulas`` package, and the model's logic written out by hand in the test."""

from __future__ import annotations

import math
from typing import Any

import pytest

from app.scenario import crosscheck, engine
from app.scenario.spec import workbook_spec
from app.scenario.workbook import CompiledWorkbook
from tests.scenario.conftest import (
    MONTHS,
    OUTPUTS,
    SCENARIOS,
    content_for,
    independent_projection,
    projection_cell,
)


@pytest.fixture(scope="module")
def js_values(workbook: CompiledWorkbook) -> dict[str, Any]:
    """Every cell of the sample as scenario_model.js computes it."""
    return engine.evaluate(workbook.model())


@pytest.fixture(scope="module")
def formulas_values(model_bytes: bytes) -> dict[str, Any]:
    """Every cell of the sample as the ``formulas`` package computes it."""
    return crosscheck.formulas_values(model_bytes)


def test_the_workbook_is_read_as_formulas(workbook: CompiledWorkbook) -> None:
    assert workbook.sheets == ("Assumptions", "Projection", "Notes")
    assert len(workbook.formulas) == len(SCENARIOS) * MONTHS * len(OUTPUTS)
    assert workbook.texts["Projection!C3"] == "=C2*(1-Assumptions!B4)+Assumptions!B3"
    assert workbook.values["Assumptions!C4"] == 0.015
    # Each formula comes after the cells it reads.
    position = {cell: i for i, cell in enumerate(workbook.order)}
    assert position["Projection!C2"] < position["Projection!C3"] < position["Projection!D3"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_cell_equals_the_formula_engine_and_the_hand_computation(
    scenario: str,
    js_values: dict[str, Any],
    formulas_values: dict[str, Any],
    assumptions: dict[str, dict[str, float]],
) -> None:
    expected = independent_projection(assumptions[scenario])
    for output in OUTPUTS:
        for month in range(1, MONTHS + 1):
            cell = projection_cell(scenario, output, month)
            ours = js_values[cell]
            theirs = float(formulas_values[cell.upper()])
            by_hand = expected[output][month - 1]
            assert math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-9), (cell, ours, theirs)
            assert math.isclose(ours, by_hand, rel_tol=1e-12, abs_tol=1e-9), (cell, ours, by_hand)


def test_month_12_operating_results(js_values: dict[str, Any]) -> None:
    results = {s: js_values[projection_cell(s, "Operating result", 12)] for s in SCENARIOS}
    assert {s: round(v, 2) for s, v in results.items()} == {
        "Base": -100448.98,
        "Optimistic": -16334.71,
        "Pessimistic": -224309.38,
    }


def test_no_disagreement_between_the_engines(
    workbook: CompiledWorkbook, model_bytes: bytes, js_values: dict[str, Any]
) -> None:
    assert crosscheck.disagreements(workbook.order, model_bytes, js_values) == []


def test_projection_and_what_if_follow_the_spec(
    workbook: CompiledWorkbook, assumptions: dict[str, dict[str, float]]
) -> None:
    spec = workbook_spec(content_for(), workbook)
    assert [a.name for a in spec.assumptions][:3] == [
        "Starting customers",
        "Monthly new customers",
        "Monthly churn",
    ]
    assert spec.assumptions[2].cells == {
        "Base": "Assumptions!B4",
        "Optimistic": "Assumptions!C4",
        "Pessimistic": "Assumptions!D4",
    }
    churn = [a.name for a in spec.assumptions].index("Monthly churn")
    projected = engine.project(spec.to_json(), {"Base": {str(churn): 0.03}})
    changed = independent_projection({**assumptions["Base"], "Monthly churn": 0.03})
    for output in OUTPUTS:
        assert projected["Base"][output] == pytest.approx(changed[output], rel=1e-12)
        # The other scenarios do not move.
        expected = independent_projection(assumptions["Optimistic"])[output]
        assert projected["Optimistic"][output] == pytest.approx(expected, rel=1e-12)


def test_sensitivity_moves_each_assumption_ten_percent(
    workbook: CompiledWorkbook, assumptions: dict[str, dict[str, float]]
) -> None:
    spec = workbook_spec(content_for(), workbook)
    result = engine.sensitivity(spec.to_json(), "Base", "Operating result", 0.1)
    assert result is not None
    assert result["base"] == pytest.approx(-100448.98365976935, rel=1e-12)
    base = assumptions["Base"]
    assert [row["assumption"] for row in result["rows"]] == list(base)
    for row in result["rows"]:
        for key, factor in (("low", 0.9), ("high", 1.1)):
            moved = {**base, row["assumption"]: base[row["assumption"]] * factor}
            expected = independent_projection(moved)["Operating result"][-1]
            assert row[key] == pytest.approx(expected, rel=1e-12), (row["assumption"], key)
    # Fixed costs move the result one for one: ±41,000.
    fixed = next(r for r in result["rows"] if r["assumption"] == "Fixed costs")
    assert fixed["low"] - result["base"] == pytest.approx(41000)
    assert fixed["high"] - result["base"] == pytest.approx(-41000)
