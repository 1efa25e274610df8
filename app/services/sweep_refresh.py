"""The sweep's daily refresh of dated pages.

Pages are rendered once per version, but some count days from the day they are rendered (a
launch countdown, overdue next steps, days to renewal): their templates say ``dated = true``.
Once a day the sweep renders the published page of each live, published site using one of those
templates again, so what it says stays true. Nothing in the database changes, so there is no
audit event; the page's file date says when it was last rendered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select

from app.access import State
from app.dates import utc_today
from app.models import Site, SiteVersion
from app.services import Deps
from app.services.inventory import state_condition
from app.services.pages import render_version
from app.services.sweep_rules import Rules, SweptSite

if TYPE_CHECKING:  # the report imports this module
    from app.services.sweep import SweepReport


def refreshable(deps: Deps, rules: Rules) -> list[ColumnElement[bool]]:
    """Return the conditions of sites whose published page may need rendering again."""
    dated = sorted(template.name for template in deps.registry if template.dated)
    return [state_condition(State.PUBLISHED, rules.now.date()), Site.template.in_(dated)]


def refresh_dated(deps: Deps, rules: Rules, site_id: int, report: SweepReport) -> None:
    """Render a dated published page again when it was rendered before today."""
    name = refresh(deps, rules, site_id)
    if name is not None:
        report.refreshed.append(SweptSite(site_id, name))


def refresh(deps: Deps, rules: Rules, site_id: int) -> str | None:
    """Render the site's published page again if it was rendered before today; return the
    site's name if it did."""
    with deps.db.session() as session:
        site = session.get_one(Site, site_id)
        number = site.published_version
        if number is None:
            return None
        # The page dates itself by the real day it is rendered, whatever the sweep's clock says.
        rendered = deps.pages.rendered_on(site.id, number)
        if rendered is not None and rendered >= utc_today():
            return None
        version = session.scalars(
            select(SiteVersion).where(SiteVersion.site_id == site.id, SiteVersion.number == number)
        ).one()
        render_version(deps, site, version)
        return site.name
