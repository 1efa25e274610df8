"""An uploaded workbook compiled into a scenario model: constants, parsed formulas, an order.

openpyxl reads each cell's formula (not a saved result), :mod:`app.scenario.formula` parses it,
and the dependency order is worked out here, so ``scenario_model.js`` only has to walk a list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import openpyxl
from openpyxl.utils.datetime import to_excel

from app.ingest import IngestError, IngestLimits
from app.ingest.xlsx_reader import check_zip
from app.scenario.formula import FormulaError, Node, parse_formula, references

MAX_CELLS = 50_000


class WorkbookError(ValueError):
    """The workbook cannot be used as a model; the message says why and what to do."""


@dataclass(frozen=True)
class CompiledWorkbook:
    """One workbook as a model: what ``scenario_model.js`` evaluates, and the text to show."""

    filename: str
    sha256: str
    sheets: tuple[str, ...]
    values: dict[str, Any]  # cell → number, text or bool (constants only)
    formulas: dict[str, Node]  # cell → parsed formula
    texts: dict[str, str]  # cell → the formula as written in the workbook
    order: list[str]  # formula cells, each after the cells it reads
    grid: dict[str, dict[tuple[int, int], Any]] = field(repr=False)  # sheet → (row, col) → value

    def model(self) -> dict[str, Any]:
        """Return the JSON model the evaluator takes."""
        return {"values": self.values, "formulas": self.formulas, "order": self.order}


def _constant(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return float(to_excel(value))
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _order(formulas: dict[str, Node]) -> list[str]:
    """Formula cells in dependency order; a loop is refused (the planner does not iterate)."""
    done: set[str] = set()
    order: list[str] = []
    for start in formulas:
        if start in done:
            continue
        stack: list[tuple[str, list[str]]] = [(start, list(references(formulas[start])))]
        visiting = {start}
        while stack:
            cell, pending = stack[-1]
            while pending:
                nxt = pending.pop()
                if nxt in formulas and nxt not in done:
                    if nxt in visiting:
                        raise WorkbookError(
                            f"the formulas go round in a circle through {nxt}: "
                            "the scenario planner needs a workbook without circular references"
                        )
                    visiting.add(nxt)
                    stack.append((nxt, list(references(formulas[nxt]))))
                    break
            else:
                stack.pop()
                visiting.discard(cell)
                done.add(cell)
                order.append(cell)
    return order


def compile_workbook(filename: str, data: bytes, limits: IngestLimits) -> CompiledWorkbook:
    """Read every sheet's constants and formulas into a model, or raise WorkbookError."""
    try:
        check_zip(filename, data, limits)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it skips
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=False, read_only=False)
    except IngestError as exc:
        raise WorkbookError(str(exc)) from exc
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise WorkbookError(f"{filename} could not be opened as a workbook") from exc
    sheets = tuple(book.sheetnames)
    by_upper: dict[str, str] = {str(name).upper(): str(name) for name in sheets}

    def resolve_sheet(name: str) -> str:
        if name.startswith("["):
            raise FormulaError(f"refers to another workbook ({name})")
        found = by_upper.get(name.upper())
        if found is None:
            raise FormulaError(f"refers to a sheet {name!r} that the workbook does not have")
        return found

    values: dict[str, Any] = {}
    formulas: dict[str, Node] = {}
    texts: dict[str, str] = {}
    grid: dict[str, dict[tuple[int, int], Any]] = {}
    count = 0
    for sheet in book.worksheets:
        cells = grid.setdefault(sheet.title, {})
        for row in sheet.iter_rows():
            for item in row:
                value = item.value
                if value is None:
                    continue
                count += 1
                if count > MAX_CELLS:
                    raise WorkbookError(
                        f"{filename} has more than {MAX_CELLS:,} filled cells, more than the "
                        "scenario planner evaluates: keep the model's sheets only"
                    )
                key = f"{sheet.title}!{item.coordinate}"
                cells[(item.row, item.column)] = value
                if item.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
                    text = str(getattr(value, "text", value))
                    try:
                        formulas[key] = parse_formula(text, sheet.title, resolve_sheet)
                    except FormulaError as exc:
                        raise WorkbookError(f"{filename}, cell {key}: {exc}") from exc
                    texts[key] = text if text.startswith("=") else "=" + text
                else:
                    values[key] = _constant(value)
    return CompiledWorkbook(
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        sheets=sheets,
        values=values,
        formulas=formulas,
        texts=texts,
        order=_order(formulas),
        grid=grid,
    )


class WorkbookCache:
    """Compiled workbooks by content hash: compile once per upload, not once per render."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict[str, CompiledWorkbook | WorkbookError] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, filename: str, data: bytes, limits: IngestLimits) -> CompiledWorkbook:
        """Return the compiled workbook, compiling it the first time; raise WorkbookError."""
        key = hashlib.sha256(data).hexdigest() + "/" + filename
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
        if found is None:
            try:
                found = compile_workbook(filename, data, limits)
            except WorkbookError as exc:
                found = exc
            with self._lock:
                self._items[key] = found
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        if isinstance(found, WorkbookError):
            raise found
        return found
