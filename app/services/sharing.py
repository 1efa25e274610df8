"""Sharing: a site's audience and its grants to people and groups, and who gains access.

Who may open a site is decided by app/access.py alone; this module changes the audience and
the grants and, before widening, asks the same policy who would gain or lose access. Nothing is
cached: the policy reads the grants afresh on every request, so a revocation holds at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.access import Role, role_of
from app.auth.identity import principal_for
from app.errors import BadInput
from app.models import Grant, Site, User
from app.services import review

AUDIENCES = ("owner", "people", "groups", "workspace")
ROLES = ("viewer", "editor")
MAX_GRANTS = 200
LISTED = 100  # names listed in a preview or an audit event; counts are always complete
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_RANK = {Role.NONE: 0, Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


@dataclass(frozen=True)
class GrantSpec:
    """Access asked for one person (by e-mail) or one group."""

    email: str = ""
    group: str = ""
    role: str = "viewer"

    @property
    def key(self) -> tuple[str, str]:
        """Identify the grantee."""
        return (self.email, self.group)


@dataclass(frozen=True)
class Person:
    """A member whose access changes."""

    email: str
    name: str
    before: str
    after: str


@dataclass
class SharingPreview:
    """Who gains, loses or changes access if the proposed sharing is saved."""

    audience: str
    grants: list[GrantSpec]
    gained: list[Person] = field(default_factory=list)
    lost: list[Person] = field(default_factory=list)
    changed: list[Person] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)  # e-mails of people not signed in yet
    new_groups: list[str] = field(default_factory=list)
    removed_groups: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    broader: bool = False  # the audience becomes the workspace: future members too

    @property
    def widens(self) -> bool:
        """Say whether anyone gains access or a stronger role, now or on joining."""
        upgraded = any(_RANK[Role(p.after)] > _RANK[Role(p.before)] for p in self.changed)
        return bool(self.broader or self.gained or self.invited or self.new_groups or upgraded)


def parse_grants(raw: object) -> list[GrantSpec]:
    """Read grants from the API's JSON: ``[{"email" or "group", "role"}]``.

    :raise 400: not a list of such objects.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadInput('\'grants\' must be a list of {"email" or "group", "role"} objects.')
    grants = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"email", "group", "role"}:
            raise BadInput("Each grant is an object with 'email' or 'group', and 'role'.")
        email, group, role = item.get("email") or "", item.get("group") or "", item.get("role")
        if not isinstance(email, str) or not isinstance(group, str):
            raise BadInput("A grant's 'email' and 'group' must be strings.")
        if role is not None and role not in ROLES:
            raise BadInput("A grant's 'role' must be 'viewer' or 'editor'.")
        grants.append(GrantSpec(email=email, group=group, role=role or "viewer"))
    return grants


def clean_grants(
    site: Site, audience: str, grants: Sequence[GrantSpec], settings: Mapping[str, Any]
) -> list[GrantSpec]:
    """Check the audience and grants; merge duplicates keeping the stronger role.

    :raise 400: unknown audience or role, a malformed or outside e-mail, a grant to the owner,
        grants on an owner-only site, too many grants.
    """
    if audience not in AUDIENCES:
        raise BadInput(f"'audience' must be one of {', '.join(AUDIENCES)}.")
    if audience == "owner" and grants:
        raise BadInput(
            "An owner-only site has no grants: choose people, groups or workspace, "
            "or send no grants to revoke them all."
        )
    if len(grants) > MAX_GRANTS:
        raise BadInput(f"At most {MAX_GRANTS} grants per site; share with a group instead.")
    domains = settings["ALLOWED_EMAIL_DOMAINS"]
    merged: dict[tuple[str, str], GrantSpec] = {}
    for grant in grants:
        email, group = grant.email.strip().lower(), grant.group.strip()
        if bool(email) == bool(group):
            raise BadInput("Each grant names either one e-mail address or one group.")
        if grant.role not in ROLES:
            raise BadInput("A grant's role must be 'viewer' or 'editor'.")
        if email and (not EMAIL.match(email) or len(email) > 320):
            raise BadInput(f"{email!r} is not an e-mail address.")
        if email and domains and email.rsplit("@", 1)[1] not in domains:
            raise BadInput(f"{email} is not in this workspace ({', '.join(domains)}).")
        if email and email == site.owner.email.lower():
            raise BadInput(f"{email} owns the site and always has access.")
        if len(group) > 200:
            raise BadInput("A group name has at most 200 characters.")
        spec = GrantSpec(email=email, group=group, role=grant.role)
        known = merged.get(spec.key)
        if known is None or known.role == "viewer":
            merged[spec.key] = spec
    return sorted(merged.values(), key=lambda g: (g.group, g.email))


def current_grants(site: Site) -> list[GrantSpec]:
    """Return the site's grants as specs."""
    return sorted(
        (GrantSpec(email=g.email, group=g.group_name, role=g.role) for g in site.grants),
        key=lambda g: (g.group, g.email),
    )


def with_sharing(site: Site, audience: str, grants: Sequence[GrantSpec]) -> Site:
    """Return a detached copy of the site with other sharing, for asking the policy."""
    copy = Site(owner_id=site.owner_id, audience=audience)
    copy.grants = [Grant(email=g.email, group_name=g.group, role=g.role) for g in grants]
    return copy


