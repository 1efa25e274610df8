"""Server-side sign-in sessions and personal API tokens.

The browser cookie only carries a random session token; the database row is the session. Deleting
the row signs out at once, and a deactivated user is refused on the very next request.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Label, Select, bindparam, delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from app.models import (
    ApiToken,
    Group,
    User,
    UserSession,
    WorkspaceSettingsRow,
    user_groups,
    utcnow,
)
from app.services.workspace import ROW_ID

TOKEN_PREFIX = "swt_"  # noqa: S105 - a public prefix, not a secret
Credential = type[UserSession] | type[ApiToken]


@dataclass(frozen=True)
class SignIn:
    """Who a request signed in as, and the workspace settings saved with it (None: none saved).

    ``user`` is the ORM object when the caller asked for it, else the user's columns, which
    :func:`user_of` turns into one only if a view needs it.
    """

    user_id: int
    email: str
    groups: frozenset[str]
    settings: Mapping[str, Any] | None
    user: User | Mapping[str, Any]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, method: str, hours: int) -> str:
    """Create a sign-in session for the user and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id=_hash(token),
            user_id=user.id,
            method=method,
            expires_at=utcnow() + dt.timedelta(hours=hours),
        )
    )
    return token


def sign_in_for_session(
    session: Session, token: str | None, *, with_user: bool = True
) -> SignIn | None:
    """Return who a live session token signs in as (None: nobody), with the settings row.

    One query per request: the session row, its user with the user's groups, and the settings
    row (which says who reviews and whether admins see every site). All of it is read afresh
    every time, so an ended session, a deactivated user or a changed setting counts on the very
    next request, in every process. ``with_user=False`` reads plain columns, not ORM objects.
    """
    if not token:
        return None
    return _sign_in(session, UserSession, _hash(token), with_user)


def end_session(session: Session, token: str | None) -> None:
    """Delete the session row so the cookie is worthless from now on."""
    if token:
        session.execute(delete(UserSession).where(UserSession.id == _hash(token)))


def create_api_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user=user, name=name[:100] or "API token", token_hash=_hash(token), prefix=token[:10]
    )
    session.add(row)
    return row, token


def sign_in_for_api_token(
    session: Session, token: str | None, *, with_user: bool = True
) -> SignIn | None:
    """Return who a valid, unrevoked API token signs in as (None: nobody), with the settings
    row, in one query (as :func:`sign_in_for_session`)."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    return _sign_in(session, ApiToken, _hash(token), with_user)


def user_of(session: Session, found: SignIn) -> User:
    """Return the signed-in user as an ORM object of ``session``.

    Built from the columns the sign-in read in this request, with no query of its own (an error
    page answering a database outage shows who is signed in too); the groups load on first use.
    """
    if isinstance(found.user, User):
        return found.user
    existing = session.identity_map.get(identity_key(User, found.user_id))
    if isinstance(existing, User):
        return existing
    user = User(**found.user)
    make_transient_to_detached(user)
    session.add(user)
    return user


def _is_live(model: Credential, ends: dt.datetime | None) -> bool:
    # A session row lives until it expires; a token row until it is revoked.
    if model is UserSession:
        return ends is not None and ends >= utcnow()
    return ends is None


def _sign_in(session: Session, model: Credential, key: str, with_user: bool) -> SignIn | None:
    if with_user:
        found = session.execute(_user_query(model), {"key": key}).unique().first()
        if found is None:
            return None
        user, ends, settings = found
        if not _is_live(model, ends) or not user.is_active:
            return None
        return SignIn(user.id, user.email, frozenset(user.group_names), settings, user)
    # One row per group of the user (one with no group name when they have none).
    rows = session.execute(_column_query(model), {"key": key}).all()
    if not rows:
        return None
    first = rows[0]
    if not _is_live(model, first.ends) or not first.is_active:
        return None
    groups = frozenset(row.group for row in rows if row.group is not None)
    columns = {column.key: first._mapping[column] for column in User.__table__.columns}
    return SignIn(first.id, first.email, groups, first.settings, columns)


def _key_and_end(model: Credential) -> tuple[InstrumentedAttribute[str], Label[Any]]:
    if model is UserSession:
        return UserSession.id, UserSession.expires_at.label("ends")
    return ApiToken.token_hash, ApiToken.revoked_at.label("ends")


# Both statements are built once: composing one costs about as much as running it on SQLite.
# The settings row is joined on its fixed id, so it comes back whether one was saved or not.


@functools.cache
def _user_query(model: Credential) -> Select[tuple[User, Any, Any]]:
    key, ends = _key_and_end(model)
    return (
        select(User, ends, WorkspaceSettingsRow.values)
        .select_from(model)
        .join(User, User.id == model.user_id)
        .outerjoin(WorkspaceSettingsRow, WorkspaceSettingsRow.id == ROW_ID)
        .where(key == bindparam("key"))
        .options(joinedload(User.groups))
    )


@functools.cache
def _column_query(model: Credential) -> Select[Any]:
    # Tables, not mapped classes: a plain Core statement skips the ORM's result processing.
    credential = model.__table__
    key, ends = (
        (credential.c.id, credential.c.expires_at)
        if model is UserSession
        else (credential.c.token_hash, credential.c.revoked_at)
    )
    users, groups, saved = User.__table__, Group.__table__, WorkspaceSettingsRow.__table__
    return (
        select(
            ends.label("ends"),
            users,
            groups.c.name.label("group"),
            saved.c["values"].label("settings"),
        )
        .select_from(credential)
        .join(users, users.c.id == credential.c.user_id)
        .outerjoin(user_groups, user_groups.c.user_id == users.c.id)
        .outerjoin(groups, groups.c.id == user_groups.c.group_id)
        .outerjoin(saved, saved.c.id == ROW_ID)
        .where(key == bindparam("key"))
    )
