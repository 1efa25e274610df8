"""Build the services' dependencies once per application and hand them to requests and jobs."""

from __future__ import annotations

import atexit
import logging
from pathlib import Path

from flask import Flask, current_app

from app.db import Database
from app.jobs import ThreadPoolRunner
from app.llm import build_provider
from app.render import SiteRenderer
from app.services import Deps
from app.services.generation import recover_jobs, run_generation
from app.site_template import load_registry
from app.storage import BlobStore, PageStore

log = logging.getLogger(__name__)


def build_deps(app: Flask) -> Deps:
    """Create stores, registry, renderer, provider and the job runner from the config."""
    data_dir = Path(app.config["DATA_DIR"])
    templates_dir = Path(app.config["TEMPLATES_DIR"])
    database: Database = app.extensions["sitewright.db"]
    deps = Deps(
        db=database,
        blobs=BlobStore(data_dir),
        pages=PageStore(data_dir),
        registry=load_registry(templates_dir),
        renderer=SiteRenderer(templates_dir),
        provider=build_provider(app.config),
        runner=None,  # type: ignore[arg-type]  # set just below: the runner needs deps
        settings=dict(app.config),
    )
    deps.runner = ThreadPoolRunner(
        lambda job_id: run_generation(deps, job_id), workers=app.config["JOB_WORKERS"]
    )
    return deps


def get_deps() -> Deps:
    """Return the current application's service dependencies."""
    deps: Deps = current_app.extensions["sitewright.deps"]
    return deps


def start_jobs(deps: Deps) -> None:
    """Resume work a stopped process left behind: fail interrupted jobs, resubmit queued ones."""
    for job_id in recover_jobs(deps):
        deps.runner.submit(job_id)


def init_app(app: Flask) -> None:
    """Attach the dependencies to the application."""
    deps = build_deps(app)
    app.extensions["sitewright.deps"] = deps
    atexit.register(deps.close)
