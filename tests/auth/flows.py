"""Sign-in as a browser does it: the app via the test client, the provider over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flask
import requests
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from werkzeug.test import TestResponse


@dataclass(frozen=True)
class Provider:
    """An OpenID Connect provider (oidc-provider-mock) reachable at ``issuer``."""

    issuer: str

    def put_user(self, sub: str, **claims: Any) -> None:
        """Create or replace the provider's user ``sub`` with these claims."""
        response = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204, response.text

    def authorize(self, authorize_url: str, sub: str) -> str:
        """Submit the provider's sign-in form as ``sub``; return where it sends the browser."""
        response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        location: str = response.headers["Location"]
        return location


def start_oidc(client: FlaskClient, next_url: str = "/new") -> str:
    """Ask the app to start OpenID Connect sign-in; return the provider's authorize URL."""
    response = client.get("/auth/oidc", query_string={"next": next_url})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location


def sign_in_oidc(
    client: FlaskClient, provider: Provider, sub: str, next_url: str = "/new"
) -> TestResponse:
    """Go through the whole code flow as ``sub``; return the app's answer to the callback."""
    callback = provider.authorize(start_oidc(client, next_url), sub)
    return client.get(callback)


def is_signed_in(client: FlaskClient, **request_from: Any) -> bool:
    """Say whether the client's cookies sign it in (the home page only opens to members)."""
    response = client.get("/", **request_from)
    if response.status_code == 302:
        assert response.location.startswith("/auth/login"), response.location
        return False
    assert response.status_code == 200, response.status_code
    return True


def csrf_token_for(app: Flask, client: FlaskClient, **request_from: Any) -> str:
    """Give the client a valid CSRF token without a page that shows one."""
    with app.test_request_context():
        token = generate_csrf()
        raw = flask.session["csrf_token"]
    with client.session_transaction(**request_from) as session:
        session["csrf_token"] = raw
    return token
