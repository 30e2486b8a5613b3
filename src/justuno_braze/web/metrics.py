"""Prometheus metrics, one registry per app, served at ``GET /metrics``.

- ``justuno_braze_events_ingested_total`` / ``…_events_duplicate_total``: events accepted
  durably (new) and duplicates accepted once; ``…_ingest_refused_total{reason}``.
- ``justuno_braze_braze_request_seconds{endpoint}`` (histogram),
  ``…_braze_requests_total{endpoint,status}``, ``…_braze_rate_limited_total`` (429s),
  ``…_braze_users_delivered_total`` (user updates in accepted ``/users/track`` requests).
  These come from the worker's Braze clients: :meth:`Metrics.client_factory` hands the
  worker clients whose transport is metered (the worker itself is unchanged).
- ``justuno_braze_outbox_jobs{state}`` (pending / leased / delivered / dead) and
  ``justuno_braze_queue_depth`` (pending + leased): read from the store on each scrape.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import httpx
import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from justuno_braze.braze.client import BrazeClient
from justuno_braze.config import Settings
from justuno_braze.store import Store

TRACK_PATH = "/users/track"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The app's registry and instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ingested = Counter(
            "justuno_braze_events_ingested", "Events accepted durably (new ones)", registry=r
        )
        self.duplicates = Counter(
            "justuno_braze_events_duplicate", "Events accepted again (ignored)", registry=r
        )
        self.refused = Counter(
            "justuno_braze_ingest_refused",
            "Ingestion requests refused, by reason",
            ["reason"],
            registry=r,
        )
        self.braze_latency = Histogram(
            "justuno_braze_braze_request_seconds",
            "Braze REST request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.braze_requests = Counter(
            "justuno_braze_braze_requests",
            "Braze REST requests by endpoint and status ('error' when no response)",
            ["endpoint", "status"],
            registry=r,
        )
        self.rate_limited = Counter(
            "justuno_braze_braze_rate_limited", "Braze answers with 429", registry=r
        )
        self.users_delivered = Counter(
            "justuno_braze_braze_users_delivered",
            "User updates in /users/track requests Braze accepted (2xx)",
            registry=r,
        )
        self.outbox_jobs = Gauge(
            "justuno_braze_outbox_jobs", "Outbox jobs by state", ["state"], registry=r
        )
        self.queue_depth = Gauge(
            "justuno_braze_queue_depth", "Outbox jobs still to deliver", registry=r
        )
        self._store: Store | None = None

    def bind(self, store: Store) -> None:
        self._store = store

    async def render(self) -> bytes:
        """The exposition text, the store-backed gauges refreshed first."""
        if self._store is not None:
            counts = await self._store.outbox.counts()
            for state, n in counts.items():
                self.outbox_jobs.labels(state=state).set(n)
            self.queue_depth.set(counts.get("pending", 0) + counts.get("leased", 0))
        return generate_latest(self.registry)

    # --- the Braze side ---------------------------------------------------------------

    def observe_braze(
        self, endpoint: str, status: int | None, seconds: float, body: bytes | None
    ) -> None:
        self.braze_latency.labels(endpoint=endpoint).observe(seconds)
        self.braze_requests.labels(
            endpoint=endpoint, status="error" if status is None else str(status)
        ).inc()
        if status == 429:
            self.rate_limited.inc()
        if status is not None and 200 <= status < 300 and endpoint == TRACK_PATH and body:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                return
            users = parsed.get("attributes") if isinstance(parsed, dict) else None
            if isinstance(users, list):
                self.users_delivered.inc(len(users))

    def transport(
        self, inner: httpx.AsyncBaseTransport | None = None, *, max_connections: int = 16
    ) -> MeteredTransport:
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        return MeteredTransport(self, inner or httpx.AsyncHTTPTransport(limits=limits))

    def client_factory(
        self,
        settings: Settings,
        *,
        extra_allowed: Sequence[str] = (),
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> Callable[[str, str], BrazeClient]:
        """What the worker builds its Braze clients with: metered, same settings.
        ``transports`` routes a base URL to an in-process app (the demo's sandbox)."""
        allowed = (*settings.allowed_braze_urls, *extra_allowed)
        routes = dict(transports or {})

        def factory(base_url: str, api_key: str) -> BrazeClient:
            inner = routes.get(base_url.rstrip("/"))
            return BrazeClient(
                base_url,
                api_key,
                allowed_urls=allowed,
                transport=self.transport(inner, max_connections=settings.max_in_flight),
                timeout=settings.braze_timeout_seconds,
                max_connections=settings.max_in_flight,
            )

        return factory


class MeteredTransport(httpx.AsyncBaseTransport):
    """An httpx transport that times each request and reports it to :class:`Metrics`."""

    def __init__(self, metrics: Metrics, inner: httpx.AsyncBaseTransport) -> None:
        self._metrics = metrics
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        endpoint = _endpoint(request.url.path)
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception:
            self._metrics.observe_braze(endpoint, None, time.perf_counter() - started, None)
            raise
        self._metrics.observe_braze(
            endpoint, response.status_code, time.perf_counter() - started, request.content
        )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _endpoint(path: str) -> str:
    """A bounded label: the Braze endpoints the product calls, else ``other``."""
    for known in (TRACK_PATH, "/custom_attributes", "/users/export/ids"):
        if path.endswith(known):
            return known
    return "other"
