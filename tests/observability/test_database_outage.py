"""A database that stops answering gives 503 with Retry-After, not 500; the app recovers."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.db import Database
from tests.conftest import Auth

# Nothing listens on port 9 of loopback: connecting fails at once, as during a restart.
CLOSED_PORT_URL = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"


@pytest.fixture
def database_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Call the result to point the app at a database that refuses connections."""
    broken = Database(CLOSED_PORT_URL)

    def go_down() -> None:
        monkeypatch.setitem(app.extensions, "sitewright.db", broken)

    yield go_down
    broken.dispose()


def test_html_page_answers_503(
    auth: Auth,
    client: FlaskClient,
    database_down: Callable[[], None],
    log_stream: io.StringIO,
) -> None:
    auth.login()
    database_down()
    response = client.get("/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "The database is not answering" in response.get_data(as_text=True)
    warnings = [
        line for line in log_stream.getvalue().splitlines() if "database unavailable" in line
    ]
    assert len(warnings) == 1 and '"level": "WARNING"' in warnings[0]


def test_api_answers_503_json(
    client: FlaskClient, make_token: Callable[..., str], database_down: Callable[[], None]
) -> None:
    token = make_token()
    database_down()
    response = client.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "database_unavailable"


def test_back_to_normal_when_the_database_returns(
    app: Flask, auth: Auth, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.login()
    working = app.extensions["sitewright.db"]
    broken = Database(CLOSED_PORT_URL)
    monkeypatch.setitem(app.extensions, "sitewright.db", broken)
    assert client.get("/").status_code == 503
    monkeypatch.setitem(app.extensions, "sitewright.db", working)
    assert client.get("/").status_code == 200
    broken.dispose()


def raise_from_view(app: Flask, error: Exception) -> None:
    def fail() -> str:
        raise error

    app.add_url_rule("/test/fail", "test_fail", fail)


def test_invalidated_connection_answers_503(app: Flask, client: FlaskClient) -> None:
    raise_from_view(
        app, DBAPIError("SELECT 1", {}, Exception("server closed"), connection_invalidated=True)
    )
    assert client.get("/test/fail").status_code == 503


def test_other_database_errors_stay_500(app: Flask, client: FlaskClient) -> None:
    raise_from_view(app, IntegrityError("INSERT", {}, Exception("duplicate key")))
    response = client.get("/test/fail")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
