"""Running generation jobs outside the web request.

The job row in the database is the source of truth; a runner only decides where the work runs.
The embedded default runs jobs on a thread pool inside the web process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

log = logging.getLogger(__name__)


class JobRunner(Protocol):
    """Where jobs run: ``submit`` hands a persisted job over by id."""

    def submit(self, job_id: str) -> None: ...

    def shutdown(self) -> None: ...


class ThreadPoolRunner:
    """Runs jobs on a small thread pool in this process."""

    def __init__(self, work: Callable[[str], None], workers: int = 2) -> None:
        self._work = work
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sitewright-job")
        self.futures: dict[str, Future[None]] = {}

    def submit(self, job_id: str) -> None:
        """Queue the job on the pool."""
        self.futures[job_id] = self._pool.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            self._work(job_id)
        except Exception:
            log.exception("job %s crashed", job_id)
        finally:
            self.futures.pop(job_id, None)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every submitted job (used by the CLI and tests)."""
        for future in list(self.futures.values()):
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for the running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)
