"""Shared fixtures: an app on SQLite and (when reachable) PostgreSQL, clients, sign-in, samples."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app
from app.cli import upgrade_database
from app.services import Deps
from tests.fakes.llm_server import FakeLLMServer

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
# Apps that only migrate a database never draft; this keeps them off the network entirely.
NO_LLM_CALLS = {"LLM_BASE_URL": "http://127.0.0.1:9/v1", "LLM_MAX_RETRIES": 0}
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """Return a reachable PostgreSQL URL for tests, or None."""
    url = os.environ.get("SITEWRIGHT_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    if url in ("", "0", "off"):
        return None
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return None
    return url


_PG_URL: str | None | bool = False


def _pg() -> str | None:
    global _PG_URL
    if _PG_URL is False:
        _PG_URL = postgres_url()
    return _PG_URL  # type: ignore[return-value]


REDIS_BASE = os.environ.get("SITEWRIGHT_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _redis_db() -> int:
    """A Redis database per xdist process (1, 2, ...), so parallel tests share no queue."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 1 + int(worker.removeprefix("gw") or 0) % 15


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis database for the test; skipped when no Redis server answers."""
    url = f"{REDIS_BASE}/{_redis_db()}"
    connection = Redis.from_url(url, socket_connect_timeout=2)
    try:
        connection.flushdb()
    except RedisError as exc:
        pytest.skip(
            f"Redis is not reachable at {REDIS_BASE} ({exc}); set SITEWRIGHT_TEST_REDIS_URL"
        )
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The shared sample files (../shared/samples beside the repository)."""
    if not SAMPLES.is_dir():
        pytest.skip(f"sample files not found at {SAMPLES}")
    return SAMPLES


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per test session, copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(folder / "data"),
            **NO_LLM_CALLS,
            "DATABASE_URL": f"sqlite:///{folder / 'template.db'}",
        }
    )
    upgrade_database(app)
    app.extensions["sitewright.db"].dispose()
    app.extensions["sitewright.deps"].runner.shutdown()
    return folder / "template.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A fresh, migrated database: a SQLite copy, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        target = tmp_path / "sitewright.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    base = _pg()
    if base is None:
        pytest.skip("PostgreSQL is not reachable (set SITEWRIGHT_TEST_POSTGRES_URL)")
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{base}?options=-csearch_path%3D{schema}"
    app = create_app(
        {"TESTING": True, "DATABASE_URL": url, "DATA_DIR": str(tmp_path / "m"), **NO_LLM_CALLS}
    )
    upgrade_database(app)
    app.extensions["sitewright.db"].dispose()
    app.extensions["sitewright.deps"].runner.shutdown()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> dict[str, Any]:
    """Overrides for the app under test; tests may change them before asking for ``app``."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "DEV_LOGIN": True,
        "ADMINS": ["admin@example.com"],
        "LLM_BASE_URL": "",
        "LLM_API_KEY": "",
    }


def _serve(settings: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["sitewright.deps"].close()
    application.extensions["sitewright.db"].dispose()


@pytest.fixture
def app(settings: dict[str, Any]) -> Iterator[Flask]:
    """The application (offline drafter), with its job pool and connections closed afterwards."""
    yield from _serve(settings)


@pytest.fixture
def deps(app: Flask) -> Deps:
    """The services' dependencies of the app under test."""
    result: Deps = app.extensions["sitewright.deps"]
    return result


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    """An OpenAI-compatible server on loopback, driven through the real SDK."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm_settings(settings: dict[str, Any], llm_server: FakeLLMServer) -> dict[str, Any]:
    """Settings that point the app at the loopback LLM server."""
    settings.update(
        LLM_BASE_URL=llm_server.base_url,
        LLM_MODEL="fake-model",
        LLM_TIMEOUT_S=1.0,
        LLM_MAX_RETRIES=1,
    )
    return settings


@pytest.fixture
def llm_app(llm_settings: dict[str, Any]) -> Iterator[Flask]:
    """The application drafting through the loopback LLM server."""
    yield from _serve(llm_settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like client (cookies kept)."""
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Auth:
    """Sign clients in and out through the development sign-in form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(
        self,
        email: str = "builder@example.com",
        name: str = "Builder",
        groups: str = "",
        client: FlaskClient | None = None,
    ) -> FlaskClient:
        target = client or self.client
        page = target.get("/auth/dev")
        assert page.status_code == 200, page.status_code
        response = target.post(
            "/auth/dev",
            data={
                "email": email,
                "name": name,
                "groups": groups,
                "next": "/",
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return target

    def logout(self, client: FlaskClient | None = None) -> None:
        target = client or self.client
        page = target.get("/")
        target.post("/auth/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    """Sign-in helper for the default client."""
    return Auth(client)


@pytest.fixture
def make_token(app: Flask) -> Callable[..., str]:
    """Create an API token through the CLI, as a user would."""

    def make(email: str = "builder@example.com", *groups: str) -> str:
        args = ["token", "create", "--email", email]
        for group in groups:
            args += ["--group", group]
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]

    return make


def wait_for_jobs(app: Flask, timeout: float = 60) -> None:
    """Wait until every job submitted to the app's pool has finished."""
    app.extensions["sitewright.deps"].runner.wait(timeout=timeout)


# Browser tests: a live server on loopback and headless Debian Chromium driven by Playwright.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian (Playwright cannot download its own here)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (bash .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page, with console errors collected in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda msg: tab.errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    yield tab
    context.close()
