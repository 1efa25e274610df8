"""What admins do to sites and people: disable and enable, transfer, owner departure.

Each action takes effect on the next request (access is decided per request from the rows),
writes its audit event, and tells the owner on "My sites".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import audit
from app.errors import BadInput, Conflict, NotFound
from app.models import Site, User, UserSession, utcnow
from app.services import notices

MAX_REASON_CHARS = 1000
MAX_BULK = 500


def get_any_site(session: Session, site_id: int) -> Site:
    """Return any site, deleted or not (admins act on every site).

    :raise 404: no such site.
    """
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"There is no site #{site_id}.")
    return site


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise BadInput("Give a reason: the owner sees it on their site.")
    if len(reason) > MAX_REASON_CHARS:
        raise BadInput(f"Keep the reason under {MAX_REASON_CHARS} characters.")
    return reason


def disable(session: Session, site: Site, actor: User, reason: str) -> Site:
    """Disable a site at once: viewers get the "disabled" page, the owner sees the reason.

    :raise 400: no reason given.
    :raise 409: already disabled, or deleted.
    """
    reason = _reason(reason)
    if site.deleted_at is not None:
        raise Conflict(f"{site.name} is deleted; there is nothing to disable.")
    if site.disabled_at is not None:
        raise Conflict(f"{site.name} is already disabled.")
    site.disabled_at, site.disabled_reason, site.disabled_by_id = utcnow(), reason, actor.id
    audit.track_event(session, audit.SiteDisabled(data={"reason": reason}), actor=actor, site=site)
    notices.tell(
        session,
        site.owner_id,
        "disabled",
        f"An admin disabled {site.name}: {reason} Nobody can open it until an admin enables it.",
        site,
    )
    session.commit()
    return site


def enable(session: Session, site: Site, actor: User, reason: str = "") -> Site:
    """Enable a disabled site again, as it was.

    :raise 409: the site is not disabled.
    """
    if site.disabled_at is None:
        raise Conflict(f"{site.name} is not disabled.")
    before = site.disabled_reason
    site.disabled_at, site.disabled_reason, site.disabled_by_id = None, "", None
    site.idle_warned_at = None  # the idle clock starts again
    audit.track_event(
        session,
        audit.SiteEnabled(data={"disabled_reason": before, "reason": (reason or "").strip()}),
        actor=actor,
        site=site,
    )
    notices.tell(session, site.owner_id, "enabled", f"An admin enabled {site.name} again.", site)
    session.commit()
    return site


def find_member(session: Session, email: str) -> User:
    """Return the active member with this e-mail address.

    :raise 400: nobody with that address has signed in, or they are deactivated.
    """
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise BadInput("Give the new owner's e-mail address.")
    users = session.scalars(
        select(User).where(func.lower(User.email) == email).order_by(User.is_active.desc())
    ).all()
    if not users:
        raise BadInput(
            f"Nobody with the address {email} has signed in yet; ask them to sign in once, "
            "then transfer."
        )
    if not users[0].is_active:
        raise BadInput(f"{email} is deactivated; choose an active member.")
    return users[0]


def transfer(session: Session, site: Site, actor: User, new_owner: User) -> Site:
    """Give the site to a new owner; the new owner is told on "My sites".

    The previous owner keeps no access of their own (they may still be in a grant).

    :raise 409: the new owner already owns it.
    """
    if site.owner_id == new_owner.id:
        raise Conflict(f"{new_owner.email} already owns {site.name}.")
    previous = site.owner
    site.owner, site.transferred_from_id, site.transferred_at = new_owner, previous.id, utcnow()
    audit.track_event(
        session,
        audit.SiteTransferred(
            data={"before": previous.email, "after": new_owner.email},
        ),
        actor=actor,
        site=site,
    )
    notices.tell(
        session,
        new_owner.id,
        "transferred",
        f"{site.name} is now yours (it belonged to {previous.name}, {previous.email}). "
        f"Check its expiry ({site.expires_on.isoformat()}), its sharing and its data.",
        site,
    )
    session.commit()
    return site


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did and which sites it skipped, with why."""

    done: list[Site]
    skipped: list[tuple[int, str]]


def _selection(session: Session, site_ids: Sequence[int]) -> list[Site]:
    ids = sorted(set(site_ids))
    if not ids:
        raise BadInput("Select at least one site.")
    if len(ids) > MAX_BULK:
        raise BadInput(f"Select at most {MAX_BULK} sites at once.")
    return list(session.scalars(select(Site).where(Site.id.in_(ids)).order_by(Site.id)))


