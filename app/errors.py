"""Domain errors raised by services and mapped to HTTP statuses in one place (app/web/errors)."""

from __future__ import annotations


class SitewrightError(Exception):
    """Base of every error a user should see; the message says what happened and what to do."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadInput(SitewrightError):
    status, code = 400, "bad_input"


class NotSignedIn(SitewrightError):
    status, code = 401, "not_signed_in"


class Forbidden(SitewrightError):
    status, code = 403, "forbidden"


class NotFound(SitewrightError):
    status, code = 404, "not_found"


class Conflict(SitewrightError):
    status, code = 409, "conflict"


class Gone(SitewrightError):
    status, code = 410, "gone"


class TooLarge(SitewrightError):
    status, code = 413, "too_large"


class InvalidContent(SitewrightError):
    status, code = 422, "invalid_content"


class OverBudget(SitewrightError):
    status, code = 429, "over_budget"


class Unavailable(SitewrightError):
    status, code = 503, "unavailable"


class SwitchedOff(Unavailable):
    """An admin switched the feature off for the workspace."""

    code = "switched_off"


class ComputeError(InvalidContent):
    """A template's own computation refuses the content, e.g. two formula engines disagree."""
