"""Admin: signals — which sites people make, use and revise; which to maintain or to retire."""

from __future__ import annotations

from typing import Any

from flask import render_template
from werkzeug.wrappers import Response

from app.db import get_session
from app.services import signals as signals_service
from app.services.signals import SignalsReport
from app.services.wiring import get_deps
from app.web.admin import bp
from app.web.admin.report_pages import chart_page, heatmap_figure, site_url


def created_label(template: str, department: str) -> str:
    """Name one row of the sites-made table: its template and department."""
    return f"{template} · {department or '(no department)'}"


def _figures(report: SignalsReport) -> dict[str, dict[str, Any]]:
    if not report.created:
        return {}
    return {
        "created": heatmap_figure(
            "Sites made per month, by template and department",
            [month.key for month in report.months],
            [created_label(row.template, row.department) for row in report.created],
            [row.counts for row in report.created],
        )
    }


@bp.get("/signals")
def signals() -> Response:
    """Show the sites made by template and department, the most used, and what to keep or retire."""
    deps = get_deps()
    deps.views.flush(deps.db)  # count the latest views first
    report = signals_service.report(get_session())
    html = render_template(
        "admin/signals.html",
        report=report,
        figures=_figures(report),
        created_label=created_label,
        site_url=site_url,
        rules=signals_service,
    )
    return chart_page(html)
