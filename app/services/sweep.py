"""The sweep: what time does to sites, done once however often it runs.

``sitewright sweep`` (from cron) and the embedded server's timer run :func:`sweep`. It records
the expiry of sites past their date, warns the owners of idle sites, disables sites idle past the
limit once the warning period is over, and purges deleted sites past retention with their pages
and the uploaded files no other site uses.

Every action is conditioned on the column that records it (the conditions are in
:mod:`app.services.sweep_rules`) and checked again inside its own short write transaction per
site (a conditional UPDATE, or a locked row for a purge), so a second sweep, two sweeps at once,
or a sweep beside a web request cannot act twice. The sweep's writes keep ``updated_at`` as it
was: a warning must not make a site look active.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, delete, func, select, update
from sqlalchemy.orm import Session

from app import audit
from app.models import Site, SiteVersion, Source, utcnow
from app.services import Deps, notices, workspace
from app.services.lifecycle import latest_expiry
from app.services.sweep_refresh import refresh_dated, refreshable
from app.services.sweep_rules import (
    Rules,
    SweptSite,
    disableable,
    expirable,
    purgeable,
    stale_warnings,
    warnable,
)

log = logging.getLogger(__name__)
NAMES_SHOWN = 10  # sites named per report line; the rest are counted


@dataclass
class SweepReport:
    """What one sweep did, per action."""

    now: dt.datetime
    expired: list[SweptSite] = field(default_factory=list)
    warned: list[SweptSite] = field(default_factory=list)
    warnings_cleared: list[SweptSite] = field(default_factory=list)
    disabled: list[SweptSite] = field(default_factory=list)
    purged: list[SweptSite] = field(default_factory=list)
    refreshed: list[SweptSite] = field(default_factory=list)  # dated pages rendered again
    files_deleted: int = 0
    files_kept: int = 0  # uploads of purged sites that other sites still use
    failed: list[str] = field(default_factory=list)

    @property
    def acted(self) -> bool:
        """Say whether the sweep did or tried anything."""
        return any(
            (
                self.expired,
                self.warned,
                self.warnings_cleared,
                self.disabled,
                self.purged,
                self.refreshed,
                self.failed,
            )
        )

    def lines(self) -> list[str]:
        """Describe what was done, one line per action, or "Nothing to do."."""
        lines = []
        if self.expired:
            lines.append(f"Expired {_count(self.expired, 'site')}: {_names(self.expired)}.")
        if self.warned:
            lines.append(
                f"Warned the owners of {_count(self.warned, 'idle site')}: {_names(self.warned)}."
            )
        if self.warnings_cleared:
            lines.append(
                f"Cleared the idle warning of {_count(self.warnings_cleared, 'site')} opened or "
                f"changed since it was sent: {_names(self.warnings_cleared)}."
            )
        if self.disabled:
            lines.append(f"Disabled {_count(self.disabled, 'idle site')}: {_names(self.disabled)}.")
        if self.purged:
            lines.append(
                f"Purged {_count(self.purged, 'deleted site')}: {_names(self.purged)}; "
                f"removed {self.files_deleted} uploaded files, kept {self.files_kept} that "
                "other sites use."
            )
        if self.refreshed:
            lines.append(
                f"Rendered {_count(self.refreshed, 'dated page')} again for today: "
                f"{_names(self.refreshed)}."
            )
        lines.extend(self.failed)
        return lines or ["Nothing to do."]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _count(sites: list[SweptSite], noun: str) -> str:
    return f"{len(sites)} {noun}" + ("" if len(sites) == 1 else "s")


def _names(sites: list[SweptSite]) -> str:
    shown = ", ".join(str(site) for site in sites[:NAMES_SHOWN])
    more = len(sites) - NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat() + "Z"


def _claim(
    session: Session, site_id: int, conditions: list[ColumnElement[bool]], **values: Any
) -> bool:
    """Set ``values`` on the site if it still meets ``conditions``; say whether it did."""
    result = session.execute(
        update(Site)
        .where(Site.id == site_id, *conditions)
        .values(**values, updated_at=Site.updated_at)  # the sweep's own writes are not activity
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", result).rowcount == 1


def _latest_activity(site: Site) -> dt.datetime:
    return max(site.created_at, site.updated_at, site.last_viewed_at or site.created_at)


# Actions: each one site, in its own write transaction, reporting only what it did.


def expire(deps: Deps, rules: Rules, site_id: int, report: SweepReport) -> None:
    """Record that the site expired, and tell its owner."""
    with deps.db.transaction() as session:
        if not _claim(session, site_id, expirable(rules), expired_at=rules.now):
            return
        site = session.get_one(Site, site_id)
        audit.track_event(
            session,
            audit.SiteExpired(data={"expires_on": site.expires_on.isoformat(), "by": "sweep"}),
            actor=None,
            site=site,
        )
        notices.tell(
            session,
            site.owner_id,
            "expired",
            f"{site.name} expired: its expiry date ({site.expires_on.isoformat()}) has passed, "
            "so the people it is shared with see an “expired” page. Set a later expiry date on "
            f"its page (at most {latest_expiry(rules.settings, rules.today).isoformat()}) to "
            "bring it back, or delete it if nobody needs it.",
            site,
        )
    report.expired.append(SweptSite(site.id, site.name))


def warn_idle(deps: Deps, rules: Rules, site_id: int, report: SweepReport) -> None:
    """Warn the owner that the idle site will be disabled, and when."""
    with deps.db.transaction() as session:
        if not _claim(session, site_id, warnable(rules), idle_warned_at=rules.now):
            return
        site = session.get_one(Site, site_id)
        idle_since = _latest_activity(site)
        disable_on = rules.disable_on(idle_since)
        audit.track_event(
            session,
            audit.IdleWarned(
                data={
                    "idle_since": _iso(idle_since),
                    "disable_on": disable_on.isoformat(),
                    "inactivity_days": rules.inactivity.days,
                    "by": "sweep",
                }
            ),
            actor=None,
            site=site,
        )
        notices.tell(
            session,
            site.owner_id,
            "idle_warning",
            f"Nobody has opened or changed {site.name} since {idle_since.date().isoformat()}. "
            f"Open it or change it before {disable_on.isoformat()} to keep it; after that it "
            "is disabled and an admin must enable it.",
            site,
        )
    report.warned.append(SweptSite(site.id, site.name))


def clear_warning(deps: Deps, rules: Rules, site_id: int, report: SweepReport) -> None:
    """Forget an idle warning the site outlived: it was opened or changed since."""
    with deps.db.transaction() as session:
        site = session.get_one(Site, site_id)
        warned_at = site.idle_warned_at
        if not _claim(session, site_id, stale_warnings(rules), idle_warned_at=None):
            return
        audit.track_event(
            session,
            audit.IdleWarningCleared(
                data={"warned_at": warned_at.isoformat() + "Z" if warned_at else None}
            ),
            actor=None,
            site=site,
        )
    report.warnings_cleared.append(SweptSite(site.id, site.name))


def disable_idle(deps: Deps, rules: Rules, site_id: int, report: SweepReport) -> None:
    """Disable a site idle past the limit whose owner was warned, and tell the owner."""
    days = rules.inactivity.days
    reason = f"Nobody opened or changed it for {days} days"
    with deps.db.transaction() as session:
        if not _claim(
            session,
            site_id,
            disableable(rules),
            disabled_at=rules.now,
            disabled_reason=reason,
            disabled_by_id=None,
        ):
            return
        site = session.get_one(Site, site_id)
        audit.track_event(
            session,
            audit.SiteDisabled(
                data={
                    "reason": reason,
                    "by": "sweep",
                    "idle_since": _iso(_latest_activity(site)),
                    "warned_at": _iso(site.idle_warned_at or rules.now),
                }
            ),
            actor=None,
            site=site,
        )
        notices.tell(
            session,
            site.owner_id,
            "disabled",
            f"{site.name} was disabled: nobody opened or changed it for {days} days. You can "
            "still export it from its page; ask an admin to enable it if it is still needed.",
            site,
        )
    report.disabled.append(SweptSite(site.id, site.name))


def purge(deps: Deps, rules: Rules, site_id: int, report: SweepReport) -> None:
    """Remove a deleted site for good: its rows, its pages, and the files no other site uses."""
    with deps.db.transaction() as session:
        site = session.scalars(
            select(Site).where(Site.id == site_id, *purgeable(rules)).with_for_update(of=Site)
        ).first()
        if site is None:
            return
        sources = session.execute(
            select(Source.filename, Source.sha256).where(Source.site_id == site_id)
        ).all()
        shas = {sha for _, sha in sources}
        shared = set(
            session.scalars(
                select(Source.sha256)
                .where(Source.sha256.in_(shas), Source.site_id != site_id)
                .distinct()
            )
        )
        versions = session.scalar(
            select(func.count()).select_from(SiteVersion).where(SiteVersion.site_id == site_id)
        )
        audit.track_event(
            session,
            audit.SitePurged(
                data={
                    "deleted_at": _iso(site.deleted_at or rules.now),
                    "versions": versions or 0,
                    "sources": [{"filename": name, "sha256": sha} for name, sha in sources],
                    "blobs_deleted": sorted(shas - shared),
                    "blobs_kept": sorted(shared),
                    "by": "sweep",
                }
            ),
            actor=None,
            site=site,
        )
        # Versions, sources, grants, annotations, jobs and notices go with the row (ON DELETE
        # CASCADE); usage records keep their numbers without the site.
        session.execute(
            delete(Site).where(Site.id == site_id).execution_options(synchronize_session=False)
        )
        swept = SweptSite(site.id, site.name)
    report.purged.append(swept)
    # Files go only once the rows are gone for good; a file left behind is logged, not retried.
    try:
        deps.pages.delete_site(site_id)
        deleted = delete_unused_blobs(deps, shas - shared)
    except Exception:
        log.exception("sweep: could not remove every file of purged site %s", site_id)
        report.failed.append(f"Purged {swept} but could not remove all its files (see the log).")
        return
    report.files_deleted += deleted
    report.files_kept += len(shas) - deleted


def delete_unused_blobs(deps: Deps, shas: set[str]) -> int:
    """Delete the blobs no source refers to; return how many were deleted.

    The check and the deletions run inside a write transaction: on SQLite that holds the one
    writer's lock, so an upload of the same file either committed before (and the file stays) or
    stores it again after.
    """
    if not shas:
        return 0
    with deps.db.transaction() as session:
        used = set(session.scalars(select(Source.sha256).where(Source.sha256.in_(shas)).distinct()))
        return sum(deps.blobs.delete(sha) for sha in sorted(shas - used))


Action = Callable[[Deps, Rules, int, SweepReport], None]


def _candidates(deps: Deps, query: Select[Any]) -> list[int]:
    with deps.db.session() as session:
        return list(session.scalars(query))


def _act(
    deps: Deps,
    rules: Rules,
    report: SweepReport,
    stop: threading.Event | None,
    what: str,
    action: Action,
    conditions: list[ColumnElement[bool]],
) -> None:
    """Apply ``action`` to each site meeting ``conditions``; a failure skips only that site."""
    for site_id in _candidates(deps, select(Site.id).where(*conditions).order_by(Site.id)):
        if stop is not None and stop.is_set():
            return
        try:
            action(deps, rules, site_id, report)
        except Exception:
            log.exception("sweep: could not %s site %s", what, site_id)
            report.failed.append(
                f"Could not {what} site #{site_id} (see the log); the next sweep tries again."
            )


def sweep(
    deps: Deps, now: dt.datetime | None = None, stop: threading.Event | None = None
) -> SweepReport:
    """Expire, warn and disable idle, purge deleted, render dated pages; return what was done.

    ``now`` (UTC, naive) is the clock the rules use; ``stop`` ends the sweep between sites.
    """
    rules_now = now or utcnow()
    report = SweepReport(now=rules_now)
    deps.views.flush(deps.db)  # idle decisions see the views this process has counted
    with deps.db.session() as session:
        rules = Rules(rules_now, workspace.settings_for(session, deps.settings))
    steps: list[tuple[str, Action, list[ColumnElement[bool]]]] = [
        ("record the expiry of", expire, expirable(rules))
    ]
    if rules.inactivity:  # disabling first: a site is never warned and disabled in one sweep
        steps += [
            ("disable idle", disable_idle, disableable(rules)),
            ("clear the idle warning of", clear_warning, stale_warnings(rules)),
            ("warn the owner of idle", warn_idle, warnable(rules)),
        ]
    steps.append(("purge deleted", purge, purgeable(rules)))
    steps.append(("render again the dated page of", refresh_dated, refreshable(deps, rules)))
    for what, action, conditions in steps:
        _act(deps, rules, report, stop, what, action, conditions)
    return report
