"""Errors answered from one place: JSON under /api, an HTML page elsewhere."""

from __future__ import annotations

import errno
import json
import logging

from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, g, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.errors import NotSignedIn, SitewrightError, SwitchedOff
from app.storage import StoreUnavailable

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_S = 5


def wants_json() -> bool:
    """Say whether this request should get a JSON error."""
    return request.path.startswith("/api/") or request.path.endswith(("/status", ".json"))


def error_response(
    status: int, code: str, message: str, details: list[str] | None = None
) -> Response | tuple[str, int]:
    """Answer an error as JSON ``{"error": {...}}`` or as the HTML error page."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()  # teardown closes it; the error page may still read the user
    if wants_json():
        body: dict[str, object] = {"code": code, "message": message}
        if details:
            body["details"] = details
        response = Response(status=status, mimetype="application/json")
        response.set_data(json.dumps({"error": body}))
        return response
    return render_template(
        "error.html", status=status, message=message, details=details or []
    ), status


def database_outage(exc: DBAPIError) -> bool:
    """Say whether a database error means the server is not answering (restart, lost link)."""
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


def database_unavailable(exc: DBAPIError) -> Response:
    """Answer 503 with Retry-After: the database is restarting or unreachable."""
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.path, type(exc.orig).__name__
    )
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.close()  # gives the broken connection back; the pool replaces it
        except SQLAlchemyError:
            log.debug("closing the session after a database outage failed", exc_info=True)
    answer = error_response(
        503,
        "database_unavailable",
        "The database is not answering; try again in a few seconds.",
    )
    response = make_response(answer)
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    return response


# A disk that is full, read-only or failing; anything else (a missing file) is a server error.
_STORE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})


def store_outage(exc: Exception) -> bool:
    """Say whether an error means the file store (disk or S3) cannot be used right now."""
    if isinstance(exc, StoreUnavailable | BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return int(status) >= 500
    return isinstance(exc, OSError) and exc.errno in _STORE_ERRNOS


def init_app(app: Flask) -> None:
    """Map domain errors and HTTP errors to answers."""

    @app.errorhandler(SitewrightError)
    def domain_error(exc: SitewrightError) -> Response | tuple[str, int]:
        if isinstance(exc, NotSignedIn) and not wants_json() and request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if isinstance(exc, SwitchedOff) and not wants_json():
            if g.get("db_session") is not None:
                g.db_session.rollback()
            return render_template("ui/switched_off.html", message=exc.message), exc.status
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Response | tuple[str, int]:
        return error_response(
            400,
            "csrf",
            "The form expired or was sent from elsewhere. "
            "Go back, reload the page and send it again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | tuple[str, int]:
        status = exc.code or 500
        messages = {
            404: "There is nothing here, or it is not shared with you.",
            405: "That action is not available here.",
            413: f"The upload is too large: at most {app.config['MAX_UPLOAD_MB']} MB in all.",
        }
        message = messages.get(status, exc.description or exc.name)
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            status, exc.name.lower().replace(" ", "_")
        )
        return error_response(status, code, message)

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            500,
            "server_error",
            "Something went wrong on the server. "
            "Nothing you sent was lost; try again, and tell an admin if it "
            f"keeps happening (request id {g.get('request_id', '')}).",
        )

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> Response | tuple[str, int]:
        if database_outage(exc):
            return database_unavailable(exc)
        return server_error(exc)

    @app.errorhandler(OSError)
    @app.errorhandler(BotoCoreError)
    @app.errorhandler(ClientError)
    def store_error(exc: Exception) -> Response | tuple[str, int]:
        if not store_outage(exc):
            return server_error(exc)
        log.warning("file store unavailable on %s %s: %s", request.method, request.path, exc)
        response = make_response(
            error_response(
                503,
                "store_unavailable",
                "The file store is not answering or is full; nothing you sent was lost. "
                "Try again in a moment, and tell an admin if it keeps happening.",
            )
        )
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
