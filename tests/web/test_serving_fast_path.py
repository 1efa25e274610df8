"""Serving a published page cheaply: two queries a request, and every access rule still exact.

The page request reads the sign-in (session, user, groups and workspace settings) in one query
and the site with its grants in another, in one read transaction. Nothing is cached between
requests, so whatever changes in the database counts on the very next request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from app.demo import load_demo
from app.models import ApiToken, Grant, Site, User, UserSession, WorkspaceSettingsRow, utcnow
from app.services import Deps
from tests.conftest import Auth, csrf_from

MEMBER = "member@example.com"


@pytest.fixture
def slug(deps: Deps) -> str:
    """The demo customer review, published to the workspace."""
    for _ in load_demo(deps):
        pass
    with deps.db.session() as session:
        found: str = session.scalars(
            select(Site.slug).where(Site.template == "customer_review")
        ).one()
    return found


@pytest.fixture
def db(deps: Deps) -> Callable[[], Any]:
    """A write transaction on the app's database, as another process would make it."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with deps.db.transaction() as session:
            yield session

    return transaction


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the test runs, and "COMMIT" for each commit."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    def commit(_conn: Any) -> None:
        seen.append("COMMIT")

    engine = app.extensions["sitewright.db"].engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", commit)
    yield seen
    event.remove(engine, "before_cursor_execute", record)
    event.remove(engine, "commit", commit)


def page_status(client: FlaskClient, slug: str, **kwargs: Any) -> int:
    """Open the published page; return the HTTP status."""
    return client.get(f"/s/{slug}/", **kwargs).status_code


