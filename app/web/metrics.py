"""``/metrics`` for Prometheus, and the hooks that time every request.

The page needs no sign-in: with ``METRICS_TOKEN`` set it answers a matching Bearer token,
without one it answers loopback addresses only. Anyone else gets the ordinary 404.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from flask import Blueprint, Flask, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from app.auth import bearer_token
from app.db import get_db
from app.metrics import HttpMetrics, scrape

bp = Blueprint("metrics", __name__)

EXTENSION = "sitewright.metrics"
# Scrapes and health probes arrive every few seconds; counting them would drown real traffic.
NOT_COUNTED = frozenset({"metrics.metrics", "health.healthz", "health.readyz"})


def _http_metrics() -> HttpMetrics:
    metrics: HttpMetrics = current_app.extensions[EXTENSION]
    return metrics


def may_scrape() -> bool:
    """Say whether this request may read the metrics (token if one is set, else loopback)."""
    expected = current_app.config.get("METRICS_TOKEN") or ""
    if expected:
        given = bearer_token() or ""
        return hmac.compare_digest(given.encode(), expected.encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics() -> Response:
    """Answer the metrics in Prometheus' text format.

    :raise 404: no valid token, or (without a token setting) not a loopback address.
    """
    if not may_scrape():
        raise NotFound()
    return Response(scrape(_http_metrics(), get_db()), content_type=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    endpoint = request.endpoint or "unmatched"
    started = g.get("request_started")
    if started is not None and endpoint not in NOT_COUNTED:
        elapsed = time.perf_counter() - started
        _http_metrics().observe(request.method, endpoint, response.status_code, elapsed)
    return response


def init_app(app: Flask) -> None:
    """Create the request metrics, time every request and register ``/metrics``."""
    app.extensions[EXTENSION] = HttpMetrics()
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.register_blueprint(bp)
