"""The WSGI app ``bench/serving.py`` loads in gunicorn: the real app plus a hello-world route.

``gunicorn -c gunicorn.conf.py --chdir bench serving_app:app``. The app is ``app.wsgi``'s own,
built by ``create_app()`` from the environment (``SITEWRIGHT_*``); ``GET /bench/hello`` answers
"hello" with no sign-in and no database, and is the baseline the published page is measured
against. The app's own before- and after-request hooks run for it too, as for every route.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.wsgi import app  # noqa: E402


@app.get("/bench/hello")
def bench_hello() -> str:
    """Answer "hello": the cheapest route the same server and app can serve."""
    return "hello"
