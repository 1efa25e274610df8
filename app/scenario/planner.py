"""The scenario planner's computation: validate the model references, evaluate, build the page.

Registered in :mod:`app.compute`. Every number on the page comes from ``scenario_model.js`` run
in QuickJS (:mod:`app.scenario.engine`); for a workbook, the ``formulas`` package evaluates the
same file independently and a disagreement beyond rounding refuses the version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from app.errors import ComputeError
from app.ingest import IngestLimits
from app.scenario import crosscheck, engine
from app.scenario.figures import output_figure, tornado_figure
from app.scenario.spec import (
    DRIVER_OUTPUTS,
    MAX_PERIODS,
    PlannerSpec,
    SpecProblem,
    driver_spec,
    workbook_spec,
)
from app.scenario.view import (
    assumption_rows,
    delta,
    formulas_view,
    input_text,
    output_text,
    value_text,
)
from app.scenario.workbook import WorkbookCache, WorkbookError

SENSITIVITY_STEP = 0.10


def _columns_error(pointer: str, name: Any, table: str, columns: Sequence[str]) -> str:
    return (
        f"at {pointer}: column {name!r} is not in {table} (columns: {', '.join(map(str, columns))})"
    )


def check_model(content: Mapping[str, Any], columns: Mapping[str, Sequence[str]]) -> list[str]:
    """List problems with the content's ``model`` references against the uploaded tables."""
    ref = content.get("model")
    if not isinstance(ref, Mapping):
        return []
    errors: list[str] = []
    scenarios = content.get("scenarios") or []
    if sum(1 for s in scenarios if s.get("is_base")) != 1:
        errors.append("at /scenarios: exactly one scenario must have is_base true")
    known = ", ".join(sorted(columns)) or "none uploaded"
    source = ref["assumptions_source"]
    if source not in columns:
        errors.append(
            f"at /model/assumptions_source: there is no table {source!r} (tables: {known})"
        )
    else:
        cols = columns[source]
        for key in ("label_column", "unit_column", "source_column"):
            if ref[key] is not None and ref[key] not in cols:
                errors.append(_columns_error(f"/model/{key}", ref[key], source, cols))
        for index, scenario in enumerate(scenarios):
            if scenario["name"] not in cols:
                errors.append(
                    f"at /scenarios/{index}/name: the scenario {scenario['name']!r} is not a "
                    f"column of {source} (columns: {', '.join(map(str, cols))}); name each "
                    "scenario exactly like its column"
                )
    outputs = list(ref["output_columns"])
    if not outputs:
        errors.append("at /model/output_columns: name at least one output")
    projection = ref["projection_source"]
    if projection is not None:
        workbook = str(projection).partition("#")[0]
        if projection not in columns:
            errors.append(
                f"at /model/projection_source: there is no table {projection!r} (tables: {known})"
            )
        elif not workbook.lower().endswith(".xlsx") or "#" not in projection:
            errors.append(
                "at /model/projection_source: the projection must be a sheet of an uploaded "
                "workbook ('file.xlsx#Sheet'); use null and the driver model otherwise"
            )
        elif str(source).partition("#")[0] != workbook:
            errors.append(
                f"at /model/assumptions_source: with a workbook model the assumptions must be a "
                f"sheet of {workbook}, whose formulas read them"
            )
        else:
            cols = columns[projection]
            if ref["period_column"] is None or ref["period_column"] not in cols:
                errors.append(
                    _columns_error("/model/period_column", ref["period_column"], projection, cols)
                )
            if ref["scenario_column"] is not None and ref["scenario_column"] not in cols:
                errors.append(
                    _columns_error(
                        "/model/scenario_column", ref["scenario_column"], projection, cols
                    )
                )
            for index, output in enumerate(outputs):
                if output not in cols:
                    errors.append(
                        _columns_error(f"/model/output_columns/{index}", output, projection, cols)
                    )
    else:
        if ref["drivers"] is None:
            errors.append(
                "at /model/drivers: without a projection sheet the driver model is used, and "
                "it needs the assumption name of each driver"
            )
        for index, output in enumerate(outputs):
            if output not in DRIVER_OUTPUTS:
                errors.append(
                    f"at /model/output_columns/{index}: the driver model computes "
                    f"{', '.join(DRIVER_OUTPUTS)}, not {output!r}"
                )
        horizon = ref["horizon_periods"]
        if horizon is None or not 1 <= horizon <= MAX_PERIODS:
            errors.append(
                f"at /model/horizon_periods: give a number of months from 1 to {MAX_PERIODS}"
            )
    if ref["primary_output"] not in outputs:
        errors.append(
            f"at /model/primary_output: {ref['primary_output']!r} is not one of output_columns"
        )
    return errors


