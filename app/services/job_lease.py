"""Job leases: no job stays "running" after the process running it died.

The process that runs a job touches the job's ``heartbeat_at`` every few seconds. A running job
whose heartbeat is older than ``JOB_LEASE_S`` lost its process (killed, out of memory, host
gone): the maintenance that every job-running process does queues it again, or, after
``JOB_MAX_ATTEMPTS`` starts, fails it with a reason the owner can read. Every change is a
conditional UPDATE on the state that was read, so several processes maintaining at once change
each job once.

The same maintenance queues again the queued jobs that no runner holds (Redis lost them, or was
down when the web process handed them over).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select, update

from app import audit
from app.db import Database
from app.jobs import JobRunner
from app.models import Job, User, utcnow

log = logging.getLogger(__name__)


def abandoned_message(starts: int) -> str:
    """Say to the owner why a job failed after its worker stopped ``starts`` times."""
    times = "once" if starts == 1 else f"{starts} times"
    return (
        f"The worker making this version stopped {times} before finishing (it was restarted "
        "or ran out of memory). Your prompt and files are saved: press Retry; if it fails "
        "again, tell an admin."
    )


@dataclass
class Reclaimed:
    """What one maintenance pass did, by job id."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resubmitted: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Describe the pass for the log."""
        return [
            f"{len(ids)} {what}: {', '.join(ids)}"
            for what, ids in (
                ("abandoned jobs queued again", self.requeued),
                ("abandoned jobs failed", self.failed),
                ("queued jobs handed to the runner again", self.resubmitted),
            )
            if ids
        ]


class JobLease:
    """Heartbeats for the jobs this process runs, and reclaiming the jobs of dead processes."""

    def __init__(self, db: Database, lease_s: float, max_attempts: int) -> None:
        self.db, self.lease_s, self.max_attempts = db, lease_s, max(1, max_attempts)
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def beat_every_s(self) -> float:
        """Seconds between heartbeats: a third of the lease, so one late beat is no death."""
        return max(self.lease_s / 3, 0.2)

    @contextlib.contextmanager
    def holding(self, job_id: str) -> Iterator[None]:
        """Keep the job's heartbeat going while the block runs."""
        with self._lock:
            self._held.add(job_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._beat_loop, name="sitewright-heartbeat", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(job_id)

    def beat(self) -> None:
        """Touch the heartbeat of every running job this process holds."""
        with self._lock:
            held = list(self._held)
        if not held:
            return
        with self.db.transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(held), Job.status == "running")
                .values(heartbeat_at=utcnow())
            )

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.beat_every_s):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease allows two
                log.warning("job heartbeat failed; trying again", exc_info=True)

    def stop(self) -> None:
        """Stop the heartbeat thread (at exit)."""
        self._stop.set()

    def reclaim(self, runner: JobRunner) -> Reclaimed:
        """Queue again or fail the abandoned running jobs; hand over queued jobs nobody holds."""
        done = Reclaimed()
        cutoff = utcnow() - dt.timedelta(seconds=self.lease_s)
        with self.db.session() as session:
            stale = session.execute(
                select(Job.id, Job.heartbeat_at, Job.restarts).where(
                    Job.status == "running",
                    or_(
                        Job.heartbeat_at < cutoff,
                        and_(Job.heartbeat_at.is_(None), Job.started_at < cutoff),
                    ),
                )
            ).all()
        for job_id, heartbeat_at, restarts in stale:
            if restarts + 1 < self.max_attempts:
                if self._requeue(job_id, heartbeat_at):
                    done.requeued.append(job_id)
            elif self._fail(job_id, heartbeat_at, restarts + 1):
                done.failed.append(job_id)
        for job_id in done.requeued:
            runner.submit(job_id)
        held = runner.holding()
        if held is not None:
            with self.db.session() as session:
                waiting = session.scalars(
                    select(Job.id).where(Job.status == "queued", Job.created_at < cutoff)
                ).all()
            for job_id in waiting:
                if job_id not in held and job_id not in done.requeued:
                    runner.submit(job_id)
                    done.resubmitted.append(job_id)
        return done

    def _same_lease(self, job_id: str, heartbeat_at: dt.datetime | None) -> list[Any]:
        if heartbeat_at is None:
            return [Job.id == job_id, Job.status == "running", Job.heartbeat_at.is_(None)]
        return [Job.id == job_id, Job.status == "running", Job.heartbeat_at == heartbeat_at]

    def _requeue(self, job_id: str, heartbeat_at: dt.datetime | None) -> bool:
        with self.db.transaction() as session:
            changed = session.execute(
                update(Job)
                .where(*self._same_lease(job_id, heartbeat_at))
                .values(
                    status="queued",
                    step="queued",
                    heartbeat_at=None,
                    started_at=None,
                    restarts=Job.restarts + 1,
                )
            )
        return bool(changed.rowcount)  # type: ignore[attr-defined]

    def _fail(self, job_id: str, heartbeat_at: dt.datetime | None, starts: int) -> bool:
        message = abandoned_message(starts)
        with self.db.transaction() as session:
            changed = session.execute(
                update(Job)
                .where(*self._same_lease(job_id, heartbeat_at))
                .values(status="failed", error=message, finished_at=utcnow())
            )
            if not changed.rowcount:  # type: ignore[attr-defined]
                return False
            job = session.get_one(Job, job_id)
            audit.track_event(
                session,
                audit.GenerationFailed(data={"job_id": job_id, "step": job.step, "error": message}),
                actor=session.get(User, job.created_by_id),
                site=job.site,
            )
        return True


class JobMaintenance:
    """Runs :meth:`JobLease.reclaim` every half lease on a daemon thread."""

    def __init__(self, lease: JobLease, runner: JobRunner) -> None:
        self.lease, self.runner = lease, runner
        self.every_s = max(lease.lease_s / 2, 0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sitewright-leases", daemon=True)

    def start(self) -> JobMaintenance:
        """Start maintaining now (the first pass runs at once); stop at exit."""
        self._thread.start()
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        atexit.unregister(self.stop)

    def run_once(self) -> Reclaimed | None:
        """Run one pass and log what it did; an error is logged, never raised."""
        try:
            done = self.lease.reclaim(self.runner)
        except Exception:  # noqa: BLE001 - the database may be restarting; next pass retries
            log.warning("job maintenance failed; trying again shortly", exc_info=True)
            return None
        for line in done.lines():
            log.info("jobs: %s", line)
        return done

    def _loop(self) -> None:
        self.run_once()
        while not self._stop.wait(self.every_s):
            self.run_once()
