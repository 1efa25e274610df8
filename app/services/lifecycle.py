"""A site's life after creation: details and expiry, unpublish and republish, delete and undo."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.errors import BadInput, Conflict, Gone
from app.models import Site, SiteVersion, User, utcnow
from app.services import Deps, review, workspace
from app.services.categories import check_categories
from app.services.pages import render_version
from app.services.sites import check_expiry

log = logging.getLogger(__name__)

# What the site frame of every page shows: changing one re-renders the pages people open.
FRAME_FIELDS = ("name", "department", "expires_on", "data_source_note")
MAX_NOTE_CHARS = 5000


@dataclass(frozen=True)
class DetailsChange:
    """New values for a site's details; None leaves a detail as it is."""

    name: str | None = None
    department: str | None = None
    expires_on: dt.date | None = None
    data_source_note: str | None = None
    categories: Sequence[str] | None = None  # given: the owner confirms these categories


def _checked(site: Site, change: DetailsChange, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the new values that differ from the site's, checked."""
    values: dict[str, Any] = {}
    if change.name is not None:
        name = change.name.strip()
        if not name or len(name) > 200:
            raise BadInput("Give the site a name (at most 200 characters).")
        values["name"] = name
    if change.department is not None:
        if len(change.department.strip()) > 100:
            raise BadInput("The department has at most 100 characters.")
        values["department"] = change.department.strip()
    if change.expires_on is not None:
        check_expiry(change.expires_on, dict(settings))
        values["expires_on"] = change.expires_on
    if change.data_source_note is not None:
        if len(change.data_source_note) > MAX_NOTE_CHARS:
            raise BadInput(f"Keep the data-source note under {MAX_NOTE_CHARS} characters.")
        values["data_source_note"] = change.data_source_note.strip()
    if change.categories is not None:
        values["categories"] = check_categories(change.categories)
    return {key: value for key, value in values.items() if getattr(site, key) != value}


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def update_details(
    session: Session, deps: Deps, site: Site, actor: User, change: DetailsChange
) -> Site:
    """Change the site's details; sending categories confirms them and may start a review.

    The pages of the published and the latest version are rendered again when what their
    frame shows changed, so viewers see the new name or expiry at once.

    :raise 400: a bad name, department, note, category or expiry date (past or beyond the max).
    """
    settings = workspace.settings_for(session, deps.settings)
    values = _checked(site, change, settings)
    before: dict[str, Any] = {key: _json(getattr(site, key)) for key in values}
    after: dict[str, Any] = {key: _json(value) for key, value in values.items()}
    if change.categories is not None:
        confirmed = values.get("categories", list(site.categories))
        state = review.state_after_confirmation(site, confirmed, settings)
        if state != site.review_state:
            before["review_state"], after["review_state"] = site.review_state, state
            site.review_state = state
    if not after:
        return site
    for key, value in values.items():
        setattr(site, key, value)
    if "expires_on" in values:
        site.expired_at = None  # a new date (never a past one): the sweep records its expiry anew
    if set(values) & set(FRAME_FIELDS):
        _render_current_pages(session, deps, site)
    audit.track_event(
        session,
        audit.SiteUpdated(data={"before": before, "after": after}),
        actor=actor,
        site=site,
    )
    session.commit()
    return site


def _render_current_pages(session: Session, deps: Deps, site: Site) -> None:
    numbers = {n for n in (site.published_version, site.latest_version) if n}
    if not numbers:
        return
    versions = session.scalars(
        select(SiteVersion).where(SiteVersion.site_id == site.id, SiteVersion.number.in_(numbers))
    ).all()
    for version in versions:
        render_version(deps, site, version)


def unpublish(session: Session, site: Site, actor: User) -> Site:
    """Take the site offline: the people it is shared with get an "unpublished" page.

    :raise 409: the site is not published.
    """
    if site.status != "published" or site.published_version is None:
        raise Conflict(f"{site.name} is not published, so there is nothing to unpublish.")
    site.status, site.unpublished_at = "unpublished", utcnow()
    audit.track_event(
        session,
        audit.SiteUnpublished(data={"before": "published", "after": "unpublished"}),
        actor=actor,
        site=site,
        version=site.published_version,
    )
    session.commit()
    return site


def republish(session: Session, site: Site, actor: User) -> Site:
    """Put an unpublished site back online with the version it had.

    :raise 409: the site is not unpublished.
    """
    if site.status != "unpublished" or site.published_version is None:
        raise Conflict(f"{site.name} is not unpublished; publish a version instead.")
    site.status, site.unpublished_at = "published", None
    audit.track_event(
        session,
        audit.SiteRepublished(data={"before": "unpublished", "after": "published"}),
        actor=actor,
        site=site,
        version=site.published_version,
    )
    session.commit()
    return site


def restorable_until(site: Site, settings: Mapping[str, Any]) -> dt.datetime | None:
    """Return when a deleted site stops being restorable (it is purged after that)."""
    if site.deleted_at is None:
        return None
    return site.deleted_at + dt.timedelta(days=int(settings["RETENTION_DAYS"]))


def delete_site(session: Session, site: Site, actor: User, settings: Mapping[str, Any]) -> Site:
    """Delete the site softly: hidden from everyone, restorable during the retention period."""
    site.deleted_at = utcnow()
    until = restorable_until(site, settings)
    audit.track_event(
        session,
        audit.SiteDeleted(
            data={
                "status": site.status,
                "restorable_until": until.isoformat() + "Z" if until else None,
            }
        ),
        actor=actor,
        site=site,
    )
    session.commit()
    return site


def undelete_site(session: Session, site: Site, actor: User, settings: Mapping[str, Any]) -> Site:
    """Restore a deleted site as it was.

    :raise 409: the site is not deleted.
    :raise 410: the retention period is over.
    """
    until = restorable_until(site, settings)
    if until is None:
        raise Conflict(f"{site.name} is not deleted.")
    if utcnow() > until:
        raise Gone(f"{site.name} was deleted more than {settings['RETENTION_DAYS']} days ago.")
    deleted_at, site.deleted_at = site.deleted_at, None
    audit.track_event(
        session,
        audit.SiteRestored(
            data={"deleted_at": deleted_at.isoformat() + "Z" if deleted_at else None}
        ),
        actor=actor,
        site=site,
    )
    session.commit()
    return site


@dataclass(frozen=True)
class ExpiryNotice:
    """What owners are told about a site that expires soon or has expired."""

    expires_on: dt.date
    days_left: int
    latest: dt.date  # the furthest date it can be extended to today

    @property
    def expired(self) -> bool:
        """Say whether the date has passed."""
        return self.days_left < 0


def latest_expiry(settings: Mapping[str, Any], today: dt.date | None = None) -> dt.date:
    """Return the furthest expiry date allowed today."""
    return (today or dt.date.today()) + dt.timedelta(days=int(settings["MAX_EXPIRY_DAYS"]))


def expiry_notice(
    site: Site, settings: Mapping[str, Any], today: dt.date | None = None
) -> ExpiryNotice | None:
    """Return a notice when the site expires within the warning period, or has expired."""
    today = today or dt.date.today()
    days_left = (site.expires_on - today).days
    if days_left > int(settings["EXPIRY_WARNING_DAYS"]):
        return None
    return ExpiryNotice(site.expires_on, days_left, latest_expiry(settings, today))
