"""Sign-in: OpenID Connect, the loopback-only development sign-in, sessions and API tokens."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request, session

from app.access import Principal
from app.auth import sessions
from app.auth.identity import principal_of
from app.auth.sessions import SignIn, sign_in_for_api_token, sign_in_for_session
from app.db import get_session, reads_in_one_transaction
from app.errors import NotSignedIn
from app.models import User
from app.services import workspace

F = TypeVar("F", bound=Callable[..., Any])
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def bearer_token() -> str | None:
    """Return the Bearer token of this request, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def load_user() -> None:
    """Find who is asking: a browser session, or an API token sent as Bearer."""
    g.auth_method = None
    found: SignIn | None = None
    token = bearer_token()
    # A read-only page reads plain columns; the user's ORM object only if the view asks for it.
    one_read = reads_in_one_transaction()
    if token is not None:
        found = sign_in_for_api_token(get_session(), token, with_user=not one_read)
        g.auth_method = "token" if found else None
    elif "sid" in session:
        found = sign_in_for_session(get_session(), session.get("sid"), with_user=not one_read)
        g.auth_method = "session" if found else None
    g.sign_in = found
    settings: Mapping[str, Any] = current_app.config
    if found is not None:
        # The workspace settings (who reviews, whether admins see every site) came with the user.
        workspace.remember(get_session(), current_app.config, found.settings)
        settings = workspace_settings()
    if "db_session" in g and not one_read:
        # End the look-up's transaction: on a POST it holds SQLite's write lock, which the view
        # should take only when it writes (after reading uploads, for instance), and a view
        # that saves counted views before reading them must not read an older snapshot.
        g.db_session.commit()
    g.principal = (
        Principal(id=None)
        if found is None
        else principal_of(found.user_id, found.email, found.groups, settings)
    )


def workspace_settings() -> dict[str, Any]:
    """Return the configuration with the workspace settings admins chose laid over it."""
    return workspace.settings_for(get_session(), current_app.config)


def current_user() -> User | None:
    """Return the signed-in user of this request, or None (read on first use if need be)."""
    if "user" not in g:
        found: SignIn | None = g.get("sign_in")
        g.user = None if found is None else sessions.user_of(get_session(), found)
    user: User | None = g.user
    return user


def current_principal() -> Principal:
    """Return who is asking, for the access policy (nobody before the user is loaded)."""
    # Error pages can be rendered before load_user runs, e.g. when the CSRF check refuses a form.
    principal: Principal | None = g.get("principal")
    return principal if principal is not None else Principal(id=None)


def require_user() -> User:
    """Return the signed-in user.

    :raise 401: nobody is signed in.
    """
    user = current_user()
    if user is None:
        raise NotSignedIn("Sign in to continue.")
    return user


def login_required(view: F) -> F:
    """Send signed-out visitors to sign-in (HTML) or answer 401 (API)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require_user()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def is_loopback_request() -> bool:
    """Say whether the request came from and was addressed to a loopback address."""
    try:
        remote = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    host = (
        (request.host or "").rsplit(":", 1)[0]
        if not request.host.startswith("[")
        else (request.host.split("]")[0] + "]")
    )
    return remote.is_loopback and host.lower() in LOOPBACK_HOSTS


def dev_login_available() -> bool:
    """Say whether the development sign-in may be offered for this request."""
    return bool(current_app.config["DEV_LOGIN"]) and is_loopback_request()


def safe_next(target: str | None, default: str = "/") -> str:
    """Return ``target`` if it is a local path on this server, else ``default``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return default
    return target


def init_app(app: Flask) -> None:
    """Load the user before every request and register the sign-in routes."""
    from app.auth import oidc, views

    # The sign-in ends when its database row says (start_session), not when the cookie does:
    # signing the cookie again on every response would only cost time. It is sent when it
    # changes (sign-in, sign-out, a new CSRF token), with the sign-in's own lifetime.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.before_request(load_user)
    oidc.init_app(app)
    app.register_blueprint(views.bp)
