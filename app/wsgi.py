"""WSGI entry point for gunicorn: ``gunicorn 'app.wsgi:app'`` (one process; see README)."""

from __future__ import annotations

from app import create_app
from app.services.wiring import get_deps, start_jobs

app = create_app()
with app.app_context():
    start_jobs(get_deps())
