"""OpenID Connect sign-in against a real provider on loopback: code flow, membership, issuer."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from app import create_app
from app.db import Database
from app.models import User, UserSession
from tests.auth.flows import Provider, is_signed_in, sign_in_oidc, start_oidc

pytestmark = pytest.mark.usefixtures("oidc_settings")


def user_for(database: Database, provider: Provider, sub: str) -> User | None:
    """Return the user row of this identity, if any."""
    with database.session() as session:
        return session.scalars(
            select(User).where(User.issuer == provider.issuer, User.subject == sub)
        ).first()


def session_count(database: Database) -> int:
    """Count server-side sign-in sessions."""
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(UserSession)) or 0


def with_query(url: str, **changes: str) -> str:
    """Return ``url`` with some query parameters replaced."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_start_sends_state_nonce_and_pkce(client: FlaskClient, oidc_provider: Provider) -> None:
    authorize_url = start_oidc(client)

    parts = urlsplit(authorize_url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}" == oidc_provider.issuer
    assert query["response_type"] == "code"
    assert query["client_id"] == "sitewright"
    assert query["redirect_uri"] == "http://localhost/auth/callback"
    assert set(query["scope"].split()) >= {"openid", "email", "profile"}
    assert len(query["state"]) >= 20
    assert len(query["nonce"]) >= 20
    assert query["code_challenge_method"] == "S256"
    with client.session_transaction() as session:
        kept = session[f"_state_idp_{query['state']}"]["data"]
    verifier_hash = hashlib.sha256(kept["code_verifier"].encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(verifier_hash).rstrip(b"=").decode()
    assert kept["nonce"] == query["nonce"]


def test_each_app_uses_its_own_client_settings(
    client: FlaskClient, settings: dict[str, Any]
) -> None:
    # Two apps in one process (tests, or several workspaces) must not share a provider client.
    other = create_app({**settings, "OIDC_CLIENT_ID": "another-client"})
    try:
        other_start = start_oidc(other.test_client())
    finally:
        other.extensions["sitewright.deps"].runner.shutdown()
        other.extensions["sitewright.db"].dispose()

    assert parse_qs(urlsplit(start_oidc(client)).query)["client_id"] == ["sitewright"]
    assert parse_qs(urlsplit(other_start).query)["client_id"] == ["another-client"]


def test_sign_in_creates_user_keyed_by_issuer_and_subject(
    client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    oidc_provider.put_user(
        "alice-1", email="Alice@Example.com", name="Alice A", groups=["finance", "staff"]
    )

    callback = oidc_provider.authorize(start_oidc(client, "/new"), "alice-1")
    assert callback.startswith("http://localhost/auth/callback?")
    assert {"code", "state"} <= set(parse_qs(urlsplit(callback).query))
    response = client.get(callback)

    assert response.status_code == 302
    assert response.location == "/new"
    assert client.get("/new").status_code == 200
    user = user_for(database, oidc_provider, "alice-1")
    assert user is not None
    assert (user.email, user.name) == ("alice@example.com", "Alice A")
    assert user.group_names == ["finance", "staff"]
    assert user.last_login_at is not None


@pytest.mark.app_settings(OIDC_GROUPS_CLAIM="roles")
def test_groups_come_from_the_configured_claim(
    client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    oidc_provider.put_user(
        "roles-1", email="rolf@example.com", roles=["analyst", "reviewer"], groups=["not-this-one"]
    )

    assert sign_in_oidc(client, oidc_provider, "roles-1").status_code == 302

    user = user_for(database, oidc_provider, "roles-1")
    assert user is not None and user.group_names == ["analyst", "reviewer"]


@pytest.mark.app_settings(ADMIN_GROUP="it-admins")
def test_admin_by_group_from_the_provider(client: FlaskClient, oidc_provider: Provider) -> None:
    oidc_provider.put_user("admin-1", email="ada@example.com", groups=["it-admins"])

    sign_in_oidc(client, oidc_provider, "admin-1")

    assert '<span class="pill">admin</span>' in client.get("/").get_data(as_text=True)


@pytest.mark.app_settings(ALLOWED_EMAIL_DOMAINS=["example.com"])
def test_other_email_domain_is_refused(
    client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    oidc_provider.put_user("outsider-1", email="eve@elsewhere.org", groups=["staff"])

    response = sign_in_oidc(client, oidc_provider, "outsider-1")

    assert response.status_code == 403
    assert "Accounts from elsewhere.org are not members of this workspace." in (
        response.get_data(as_text=True)
    )
    assert not is_signed_in(client)
    assert session_count(database) == 0
    assert user_for(database, oidc_provider, "outsider-1") is None


@pytest.mark.app_settings(REQUIRED_GROUP="sitewright-users")
@pytest.mark.parametrize(
    ("groups", "status"),
    [
        (["staff"], 403),
        ([], 403),
        (["staff", "sitewright-users"], 302),
    ],
)
def test_required_group(
    client: FlaskClient, oidc_provider: Provider, groups: list[str], status: int
) -> None:
    sub = "group-" + "-".join(groups or ["none"])
    oidc_provider.put_user(sub, email=f"{sub}@example.com", groups=groups)

    response = sign_in_oidc(client, oidc_provider, sub)

    assert response.status_code == status
    assert is_signed_in(client) is (status == 302)
    if status == 403:
        assert "group &#39;sitewright-users&#39;" in response.get_data(as_text=True)


def test_unverified_email_is_refused(client: FlaskClient, oidc_provider: Provider) -> None:
    oidc_provider.put_user("unverified-1", email="una@example.com", email_verified=False)

    response = sign_in_oidc(client, oidc_provider, "unverified-1")

    assert response.status_code == 403
    assert "not verified your e-mail address" in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_tampered_state_is_refused(
    client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    oidc_provider.put_user("state-1", email="stan@example.com")
    callback = oidc_provider.authorize(start_oidc(client), "state-1")

    response = client.get(with_query(callback, state="forged-state-value"))

    assert response.status_code == 403
    assert "Sign-in did not complete" in response.get_data(as_text=True)
    assert not is_signed_in(client)
    assert session_count(database) == 0


def test_replayed_callback_is_refused(
    app: Flask, client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    oidc_provider.put_user("replay-1", email="rita@example.com")
    callback = oidc_provider.authorize(start_oidc(client), "replay-1")
    assert client.get(callback).status_code == 302

    # Another browser, even one with a sign-in of its own under way, cannot use the callback.
    other = app.test_client()
    start_oidc(other)
    assert other.get(callback).status_code == 403
    assert not is_signed_in(other)
    # Nor can the same browser use it twice.
    assert client.get(callback).status_code == 403
    assert session_count(database) == 1


def test_id_token_with_another_nonce_is_refused(
    client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    oidc_provider.put_user("nonce-1", email="nonce@example.com")
    authorize_url = start_oidc(client)
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    callback = oidc_provider.authorize(authorize_url, "nonce-1")
    with client.session_transaction() as session:  # as if the ID token were replayed
        key = f"_state_idp_{state}"
        session[key] = {**session[key], "data": {**session[key]["data"], "nonce": "other"}}

    response = client.get(callback)

    assert response.status_code == 403
    assert "Sign-in did not complete" in response.get_data(as_text=True)
    assert not is_signed_in(client)
    assert session_count(database) == 0


def test_stolen_code_with_own_state_is_refused(
    app: Flask, client: FlaskClient, oidc_provider: Provider
) -> None:
    oidc_provider.put_user("victim-1", email="vic@example.com")
    victim = app.test_client()
    stolen = oidc_provider.authorize(start_oidc(victim), "victim-1")
    assert victim.get(stolen).status_code == 302  # the code is now spent

    own_state = parse_qs(urlsplit(start_oidc(client)).query)["state"][0]
    response = client.get(with_query(stolen, state=own_state))

    assert response.status_code == 403
    assert not is_signed_in(client)


def test_provider_error_is_refused(client: FlaskClient) -> None:
    state = parse_qs(urlsplit(start_oidc(client)).query)["state"][0]

    response = client.get("/auth/callback", query_string={"error": "access_denied", "state": state})

    assert response.status_code == 403
    assert not is_signed_in(client)


def test_same_subject_with_new_email_is_the_same_user(
    app: Flask, client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    oidc_provider.put_user("carol-1", email="carol@example.com", groups=["sales"])
    sign_in_oidc(client, oidc_provider, "carol-1")
    before = user_for(database, oidc_provider, "carol-1")
    assert before is not None

    oidc_provider.put_user("carol-1", email="carol.jones@example.com", groups=["marketing"])
    assert sign_in_oidc(app.test_client(), oidc_provider, "carol-1").status_code == 302

    after = user_for(database, oidc_provider, "carol-1")
    assert after is not None
    assert after.id == before.id
    assert after.email == "carol.jones@example.com"
    assert after.group_names == ["marketing"]

    # Someone else who now has Carol's old address is someone else.
    oidc_provider.put_user("carol-2", email="carol@example.com")
    assert sign_in_oidc(app.test_client(), oidc_provider, "carol-2").status_code == 302
    newcomer = user_for(database, oidc_provider, "carol-2")
    assert newcomer is not None and newcomer.id != before.id


@pytest.fixture
def misnamed_issuer(oidc_settings: dict[str, Any], misnamed_provider: Provider) -> str:
    """Configure an issuer URL whose metadata names another issuer."""
    oidc_settings["OIDC_ISSUER"] = misnamed_provider.issuer
    return misnamed_provider.issuer


def test_issuer_mismatch_is_a_clear_503(misnamed_issuer: str, client: FlaskClient) -> None:
    for path in ("/auth/oidc?next=/new", "/auth/callback?code=x&state=y"):
        response = client.get(path)

        assert response.status_code == 503
        assert "names a different issuer than SITEWRIGHT_OIDC_ISSUER" in (
            response.get_data(as_text=True)
        )
        assert not is_signed_in(client)


@pytest.mark.app_settings(OIDC_ISSUER="http://127.0.0.1:9")
def test_unreachable_provider_is_a_clear_503(client: FlaskClient) -> None:
    response = client.get("/auth/oidc")

    assert response.status_code == 503
    assert "cannot be reached right now" in response.get_data(as_text=True)


def test_provider_gone_mid_sign_in_is_a_clear_503(
    vanishing_provider: tuple[Provider, Callable[[], None]], client: FlaskClient
) -> None:
    provider, stop = vanishing_provider
    provider.put_user("gone-1", email="gone@example.com")
    callback = provider.authorize(start_oidc(client), "gone-1")
    stop()

    response = client.get(callback)

    assert response.status_code == 503
    assert "cannot be reached right now" in response.get_data(as_text=True)
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\t/evil.example",
    ],
)
def test_off_site_next_is_ignored(
    client: FlaskClient, oidc_provider: Provider, next_url: str
) -> None:
    oidc_provider.put_user("next-1", email="nico@example.com")

    response = sign_in_oidc(client, oidc_provider, "next-1", next_url=next_url)

    assert response.status_code == 302
    assert response.location == "/"


def test_local_next_keeps_its_query(client: FlaskClient, oidc_provider: Provider) -> None:
    oidc_provider.put_user("next-2", email="nora@example.com")

    response = sign_in_oidc(client, oidc_provider, "next-2", next_url="/new?template=report")

    assert response.location == "/new?template=report"


def test_cli_provisioned_user_becomes_the_provider_identity(
    client: FlaskClient, oidc_provider: Provider, database: Database, make_token: Any
) -> None:
    token = make_token("pat@example.com")
    oidc_provider.put_user("pat-1", email="pat@example.com")

    sign_in_oidc(client, oidc_provider, "pat-1")

    user = user_for(database, oidc_provider, "pat-1")
    assert user is not None
    api = client.get("/api/v1/templates", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_callback_survives_a_concurrent_writer_on_sqlite(
    client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    # Another writer (a job, another sign-in) commits between the callback's first read and its
    # first write. A deferred SQLite transaction cannot write after that ("database is locked");
    # the callback writes, so it must take the write lock before reading.
    if not database.is_sqlite:
        pytest.skip("SQLite's locking only")
    oidc_provider.put_user("busy-1", email="bea@example.com")
    callback = oidc_provider.authorize(start_oidc(client), "busy-1")
    other_writer: list[str] = []

    def write_from_elsewhere(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if other_writer or not statement.lstrip().upper().startswith("SELECT"):
            return
        path = database.engine.url.database
        with contextlib.closing(sqlite3.connect(path, timeout=0.2)) as other:
            try:
                other.execute("INSERT INTO groups (name) VALUES ('written-elsewhere')")
                other.commit()
                other_writer.append("committed")
            except sqlite3.OperationalError:
                other_writer.append("waited")  # the callback holds the write lock: as it should

    event.listen(database.engine, "after_cursor_execute", write_from_elsewhere)
    try:
        response = client.get(callback)
    finally:
        event.remove(database.engine, "after_cursor_execute", write_from_elsewhere)

    assert other_writer == ["waited"]
    assert response.status_code == 302
    assert is_signed_in(client)


@pytest.mark.app_settings(REQUIRED_GROUP="sitewright-users")
def test_members_the_provider_drops_are_deactivated_and_come_back_when_admitted(
    client: FlaskClient, oidc_provider: Provider, database: Database
) -> None:
    oidc_provider.put_user("leo-1", email="leo@example.com", groups=["sitewright-users"])
    assert sign_in_oidc(client, oidc_provider, "leo-1").status_code == 302

    # No groups claim at all: perhaps a provider fault, so nobody is deactivated.
    oidc_provider.put_user("leo-1", email="leo@example.com")
    assert sign_in_oidc(client, oidc_provider, "leo-1").status_code == 403
    user = user_for(database, oidc_provider, "leo-1")
    assert user is not None and user.is_active

    # The claim is there and lacks the required group: Leo left; his sessions end.
    oidc_provider.put_user("leo-1", email="leo@example.com", groups=["alumni"])
    assert sign_in_oidc(client, oidc_provider, "leo-1").status_code == 403
    user = user_for(database, oidc_provider, "leo-1")
    assert user is not None and not user.is_active and user.deactivated_by_idp
    assert "no longer admits" in user.deactivation_reason
    assert session_count(database) == 0

    # Back in the group: the provider admits him again, so he is reactivated.
    oidc_provider.put_user("leo-1", email="leo@example.com", groups=["sitewright-users"])
    assert sign_in_oidc(client, oidc_provider, "leo-1").status_code == 302
    user = user_for(database, oidc_provider, "leo-1")
    assert user is not None and user.is_active and not user.deactivated_by_idp
