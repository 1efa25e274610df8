"""What the scenario planner page shows, as plain data: formatted values, deltas, formulas."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from app.scenario.formula import Node, readable, references, shape
from app.scenario.spec import PlannerSpec

OUTPUT_DECIMALS = 2


def output_text(value: float | None) -> str:
    """Format a projected value the way ``SitewrightScenario.formatNumber`` does: -1,234.57."""
    if value is None or not math.isfinite(value):
        return "—"
    text = f"{abs(value):,.{OUTPUT_DECIMALS}f}"
    negative = value < 0 and float(text.replace(",", "")) != 0
    return ("-" if negative else "") + text


def value_text(value: Any) -> str:
    """Format an assumption's value: whole numbers with separators, others to six digits."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "—" if value is None else str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6g}"


def input_text(value: Any) -> str:
    """Write a value for an input box: no float noise (80.10000000000001 → 80.1)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return format(float(value), ".15g")


def delta(value: Any, base: Any, *, output: bool = False) -> dict[str, str] | None:
    """Describe value − base: signed difference, percentage, direction; None when not numbers.

    ``output`` formats the difference like a projected value (two decimals).
    """
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (value, base)):
        return None
    diff = float(value) - float(base)
    if abs(diff) <= 1e-12 * max(1.0, abs(float(base))):
        return {"text": "same as base", "percent": "", "direction": "same"}
    sign = "+" if diff > 0 else "−"
    percent = f"{sign}{abs(diff) / abs(base) * 100:.1f} %" if base else ""
    return {
        "text": sign + (output_text(abs(diff)) if output else value_text(abs(diff))),
        "percent": percent,
        "direction": "up" if diff > 0 else "down",
    }


def assumption_rows(
    spec: PlannerSpec, values: Mapping[str, Any], notes: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Rows of the assumptions table: value, cell and delta from the base per scenario."""
    by_name = {str(n["name"]).strip().lower(): n for n in notes}
    rows = []
    for assumption in spec.assumptions:
        note = by_name.get(assumption.name.strip().lower())
        base_value = values.get(assumption.cells[spec.base])
        cells = []
        for scenario in spec.scenarios:
            name = scenario["name"]
            cell = assumption.cells[name]
            value = values.get(cell)
            cells.append(
                {
                    "scenario": name,
                    "cell": cell if spec.kind == "workbook" else None,
                    "value": value,
                    "text": value_text(value),
                    "input": input_text(value),
                    "delta": None if name == spec.base else delta(value, base_value),
                }
            )
        rows.append(
            {
                "name": assumption.name,
                "unit": assumption.unit or (note or {}).get("unit"),
                "source": assumption.source or (note or {}).get("source"),
                "note": (note or {}).get("note"),
                "note_index": notes.index(note) if note is not None else None,
                "cells": cells,
            }
        )
    return rows


def _shape_key(spec: PlannerSpec, scenario: str) -> Any:
    """Return a function that names a cell by its role, so equal roles give equal shapes."""
    roles: dict[str, str] = {}
    for assumption in spec.assumptions:
        for name, cell in assumption.cells.items():
            roles[cell] = f"A:{assumption.name}@{'self' if name == scenario else name}"
    positions: dict[str, tuple[str, str, int]] = {}
    for output in spec.outputs:
        for name, cells in output.cells.items():
            for index, cell in enumerate(cells):
                positions[cell] = (output.name, name, index)

    def key(here: int) -> Any:
        def name(cell: str) -> str:
            if cell in roles:
                return roles[cell]
            if cell in positions:
                output, owner, index = positions[cell]
                return f"O:{output}@{'self' if owner == scenario else owner}{index - here:+d}"
            return cell

        return name

    return key


def formula_groups(spec: PlannerSpec, output_index: int, scenario: str) -> list[dict[str, Any]]:
    """Group an output's periods by formula and describe each group's formula and cells."""
    output = spec.outputs[output_index]
    periods = spec.periods[scenario]
    keyer = _shape_key(spec, scenario)
    formulas: Mapping[str, Node] = spec.model["formulas"]
    groups: list[dict[str, Any]] = []
    for index, cell in enumerate(output.cells.get(scenario, [])):
        node = formulas.get(cell)
        key = shape(node, keyer(index)) if node is not None else ["const"]
        if groups and groups[-1]["key"] == key:
            groups[-1]["last"] = periods[index]
            continue
        groups.append({"key": key, "first": periods[index], "last": periods[index], "cell": cell})
    described = []
    for group in groups:
        cell, node = group["cell"], formulas.get(group["cell"])
        used = list(dict.fromkeys(references(node))) if node is not None else []
        described.append(
            {
                "periods": group["first"]
                if group["first"] == group["last"]
                else f"{group['first']}–{group['last']}",
                "cell": cell if spec.kind == "workbook" else None,
                "label": spec.label(cell),
                "readable": readable(node, spec.label) if node is not None else None,
                "excel": spec.texts.get(cell),
                "cells": [
                    {"cell": c if spec.kind == "workbook" else None, "label": spec.label(c)}
                    for c in used
                ],
                "key": group["key"],
            }
        )
    return described


def formulas_view(spec: PlannerSpec) -> list[dict[str, Any]]:
    """For each output: the base scenario's formulas, and which scenarios follow the same ones."""
    result = []
    for index, output in enumerate(spec.outputs):
        base_groups = formula_groups(spec, index, spec.base)
        same, different = [], []
        for scenario in spec.scenarios[1:]:
            groups = formula_groups(spec, index, scenario["name"])
            keys = [g["key"] for g in groups]
            if keys == [g["key"] for g in base_groups]:
                same.append(scenario["name"])
            else:
                different.append({"scenario": scenario["name"], "groups": groups})
        result.append(
            {"output": output.name, "groups": base_groups, "same": same, "different": different}
        )
    return result
