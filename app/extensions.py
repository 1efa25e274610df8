"""Flask extensions, created unbound here and bound in :func:`init_app`."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Bind every extension to the application."""
    csrf.init_app(app)
