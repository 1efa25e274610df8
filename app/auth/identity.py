"""Who may sign in, who is an admin, and keeping user rows in step with the identity provider."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import Principal
from app.models import Group, User, utcnow

DEV_ISSUER = "sitewright:dev"
CLI_ISSUER = "sitewright:cli"


class MembershipRefused(Exception):
    """The identity is valid but not a member of this workspace; the message says why.

    ``rule`` names what refused: "email" (none sent), "domain" or "group".
    """

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


def check_membership(email: str, groups: Iterable[str], settings: Mapping[str, Any]) -> None:
    """Refuse e-mail domains and missing groups the workspace does not admit.

    :raise MembershipRefused: with a message naming the rule that refused.
    """
    if not email or "@" not in email:
        raise MembershipRefused("Your identity provider did not send an e-mail address.", "email")
    domain = email.rsplit("@", 1)[1].lower()
    allowed = settings["ALLOWED_EMAIL_DOMAINS"]
    if allowed and domain not in allowed:
        raise MembershipRefused(
            f"Accounts from {domain} are not members of this workspace.", "domain"
        )
    required = settings["REQUIRED_GROUP"]
    if required and required not in set(groups):
        raise MembershipRefused(
            f"You need to be in the group {required!r} to use Sitewright; ask your administrator.",
            "group",
        )


def is_admin(user: User, settings: Mapping[str, Any]) -> bool:
    """Say whether the user is an admin by e-mail or by group."""
    return _is_admin(user.email, user.group_names, settings)


def is_reviewer(user: User, settings: Mapping[str, Any]) -> bool:
    """Say whether the user may review sites: members of the reviewer group, and admins while
    the workspace lets admins open every site (reviewers read the sites they review)."""
    return _is_reviewer(user.email, user.group_names, settings)


def _is_admin(email: str, groups: Collection[str], settings: Mapping[str, Any]) -> bool:
    if email.lower() in settings["ADMINS"]:
        return True
    group = settings["ADMIN_GROUP"]
    return bool(group) and group in groups


def _is_reviewer(email: str, groups: Collection[str], settings: Mapping[str, Any]) -> bool:
    group = settings["REVIEWER_GROUP"]
    if bool(group) and group in groups:
        return True
    return _is_admin(email, groups, settings) and bool(settings.get("ADMINS_SEE_ALL_SITES", True))


def principal_for(user: User | None, settings: Mapping[str, Any]) -> Principal:
    """Describe a user for the access policy."""
    if user is None:
        return Principal(id=None)
    return principal_of(user.id, user.email, frozenset(user.group_names), settings, user.is_active)


def principal_of(
    user_id: int,
    email: str,
    groups: frozenset[str],
    settings: Mapping[str, Any],
    is_active: bool = True,
) -> Principal:
    """Describe a member, given as the columns the access policy reads, for the access policy."""
    admin = _is_admin(email, groups, settings)
    return Principal(
        id=user_id,
        email=email,
        is_admin=admin,
        sees_all_sites=admin and bool(settings.get("ADMINS_SEE_ALL_SITES", True)),
        is_reviewer=_is_reviewer(email, groups, settings),
        is_active=is_active,
        groups=groups,
    )


def _groups(session: Session, names: Iterable[str]) -> list[Group]:
    wanted = sorted({name.strip() for name in names if name and name.strip()})[:200]
    existing = {g.name: g for g in session.scalars(select(Group).where(Group.name.in_(wanted)))}
    for name in wanted:
        if name not in existing:
            existing[name] = Group(name=name[:200])
            session.add(existing[name])
    return [existing[name] for name in wanted]


def upsert_user(
    session: Session,
    *,
    issuer: str,
    subject: str,
    email: str,
    name: str,
    groups: Iterable[str] | None,
    login: bool = True,
) -> User:
    """Create or update the user keyed by (issuer, subject); groups are replaced when given."""
    user = session.scalars(
        select(User).where(User.issuer == issuer, User.subject == subject)
    ).first()
    if user is None:
        # A user provisioned from the command line becomes this identity on first sign-in.
        user = session.scalars(
            select(User).where(User.issuer == CLI_ISSUER, User.email == email.lower())
        ).first()
        if user is not None:
            user.issuer, user.subject = issuer, subject
    if user is None:
        user = User(issuer=issuer, subject=subject, email=email.lower(), name=name or email)
        session.add(user)
    else:
        user.email, user.name = email.lower(), name or user.name
    if groups is not None:
        user.groups = _groups(session, groups)
    if login:
        user.last_login_at = utcnow()
    return user


def provision_user(
    session: Session, *, email: str, name: str = "", groups: Iterable[str] | None = None
) -> User:
    """Return the user with this e-mail, creating a placeholder that adopts the first sign-in."""
    email = email.strip().lower()
    user = session.scalars(
        select(User)
        .where(User.email == email)
        .order_by(User.last_login_at.desc().nulls_last(), User.id)
    ).first()
    if user is None:
        return upsert_user(
            session,
            issuer=CLI_ISSUER,
            subject=email,
            email=email,
            name=name or email.split("@")[0],
            groups=groups,
            login=False,
        )
    if name:
        user.name = name
    if groups is not None:
        user.groups = _groups(session, groups)
    return user
