"""gunicorn settings for Sitewright: ``gunicorn -c gunicorn.conf.py app.wsgi:app``.

Every value can be changed from the environment (``PORT``, ``WEB_CONCURRENCY``, ``GUNICORN_*``)
or on the command line, which wins over this file. The choices and their measurements are
described in the README ("Running at scale").
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

# Multiprocess metrics: prometheus-client picks its storage when it is first imported, which
# happens in each worker after fork, so the folder must be in the environment before that.
# A fresh folder per start: values left by an earlier run would be added to this run's.
_metrics_dir_made_here = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir_made_here:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="sitewright-metrics-")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _default_workers() -> int:
    # 2 × cores + 1, capped: each worker holds the app (about 200 MB with pandas and plotly) and,
    # without Redis, its own job threads.
    cores = os.cpu_count() or 1
    return min(2 * cores + 1, 8)


bind = f"0.0.0.0:{_int('PORT', 8000)}"
workers = _int("WEB_CONCURRENCY", _default_workers())
# Measured with wrk on a published page (README, "Running at scale"): on 2 cores, gthread with
# 2 threads per worker matched or beat sync workers in throughput and p99, and 4 threads per
# worker with 5 workers was clearly worst. Threads also keep a worker answering while one of
# its requests parses a large upload, and allow keep-alive connections from the proxy.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 2)
# A 25 MB workbook upload is read, hashed and digested inside the request: give it time.
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Seconds an idle keep-alive connection from the proxy stays open (gthread only). A proxy that
# pools upstream connections must drop idle ones sooner (nginx: keepalive_timeout 4s), or it
# may reuse one gunicorn is closing. deploy/nginx.conf opens one connection per request.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Workers are not recycled by default: at 2,000 requests (tried first) the workers of a busy
# server reached the count within a second of each other and all re-imported the app at once
# (several seconds each on 2 cores), which stalled serving (bench/README.md, serving). To bound
# a slow leak, set a large count with a jitter of half of it, e.g. 100000 and 50000.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
# Not preloaded: app.wsgi starts the job thread pool and resumes left-over jobs at import, and
# threads do not survive fork; each worker builds its own app, engine and pool instead.
preload_app = False
# Trust X-Forwarded-* only from the proxy in front. gunicorn's default trusts 127.0.0.1 alone;
# in compose the proxy is another container, so set FORWARDED_ALLOW_IPS to its network
# (e.g. "172.16.0.0/12") or "*" when nothing else can reach port 8000.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The heartbeat file is touched every few seconds; on a disk-backed /tmp that can stall.
if os.path.isdir("/dev/shm"):  # noqa: S108 - a fixed, well-known tmpfs
    worker_tmp_dir = "/dev/shm"  # noqa: S108

_LOG_FORMAT = os.environ.get("SITEWRIGHT_LOG_FORMAT", "text").strip() or "text"
errorlog = "-"
if _LOG_FORMAT == "json":
    # The access line's fields come from the atoms (app.logs.AccessJsonFormatter).
    access_log_format = "%(m)s %(U)s %(s)s"
    logconfig_dict: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "app.logs.make_formatter", "log_format": "json"},
            "access": {"()": "app.logs.make_access_formatter", "log_format": "json"},
        },
        "handlers": {
            "error": {"class": "logging.StreamHandler", "formatter": "json"},
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
        # Replaces gunicorn's default root entry, whose "console" handler is not defined here.
        # Libraries' warnings reach stderr through logging's last-resort handler.
        "root": {"level": "WARNING", "handlers": []},
    }
else:
    accesslog = "-"
    access_log_format = (
        '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %({x-request-id}o)s'
    )


def on_starting(server: Any) -> None:
    """Set up Sitewright's own log lines once gunicorn has set up its own (workers inherit)."""
    from app.logs import configure_logging

    configure_logging({"LOG_FORMAT": _LOG_FORMAT})


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the multiprocess metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics folder this file made (a later start makes a fresh one)."""
    if _metrics_dir_made_here:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
