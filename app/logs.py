"""Log lines: readable text or one JSON object per line, each tagged with its request id.

:func:`configure_logging` sets up Sitewright's ``app`` logger tree for a process (the CLI, each
gunicorn worker through ``gunicorn.conf.py``); :func:`init_app` gives every request an id that
log lines, the ``X-Request-ID`` response header and gunicorn's access log share.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Mapping
from typing import IO, Any

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from app.settings import SettingsError

REQUEST_ID_HEADER = "X-Request-ID"
# An id a proxy or caller chose is kept when it is short and cannot forge log lines or headers.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(process)d"
JSON_RENAMES = {"levelname": "level", "name": "logger"}
# What gunicorn's access log tells, by its atom names (see gunicorn's ``Logger.atoms``).
ACCESS_ATOMS = {
    "remote_addr": "h",
    "method": "m",
    "path": "U",
    "query": "q",
    "status": "s",
    "bytes": "B",
    "duration_ms": "M",
    "referer": "f",
    "user_agent": "a",
    "request_id": "{x-request-id}o",
}


def new_request_id(incoming: str | None) -> str:
    """Return the incoming request id if it is sane, else a fresh one."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """Return the id of the request being handled, or None outside a request."""
    if not has_request_context():
        return None
    request_id: str | None = g.get("request_id")
    return request_id


class RequestIdFilter(logging.Filter):
    """Put the current request's id on every record that passes a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record (never drop it)."""
        request_id = current_request_id()
        if request_id is not None:
            record.request_id = request_id
        return True


class AccessJsonFormatter(JsonFormatter):
    """gunicorn's access log as JSON: the request's atoms become fields."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """Add the usual fields, then the access atoms gunicorn passes as the record's args."""
        super().add_fields(log_data, record, message_dict)
        atoms = record.args if isinstance(record.args, Mapping) else {}
        for field, atom in ACCESS_ATOMS.items():
            value = atoms.get(atom)
            if value not in (None, "-", ""):
                log_data[field] = value


def make_formatter(log_format: str) -> logging.Formatter:
    """Return the formatter for ``LOG_FORMAT`` (``json`` or ``text``)."""
    if log_format == "json":
        return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES, timestamp=True)
    return logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"})


def make_access_formatter(log_format: str) -> logging.Formatter:
    """Return the formatter of gunicorn's access log for ``LOG_FORMAT``."""
    if log_format == "json":
        return AccessJsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES, timestamp=True)
    return logging.Formatter("%(message)s")


def configure_logging(config: Mapping[str, Any], stream: IO[str] | None = None) -> None:
    """Send the ``app`` loggers' INFO lines to stderr (or ``stream``) in ``LOG_FORMAT``.

    Calling it again replaces the handler it installed before, so it is safe to call twice.
    """
    logger = logging.getLogger("app")
    for handler in list(logger.handlers):
        if getattr(handler, "sitewright", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.sitewright = True  # type: ignore[attr-defined]
    handler.setFormatter(make_formatter(str(config.get("LOG_FORMAT") or "text")))
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _assign_request_id() -> None:
    g.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))


def init_app(app: Flask) -> None:
    """Give each request an id (first of all hooks, so every later log line carries it)."""
    if app.config.get("LOG_FORMAT", "text") not in ("text", "json"):
        raise SettingsError("SITEWRIGHT_LOG_FORMAT: expected `text` or `json`")
    app.before_request(_assign_request_id)