class ScenarioPlanner:
    """The computation behind ``site_templates/scenario_planner`` (see :mod:`app.compute`)."""

    def __init__(self, limits: IngestLimits | None = None) -> None:
        self.limits = limits or IngestLimits()
        self.workbooks = WorkbookCache()
        self._checked: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, content: Mapping[str, Any], columns: Mapping[str, Sequence[str]]) -> list[str]:
        """List problems with the content's model references (used by validation)."""
        return check_model(content, columns)

    def compute(
        self,
        content: Mapping[str, Any],
        tables: Mapping[str, pd.DataFrame],
        files: Mapping[str, bytes],
        *,
        verify: bool = True,
    ) -> dict[str, Any]:
        """Evaluate the model and return the page's ``computed`` context.

        ``verify`` cross-checks a workbook against the formula engine (see :meth:`spec`).

        :raise ComputeError: the workbook's values and the formula engine's disagree.
        """
        if not isinstance(content.get("model"), Mapping):
            return {"planner": None, "problem": None, "has_charts": False}
        try:
            spec = self.spec(content, tables, files, verify=verify)
        except (SpecProblem, WorkbookError) as exc:
            return {"planner": None, "problem": str(exc), "has_charts": False}
        return {"planner": self.view(spec, content), "problem": None, "has_charts": True}

    def spec(
        self,
        content: Mapping[str, Any],
        tables: Mapping[str, pd.DataFrame],
        files: Mapping[str, bytes],
        *,
        verify: bool = True,
    ) -> PlannerSpec:
        """Build the planner spec, cross-checking a workbook against the formula engine.

        The cross-check runs once per workbook for a new version (``verify``; its verdict is
        kept by the workbook's hash), never for a version rendered again: it passed when the
        version was made, and it takes seconds on a large workbook.

        :raise SpecProblem: or WorkbookError: the references or the file cannot be used.
        :raise ComputeError: the two engines disagree.
        """
        ref = content["model"]
        if ref["projection_source"] is None:
            frame = tables.get(ref["assumptions_source"])
            if frame is None:
                raise SpecProblem(f"the table {ref['assumptions_source']!r} was not uploaded")
            return driver_spec(content, frame)
        filename = str(ref["projection_source"]).partition("#")[0]
        data = files.get(filename)
        if data is None:
            raise SpecProblem(f"the workbook {filename!r} is not among this version's files")
        workbook = self.workbooks.get(filename, data, self.limits)
        spec = workbook_spec(content, workbook)
        if verify:
            self.cross_check(workbook.sha256, spec, data)
        return spec

    def cross_check(self, sha256: str, spec: PlannerSpec, data: bytes) -> None:
        """Refuse a workbook whose values differ between the evaluator and ``formulas``."""
        with self._lock:
            problems = self._checked.get(sha256)
        if problems is None:
            ours = engine.evaluate(spec.model)
            problems = crosscheck.disagreements(spec.model["order"], data, ours)
            with self._lock:
                self._checked[sha256] = problems
                while len(self._checked) > 16:
                    self._checked.popitem(last=False)
        if problems:
            raise ComputeError(
                "The workbook's formulas gave different results in Sitewright's evaluator and in "
                f"the formula engine ({len(problems)} cells, e.g. {problems[0]}), so no numbers "
                "are shown. Your prompt and files are saved: press Retry; if it happens again, "
                "simplify the formulas or tell an admin.",
                details=problems[:20],
            )

    def view(self, spec: PlannerSpec, content: Mapping[str, Any]) -> dict[str, Any]:
        """Compute the projections and sensitivity and shape them for the page."""
        data = spec.to_json()
        numbers = engine.planner_numbers(data, spec.base, spec.primary, SENSITIVITY_STEP)
        projections: dict[str, dict[str, list[float | None]]] = numbers["projections"]
        values: dict[str, Any] = numbers["values"]
        sensitivity: dict[str, Any] | None = numbers.get("sensitivity")
        assert sensitivity is not None, "the primary output was checked to be an output"
        periods = spec.periods
        outputs = []
        for index, output in enumerate(spec.outputs):
            series = {s["name"]: projections[s["name"]][output.name] for s in spec.scenarios}
            base_last = series[spec.base][-1] if series[spec.base] else None
            horizon = []
            for name, row in series.items():
                last = row[-1] if row else None
                horizon.append(
                    {
                        "scenario": name,
                        "period": periods[name][-1] if periods[name] else "",
                        "text": output_text(last),
                        "delta": None if name == spec.base else delta(last, base_last, output=True),
                    }
                )
            length = max(len(row) for row in series.values())
            rows = [
                {
                    "period": next(
                        (periods[n][i] for n in series if i < len(periods[n])), str(i + 1)
                    ),
                    "numbers": [
                        output_text(row[i]) if i < len(row) else "" for row in series.values()
                    ],
                }
                for i in range(length)
            ]
            outputs.append(
                {
                    "index": index,
                    "name": output.name,
                    "figure": output_figure(output.name, spec.period_name, periods, series),
                    "horizon": horizon,
                    "rows": rows,
                }
            )
        horizon_label = f"{spec.period_name} {periods[spec.base][-1]}"
        tornado_rows = sorted(
            sensitivity["rows"],
            key=lambda r: -abs((r["high"] or 0) - (r["low"] or 0)),
        )
        assumptions = assumption_rows(spec, values, list(content.get("assumptions") or []))
        return {
            "kind": spec.kind,
            "source": spec.source,
            "scenarios": [s["name"] for s in spec.scenarios],
            "base": spec.base,
            "period_name": spec.period_name,
            "horizon": horizon_label,
            "primary": spec.primary,
            "assumptions": assumptions,
            "outputs": outputs,
            "formulas": formulas_view(spec),
            "sensitivity": {
                "output": spec.primary,
                "scenario": spec.base,
                "step_percent": f"{SENSITIVITY_STEP * 100:g} %",
                "base_text": output_text(sensitivity["base"]),
                "rows": [
                    {
                        "assumption": r["assumption"],
                        "low_text": output_text(r["low"]),
                        "high_text": output_text(r["high"]),
                        "low_delta": delta(r["low"], sensitivity["base"], output=True),
                        "high_delta": delta(r["high"], sensitivity["base"], output=True),
                    }
                    for r in tornado_rows
                ],
                "figure": tornado_figure(
                    spec.primary, horizon_label, tornado_rows, sensitivity["base"], SENSITIVITY_STEP
                ),
            },
            "whatif": {
                "spec": data,
                "base": spec.base,
                "decimals": 2,
                "inputs": {
                    s["name"]: [
                        input_text(values.get(a.cells[s["name"]])) for a in spec.assumptions
                    ]
                    for s in spec.scenarios
                },
                "texts": {
                    s["name"]: [
                        value_text(values.get(a.cells[s["name"]])) for a in spec.assumptions
                    ]
                    for s in spec.scenarios
                },
            },
        }
