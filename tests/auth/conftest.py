"""Sign-in fixtures: settings per test, and a real OpenID Connect provider on loopback."""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import werkzeug.serving
from flask import Flask

from app.db import Database
from tests.auth.flows import Provider


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker that sets the app's settings for one test."""
    config.addinivalue_line("markers", "app_settings(**values): settings for the app under test")


@pytest.fixture
def settings(settings: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """The shared settings plus the test's ``app_settings`` marker."""
    for marker in reversed(list(request.node.iter_markers("app_settings"))):
        settings.update(marker.kwargs)
    return settings


@pytest.fixture
def database(app: Flask) -> Database:
    """The database of the app under test, for arranging and checking rows."""
    result: Database = app.extensions["sitewright.db"]
    return result


def run_provider() -> contextlib.AbstractContextManager[werkzeug.serving.BaseWSGIServer]:
    """Start oidc-provider-mock on loopback; it names itself after the Host it is reached at."""
    from authlib.deprecate import AuthlibDeprecationWarning

    with warnings.catch_warnings():
        # The mock imports authlib.jose, which authlib deprecates in favour of joserfc.
        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        import oidc_provider_mock

    return oidc_provider_mock.run_server_in_thread()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    """The provider most sign-in tests use, shared by the whole session."""
    with run_provider() as server:
        yield Provider(f"http://127.0.0.1:{server.server_port}")


@pytest.fixture
def vanishing_provider(
    oidc_settings: dict[str, Any],
) -> Iterator[tuple[Provider, Callable[[], None]]]:
    """A provider of the test's own, configured as the issuer, and a function that stops it."""
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(run_provider())
        provider = Provider(f"http://127.0.0.1:{server.server_port}")
        oidc_settings["OIDC_ISSUER"] = provider.issuer
        yield provider, stack.close


@pytest.fixture(scope="session")
def misnamed_provider(oidc_provider: Provider) -> Iterator[Provider]:
    """A proxy in front of the provider that does not forward Host.

    The provider's metadata (fetched through it) names the provider's own address as issuer,
    not the proxy's: the mismatch an admin makes when the issuer URL is not the provider's own.
    """

    def proxy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        upstream = requests.get(oidc_provider.issuer + environ["PATH_INFO"], timeout=5)
        start_response(
            f"{upstream.status_code} Proxied",
            [("Content-Type", upstream.headers.get("Content-Type", "text/plain"))],
        )
        return [upstream.content]

    server = werkzeug.serving.make_server("127.0.0.1", 0, proxy, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def oidc_settings(settings: dict[str, Any], oidc_provider: Provider) -> dict[str, Any]:
    """Settings for sign-in through the loopback provider; a test's marker takes precedence."""
    for name, value in {
        "OIDC_ISSUER": oidc_provider.issuer,
        "OIDC_CLIENT_ID": "sitewright",
        "OIDC_CLIENT_SECRET": "client-secret",
        "OIDC_GROUPS_CLAIM": "groups",
    }.items():
        settings.setdefault(name, value)
    return settings
