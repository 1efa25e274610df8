"""Server-side sessions: sign-out, deactivation and expiry take effect on the next request."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.db import Database
from app.models import User, UserSession, utcnow
from tests.auth.flows import is_signed_in
from tests.conftest import Auth, csrf_from

COOKIE = "sitewright_session"


def session_cookie(client: FlaskClient) -> str:
    """Return the value of the client's session cookie."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def test_cookie_is_http_only_and_same_site_lax(client: FlaskClient) -> None:
    page = client.get("/auth/dev")
    response = client.post(
        "/auth/dev",
        data={
            "email": "kim@example.com",
            "next": "/",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )

    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie


def test_database_keeps_only_a_hash_of_the_session_token(
    app: Flask, client: FlaskClient, auth: Auth, database: Database
) -> None:
    auth.login()
    token = app.session_interface.get_signing_serializer(app).loads(  # type: ignore[attr-defined]
        session_cookie(client)
    )["sid"]

    with database.session() as session:
        ids = session.scalars(select(UserSession.id)).all()
    assert ids == [hashlib.sha256(token.encode()).hexdigest()]


def test_each_sign_in_gets_a_new_session(
    client: FlaskClient, auth: Auth, database: Database
) -> None:
    auth.login()
    first = session_cookie(client)
    auth.login()

    assert session_cookie(client) != first
    with database.session() as session:
        assert len(session.scalars(select(UserSession.id)).all()) == 2


def test_sign_out_takes_effect_at_once(
    app: Flask, client: FlaskClient, auth: Auth, database: Database
) -> None:
    auth.login()
    copied = app.test_client()
    copied.set_cookie(COOKIE, session_cookie(client))
    assert is_signed_in(copied)

    auth.logout()

    assert not is_signed_in(client)
    response = copied.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/auth/login")
    with database.session() as session:
        assert session.scalars(select(UserSession)).all() == []


def test_sign_out_needs_csrf(client: FlaskClient, auth: Auth) -> None:
    auth.login()

    response = client.post("/auth/logout")

    assert response.status_code == 400
    assert "The form expired or was sent from elsewhere" in response.get_data(as_text=True)
    assert is_signed_in(client)


def test_sign_out_is_post_only(client: FlaskClient, auth: Auth) -> None:
    auth.login()

    assert client.get("/auth/logout").status_code == 405
    assert is_signed_in(client)


def test_deactivated_user_is_signed_out_on_the_next_request(
    client: FlaskClient, auth: Auth, database: Database, make_token: Callable[..., str]
) -> None:
    token = make_token("dora@example.com")
    auth.login("dora@example.com")
    bearer = {"Authorization": f"Bearer {token}"}
    assert is_signed_in(client)
    assert client.get("/api/v1/templates", headers=bearer).status_code == 200

    with database.transaction() as session:
        session.execute(
            update(User).where(User.email == "dora@example.com").values(is_active=False)
        )

    assert not is_signed_in(client)
    response = client.get("/api/v1/templates", headers=bearer)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_signed_in"
    page = client.get("/auth/dev")
    again = client.post(
        "/auth/dev",
        data={
            "email": "dora@example.com",
            "next": "/",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert again.status_code == 403
    assert "deactivated" in again.get_data(as_text=True)
    assert not is_signed_in(client)


def test_expired_session_is_refused(client: FlaskClient, auth: Auth, database: Database) -> None:
    auth.login()
    assert is_signed_in(client)

    with database.transaction() as session:
        session.execute(update(UserSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))

    assert not is_signed_in(client)
