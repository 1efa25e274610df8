"""Server-side sign-in sessions and personal API tokens.

The browser cookie only carries a random session token; the database row is the session. Deleting
the row signs out at once, and a deactivated user is refused on the very next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import ApiToken, User, UserSession, utcnow

TOKEN_PREFIX = "swt_"  # noqa: S105 - a public prefix, not a secret


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
    if not token:
        return None
    row = session.get(UserSession, _hash(token))
    if row is None or row.expires_at < utcnow() or not row.user.is_active:
        return None
    return row.user


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
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).first()
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    return row.user
