"""What the benchmarks share: a throw-away app on a fresh database, the samples, a sync runner.

Not a benchmark itself. Everything here is loopback only and cleans up after itself: the data
folder is a temporary directory, a PostgreSQL schema is dropped at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Measure the code beside this script, not whatever copy of ``app`` happens to be installed.
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from app import create_app  # noqa: E402
from app.cli import upgrade_database  # noqa: E402
from app.services import Deps  # noqa: E402
from app.services.sites import Upload  # noqa: E402

SAMPLES = REPO.parent / "shared" / "samples"
REPLAYS = REPO / "tests" / "templates" / "replays"
TEMPLATES = ("customer_review", "scenario_planner", "launch_hub")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class HeldJobs:
    """A job runner that only remembers what was submitted: the benchmark runs jobs itself."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, job_id: str) -> None:
        self.submitted.append(job_id)

    def holding(self) -> set[str]:
        return set(self.submitted)

    def shutdown(self) -> None:
        pass


@contextmanager
def database(
    url: str | None, folder: Path, *, prefix: str = "bench", filename: str = "bench.db"
) -> Iterator[str]:
    """Yield a fresh database URL: SQLite in ``folder``, or a new schema of PostgreSQL ``url``
    (dropped afterwards, even after the server restarted under it: connections are pinged)."""
    if not url:
        yield f"sqlite:///{folder / filename}"
        return
    admin = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    schema = f"{prefix}_" + secrets.token_hex(4)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    joiner = "&" if "?" in url else "?"
    try:
        yield f"{url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def bench_app(
    database_url: str | None = None, overrides: dict[str, Any] | None = None
) -> Iterator[tuple[Flask, Deps]]:
    """Yield a migrated app in a temporary data folder whose jobs the caller runs."""
    with (
        tempfile.TemporaryDirectory(prefix="sitewright-bench-") as folder,
        database(database_url, Path(folder)) as url,
    ):
        settings: dict[str, Any] = {
            "DATA_DIR": str(Path(folder) / "data"),
            "DATABASE_URL": url,
            "DEV_LOGIN": True,
            "LLM_BASE_URL": "http://127.0.0.1:9/v1",  # nothing listens: no call leaves
            "LLM_API_KEY": "bench",
            "LLM_MAX_RETRIES": 0,
            **(overrides or {}),
        }
        app = create_app(settings)
        upgrade_database(app)
        deps: Deps = app.extensions["sitewright.deps"]
        deps.runner.shutdown()
        deps.runner = HeldJobs()
        try:
            yield app, deps
        finally:
            deps.close()
            app.extensions["sitewright.db"].dispose()


def sample_uploads(template: str) -> list[Upload]:
    """Return the shared sample files of a template as uploads."""
    folder = SAMPLES / template
    if not folder.is_dir():
        raise SystemExit(f"sample files not found at {folder}")
    return [Upload(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]


def replay(template: str) -> dict[str, Any]:
    """Return the content a careful model writes for a template's samples (the test replays)."""
    content: dict[str, Any] = json.loads((REPLAYS / f"{template}.json").read_text("utf-8"))
    return content


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def postgres_url(requested: str | None) -> str | None:
    """Return ``requested`` (or the environment's URL when it is "env"), None when off."""
    if requested == "env":
        return os.environ.get("SITEWRIGHT_BENCH_POSTGRES_URL") or os.environ.get(
            "SITEWRIGHT_TEST_POSTGRES_URL", DEFAULT_PG_URL
        )
    return requested or None
