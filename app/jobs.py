"""Where generation jobs run: a thread pool in the web process, or a Redis queue and workers.

The job row in the database is the source of truth for status and progress; a runner only
carries job ids to whoever does the work. A job id handed over twice is harmless: the job is
claimed with a conditional UPDATE (``queued`` → ``running``), so only one runner does the work.

The embedded default runs jobs on a thread pool inside the web process. With ``REDIS_URL`` set,
web processes put job ids on an RQ queue and ``sitewright worker`` processes run them (README,
"Running at scale", says why RQ).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import StartedJobRegistry

log = logging.getLogger(__name__)

QUEUE_NAME = "sitewright"
PERFORM = "app.worker.perform"


class JobRunner(Protocol):
    """Where jobs run: ``submit`` hands a persisted job over by id."""

    def submit(self, job_id: str) -> None: ...

    def holding(self) -> set[str] | None:
        """Return the ids of jobs handed over and not finished, or None if that is unknown."""
        ...

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

    def holding(self) -> set[str]:
        """Return the jobs waiting on or running in this process's pool."""
        return set(self.futures)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every submitted job (used by the CLI and tests)."""
        for future in list(self.futures.values()):
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for the running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class RedisQueueRunner:
    """Puts job ids on an RQ queue in Redis; ``sitewright worker`` processes run them."""

    def __init__(self, url: str, *, job_timeout_s: int) -> None:
        self.redis = Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
        self.queue = Queue(QUEUE_NAME, connection=self.redis)
        self.job_timeout_s = job_timeout_s

    def submit(self, job_id: str) -> None:
        """Queue the job; if Redis does not answer, leave it to the workers' maintenance.

        The job row stays ``queued`` in the database, and every worker's maintenance queues
        again the queued jobs the queue does not hold, so a Redis outage delays work but
        loses none.
        """
        try:
            self.queue.enqueue_call(
                PERFORM,
                args=(job_id,),
                job_id=f"{job_id}_{secrets.token_hex(4)}",  # one RQ job per hand-over
                timeout=self.job_timeout_s,
                result_ttl=0,
                failure_ttl=7 * 86400,
                description=f"sitewright job {job_id}",
            )
        except RedisError as exc:
            log.warning("could not queue job %s (%s); it will be queued again", job_id, exc)

    def holding(self) -> set[str] | None:
        """Return the jobs waiting on the queue or started by a worker; None if Redis is down."""
        try:
            waiting = self.queue.get_job_ids()
            started = StartedJobRegistry(queue=self.queue).get_job_ids(cleanup=False)
        except RedisError:
            return None
        return {rq_id.split("_", 1)[0] for rq_id in (*waiting, *started)}

    def ping(self) -> None:
        """Raise RedisError if the queue's server does not answer."""
        self.redis.ping()

    def shutdown(self) -> None:
        """Close the connections to Redis."""
        self.redis.close()
