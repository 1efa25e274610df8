"""Server-side sign-in sessions and personal API tokens.

The browser cookie only carries a random session token; the database row is the session. Deleting
the row signs out at once, and a deactivated user is refused on the very next request.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from typing import TypeVar

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from app.models import ApiToken, User, UserSession, WorkspaceSettingsRow, utcnow
from app.services.workspace import ROW_ID

TOKEN_PREFIX = "swt_"  # noqa: S105 - a public prefix, not a secret
Credential = TypeVar("Credential", UserSession, ApiToken)
# Who a request signed in as (None: nobody) and the workspace settings row (None: none saved).
SignIn = tuple[User | None, WorkspaceSettingsRow | None]


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


def user_for_session(session: Session, token: str | None) -> User | None:
    """Return the active user of a live session token, or None."""
    return sign_in_for_session(session, token)[0]


def sign_in_for_session(session: Session, token: str | None) -> SignIn:
    """Return the active user of a live session token (or None) and the workspace settings row.

    One query per request: the session row, its user with the user's groups, and the settings
    row (which says who reviews and whether admins see every site). All of it is read afresh
    every time, so an ended session, a deactivated user or a changed setting counts on the very
    next request, in every process.
    """
    if not token:
        return None, None
    found = _with_settings(session, UserSession, _hash(token))
    if found is None:
        return None, None
    row, settings = found
    if row.expires_at < utcnow() or not row.user.is_active:
        return None, settings
    return row.user, settings


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


def user_for_api_token(session: Session, token: str | None) -> User | None:
    """Return the active owner of a valid, unrevoked API token, or None."""
    return sign_in_for_api_token(session, token)[0]


def sign_in_for_api_token(session: Session, token: str | None) -> SignIn:
    """Return the active owner of a valid, unrevoked API token (or None) and the workspace
    settings row, in one query (as :func:`sign_in_for_session`)."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None, None
    found = _with_settings(session, ApiToken, _hash(token))
    if found is None:
        return None, None
    row, settings = found
    if row.revoked_at is not None or not row.user.is_active:
        return None, settings
    return row.user, settings


def _with_settings(
    session: Session, model: type[Credential], key: str
) -> tuple[Credential, WorkspaceSettingsRow | None] | None:
    """Read a session or token row with its user, the user's groups and the settings row."""
    found = session.execute(_sign_in_query(model), {"key": key}).unique().first()
    return None if found is None else (found[0], found[1])


@functools.cache
def _sign_in_query(model: type[Credential]) -> Select[Credential, WorkspaceSettingsRow]:
    # Built once: composing the statement costs about as much as running it on SQLite.
    column = UserSession.id if model is UserSession else ApiToken.token_hash
    return (
        select(model, WorkspaceSettingsRow)
        # Joined on its fixed id, so the settings row comes back whether one was saved or not.
        .outerjoin(WorkspaceSettingsRow, WorkspaceSettingsRow.id == ROW_ID)
        .where(column == bindparam("key"))
        .options(joinedload(model.user).joinedload(User.groups))
    )
