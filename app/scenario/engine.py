"""Run ``app/static/scenario_model.js`` (the one evaluator) in QuickJS, inside the server.

The page runs the same file for what-if, so the numbers a viewer recomputes and the numbers the
server wrote come from one implementation. Each call gets a fresh, memory- and time-limited
interpreter: QuickJS contexts are not shared between threads.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import quickjs

EVALUATOR = Path(__file__).resolve().parent.parent / "static" / "scenario_model.js"
MEMORY_LIMIT = 256 * 1024 * 1024
TIME_LIMIT_S = 20


class EngineError(RuntimeError):
    """The evaluator failed (a bug or a model too large for the limits), not the user's input."""


@cache
def evaluator_source() -> str:
    """Return the evaluator's JavaScript, read once."""
    return EVALUATOR.read_text("utf-8")


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Send one request to ``SitewrightScenario.run`` and return its answer.

    ``request`` holds ``spec`` (model, scenarios, assumptions, outputs), optional ``edits``
    ({scenario: {assumption index: value}}), ``sensitivity`` ({scenario, output, step}) and
    ``evaluate`` ({overrides}); see the evaluator for the answer's shape.
    """
    context = quickjs.Context()
    context.set_memory_limit(MEMORY_LIMIT)
    context.set_time_limit(TIME_LIMIT_S)
    try:
        context.eval(evaluator_source())
        entry = context.eval("SitewrightScenario.run")
        answer = entry(json.dumps(request, allow_nan=False))
    except quickjs.JSException as exc:
        raise EngineError(f"the scenario evaluator failed: {exc}") from exc
    result: dict[str, Any] = json.loads(answer)
    return result


def evaluate(model: dict[str, Any], overrides: dict[str, float] | None = None) -> dict[str, Any]:
    """Return every cell's value of a model, with ``overrides`` replacing cells."""
    spec = {"model": model, "scenarios": [], "assumptions": [], "outputs": []}
    values: dict[str, Any] = run({"spec": spec, "evaluate": {"overrides": overrides or {}}})[
        "values"
    ]
    return values


def project(
    spec: dict[str, Any], edits: dict[str, dict[str, float]] | None = None
) -> dict[str, dict[str, list[float | None]]]:
    """Return {scenario: {output: [value per period]}} for a planner spec."""
    projections: dict[str, dict[str, list[float | None]]] = run(
        {"spec": spec, "edits": edits or {}}
    )["projections"]
    return projections


def sensitivity(
    spec: dict[str, Any], scenario: str, output: str, step: float
) -> dict[str, Any] | None:
    """Return each assumption moved by ±step and the output at the horizon each time."""
    answer = run(
        {"spec": spec, "sensitivity": {"scenario": scenario, "output": output, "step": step}}
    )
    result: dict[str, Any] | None = answer.get("sensitivity")
    return result


def planner_numbers(
    spec: dict[str, Any], scenario: str, output: str, step: float
) -> dict[str, Any]:
    """Return what the planner page shows, in one run: ``projections`` (as :func:`project`),
    ``values`` (as :func:`evaluate` of the spec's model) and ``sensitivity`` (as
    :func:`sensitivity`).

    One interpreter and one pass over the spec instead of three: the projections are computed
    once, not again beside the sensitivity.
    """
    return run(
        {
            "spec": spec,
            "sensitivity": {"scenario": scenario, "output": output, "step": step},
            "evaluate": {"overrides": {}},
        }
    )
