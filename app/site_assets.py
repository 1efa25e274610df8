"""The static files a site page loads, named by their content so browsers may keep them for good.

A page asks for ``/static/site.css?v=<digest>``, the digest being the first 12 hex digits of the
file's SHA-256, computed once per process. A changed file gets a new URL, so the answer to a
URL with the current digest can be cached as immutable. Pages rendered before an upgrade name
the old digest: they get the current file, without the long cache.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_URL = "/static/vendor/plotly.min.js"  # served from our own files: no CDN
# plotly.js's cartesian bundle (a third of the full one): every trace type Sitewright draws.
# Version, source and how to refresh: static/vendor/README.md.
PLOTLY_JS = STATIC / "vendor" / "plotly-cartesian.min.js"
IMMUTABLE = "public, max-age=31536000, immutable"


def file_for(path: str) -> Path | None:
    """Return the file served at an asset's URL path (``/static/site.css``), or None."""
    if path == PLOTLY_URL:
        return PLOTLY_JS
    if not path.startswith("/static/"):
        return None
    candidate = (STATIC / path.removeprefix("/static/")).resolve()
    return candidate if candidate.is_relative_to(STATIC) and candidate.is_file() else None


@cache
def digest(path: str) -> str:
    """Return the content digest of the asset served at ``path``."""
    file = file_for(path)
    if file is None:
        raise LookupError(f"no static asset at {path}")
    sha = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:12]


def asset_url(path: str) -> str:
    """Return the versioned URL of a static asset, e.g. ``/static/site.css?v=0123456789ab``."""
    return f"{path}?v={digest(path)}"


def is_current(path: str, version: str | None) -> bool:
    """Tell whether ``version`` is the digest of the asset served at ``path`` now."""
    return bool(version) and file_for(path) is not None and version == digest(path)
