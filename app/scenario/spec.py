"""The planner spec: which cells are each scenario's assumptions and outputs.

The model (LLM) names tables and columns in the content's ``model`` object; the server finds
the cells. A workbook spec points into the workbook's own formulas; a driver spec is a vetted
model built here, of the same JSON kind, so one evaluator serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from app.ingest.frames import cell_text
from app.scenario.formula import Node, cell_id
from app.scenario.workbook import CompiledWorkbook

DRIVER_OUTPUTS = ("Customers", "Revenue", "Gross profit", "Operating result")
DRIVER_KEYS = (
    "starting_customers",
    "new_customers",
    "churn",
    "price",
    "gross_margin",
    "fixed_costs",
)
MAX_PERIODS = 60


class SpecProblem(ValueError):
    """The content's model references do not lead to usable cells; the message says which."""


@dataclass
class Assumption:
    """One assumption: its name, unit, source and the cell holding it in each scenario."""

    name: str
    unit: str | None
    source: str | None
    cells: dict[str, str]  # scenario → cell


@dataclass
class Output:
    """One output: its cells per scenario, one per period."""

    name: str
    cells: dict[str, list[str]]


@dataclass
class PlannerSpec:
    """Everything the evaluator and the page need to know about one model."""

    kind: str  # "workbook" or "drivers"
    model: dict[str, Any]  # values, formulas, order
    scenarios: list[dict[str, Any]]  # {"name", "overrides"}, base first
    base: str
    assumptions: list[Assumption]
    outputs: list[Output]
    periods: dict[str, list[str]]  # scenario → period labels
    period_name: str
    primary: str
    labels: dict[str, str] = field(default_factory=dict)  # cell → words for the page
    texts: dict[str, str] = field(default_factory=dict)  # cell → formula as written
    source: str = ""  # where the numbers come from, in words

    def to_json(self) -> dict[str, Any]:
        """Return what ``scenario_model.js`` takes."""
        return {
            "model": self.model,
            "scenarios": self.scenarios,
            "assumptions": [{"name": a.name, "cells": a.cells} for a in self.assumptions],
            "outputs": [{"name": o.name, "cells": o.cells} for o in self.outputs],
        }

    def label(self, cell: str) -> str:
        """Return the words for a cell, or its address."""
        return self.labels.get(cell, cell)


def scenario_names(content: Mapping[str, Any]) -> tuple[list[str], str]:
    """Return the scenario names with the base first, and the base's name."""
    names = [str(s["name"]) for s in content["scenarios"]]
    bases = [str(s["name"]) for s in content["scenarios"] if s["is_base"]]
    base = bases[0] if bases else names[0]
    return [base, *[n for n in names if n != base]], base


def _header(grid: dict[tuple[int, int], Any], sheet: str) -> tuple[int, dict[str, int]]:
    """Find a sheet's header row (its first filled row) and each heading's column."""
    if not grid:
        raise SpecProblem(f"the sheet {sheet!r} is empty")
    row = min(r for r, _ in grid)
    columns: dict[str, int] = {}
    for (r, c), value in sorted(grid.items()):
        if r == row:
            columns.setdefault(cell_text(value).strip(), c)
    return row, columns


def _column(columns: dict[str, int], name: str | None, sheet: str) -> int:
    if name is None or name not in columns:
        raise SpecProblem(f"the sheet {sheet!r} has no column {name!r}")
    return columns[name]


def _is_text(value: Any) -> bool:
    return isinstance(value, str | bool)


def _sheet_of(source: str, workbook: CompiledWorkbook) -> str:
    filename, _, sheet = source.partition("#")
    if filename != workbook.filename or sheet not in workbook.sheets:
        raise SpecProblem(f"{source!r} is not a sheet of {workbook.filename}")
    return sheet


