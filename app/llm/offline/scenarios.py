"""Scenario models: which uploaded tables and columns make up a model the server can compute.

A content field shaped like a scenario model reference (an object naming an assumptions table,
its label column, a projection sheet or drivers, outputs and a primary output) is filled from
the tables' names and shapes, never their values:

* the assumptions table has a text label column and numeric columns named like scenarios
  (Base, Optimistic…), or, failing that, two or more numeric columns next to a label column in
  a table with no time column; the first column named like a base case is the base;
* with a workbook, the projection is another sheet of it with a period column, an optional
  column naming the scenarios, and numeric (or formula-only, so empty) output columns;
* otherwise the driver model is used when a label names each driver (``new_customers`` ↔
  "Monthly new customers"), else the reference stays null;
* the primary output is the output named like an operating result or profit, else the last.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from app.llm.offline.schema import has_type
from app.llm.offline.tables import TableInfo
from app.llm.offline.words import lower_words, tokens
from app.scenario.spec import DRIVER_OUTPUTS

MODEL_KEYS = frozenset({"assumptions_source", "label_column", "output_columns", "primary_output"})
DRIVER_HORIZON = 12
MAX_ASSUMPTION_ROWS = 60

_SCENARIO_WORDS = frozenset(
    "base baseline central expected likely plan target budget optimistic pessimistic best worst "
    "bull bear upside downside high low stretch conservative aggressive moderate case "
    "scenario".split()
)
_BASE_WORDS = ("base", "baseline", "central", "expected", "likely", "plan", "budget")
_LABEL_WORDS = ("assumption", "driver", "input", "parameter", "variable", "item", "name", "label")
_UNIT_WORDS = ("unit", "units", "uom")
_SOURCE_WORDS = ("source", "sources", "origin", "basis", "reference", "provenance")
_SCENARIO_COLUMN_WORDS = ("scenario", "case", "version")
_PRIMARY_WORDS = ("operating result", "operating", "net", "profit", "ebit", "result", "cash")


def is_model_slot(schema: dict[str, Any]) -> bool:
    """Say whether a field holds a scenario model reference."""
    return has_type(schema, "object") and MODEL_KEYS <= set(schema.get("properties", {}))


@dataclass
class ScenarioModel:
    """A model reference for the content, with its scenarios (base first) and horizon."""

    ref: dict[str, Any]
    scenarios: list[str]
    descriptions: dict[str, str]
    horizon: str


def _words(name: str) -> list[str]:
    return re.findall(r"[a-z]+", name.lower())


def _named(column: str, words: Sequence[str]) -> bool:
    return bool(set(_words(column)) & set(words))


def _first_named(columns: Sequence[str], words: Sequence[str]) -> str | None:
    return next((c for c in columns if _named(c, words)), None)


@dataclass
class _Assumptions:
    table: TableInfo
    label: str
    scenarios: list[str]  # base first


def _assumptions(table: TableInfo) -> _Assumptions | None:
    """Read a table as assumptions by scenario, or say it is not one."""
    frame = table.frame
    if table.time_column or not 1 <= len(frame) <= MAX_ASSUMPTION_ROWS:
        return None
    labels = [
        c
        for c in table.text_columns
        if frame[c].dropna().astype(str).str.strip().is_unique
        and not _named(c, _UNIT_WORDS + _SOURCE_WORDS)
    ]
    if not labels:
        return None
    named = [c for c in table.numeric_columns if _named(c, tuple(_SCENARIO_WORDS))]
    scenarios = named if len(named) >= 2 else table.numeric_columns
    if len(scenarios) < 2:
        return None
    scenarios = scenarios[:6]
    base = _first_named(scenarios, _BASE_WORDS) or scenarios[0]
    return _Assumptions(
        table,
        _first_named(labels, _LABEL_WORDS) or labels[0],
        [base, *[s for s in scenarios if s != base]],
    )


def _projection(
    tables: Sequence[TableInfo], assumptions: TableInfo, scenarios: Sequence[str]
) -> dict[str, Any] | None:
    """Find a sheet of the same workbook that projects outputs period by period."""
    workbook, _, _ = assumptions.name.partition("#")
    if not workbook.lower().endswith(".xlsx"):
        return None
    for table in tables:
        if table is assumptions or table.name.partition("#")[0] != workbook:
            continue
        period = table.time_column
        if period is None:
            continue
        scenario = next(
            (
                c
                for c in table.text_columns
                if set(table.frame[c].dropna().astype(str).str.strip()) & set(scenarios)
            ),
            None,
        )
        frame = table.frame
        outputs = [
            str(c)
            for c in frame.columns
            if c not in (period, scenario) and (c in table.numeric_columns or frame[c].isna().all())
        ]
        if outputs:
            return {
                "source": table.name,
                "period": period,
                "scenario": scenario,
                "outputs": outputs,
            }
    return None


def _drivers(schema: dict[str, Any], labels: Sequence[str]) -> dict[str, str] | None:
    """Match each driver of the driver model to the assumption label that names it."""
    found: dict[str, str] = {}
    for key in schema.get("properties", {}):
        wanted = tokens(key)
        fits = [
            label for label in labels if wanted <= tokens(label) and label not in found.values()
        ]
        if not wanted or not fits:
            return None
        found[key] = min(fits, key=lambda label: len(tokens(label) - wanted))
    return found


def _primary(outputs: Sequence[str]) -> str:
    for word in _PRIMARY_WORDS:
        hit = next((o for o in outputs if f" {word} " in f" {' '.join(_words(o))} "), None)
        if hit:
            return hit
    return outputs[-1]


def _descriptions(found: _Assumptions) -> dict[str, str]:
    """Say how each scenario differs from the base, assumption by assumption, in words."""
    frame, base = found.table.frame, found.scenarios[0]
    texts = {base: "The reference case the other scenarios are compared with."}
    for name in found.scenarios[1:]:
        changes = []
        for _, row in frame.iterrows():
            new, old = (
                pd.to_numeric(row[name], errors="coerce"),
                pd.to_numeric(row[base], errors="coerce"),
            )
            if pd.isna(new) or pd.isna(old) or new == old:
                continue
            label = lower_words(str(row[found.label]).strip())
            changes.append(f"{'higher' if new > old else 'lower'} {label}")
        if not changes:
            texts[name] = f"The same assumptions as {base}."
            continue
        listed = ", ".join(changes[:-1]) + (" and " if len(changes) > 1 else "") + changes[-1]
        texts[name] = f"{listed[:1].upper()}{listed[1:]} than {base}."
    return texts


def draft_model(schema: dict[str, Any], tables: Sequence[TableInfo]) -> ScenarioModel | None:
    """Return the model reference the tables allow, or None when none fits."""
    props = schema.get("properties", {})
    candidates = [found for table in tables if (found := _assumptions(table))]
    if not candidates:
        return None
    # Columns named like scenarios beat any numeric columns; a workbook beats a CSV.
    found = max(
        candidates,
        key=lambda a: (
            sum(_named(s, tuple(_SCENARIO_WORDS)) for s in a.scenarios),
            ".xlsx#" in a.table.name,
        ),
    )
    texts = found.table.text_columns
    unit = _first_named(texts, _UNIT_WORDS)
    origin = _first_named(texts, _SOURCE_WORDS)
    ref: dict[str, Any] = {
        "assumptions_source": found.table.name,
        "label_column": found.label,
        "unit_column": unit,
        "source_column": origin,
    }
    projection = _projection(tables, found.table, found.scenarios)
    max_outputs = int(props.get("output_columns", {}).get("maxItems", 8))
    if projection:
        outputs = projection["outputs"][:max_outputs]
        ref |= {
            "projection_source": projection["source"],
            "period_column": projection["period"],
            "scenario_column": projection["scenario"],
            "output_columns": outputs,
            "drivers": None,
            "horizon_periods": None,
        }
        sheet = next(t for t in tables if t.name == projection["source"]).frame
        if projection["scenario"]:  # stacked scenarios: the base's rows set the horizon
            sheet = sheet[
                sheet[projection["scenario"]].astype(str).str.strip() == found.scenarios[0]
            ]
        periods = int(sheet[projection["period"]].notna().sum())
        noun = lower_words(projection["period"])
        horizon = f"{periods} {noun}{'' if noun.endswith('s') or periods == 1 else 's'}"
    else:
        labels = [str(v).strip() for v in found.table.frame[found.label].dropna()]
        drivers = _drivers(props.get("drivers", {}), labels)
        if drivers is None:
            return None
        outputs = list(DRIVER_OUTPUTS)[:max_outputs]
        ref |= {
            "projection_source": None,
            "period_column": None,
            "scenario_column": None,
            "output_columns": outputs,
            "drivers": drivers,
            "horizon_periods": DRIVER_HORIZON,
        }
        horizon = f"{DRIVER_HORIZON} months"
    ref["primary_output"] = _primary(outputs)
    return ScenarioModel(
        ref={key: ref.get(key) for key in props},
        scenarios=found.scenarios,
        descriptions=_descriptions(found),
        horizon=horizon,
    )
