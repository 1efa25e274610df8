"""Prometheus metrics: request counts and durations per process, work figures from the database.

Request metrics live in each process. Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` is set before
prometheus-client is imported, so every worker writes its values to files there and a scrape of
any worker adds them up. Jobs, tokens and sites are counted in the database at scrape time by
:class:`DatabaseCollector`, once per scrape, so they are never multiplied by the process count.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from app.db import Database
from app.models import Job, Site, UsageRecord

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
JOB_STATUSES = ("queued", "running", "succeeded", "failed")
# Anything else a client sends as a method is counted as "other", so labels stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Site pages answer in milliseconds; uploads and drafts that parse files take seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class HttpMetrics:
    """The request counter and duration histogram of one application."""

    def __init__(self) -> None:
        # Not registered anywhere: each scrape builds its own registry (see scrape()).
        self.requests = Counter(
            "sitewright_http_requests",
            "HTTP requests answered, by method, Flask endpoint and status code.",
            ["method", "endpoint", "status"],
            registry=None,
        )
        self.duration = Histogram(
            "sitewright_http_request_duration_seconds",
            "Time to answer an HTTP request, by Flask endpoint.",
            ["endpoint"],
            buckets=DURATION_BUCKETS,
            registry=None,
        )

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        method = method if method in METHODS else "other"
        self.requests.labels(method=method, endpoint=endpoint, status=str(status)).inc()
        self.duration.labels(endpoint=endpoint).observe(seconds)


class DatabaseCollector(Collector):
    """Jobs by status, tokens spent and sites by state, counted in the database per scrape."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        """Yield the figures, and ``sitewright_database_up`` 0 instead when the database fails."""
        up = GaugeMetricFamily(
            "sitewright_database_up", "1 when the database answered this scrape's queries."
        )
        try:
            figures = list(self._figures())
        except SQLAlchemyError as exc:
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _figures(self) -> Iterator[Metric]:
        with self.database.session() as session:
            jobs = dict.fromkeys(JOB_STATUSES, 0)
            for status, count in session.execute(
                select(Job.status, func.count()).group_by(Job.status)
            ):
                jobs[status] = count
            tokens_in, tokens_out = session.execute(
                select(
                    func.coalesce(func.sum(UsageRecord.tokens_in), 0),
                    func.coalesce(func.sum(UsageRecord.tokens_out), 0),
                )
            ).one()
            state = case((Site.deleted_at.is_not(None), "deleted"), else_=Site.status)
            sites = session.execute(select(state, func.count()).group_by(state)).all()
        job_family = GaugeMetricFamily(
            "sitewright_jobs", "Generation jobs by status.", labels=["status"]
        )
        for status, count in jobs.items():
            job_family.add_metric([status], count)
        yield job_family
        token_family = CounterMetricFamily(
            "sitewright_tokens", "Model tokens spent, in (prompt) and out.", labels=["direction"]
        )
        token_family.add_metric(["in"], tokens_in)
        token_family.add_metric(["out"], tokens_out)
        yield token_family
        site_family = GaugeMetricFamily(
            "sitewright_sites",
            "Sites by status (draft, published, …); deleted sites awaiting purge as 'deleted'.",
            labels=["state"],
        )
        for site_state, count in sites:
            site_family.add_metric([site_state], count)
        yield site_family


def multiprocess_dir() -> str | None:
    """Return the folder of multiprocess mode, or None when this process counts alone."""
    return os.environ.get(MULTIPROC_ENV) or None


def build_registry(http: HttpMetrics, database: Database) -> CollectorRegistry:
    """Assemble what one scrape reports: all processes' request metrics and the database's."""
    registry = CollectorRegistry()
    folder = multiprocess_dir()
    if folder:
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    else:
        registry.register(http.requests)
        registry.register(http.duration)
        ProcessCollector(registry=registry)
    registry.register(DatabaseCollector(database))
    return registry


def scrape(http: HttpMetrics, database: Database) -> bytes:
    """Return the metrics in Prometheus' text format."""
    return generate_latest(build_registry(http, database))
