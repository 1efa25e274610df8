"""A second opinion: the ``formulas`` package evaluates the same workbook on its own.

The page's numbers come from ``scenario_model.js``; this independent engine recomputes every
formula cell of the saved workbook, and a disagreement beyond rounding stops the version.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-6
_KEY = re.compile(r"^'?\[[^\]]*\](?P<sheet>.+?)'?!(?P<cell>\$?[A-Z]+\$?\d+)$")


def formulas_values(data: bytes) -> dict[str, Any]:
    """Evaluate a workbook with ``formulas``: cell (upper-case sheet) → value."""
    import formulas  # imported here: it is slow to import and only needed for this check

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.xlsx"
        path.write_bytes(data)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stderr(io.StringIO()),  # its progress bars
        ):
            warnings.simplefilter("ignore")
            solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    values: dict[str, Any] = {}
    for key, ranges in solution.items():
        match = _KEY.match(str(key))
        if not match:
            continue
        value: Any = getattr(ranges, "value", None)
        try:
            values[f"{match['sheet'].upper()}!{match['cell'].replace('$', '')}"] = value[0][0]
        except (TypeError, IndexError):
            continue
    return values


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, bool) or isinstance(theirs, bool | str):
        return str(ours).upper() == str(theirs).upper()
    if isinstance(ours, int | float):
        try:
            other = float(theirs)
        except (TypeError, ValueError):
            return False
        return math.isclose(ours, other, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    if ours is None or isinstance(ours, dict):  # empty, or an Excel error such as #DIV/0!
        return not isinstance(theirs, int | float) or theirs == 0
    return False


def disagreements(cells: list[str], data: bytes, ours: dict[str, Any]) -> list[str]:
    """List the cells where ``ours`` and the ``formulas`` package differ beyond rounding."""
    theirs = formulas_values(data)
    problems = []
    for cell in cells:
        sheet, _, address = cell.rpartition("!")
        other = theirs.get(f"{sheet.upper()}!{address}")
        if not _same(ours.get(cell), other):
            problems.append(f"{cell}: {ours.get(cell)!r} here, {other!r} by the formula engine")
    if problems:
        log.warning("%d cells differ between the two formula engines", len(problems))
    return problems
