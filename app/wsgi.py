"""WSGI entry point for gunicorn: ``gunicorn -c gunicorn.conf.py app.wsgi:app``.

Without ``REDIS_URL`` each web process runs jobs on its own thread pool (claimed atomically,
so several processes never run one job twice) and keeps their leases; with it, ``start_jobs``
does nothing and ``sitewright worker`` processes run the jobs.
"""

from __future__ import annotations

from app import create_app
from app.services.wiring import get_deps, start_jobs

app = create_app()
with app.app_context():
    start_jobs(get_deps())