def bulk_disable(session: Session, site_ids: Sequence[int], actor: User, reason: str) -> BulkResult:
    """Disable each selected site; already disabled or deleted ones are skipped and named.

    :raise 400: no selection, or no reason.
    """
    reason = _reason(reason)
    done, skipped = [], []
    for site in _selection(session, site_ids):
        try:
            done.append(disable(session, site, actor, reason))
        except Conflict as exc:
            session.rollback()
            skipped.append((site.id, exc.message))
    return BulkResult(done, skipped)


def bulk_enable(session: Session, site_ids: Sequence[int], actor: User) -> BulkResult:
    """Enable each selected disabled site.

    :raise 400: no selection.
    """
    done, skipped = [], []
    for site in _selection(session, site_ids):
        try:
            done.append(enable(session, site, actor))
        except Conflict as exc:
            session.rollback()
            skipped.append((site.id, exc.message))
    return BulkResult(done, skipped)


def bulk_transfer(
    session: Session, site_ids: Sequence[int], actor: User, new_owner_email: str
) -> BulkResult:
    """Transfer each selected site to one new owner.

    :raise 400: no selection, or no such active member.
    """
    new_owner = find_member(session, new_owner_email)
    done, skipped = [], []
    for site in _selection(session, site_ids):
        try:
            done.append(transfer(session, site, actor, new_owner))
        except Conflict as exc:
            session.rollback()
            skipped.append((site.id, exc.message))
    return BulkResult(done, skipped)


# Owner departure --------------------------------------------------------------------------


def deactivate(session: Session, user: User, actor: User | None, reason: str) -> User:
    """Deactivate a member: their sessions and tokens stop working on the next request, and
    their sites appear in the admins' departures list.

    ``actor`` None: the identity provider no longer admits them (seen at sign-in); they are
    reactivated when it admits them again.

    :raise 409: already deactivated, or an admin deactivating themselves.
    """
    if not user.is_active:
        raise Conflict(f"{user.email} is already deactivated.")
    if actor is not None and actor.id == user.id:
        raise Conflict("You cannot deactivate yourself; ask another admin.")
    reason = (reason or "").strip()[:MAX_REASON_CHARS] or "Deactivated by an admin."
    user.is_active, user.deactivated_at, user.deactivation_reason = False, utcnow(), reason
    user.deactivated_by_idp = actor is None
    for row in session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
        session.delete(row)
    audit.track_event(
        session,
        audit.UserDeactivated(data={"email": user.email, "reason": reason}),
        actor=actor,
    )
    session.commit()
    return user


def reactivate(session: Session, user: User, actor: User | None) -> User:
    """Let a deactivated member sign in again; the sites they still own are theirs as before.

    ``actor`` None: the identity provider admits them again.

    :raise 409: the member is active.
    """
    if user.is_active:
        raise Conflict(f"{user.email} is active.")
    user.is_active, user.deactivated_at, user.deactivation_reason = True, None, ""
    user.deactivated_by_idp = False
    data = {"email": user.email, "by": "admin" if actor else "identity_provider"}
    audit.track_event(session, audit.UserReactivated(data=data), actor=actor)
    session.commit()
    return user


@dataclass(frozen=True)
class Departure:
    """A deactivated member and the sites they still own."""

    user: User
    sites: list[Site]


def departures(session: Session) -> list[Departure]:
    """Return deactivated members who still own sites (not deleted), longest gone first,
    then those who own none."""
    users = session.scalars(
        select(User).where(User.is_active.is_(False)).order_by(User.deactivated_at, User.id)
    ).all()
    if not users:
        return []
    owned: dict[int, list[Site]] = {user.id: [] for user in users}
    query = (
        select(Site)
        .where(Site.owner_id.in_(list(owned)), Site.deleted_at.is_(None))
        .order_by(Site.name)
    )
    for site in session.scalars(query):
        owned[site.owner_id].append(site)
    result = [Departure(user, owned[user.id]) for user in users]
    return sorted(result, key=lambda d: not d.sites)


def get_user(session: Session, user_id: int) -> User:
    """Return a member by id.

    :raise 404: no such member.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no member #{user_id}.")
    return user


def find_users(session: Session, search: str, limit: int = 50) -> list[User]:
    """Return members whose e-mail or name contains ``search`` (all when empty)."""
    query = select(User).order_by(User.email).limit(limit)
    search = search.strip().lower()
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(
            func.lower(User.email).like(pattern, escape="\\")
            | func.lower(User.name).like(pattern, escape="\\")
        )
    return list(session.scalars(query))
