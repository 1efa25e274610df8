"""Fixtures for logs and metrics: captured log lines and a route that logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from app.logs import configure_logging


@pytest.fixture
def capture_logs() -> Iterator[Callable[[str], io.StringIO]]:
    """Send Sitewright's log lines, in a given format, to a string instead of stderr."""
    logger = logging.getLogger("app")
    level = logger.level

    def capture(log_format: str) -> io.StringIO:
        stream = io.StringIO()
        configure_logging({"LOG_FORMAT": log_format}, stream=stream)
        return stream

    yield capture
    for handler in list(logger.handlers):
        if getattr(handler, "sitewright", False):
            logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def log_stream(capture_logs: Callable[[str], io.StringIO]) -> io.StringIO:
    """Sitewright's log lines as JSON."""
    return capture_logs("json")


@pytest.fixture
def logging_app(app: Flask) -> Flask:
    """The app with ``/test/log``, a view that writes one INFO line."""

    def say_hello() -> str:
        logging.getLogger("app.test").info("hello %s", "world")
        return "ok"

    app.add_url_rule("/test/log", "test_log", say_hello)
    return app
