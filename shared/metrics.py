"""Prometheus metrics at `/metrics`: requests and latencies counted in process, the rest read live.

Counted per process: HTTP requests by endpoint, method and status, and their latency. Under
gunicorn's several workers set PROMETHEUS_MULTIPROC_DIR to an empty directory (cleared at start):
every worker writes its counts there and a scrape adds them up. Read from the database and Redis
at each scrape (so right whatever process answers): each service's own figures (outbox depth,
deliveries or scans by status) and the length of every Celery queue. Nothing personal is exposed.

Access: with METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>`; without it,
only a direct peer on loopback or a private network is answered, and never a request that came
through a proxy (X-Forwarded-For). nginx refuses /metrics from outside too.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable

from flask import Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session

from shared.celery_app import QUEUES
from shared.health import queue_length
from shared.logs import request_seconds
from shared.web import problem_response

# A service's live figures: given a session, the metric families to expose.
Source = Callable[[Session], Iterable[Metric]]
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "hudoor_http_requests",
    "HTTP requests answered, by service, endpoint, method and status",
    ["service", "endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "hudoor_http_request_duration_seconds",
    "Time to answer an HTTP request, by service, endpoint and method",
    ["service", "endpoint", "method"],
    buckets=LATENCY_BUCKETS,
)


def init_metrics(app: Flask) -> None:
    """Count every request and serve /metrics (in shared.access.INFRASTRUCTURE, guarded here)."""
    app.extensions["hudoor_metric_sources"] = []
    app.extensions["hudoor_metrics_token"] = os.environ.get("METRICS_TOKEN", "").strip() or None
    if multiprocess_dir() is not None:
        os.makedirs(multiprocess_dir(), exist_ok=True)
    app.after_request(_count)
    app.add_url_rule("/metrics", "metrics", serve_metrics)


def add_metric_source(app: Flask, source: Source) -> None:
    """Expose a service's live figures, read in a session of its own at each scrape."""
    app.extensions["hudoor_metric_sources"].append(source)


def multiprocess_dir() -> str | None:
    """The directory gunicorn workers share their counts in, if configured."""
    return os.environ.get(MULTIPROCESS_DIR, "").strip() or None


def _count(response):
    service = current_app.extensions.get("hudoor_service", "hudoor")
    endpoint = request.endpoint or "unmatched"
    HTTP_REQUESTS.labels(service, endpoint, request.method, str(response.status_code)).inc()
    HTTP_LATENCY.labels(service, endpoint, request.method).observe(request_seconds())
    return response


def serve_metrics():
    """The Prometheus text exposition of this service, to allowed scrapers only."""
    if not _allowed():
        return problem_response(403, "forbidden")
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir() is not None:
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(_Live(current_app._get_current_object()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _allowed() -> bool:
    token = current_app.extensions.get("hudoor_metrics_token")
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    if request.headers.get("X-Forwarded-For"):
        return False  # came through the proxy: from outside
    original = request.environ.get("werkzeug.proxy_fix.orig", {})
    try:
        peer = ipaddress.ip_address(original.get("REMOTE_ADDR") or request.remote_addr or "")
    except ValueError:
        return False
    return peer.is_loopback or peer.is_private


class _Forward:
    """This process's own counters (single-process mode)."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


class _Live:
    """Figures read at scrape time: Celery queue lengths and the service's own sources."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        up = GaugeMetricFamily(
            "hudoor_metrics_source_up", "Whether a live figure could be read", labels=["source"]
        )
        yield from self._read("celery_queues", up, self._queues)
        for source in self.app.extensions["hudoor_metric_sources"]:
            yield from self._read(source.__name__, up, lambda s=source: self._from_db(s))
        yield up

    def _read(self, name: str, up: GaugeMetricFamily, read) -> Iterable[Metric]:
        try:
            families = list(read())
        except Exception as error:  # a scrape must answer even when a dependency is down
            log.warning("metrics: %s could not be read (%s)", name, type(error).__name__)
            up.add_metric([name], 0)
            return []
        up.add_metric([name], 1)
        return families

    def _queues(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "hudoor_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"]
        )
        for queue in QUEUES:
            family.add_metric([queue], queue_length(self.app, queue))
        return [family]

    def _from_db(self, source: Source) -> Iterable[Metric]:
        with self.app.extensions["hudoor_sessions"]() as session:
            return list(source(session))
