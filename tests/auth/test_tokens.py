"""Personal API tokens: created on the command line or in the UI, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import Database
from app.models import ApiToken, Base, User
from tests.conftest import Auth, csrf_from

TOKEN_RE = re.compile(r"^swt_[A-Za-z0-9_-]{40,}$")
NEW_TOKEN_RE = re.compile(r'<code class="token" id="new-token">([^<]+)</code>')


def bearer(token: str) -> dict[str, str]:
    """Return the header that sends ``token``."""
    return {"Authorization": f"Bearer {token}"}


def assert_not_signed_in_json(response: object) -> None:
    """Check the API's answer to a request without a valid token."""
    assert response.status_code == 401  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert body["error"]["code"] == "not_signed_in"
    assert "Bearer" in body["error"]["message"]


def test_cli_prints_the_token_alone_on_the_last_line(app: Flask, database: Database) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "token",
            "create",
            "--email",
            "Terry@Example.com",
            "--group",
            "analysts",
            "--group",
            "finance",
        ]
    )

    assert result.exit_code == 0, result.output
    lines = result.output.rstrip("\n").split("\n")
    assert TOKEN_RE.match(lines[-1]), lines[-1]
    with database.session() as session:
        user = session.scalars(select(User).where(User.email == "terry@example.com")).one()
        assert user.group_names == ["analysts", "finance"]


def test_token_authenticates_the_api(client: FlaskClient, make_token: Callable[..., str]) -> None:
    token = make_token("api@example.com")

    response = client.get("/api/v1/templates", headers=bearer(token))

    assert response.status_code == 200
    templates = response.get_json()["templates"]
    assert templates and {"name", "title", "description", "version"} <= set(templates[0])


def test_only_the_hash_is_stored(
    app: Flask, database: Database, make_token: Callable[..., str]
) -> None:
    token = make_token("hash@example.com")

    with database.session() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token.startswith(row.prefix) and len(row.prefix) < 16
        for table in Base.metadata.sorted_tables:  # the api_tokens table and every other
            for values in session.execute(select(table)).all():
                assert not any(token in str(value) for value in values), table.name


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param(bearer("swt_" + "x" * 43), id="unknown-token"),
        pytest.param(bearer("not-a-token"), id="not-a-token"),
        pytest.param({"Authorization": "Bearer "}, id="empty"),
        pytest.param({"Authorization": "Basic c3d0Og=="}, id="basic"),
    ],
)
def test_missing_or_wrong_token_is_401_json(client: FlaskClient, headers: dict[str, str]) -> None:
    assert_not_signed_in_json(client.get("/api/v1/templates", headers=headers))


def test_altered_token_is_401(client: FlaskClient, make_token: Callable[..., str]) -> None:
    token = make_token("alter@example.com")
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert_not_signed_in_json(client.get("/api/v1/templates", headers=bearer(altered)))


def test_browser_session_does_not_open_the_api(client: FlaskClient, auth: Auth) -> None:
    auth.login()

    assert_not_signed_in_json(client.get("/api/v1/templates"))


def test_token_made_in_the_ui_works_until_revoked_there(
    app: Flask, client: FlaskClient, auth: Auth, database: Database
) -> None:
    auth.login("ui@example.com")
    page = client.get("/account/tokens")
    created = client.post(
        "/account/tokens",
        data={"name": "weekly export", "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert created.status_code == 200
    match = NEW_TOKEN_RE.search(created.get_data(as_text=True))
    assert match, "the new token is shown once"
    token = match.group(1)
    script = app.test_client()  # a script: no cookies, only the token
    assert script.get("/api/v1/templates", headers=bearer(token)).status_code == 200
    assert token not in client.get("/account/tokens").get_data(as_text=True)

    with database.session() as session:
        token_id = session.scalars(
            select(ApiToken.id).where(ApiToken.name == "weekly export")
        ).one()
    revoked = client.post(
        "/account/tokens",
        data={"revoke": str(token_id), "csrf_token": csrf_from(created.get_data(as_text=True))},
    )

    assert revoked.status_code == 200
    assert "Token weekly export is revoked." in revoked.get_data(as_text=True)
    assert_not_signed_in_json(script.get("/api/v1/templates", headers=bearer(token)))


def test_cannot_revoke_someone_elses_token(
    app: Flask, client: FlaskClient, auth: Auth, database: Database, make_token: Callable[..., str]
) -> None:
    token = make_token("owner@example.com")
    with database.session() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    auth.login("intruder@example.com")
    page = client.get("/account/tokens")

    response = client.post(
        "/account/tokens",
        data={"revoke": str(token_id), "csrf_token": csrf_from(page.get_data(as_text=True))},
    )

    assert response.status_code == 404
    assert client.get("/api/v1/templates", headers=bearer(token)).status_code == 200


def test_cli_user_who_signs_in_later_is_the_same_user(
    client: FlaskClient, auth: Auth, database: Database, make_token: Callable[..., str]
) -> None:
    token = make_token("sam@example.com", "analysts")

    auth.login("Sam@Example.com", name="Sam")

    with database.session() as session:
        users = session.scalars(select(User).where(User.email == "sam@example.com")).all()
        assert len(users) == 1
        owner_id = session.scalars(select(ApiToken.user_id)).one()
    assert owner_id == users[0].id
    assert token[:10] in client.get("/account/tokens").get_data(as_text=True)
    assert client.get("/api/v1/templates", headers=bearer(token)).status_code == 200


def test_token_for_a_signed_in_user_belongs_to_that_user(
    client: FlaskClient, auth: Auth, database: Database, make_token: Callable[..., str]
) -> None:
    auth.login("lee@example.com")

    token = make_token("lee@example.com")

    with database.session() as session:
        assert len(session.scalars(select(User)).all()) == 1
    assert token[:10] in client.get("/account/tokens").get_data(as_text=True)