def test_a_page_takes_two_selects_in_one_transaction(
    client: FlaskClient, auth: Auth, slug: str, statements: list[str]
) -> None:
    auth.login(MEMBER)
    assert page_status(client, slug) == 200
    statements.clear()

    response = client.get(f"/s/{slug}/")

    assert response.status_code == 200
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len(selects) == 2, selects
    assert "FROM user_sessions" in selects[0] and "workspace_settings" in selects[0]
    assert "FROM sites" in selects[1] and "grants" in selects[1]
    # A read-only request writes nothing and commits nothing.
    assert not [s for s in statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE", "COMMIT")]


def test_the_session_cookie_is_not_signed_again_on_every_page(
    client: FlaskClient, auth: Auth, slug: str
) -> None:
    auth.login(MEMBER)
    client.get(f"/s/{slug}/")

    response = client.get(f"/s/{slug}/")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_ended_session_and_deactivated_user_count_on_the_next_request(
    client: FlaskClient, auth: Auth, slug: str, db: Callable[[], Any]
) -> None:
    auth.login(MEMBER)
    assert page_status(client, slug) == 200
    with db() as session:
        session.execute(update(User).where(User.email == MEMBER).values(is_active=False))
    assert page_status(client, slug) == 302  # to sign-in

    with db() as session:
        session.execute(update(User).where(User.email == MEMBER).values(is_active=True))
    assert page_status(client, slug) == 200
    with db() as session:
        session.execute(update(UserSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    assert page_status(client, slug) == 302

    auth.login(MEMBER)
    assert page_status(client, slug) == 200
    with db() as session:
        session.execute(delete(UserSession))
    assert page_status(client, slug) == 302


def test_revoked_grant_counts_on_the_next_request(
    client: FlaskClient, auth: Auth, slug: str, db: Callable[[], Any]
) -> None:
    with db() as session:
        site = session.scalars(select(Site).where(Site.slug == slug)).one()
        site.audience = "groups"
        session.add(Grant(site_id=site.id, group_name="finance", role="viewer"))
    auth.login(MEMBER, groups="finance")
    assert page_status(client, slug) == 200

    with db() as session:
        session.execute(delete(Grant))

    assert page_status(client, slug) == 404


@pytest.mark.parametrize(
    "change",
    [
        {"disabled_at": dt.datetime(2026, 1, 1)},
        {"status": "unpublished"},
        {"expires_on": dt.date(2020, 1, 1)},
    ],
)
def test_disabled_unpublished_or_expired_site_is_gone_on_the_next_request(
    client: FlaskClient, auth: Auth, slug: str, db: Callable[[], Any], change: dict[str, Any]
) -> None:
    auth.login(MEMBER)
    assert page_status(client, slug) == 200

    with db() as session:
        session.execute(update(Site).where(Site.slug == slug).values(**change))

    assert page_status(client, slug) == 410


def test_deleted_site_is_not_found_on_the_next_request(
    client: FlaskClient, auth: Auth, slug: str, db: Callable[[], Any]
) -> None:
    auth.login(MEMBER)
    assert page_status(client, slug) == 200

    with db() as session:
        session.execute(update(Site).where(Site.slug == slug).values(deleted_at=utcnow()))

    assert page_status(client, slug) == 404


def test_workspace_settings_count_on_the_next_request(
    client: FlaskClient, auth: Auth, slug: str, db: Callable[[], Any]
) -> None:
    auth.login(MEMBER)
    assert page_status(client, slug) == 200

    with db() as session:
        session.merge(
            WorkspaceSettingsRow(
                id=1, values={"feature_enabled": False, "hide_sites_when_off": True}
            )
        )
    assert page_status(client, slug) == 503

    with db() as session:
        session.execute(delete(WorkspaceSettingsRow))
    assert page_status(client, slug) == 200


def test_admins_seeing_every_site_follows_the_setting_at_once(
    app: Flask, client: FlaskClient, auth: Auth, slug: str, db: Callable[[], Any]
) -> None:
    app.config["ADMINS"] = ["admin@example.com"]
    with db() as session:
        session.execute(update(Site).where(Site.slug == slug).values(audience="owner"))
    auth.login("admin@example.com")
    assert page_status(client, slug) == 200

    with db() as session:
        session.merge(WorkspaceSettingsRow(id=1, values={"admins_see_all_sites": False}))

    assert page_status(client, slug) == 404


def test_api_token_sign_in_reads_the_settings_with_the_token(
    client: FlaskClient,
    make_token: Callable[..., str],
    slug: str,
    db: Callable[[], Any],
    statements: list[str],
) -> None:
    token = make_token(MEMBER)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/sites", headers=headers).status_code == 200
    statements.clear()

    assert client.get("/api/v1/sites", headers=headers).status_code == 200
    sign_in = [s for s in statements if "FROM api_tokens" in s]
    assert len(sign_in) == 1 and "workspace_settings" in sign_in[0]
    assert not any("FROM workspace_settings" in s and "api_tokens" not in s for s in statements)

    with db() as session:
        session.execute(update(ApiToken).values(revoked_at=utcnow()))
    assert client.get("/api/v1/sites", headers=headers).status_code == 401


def test_a_post_ends_the_sign_in_transaction_before_the_view(
    client: FlaskClient, auth: Auth, statements: list[str]
) -> None:
    auth.login(MEMBER)
    form = client.get("/").get_data(as_text=True)
    statements.clear()

    client.post("/auth/logout", data={"csrf_token": csrf_from(form)})

    # The look-up's transaction (SQLite: it holds the write lock) ends before the view runs.
    sign_in = next(i for i, s in enumerate(statements) if "FROM user_sessions" in s)
    assert statements[sign_in + 1] == "COMMIT", statements


def test_the_page_builds_no_user_object_until_a_template_asks(
    client: FlaskClient, auth: Auth, slug: str, db: Callable[[], Any], statements: list[str]
) -> None:
    auth.login(MEMBER, name="Mia Member")
    with db() as session:
        session.execute(update(Site).where(Site.slug == slug).values(status="unpublished"))
    statements.clear()

    response = client.get(f"/s/{slug}/")

    # The "gone" page's header names who is signed in, from the columns the sign-in read: the
    # only other read of users is the site's owner, whom the page names.
    assert response.status_code == 410
    assert "Mia Member" in response.get_data(as_text=True)
    users = [s for s in statements if s.startswith("SELECT") and "FROM users" in s]
    assert len(users) == 1 and "WHERE users.id" in users[0], users


@pytest.mark.parametrize(
    ("groups", "audience", "grant", "saved", "page", "draft"),
    [
        # An admin by group, while admins see every site.
        ("sales,admins", "owner", "", {}, 200, 200),
        # Shared with the second of two groups: the page, not the drafts.
        ("sales,finance", "groups", "finance", {}, 200, 404),
        # A reviewer by group reads drafts; the page sends them to the site's own page.
        ("sales,review", "owner", "", {"reviewer_group": "review"}, 302, 200),
        # Neither: nothing.
        ("sales,staff", "owner", "", {}, 404, 404),
    ],
)
def test_groups_read_as_columns_decide_as_the_user_object_would(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    slug: str,
    db: Callable[[], Any],
    groups: str,
    audience: str,
    grant: str,
    saved: dict[str, Any],
    page: int,
    draft: int,
) -> None:
    app.config["ADMIN_GROUP"] = "admins"
    with db() as session:
        site = session.scalars(select(Site).where(Site.slug == slug)).one()
        site.audience = audience
        if grant:
            session.add(Grant(site_id=site.id, group_name=grant, role="viewer"))
        if saved:
            session.merge(WorkspaceSettingsRow(id=1, values=saved))
    auth.login(MEMBER, groups=groups)

    assert page_status(client, slug) == page
    assert client.get(f"/s/{slug}/v/1/").status_code == draft


def test_api_token_on_a_page_is_read_as_columns_and_revocation_counts_at_once(
    client: FlaskClient, make_token: Callable[..., str], slug: str, db: Callable[[], Any]
) -> None:
    headers = {"Authorization": f"Bearer {make_token(MEMBER)}"}
    assert page_status(client, slug, headers=headers) == 200

    with db() as session:
        session.execute(update(ApiToken).values(revoked_at=utcnow()))

    assert page_status(client, slug, headers=headers) == 302  # to sign-in
