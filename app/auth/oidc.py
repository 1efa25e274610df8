"""OpenID Connect with authlib: authorization code with PKCE, state, nonce and an issuer check."""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

log = logging.getLogger(__name__)
EXTENSION = "sitewright.oidc"
UNREACHABLE = "The identity provider cannot be reached right now; try again in a minute."


class IdentityProviderError(Exception):
    """The identity provider cannot be used; the message says what an admin should check."""


def enabled(app: Flask | None = None) -> bool:
    """Say whether OpenID Connect sign-in is configured."""
    config = (app or current_app).config
    return bool(config["OIDC_ISSUER"] and config["OIDC_CLIENT_ID"])


def init_app(app: Flask) -> None:
    """Register the identity provider when it is configured."""
    if not enabled(app):
        return
    issuer = app.config["OIDC_ISSUER"].rstrip("/")
    # One registry per app: authlib caches a registered client (and the provider's metadata)
    # by name for the registry's lifetime, so a shared registry would serve every app the
    # first app's provider.
    oauth = OAuth(app)
    app.extensions[EXTENSION] = oauth
    oauth.register(
        "idp",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        overwrite=True,
    )


def client() -> Any:
    """Return the registered client after checking the provider's metadata names our issuer.

    :raise IdentityProviderError: the provider is unreachable or claims another issuer.
    """
    oauth: OAuth | None = current_app.extensions.get(EXTENSION)
    idp = oauth.create_client("idp") if oauth is not None else None
    if idp is None:
        raise IdentityProviderError("OpenID Connect sign-in is not configured.")
    try:
        metadata = idp.load_server_metadata()
    except Exception as exc:
        log.warning("identity provider metadata unavailable: %s", type(exc).__name__)
        raise IdentityProviderError(UNREACHABLE) from exc
    expected = current_app.config["OIDC_ISSUER"].rstrip("/")
    if str(metadata.get("issuer", "")).rstrip("/") != expected:
        raise IdentityProviderError(
            "The identity provider's metadata names a different issuer "
            "than SITEWRIGHT_OIDC_ISSUER; ask an admin to fix it."
        )
    return idp
