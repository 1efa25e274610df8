"""The password-less development sign-in: only when switched on, only on loopback, always shown."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.auth.flows import csrf_token_for, is_signed_in
from tests.conftest import Auth, csrf_from

BANNER = "Development sign-in is on"
FORM = {"email": "dev@example.com", "name": "Dev", "next": "/"}


@pytest.mark.app_settings(DEV_LOGIN=False)
def test_off_unless_enabled(app: Flask, client: FlaskClient) -> None:
    assert client.get("/auth/dev").status_code == 404
    token = csrf_token_for(app, client)
    assert client.post("/auth/dev", data={**FORM, "csrf_token": token}).status_code == 404
    assert not is_signed_in(client)
    login = client.get("/auth/login").get_data(as_text=True)
    assert "/auth/dev" not in login
    assert BANNER not in login


@pytest.mark.parametrize(
    "request_from",
    [
        pytest.param({"environ_base": {"REMOTE_ADDR": "10.0.0.5"}}, id="remote-address"),
        pytest.param({"base_url": "http://sites.example.com"}, id="public-host-name"),
        pytest.param(
            {"environ_base": {"REMOTE_ADDR": "10.0.0.5"}, "base_url": "http://sites.example.com"},
            id="both",
        ),
    ],
)
def test_only_on_loopback(app: Flask, client: FlaskClient, request_from: dict[str, Any]) -> None:
    token = csrf_token_for(app, client, **request_from)

    assert client.get("/auth/dev", **request_from).status_code == 404
    response = client.post("/auth/dev", data={**FORM, "csrf_token": token}, **request_from)

    assert response.status_code == 404
    assert not is_signed_in(client, **request_from)
    assert "/auth/dev" not in client.get("/auth/login", **request_from).get_data(as_text=True)


@pytest.mark.parametrize(
    "request_from",
    [
        pytest.param({}, id="localhost"),
        pytest.param({"base_url": "http://127.0.0.1:5000"}, id="ipv4"),
        pytest.param(
            {"environ_base": {"REMOTE_ADDR": "::1"}, "base_url": "http://[::1]:5000"}, id="ipv6"
        ),
    ],
)
def test_answers_on_loopback(client: FlaskClient, request_from: dict[str, Any]) -> None:
    page = client.get("/auth/dev", **request_from)
    assert page.status_code == 200

    response = client.post(
        "/auth/dev",
        **request_from,
        data={**FORM, "csrf_token": csrf_from(page.get_data(as_text=True))},
    )

    assert response.status_code == 302


def test_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    response = client.post("/auth/dev", data=FORM)

    assert response.status_code == 400
    assert "The form expired or was sent from elsewhere" in response.get_data(as_text=True)
    assert not is_signed_in(client)


@pytest.mark.parametrize("path", ["/", "/new", "/account/tokens", "/no-such-page"])
def test_banner_on_every_page_when_signed_in(client: FlaskClient, auth: Auth, path: str) -> None:
    auth.login()

    assert BANNER in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("path", ["/auth/login", "/auth/dev", "/no-such-page"])
def test_banner_on_every_page_when_signed_out(client: FlaskClient, path: str) -> None:
    assert BANNER in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example", "/\\evil"])
def test_off_site_next_is_ignored(client: FlaskClient, next_url: str) -> None:
    page = client.get("/auth/dev", query_string={"next": next_url})
    assert f'value="{next_url}"' not in page.get_data(as_text=True)

    response = client.post(
        "/auth/dev",
        data={**FORM, "next": next_url, "csrf_token": csrf_from(page.get_data(as_text=True))},
    )

    assert response.location == "/"


@pytest.mark.app_settings(ALLOWED_EMAIL_DOMAINS=["example.com"])
def test_membership_rules_apply(client: FlaskClient) -> None:
    page = client.get("/auth/dev")

    response = client.post(
        "/auth/dev",
        data={
            **FORM,
            "email": "eve@elsewhere.org",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )

    assert response.status_code == 400
    assert "Accounts from elsewhere.org are not members" in response.get_data(as_text=True)
    assert not is_signed_in(client)
