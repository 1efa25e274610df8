"""The review gate and official versions: reviewers approve sites and confirm versions.

``Site.review_state`` is one of:

- ``unconfirmed``: the files suggest categories the owner has not confirmed yet;
- ``not_required``: the confirmed categories need no review;
- ``pending``: a confirmed category needs review and no reviewer has approved it yet;
- ``approved`` / ``rejected``: a reviewer decided, with a note.

While ``pending`` or ``rejected`` the site cannot be shared beyond its owner, and a published
site is hidden from its viewers (app/access.py). Once a reviewer is involved, only a
reviewer's approval releases the gate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.access import Action, Principal, can
from app.errors import BadInput, Conflict, NotFound
from app.models import Site, SiteVersion, User, utcnow

DECISIONS = {"approve": "approved", "reject": "rejected"}
BLOCKING_STATES = ("pending", "rejected")
DECIDED_STATES = ("pending", "approved", "rejected")
MAX_NOTE_CHARS = 2000


def review_categories(categories: Iterable[str], settings: Mapping[str, Any]) -> list[str]:
    """Return those of ``categories`` that the workspace says need a reviewer's approval."""
    required = set(settings["REVIEW_CATEGORIES"])
    return sorted(set(categories) & required)


def initial_review_state(
    declared: Sequence[str], suggested: Sequence[str], settings: Mapping[str, Any]
) -> str:
    """Return the review state of a new site from its declared and suggested categories."""
    if review_categories(declared, settings):
        return "pending"
    if set(suggested) - set(declared):
        return "unconfirmed"
    return "not_required"


def state_after_confirmation(
    site: Site, categories: Sequence[str], settings: Mapping[str, Any]
) -> str:
    """Return the review state once the owner confirms ``categories``.

    An approval survives only if no category needing review was added since; confirming
    again after a rejection asks for a new review.
    """
    if site.review_state in BLOCKING_STATES:
        # Dropping categories must not release a site a reviewer is looking at or turned down.
        return "pending"
    needed = review_categories(categories, settings)
    if not needed:
        return "not_required"
    if site.review_state == "approved" and set(needed) <= set(site.categories):
        return "approved"
    return "pending"


def blocks_sharing(site: Site) -> bool:
    """Say whether the review gate keeps the site to its owner."""
    return site.review_state in BLOCKING_STATES


def check_can_widen(site: Site) -> None:
    """Refuse to share the site beyond its owner while it waits for review.

    Categories the files suggest but the owner has not confirmed only warn (the site page,
    My sites and the share preview say so); declared and confirmed categories gate.

    :raise 409: pending or rejected.
    """
    if site.review_state == "pending":
        raise Conflict(
            f"{site.name} holds {', '.join(site.categories)} data, which a reviewer must "
            "approve before it is shared beyond you. It is in the reviewers' queue."
        )
    if site.review_state == "rejected":
        note = f" The reviewer wrote: “{site.review_note}”" if site.review_note else ""
        raise Conflict(
            f"A reviewer rejected sharing {site.name}.{note} Change the site or its "
            "categories and confirm them to ask for a new review."
        )


def decide(session: Session, site: Site, reviewer: User, decision: str, note: str) -> Site:
    """Approve or reject the site with a note.

    :raise 400: unknown decision, a rejection without a note, a note too long.
    :raise 409: the site's categories need no review.
    """
    if decision not in DECISIONS:
        raise BadInput("'decision' must be 'approve' or 'reject'.")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise BadInput(f"Keep the note under {MAX_NOTE_CHARS} characters.")
    if decision == "reject" and not note:
        raise BadInput("Say in the note why the site is rejected and what would change that.")
    if site.review_state not in DECIDED_STATES:
        raise Conflict(f"{site.name} needs no review: its confirmed categories do not require it.")
    before = {"review_state": site.review_state, "review_note": site.review_note}
    site.review_state, site.review_note = DECISIONS[decision], note
    site.reviewed_by_id, site.reviewed_at = reviewer.id, utcnow()
    audit.track_event(
        session,
        audit.ReviewDecided(
            data={
                "decision": decision,
                "categories": list(site.categories),
                "before": before,
                "after": {"review_state": site.review_state, "review_note": note},
            }
        ),
        actor=reviewer,
        site=site,
        version=site.published_version,
    )
    session.commit()
    return site


def mark_official(
    session: Session,
    site: Site,
    reviewer: User,
    number: int,
    until: dt.date,
    settings: Mapping[str, Any],
    today: dt.date | None = None,
) -> Site:
    """Confirm version ``number`` as official from today until ``until`` (inclusive).

    :raise 400: ``until`` not in the future or beyond the admins' maximum.
    :raise 404: no such version.
    :raise 409: the site waits for review or was rejected.
    """
    today = today or dt.date.today()
    latest = today + dt.timedelta(days=int(settings["MAX_EXPIRY_DAYS"]))
    if until <= today:
        raise BadInput("'until' must be a date in the future.")
    if until > latest:
        raise BadInput(f"'until' can be at most {latest.isoformat()}.")
    exists = session.scalars(
        select(SiteVersion.id).where(SiteVersion.site_id == site.id, SiteVersion.number == number)
    ).first()
    if exists is None:
        raise NotFound(f"Version {number} of this site does not exist.")
    if blocks_sharing(site):
        raise Conflict(f"Approve {site.name}'s review before marking a version official.")
    before = official_json(site, today)
    site.official_version, site.official_since, site.official_until = number, today, until
    site.official_by_id = reviewer.id
    audit.track_event(
        session,
        audit.OfficialMarked(data={"before": before, "after": official_json(site, today)}),
        actor=reviewer,
        site=site,
        version=number,
    )
    session.commit()
    return site


@dataclass(frozen=True)
class Official:
    """A version confirmed by a reviewer, and whether the confirmation still holds today."""

    version: int
    since: dt.date
    until: dt.date
    current: bool


def official_status(site: Site, today: dt.date | None = None) -> Official | None:
    """Return the site's official version and its window, or None if none was marked."""
    if site.official_version is None or site.official_since is None or not site.official_until:
        return None
    today = today or dt.date.today()
    return Official(
        site.official_version,
        site.official_since,
        site.official_until,
        current=site.official_since <= today <= site.official_until,
    )


def official_json(site: Site, today: dt.date | None = None) -> dict[str, Any] | None:
    """Describe the official version for the API and the audit log."""
    official = official_status(site, today)
    if official is None:
        return None
    return {
        "version": official.version,
        "since": official.since.isoformat(),
        "until": official.until.isoformat(),
        "state": "official" if official.current else "no_longer_confirmed",
        "by_id": site.official_by_id,
    }


def review_queue(session: Session, who: Principal) -> list[Site]:
    """Return the sites waiting for review that ``who`` may review, oldest first."""
    rows = session.scalars(
        select(Site)
        .where(Site.review_state == "pending", Site.deleted_at.is_(None))
        .order_by(Site.updated_at)
    ).all()
    return [site for site in rows if can(who, Action.REVIEW, site)]
