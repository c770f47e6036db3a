"""Prometheus metrics of one app: requests and latency by route template, and index size.

Each app owns its :class:`~prometheus_client.CollectorRegistry`, so several apps (tests) can
live in one process without colliding on the global registry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.engine import RagEngine

UNMATCHED = (
    "<unmatched>"  # one label for every unknown path, so scanners cannot inflate cardinality
)
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rag_http_request_duration_seconds",
            "Time from request to the last byte of the response",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def watch(self, engine: Callable[[], RagEngine | None]) -> None:
        """Report the size of whatever index ``engine()`` serves at scrape time."""
        self.registry.register(_IndexCollector(engine))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _IndexCollector(Collector):
    def __init__(self, engine: Callable[[], RagEngine | None]) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        engine = self._engine()
        if engine is None or not engine.has_index():
            return
        stats = engine.store.stats()
        counts = {
            "documents": stats.documents,
            "paragraphs": stats.paragraphs,
            "chunks": stats.chunks,
        }
        for name, value in counts.items():
            yield GaugeMetricFamily(f"rag_index_{name}", f"{name.capitalize()} in the index", value)


class MetricsMiddleware:
    """Counts every HTTP request once it is answered (or fails), labelled by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router stores the matched route in the scope (FastAPI's APIRoute does).
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)