def preview(
    session: Session,
    site: Site,
    audience: str,
    grants: Sequence[GrantSpec],
    settings: Mapping[str, Any],
) -> SharingPreview:
    """Say who gains, loses or changes access if the site gets this audience and grants.

    :raise 400: as :func:`clean_grants`.
    """
    grants = clean_grants(site, audience, grants, settings)
    broader = audience == "workspace" and site.audience != "workspace"
    result = SharingPreview(audience=audience, grants=grants, broader=broader)
    proposed = with_sharing(site, audience, grants)
    users = session.scalars(
        select(User).where(User.is_active.is_(True), User.id != site.owner_id).order_by(User.name)
    ).all()
    for user in users:
        who = principal_for(user, settings)
        before, after = role_of(who, site), role_of(who, proposed)
        person = Person(user.email, user.name, before.value, after.value)
        if before is Role.NONE and after is not Role.NONE:
            result.gained.append(person)
        elif before is not Role.NONE and after is Role.NONE:
            result.lost.append(person)
        elif before is not after:
            result.changed.append(person)
    old = current_grants(site)
    old_emails = {g.email for g in old if g.email} if site.audience != "owner" else set()
    old_groups = {g.group for g in old if g.group} if site.audience != "owner" else set()
    new_emails = {g.email for g in grants if g.email} if audience != "owner" else set()
    new_groups = {g.group for g in grants if g.group} if audience != "owner" else set()
    fresh = new_emails - old_emails
    known = (
        set(session.scalars(select(User.email).where(User.email.in_(fresh)))) if fresh else set()
    )
    result.invited = sorted(fresh - known)
    result.new_groups = sorted(new_groups - old_groups)
    result.removed_groups = sorted(old_groups - new_groups)
    if result.widens and site.review_state == "unconfirmed":
        result.warnings.append(
            "The files look like they hold data that may need a reviewer's approval; "
            "confirm the site's data categories before sharing it."
        )
    return result


def set_sharing(
    session: Session,
    site: Site,
    actor: User,
    audience: str,
    grants: Sequence[GrantSpec],
    settings: Mapping[str, Any],
) -> SharingPreview:
    """Save the audience and grants; answer who gained, lost or changed access.

    :raise 400: as :func:`clean_grants`.
    :raise 409: the change widens access while the site waits for review or was rejected.
    """
    change = preview(session, site, audience, grants, settings)
    if change.widens:
        review.check_can_widen(site)
    before = sharing_json(site)
    wanted = {g.key: g for g in change.grants}
    for grant in list(site.grants):
        spec = wanted.pop((grant.email, grant.group_name), None)
        if spec is None:
            site.grants.remove(grant)
        else:
            grant.role = spec.role
    for spec in wanted.values():
        site.grants.append(
            Grant(email=spec.email, group_name=spec.group, role=spec.role, created_by_id=actor.id)
        )
    site.audience = audience
    audit.track_event(
        session,
        audit.SharingChanged(
            data={
                "before": before,
                "after": sharing_json(site),
                "gained": [p.email for p in change.gained[:LISTED]],
                "gained_count": len(change.gained),
                "lost": [p.email for p in change.lost[:LISTED]],
                "lost_count": len(change.lost),
                "invited": change.invited[:LISTED],
            }
        ),
        actor=actor,
        site=site,
    )
    session.commit()
    return change


def set_audience(session: Session, site: Site, actor: User, audience: str) -> None:
    """Change only the audience (as publishing does), in the caller's transaction.

    :raise 400: unknown audience.
    :raise 409: widening while the site waits for review or was rejected.
    """
    if audience not in AUDIENCES:
        raise BadInput(f"'audience' must be one of {', '.join(AUDIENCES)}.")
    if audience != "owner":
        review.check_can_widen(site)
    if audience == site.audience:
        return
    before = sharing_json(site)
    if audience == "owner":
        site.grants.clear()
    site.audience = audience
    audit.track_event(
        session,
        audit.SharingChanged(data={"before": before, "after": sharing_json(site)}),
        actor=actor,
        site=site,
    )


def sharing_json(site: Site) -> dict[str, Any]:
    """Describe the site's audience and grants."""
    return {
        "audience": site.audience,
        "grants": [
            {"email": g.email, "role": g.role} if g.email else {"group": g.group, "role": g.role}
            for g in current_grants(site)
        ],
    }


def preview_json(change: SharingPreview) -> dict[str, Any]:
    """Describe who gains, loses or changes access, for the API."""

    def people(rows: list[Person]) -> list[dict[str, str]]:
        return [
            {"email": p.email, "name": p.name, "before": p.before, "after": p.after}
            for p in rows[:LISTED]
        ]

    return {
        "widens": change.widens,
        "gained_count": len(change.gained) + len(change.invited),
        "gained": people(change.gained),
        "invited": change.invited[:LISTED],
        "new_groups": change.new_groups,
        "lost_count": len(change.lost),
        "lost": people(change.lost),
        "removed_groups": change.removed_groups,
        "changed": people(change.changed),
        "warnings": change.warnings,
    }