def workbook_spec(content: Mapping[str, Any], workbook: CompiledWorkbook) -> PlannerSpec:
    """Point the content's model references at the workbook's cells."""
    ref = content["model"]
    names, base = scenario_names(content)
    sheet = _sheet_of(ref["assumptions_source"], workbook)
    grid = workbook.grid[sheet]
    header_row, columns = _header(grid, sheet)
    label_col = _column(columns, ref["label_column"], sheet)
    scenario_cols = {name: _column(columns, name, sheet) for name in names}
    unit_col = columns.get(ref["unit_column"]) if ref["unit_column"] else None
    source_col = columns.get(ref["source_column"]) if ref["source_column"] else None
    labels: dict[str, str] = {}
    assumptions = []
    for row in sorted({r for r, _ in grid if r > header_row}):
        label = cell_text(grid.get((row, label_col))).strip()
        cells = {name: cell_id(sheet, row, col) for name, col in scenario_cols.items()}
        if not label or any((row, col) not in grid for col in scenario_cols.values()):
            continue
        if any(_is_text(workbook.values.get(cell)) for cell in cells.values()):
            continue  # a row of words (a heading, a note) is not an assumption
        unit = cell_text(grid.get((row, unit_col))).strip() if unit_col else ""
        source = cell_text(grid.get((row, source_col))).strip() if source_col else ""
        assumptions.append(Assumption(label, unit or None, source or None, cells))
        labels.update({cell: f"{label} ({name})" for name, cell in cells.items()})
    if not assumptions:
        raise SpecProblem(f"the sheet {sheet!r} has no assumption rows with a value per scenario")

    projection = _sheet_of(str(ref["projection_source"]), workbook)
    grid = workbook.grid[projection]
    header_row, columns = _header(grid, projection)
    period_col = _column(columns, ref["period_column"], projection)
    scenario_col = (
        _column(columns, ref["scenario_column"], projection) if ref["scenario_column"] else None
    )
    output_cols = {name: _column(columns, name, projection) for name in ref["output_columns"]}
    rows_of: dict[str, list[int]] = {name: [] for name in names}
    for row in sorted({r for r, _ in grid if r > header_row}):
        if (row, period_col) not in grid:
            continue
        if scenario_col is None:
            for name in names:
                rows_of[name].append(row)
        else:
            named = cell_text(grid.get((row, scenario_col))).strip()
            if named in rows_of:
                rows_of[named].append(row)
    for name, rows in rows_of.items():
        if not rows:
            raise SpecProblem(
                f"the column {ref['scenario_column']!r} of {projection!r} has no rows for "
                f"the scenario {name!r}"
            )
    periods = {
        name: [cell_text(grid.get((row, period_col))) for row in rows]
        for name, rows in rows_of.items()
    }
    outputs = []
    for output, col in output_cols.items():
        by_scenario = {
            name: [cell_id(projection, row, col) for row in rows] for name, rows in rows_of.items()
        }
        outputs.append(Output(output, by_scenario))
        if scenario_col is not None:
            for name, row_cells in by_scenario.items():
                for cell, period in zip(row_cells, periods[name], strict=True):
                    labels[cell] = f"{output}, {ref['period_column']} {period} ({name})"
        else:
            for cell, period in zip(by_scenario[base], periods[base], strict=True):
                labels[cell] = f"{output}, {ref['period_column']} {period}"
    scenarios: list[dict[str, Any]] = [{"name": name, "overrides": {}} for name in names]
    if scenario_col is None:
        # One computed scenario: the others are the same sheet run on their own assumptions.
        for other in scenarios[1:]:
            other["overrides"] = {
                a.cells[base]: workbook.values.get(a.cells[other["name"]])
                for a in assumptions
                if isinstance(workbook.values.get(a.cells[other["name"]]), int | float)
            }
    return PlannerSpec(
        kind="workbook",
        model=workbook.model(),
        scenarios=scenarios,
        base=base,
        assumptions=assumptions,
        outputs=outputs,
        periods=periods,
        period_name=str(ref["period_column"]),
        primary=str(ref["primary_output"]),
        labels=labels,
        texts=dict(workbook.texts),
        source=f"the formulas of {workbook.filename}",
    )


def _number(value: Any, where: str) -> float:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(number):
        raise SpecProblem(f"{where} is not a number ({cell_text(value)!r})")
    return float(number)


def driver_spec(content: Mapping[str, Any], frame: pd.DataFrame) -> PlannerSpec:
    """Build the vetted driver model from an assumptions table (rows × scenario columns)."""
    ref = content["model"]
    names, base = scenario_names(content)
    drivers = ref["drivers"]
    source = ref["assumptions_source"]
    horizon = int(ref["horizon_periods"] or 12)
    if not 1 <= horizon <= MAX_PERIODS:
        raise SpecProblem(f"the horizon must be between 1 and {MAX_PERIODS} months")
    labels_in_table = [cell_text(v).strip() for v in frame[ref["label_column"]].tolist()]
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    assumptions = []
    for key in DRIVER_KEYS:
        label = str(drivers[key]).strip()
        if label not in labels_in_table:
            raise SpecProblem(f"{source} has no assumption {label!r} in {ref['label_column']!r}")
        row = frame.iloc[labels_in_table.index(label)]
        unit = cell_text(row[ref["unit_column"]]).strip() if ref["unit_column"] in frame else ""
        origin = (
            cell_text(row[ref["source_column"]]).strip() if ref["source_column"] in frame else ""
        )
        cells = {name: f"in/{name}/{key}" for name in names}
        for name, cell in cells.items():
            values[cell] = _number(row[name], f"{label} ({name}) in {source}")
            labels[cell] = f"{label} ({name})"
        assumptions.append(Assumption(label, unit or None, origin or None, cells))
    formulas: dict[str, Node] = {}
    order: list[str] = []
    out_cells: dict[str, dict[str, list[str]]] = {o: {} for o in DRIVER_OUTPUTS}
    for name in names:

        def a(key: str, scenario: str = name) -> Node:
            return ["r", f"in/{scenario}/{key}"]

        previous: Node = a("starting_customers")
        for t in range(1, horizon + 1):
            at = {o: f"out/{name}/{o}/{t}" for o in DRIVER_OUTPUTS}
            formulas[at["Customers"]] = [
                "o",
                "+",
                ["o", "*", previous, ["o", "-", ["n", 1.0], a("churn")]],
                a("new_customers"),
            ]
            formulas[at["Revenue"]] = ["o", "*", ["r", at["Customers"]], a("price")]
            formulas[at["Gross profit"]] = ["o", "*", ["r", at["Revenue"]], a("gross_margin")]
            formulas[at["Operating result"]] = [
                "o",
                "-",
                ["r", at["Gross profit"]],
                a("fixed_costs"),
            ]
            for output in DRIVER_OUTPUTS:
                order.append(at[output])
                out_cells[output].setdefault(name, []).append(at[output])
                labels[at[output]] = f"{output}, month {t} ({name})"
            previous = ["r", at["Customers"]]
    return PlannerSpec(
        kind="drivers",
        model={"values": values, "formulas": formulas, "order": order},
        scenarios=[{"name": name, "overrides": {}} for name in names],
        base=base,
        assumptions=assumptions,
        outputs=[Output(o, out_cells[o]) for o in ref["output_columns"] if o in out_cells],
        periods={name: [str(t) for t in range(1, horizon + 1)] for name in names},
        period_name="Month",
        primary=str(ref["primary_output"]),
        labels=labels,
        source=f"the vetted driver model, with the assumptions of {source}",
    )
