"""Template computations: numbers a vetted template derives from the uploads beyond charts/tables.

Most templates only reference tables and columns, and :mod:`app.charts` computes the rest. A
template whose page needs a model evaluated (the scenario planner evaluates a workbook's
formulas) is registered in :data:`COMPUTES` under its template name, with two hooks:

- ``check(content, columns)`` runs inside :func:`app.validation.validate_content`, after the
  schema and the chart/table references; its messages go back to the model for the one repair.
- ``compute(content, tables, files, verify=...)`` runs inside
  :meth:`app.render.SiteRenderer.render`; the dict it returns reaches the page template as
  ``computed``. It raises :class:`app.errors.ComputeError` to refuse a version (the job fails
  with Retry, inputs kept); problems that still leave a readable page are returned for the page
  to show instead. ``verify`` is true when the page is rendered for a new version: that is when
  a computation runs its second opinions (the scenario planner's formula-engine cross-check,
  seconds for a large workbook). Rendering a version again (new name or expiry, the daily
  refresh, an export) passes false: the version passed them when it was made.

``files`` holds the raw bytes of the version's uploaded workbooks by file name; only
:func:`app.services.pages.render_version` reads them, and only for templates registered here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

from app.scenario.planner import ScenarioPlanner


class TemplateCompute(Protocol):
    """What a template with its own computation provides."""

    def check(self, content: Mapping[str, Any], columns: Mapping[str, Sequence[str]]) -> list[str]:
        """List problems with the content's references, as 'at /path: message' lines."""
        ...

    def compute(
        self,
        content: Mapping[str, Any],
        tables: Mapping[str, pd.DataFrame],
        files: Mapping[str, bytes],
        *,
        verify: bool = True,
    ) -> dict[str, Any]:
        """Return the page's computed context; raise ComputeError to refuse the version."""
        ...


COMPUTES: dict[str, TemplateCompute] = {"scenario_planner": ScenarioPlanner()}


def template_compute(name: str) -> TemplateCompute | None:
    """Return the computation registered for a template, or None."""
    return COMPUTES.get(name)
