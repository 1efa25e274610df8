"""Admin: token usage and estimated cost by month, person, department and site; budgets."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from werkzeug.wrappers import Response

from app.auth import workspace_settings
from app.db import get_session
from app.errors import BadInput
from app.services import usage_report
from app.services.usage import Month
from app.services.usage_report import UsageReport
from app.web.admin import bp
from app.web.admin.report_pages import bar_figure, chart_page, site_url

CHART_ROWS = 15  # people and departments drawn; the tables list them all


def _figures(report: UsageReport) -> dict[str, dict[str, Any]]:
    figures = {}
    if report.by_month:
        figures["months"] = bar_figure(
            "Tokens per month",
            [row.key for row in report.by_month],
            [
                ("Tokens in", [row.tally.tokens_in for row in report.by_month]),
                ("Tokens out", [row.tally.tokens_out for row in report.by_month]),
            ],
        )
    for name, rows, title in (
        ("departments", report.by_department, "Tokens by department"),
        ("users", report.by_user, "Tokens by person (biggest spenders)"),
    ):
        shown = rows[:CHART_ROWS]
        if shown:
            figures[name] = bar_figure(
                title,
                [row.label for row in shown],
                [
                    ("Tokens in", [row.tally.tokens_in for row in shown]),
                    ("Tokens out", [row.tally.tokens_out for row in shown]),
                ],
                horizontal=True,
            )
    return figures


@bp.get("/usage")
def usage() -> Response:
    """Show tokens and estimated cost by month, person, department and site; who nears budget.

    ``since`` and ``until`` (YYYY-MM, both included) narrow the months; a bad month re-shows
    the page with all months and says why.
    """
    settings = workspace_settings()
    session = get_session()
    error = None
    try:
        since = Month.parse(request.args.get("since"), "since")
        until = Month.parse(request.args.get("until"), "until")
        report = usage_report.report(session, settings, since, until)
    except BadInput as exc:
        error = exc
        report = usage_report.report(session, settings)
    html = render_template(
        "admin/usage.html",
        report=report,
        figures=_figures(report),
        error=error,
        since=request.args.get("since", ""),
        until=request.args.get("until", ""),
        site_url=site_url,
    )
    return chart_page(html, error.status if error else 200)
