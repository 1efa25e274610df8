"""``sitewright worker``: runs the jobs web processes put on the Redis queue.

Each worker process builds the application once and runs jobs one at a time in its own process
(RQ's ``SimpleWorker``: no fork per job, so the database pool, the template registry and the
compiled workbooks stay warm). ``--processes N`` starts N of them under RQ's ``WorkerPool``,
which starts a new one when one dies. Besides jobs, every worker process keeps the job leases
(:mod:`app.services.job_lease`) and runs the sweep timer; both are safe to run in many places.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from redis import Redis
from rq import SimpleWorker
from rq.worker_pool import WorkerPool

from app.jobs import QUEUE_NAME
from app.services import Deps

log = logging.getLogger(__name__)

_app: Flask | None = None


def process_deps() -> Deps:
    """Return this process's service dependencies, building the app the first time."""
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    deps: Deps = _app.extensions["sitewright.deps"]
    return deps


def perform(job_id: str) -> None:
    """Run one queued job (RQ calls this by name: ``app.worker.perform``)."""
    from app.services.generation import run_generation

    run_generation(process_deps(), job_id)


class SitewrightWorker(SimpleWorker):
    """An RQ worker that also keeps job leases and sweeps while it waits for work."""

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """Build the app, start the lease maintenance and the sweep timer, then run jobs."""
        from app.services.job_lease import JobMaintenance
        from app.services.sweep_timer import start_timer

        deps = process_deps()
        maintenance = JobMaintenance(deps.lease, deps.runner).start()
        timer = start_timer(deps)
        try:
            return bool(super().work(*args, **kwargs))
        finally:
            maintenance.stop()
            if timer is not None:
                timer.stop()
            deps.close()


def run_workers(redis_url: str, processes: int, *, burst: bool = False) -> None:
    """Run ``processes`` worker processes on the queue until stopped (or, burst, until empty)."""
    connection = Redis.from_url(redis_url)
    if processes <= 1:
        worker = SitewrightWorker([QUEUE_NAME], connection=connection)
        worker.work(burst=burst, with_scheduler=False)
        return
    pool = WorkerPool(
        [QUEUE_NAME], connection=connection, num_workers=processes, worker_class=SitewrightWorker
    )
    pool.start(burst=burst)
