"""The access policy: pure functions of (who, action, site), shared by the UI and the API.

Nothing here touches the request or the database (a site's grants are loaded with it), so a
table-driven test covers every role x action x site state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from app.models import Site


class Action(StrEnum):
    VIEW = "view"  # open the published page
    COMMENT = "comment"  # leave comments on a page one can view
    VIEW_DRAFTS = "view_drafts"  # versions, drafts, history, diffs, comments, progress
    EDIT = "edit"  # revise, edit by hand, apply comments, restore a version, retry
    PUBLISH = "publish"  # choose the published version
    SHARE = "share"  # audience and grants
    MANAGE = "manage"  # details, expiry, unpublish/republish, delete
    EXPORT = "export"  # download the archive
    REVIEW = "review"  # approve or reject, mark a version official
    RESTORE = "restore"  # undo a deletion during the retention period


class State(StrEnum):
    DRAFT = "draft"  # no published version yet
    PUBLISHED = "published"
    PENDING_REVIEW = "pending_review"  # published, but its categories need a reviewer first
    UNPUBLISHED = "unpublished"
    EXPIRED = "expired"
    DISABLED = "disabled"
    DELETED = "deleted"


class Role(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"  # by person, by group or as a workspace member
    NONE = "none"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in member (``id`` None means signed out)."""

    id: int | None
    email: str = ""
    is_admin: bool = False
    is_reviewer: bool = False
    sees_all_sites: bool = False  # an admin, while the workspace lets admins open every site
    is_active: bool = True
    groups: frozenset[str] = frozenset()

    @property
    def signed_in(self) -> bool:
        """Say whether this is an active, signed-in member."""
        return self.id is not None and self.is_active


ANONYMOUS = Principal(id=None)


def is_expired(site: Site, today: dt.date | None = None) -> bool:
    """Say whether the site is past its expiry date."""
    return site.expires_on < (today or dt.date.today())


def state_of(site: Site, today: dt.date | None = None) -> State:
    """Return the one state that decides access, most restrictive first."""
    if site.deleted_at is not None:
        return State.DELETED
    if site.disabled_at is not None:
        return State.DISABLED
    if is_expired(site, today):
        return State.EXPIRED
    if site.status == "unpublished":
        return State.UNPUBLISHED
    if site.published_version is None:
        return State.DRAFT
    if site.review_state in ("pending", "rejected"):
        return State.PENDING_REVIEW
    return State.PUBLISHED


def role_of(who: Principal, site: Site) -> Role:
    """Return the strongest role the site's sharing gives ``who`` (ignoring its state)."""
    if not who.signed_in:
        return Role.NONE
    if who.id == site.owner_id:
        return Role.OWNER
    if site.audience == "owner":
        return Role.NONE
    email = who.email.lower()
    roles = {
        grant.role
        for grant in site.grants
        if (grant.email and grant.email.lower() == email)
        or (grant.group_name and grant.group_name in who.groups)
    }
    if "editor" in roles:
        return Role.EDITOR
    if roles or site.audience == "workspace":
        return Role.VIEWER
    return Role.NONE


_OWNER_ALWAYS = {Action.VIEW, Action.COMMENT, Action.VIEW_DRAFTS, Action.EXPORT}
_OWNER_LIVE = set(Action) - {Action.REVIEW, Action.RESTORE}
_EDITOR_LIVE = {
    Action.VIEW,
    Action.COMMENT,
    Action.VIEW_DRAFTS,
    Action.EDIT,
    Action.PUBLISH,
    Action.EXPORT,
}
_REVIEWABLE = {State.DRAFT, State.PUBLISHED, State.PENDING_REVIEW, State.UNPUBLISHED}


def allowed_actions(who: Principal, site: Site, today: dt.date | None = None) -> set[Action]:
    """Return every action ``who`` may take on ``site`` now."""
    if not who.signed_in:
        return set()
    state = state_of(site, today)
    role = role_of(who, site)
    allowed: set[Action] = set()
    if role is Role.OWNER:
        if state is State.DELETED:
            allowed |= {Action.VIEW_DRAFTS, Action.RESTORE}
        elif state is State.DISABLED:
            allowed |= {Action.VIEW_DRAFTS, Action.EXPORT}
        elif state is State.EXPIRED:
            allowed |= _OWNER_ALWAYS | {Action.MANAGE}  # extend, unpublish or delete
        else:
            allowed |= _OWNER_LIVE
    elif role is Role.EDITOR and state in (State.DRAFT, State.PUBLISHED, State.UNPUBLISHED):
        allowed |= _EDITOR_LIVE - (
            {Action.VIEW, Action.COMMENT} if state is not State.PUBLISHED else set()
        )
    elif role is Role.VIEWER and state is State.PUBLISHED:
        allowed |= {Action.VIEW, Action.COMMENT}
    if who.is_reviewer and state in _REVIEWABLE and role is not Role.OWNER:
        # Reviewers read what they review; nobody reviews their own site.
        allowed |= {Action.VIEW_DRAFTS, Action.REVIEW}
    if who.is_admin and who.sees_all_sites:
        allowed |= {Action.VIEW_DRAFTS, Action.EXPORT}
        if state is not State.DELETED:
            allowed |= {Action.VIEW, Action.COMMENT}
    if who.is_admin and state is State.DELETED:
        allowed.add(Action.RESTORE)
    return allowed


def can(who: Principal, action: Action, site: Site, today: dt.date | None = None) -> bool:
    """Say whether ``who`` may do ``action`` on ``site``."""
    return action in allowed_actions(who, site, today)


def sees_gone_page(who: Principal, site: Site, today: dt.date | None = None) -> bool:
    """Say whether ``who`` should be told the site is gone (410) rather than "not found".

    People the site is shared with learn that it was unpublished, expired or disabled and who
    owns it; nobody else learns that it exists.
    """
    state = state_of(site, today)
    if state not in (State.UNPUBLISHED, State.EXPIRED, State.DISABLED):
        return False
    return who.signed_in and role_of(who, site) is not Role.NONE
