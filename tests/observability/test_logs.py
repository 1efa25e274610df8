"""Log lines: JSON shape, the request id in lines and headers, the text format, access lines."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable

import pytest
from flask import Flask

from app.logs import AccessJsonFormatter, new_request_id


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_line_has_the_request_id(logging_app: Flask, log_stream: io.StringIO) -> None:
    response = logging_app.test_client().get("/test/log", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "abc-123"
    (line,) = [entry for entry in json_lines(log_stream) if entry["logger"] == "app.test"]
    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["request_id"] == "abc-123"
    assert isinstance(line["process"], int)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", str(line["timestamp"]))


def test_line_outside_a_request_has_no_request_id(log_stream: io.StringIO) -> None:
    logging.getLogger("app.test").warning("outside")
    (line,) = json_lines(log_stream)
    assert line["message"] == "outside" and line["level"] == "WARNING"
    assert "request_id" not in line


def test_configuring_twice_keeps_one_handler(capture_logs: Callable[[str], io.StringIO]) -> None:
    capture_logs("json")
    stream = capture_logs("json")
    logging.getLogger("app.test").info("once")
    assert len(json_lines(stream)) == 1


def test_text_format_stays_readable(capture_logs: Callable[[str], io.StringIO]) -> None:
    stream = capture_logs("text")
    logging.getLogger("app.test").info("plain %d", 7)
    assert re.fullmatch(
        r"\[[^]]+\] \[\d+\] \[INFO\] \[-\] app\.test: plain 7\n", stream.getvalue()
    ), stream.getvalue()


@pytest.mark.parametrize(
    "incoming",
    ["", "x" * 65, "bad id", "a/b;c", "<script>", "é"],
)
def test_insane_request_ids_are_replaced(app: Flask, incoming: str) -> None:
    response = app.test_client().get("/healthz", headers={"X-Request-ID": incoming})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_request_id_generated_and_kept(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first != second
    sane = "Trace_1.2-" + "z" * 54
    assert client.get("/healthz", headers={"X-Request-ID": sane}).headers["X-Request-ID"] == sane


def test_request_id_on_error_pages(app: Flask) -> None:
    response = app.test_client().get("/api/v1/nope", headers={"X-Request-ID": "r-404"})
    assert response.status_code in (401, 404)
    assert response.headers["X-Request-ID"] == "r-404"


def test_new_request_id() -> None:
    assert new_request_id("ok.ID-1_") == "ok.ID-1_"
    assert len(new_request_id(None)) == 32


def test_gunicorn_access_line_as_json() -> None:
    atoms = {
        "h": "10.0.0.9",
        "m": "GET",
        "U": "/s/demo/",
        "q": "",
        "s": "200",
        "B": 31563,
        "M": 12,
        "f": "-",
        "a": "curl/8",
        "{x-request-id}o": "rid-1",
    }
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(m)s %(U)s %(s)s", (atoms,), None
    )
    # gunicorn passes the atoms mapping as the only argument, which logging unwraps.
    assert record.args is atoms
    line = json.loads(AccessJsonFormatter("%(levelname)s %(name)s %(message)s").format(record))
    assert line["message"] == "GET /s/demo/ 200"
    assert line["request_id"] == "rid-1"
    assert line["status"] == "200" and line["duration_ms"] == 12 and line["bytes"] == 31563
    assert "referer" not in line and "query" not in line
