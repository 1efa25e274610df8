"""Build the services' dependencies once per application and hand them to requests and jobs."""

from __future__ import annotations

import atexit
import logging
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select

from app.db import Database
from app.jobs import JobRunner, RedisQueueRunner, ThreadPoolRunner
from app.llm import build_provider
from app.models import Job
from app.render import SiteRenderer
from app.services import Deps
from app.services.generation import run_generation
from app.services.job_lease import JobLease, JobMaintenance
from app.site_template import load_registry
from app.storage import build_stores

log = logging.getLogger(__name__)


def build_deps(app: Flask) -> Deps:
    """Create stores, registry, renderer, provider and the job runner from the config."""
    blobs, pages = build_stores(app.config)
    templates_dir = Path(app.config["TEMPLATES_DIR"])
    database: Database = app.extensions["sitewright.db"]
    deps = Deps(
        db=database,
        blobs=blobs,
        pages=pages,
        registry=load_registry(templates_dir),
        renderer=SiteRenderer(templates_dir),
        provider=build_provider(app.config),
        runner=None,  # type: ignore[arg-type]  # set just below: the runner needs deps
        settings=dict(app.config),
        lease=JobLease(database, app.config["JOB_LEASE_S"], app.config["JOB_MAX_ATTEMPTS"]),
    )
    deps.runner = build_runner(deps)
    return deps


def build_runner(deps: Deps) -> JobRunner:
    """Return the Redis queue when REDIS_URL is set, else this process's thread pool."""
    settings = deps.settings
    if settings.get("REDIS_URL"):
        # Long enough for every model call a job makes (choice, draft, repair) with retries.
        calls = 3 * (settings["LLM_MAX_RETRIES"] + 1)
        timeout = int(calls * settings["LLM_TIMEOUT_S"]) + 300
        return RedisQueueRunner(settings["REDIS_URL"], job_timeout_s=timeout)
    return ThreadPoolRunner(lambda job_id: run_generation(deps, job_id), settings["JOB_WORKERS"])


def get_deps() -> Deps:
    """Return the current application's service dependencies."""
    deps: Deps = current_app.extensions["sitewright.deps"]
    return deps


def start_jobs(deps: Deps) -> JobMaintenance | None:
    """In a process that runs jobs on its own thread pool: resume queued work, keep leases.

    Queued jobs are handed to the pool again (a job another process already runs is not
    claimed twice), and a maintenance thread queues again or fails the jobs whose process
    died. With a Redis queue the web process runs no jobs: ``sitewright worker`` does this.
    """
    if not isinstance(deps.runner, ThreadPoolRunner):
        return None
    with deps.db.session() as session:
        queued = session.scalars(select(Job.id).where(Job.status == "queued")).all()
    for job_id in queued:
        deps.runner.submit(job_id)
    return JobMaintenance(deps.lease, deps.runner).start()


def init_app(app: Flask) -> None:
    """Attach the dependencies to the application."""
    deps = build_deps(app)
    app.extensions["sitewright.deps"] = deps
    atexit.register(deps.close)
