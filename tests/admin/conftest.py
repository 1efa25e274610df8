"""The admin tests reuse the governance helpers: API callers, sites made through the API."""

from __future__ import annotations

from tests.governance.conftest import api, db, make_site  # noqa: F401 - fixtures for this folder
