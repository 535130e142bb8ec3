"""What the server tells its operators: Prometheus metrics at /metrics, readiness at
/readyz, and each request counted, timed and (when slow) logged.

Metrics (prometheus-client):

- `supportd_requests_total{api, operation, status, error}`: requests answered, by
  front door (`aws`, `staff`, `links`), operation (the AWS operation name, the staff
  route's method and path template, or `unknown`: never text a client chose), HTTP
  status, and error code (`none` for a success);
- `supportd_request_duration_seconds{api, operation}`: their latency (until the
  response starts);
- `supportd_sqlite_writer_queue`: writes waiting for the SQLite writer thread, summed
  over the live server processes; `supportd_database_pool_connections{state}`: the
  PostgreSQL pools (`open`, `in_use`, `max`), summed likewise. Each process samples its
  own every second;
- `supportd_jobs{state}`, `supportd_jobs_due`, `supportd_outbox_events_pending`,
  `supportd_outbox_deliveries_pending`: the store's backlogs, counted when scraped
  (the outbox ones only where the notification tables exist); `supportd_store_up`.

Several worker processes (`--workers N`, N > 1) each count their own requests;
prometheus-client's multiprocess mode sums them. `supportd serve` makes a private
directory for it and names it in PROMETHEUS_MULTIPROC_DIR before any worker starts
(prometheus-client reads the variable when it is imported). With one process, or an app
made in-process (tests), the metrics live in the process's memory: about 5 us of CPU
per request instead of about 13 us for the shared files.

Nothing here carries per-account data: no label holds an account id, key, case id,
address or anything else a client wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from supportd.operations.context import Context
from supportd.storage.base import Store

log = logging.getLogger("supportd.observe")

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_INTERVAL_S = 1.0
# /readyz and the scrape-time backlog count answer within this, whatever the store does.
STORE_TIMEOUT_S = 5.0

REQUESTS = Counter(
    "supportd_requests",
    "Requests answered, by front door, operation, HTTP status and error code.",
    ["api", "operation", "status", "error"],
)
LATENCY = Histogram(
    "supportd_request_duration_seconds",
    "Time from a request's arrival to its response, by front door and operation.",
    ["api", "operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
WRITER_QUEUE = Gauge(
    "supportd_sqlite_writer_queue",
    "Writes waiting for the SQLite writer thread (all live server processes).",
    multiprocess_mode="livesum",
)
POOL = Gauge(
    "supportd_database_pool_connections",
    "PostgreSQL connections of the server processes' pools: open, in_use, max.",
    ["state"],
    multiprocess_mode="livesum",
)
_POOL_STATES = {"pool_size": "open", "pool_in_use": "in_use", "pool_max": "max"}


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV) or None


class Observer:
    """Counts and times each request, and logs the slow ones with their operation."""

    def __init__(self, slow_request_ms: int) -> None:
        self.slow_s = slow_request_ms / 1000 if slow_request_ms > 0 else None
        self._counters: dict[tuple[str, str, int, str], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    def record(
        self, api: str, operation: str, status: int, error: str | None, seconds: float
    ) -> None:
        key = (api, operation, status, error or "none")
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(api, operation, str(status), key[3])
        counter.inc()
        timer = self._timers.get((api, operation))
        if timer is None:
            timer = self._timers[(api, operation)] = LATENCY.labels(api, operation)
        timer.observe(seconds)
        if self.slow_s is not None and seconds > self.slow_s:
            ms = round(seconds * 1000)
            log.warning(
                "slow request: %s %s took %d ms (status %d)",
                api,
                operation,
                ms,
                status,
                extra={"api": api, "operation": operation, "duration_ms": ms, "status": status},
            )


def sample(store: Store) -> None:
    """Set this process's gauges from its store's connections."""
    for name, value in store.usage().items():
        if name == "writer_queue":
            WRITER_QUEUE.set(value)
        elif name in _POOL_STATES:
            POOL.labels(_POOL_STATES[name]).set(value)


@contextlib.asynccontextmanager
async def sampling(store: Store) -> AsyncIterator[None]:
    """Sample the gauges every second while the app runs; at the end, take this
    process's live gauges out of the multiprocess sums."""

    async def loop() -> None:
        while True:
            try:
                sample(store)
            except Exception:
                log.exception("metrics sample failed")
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    task = asyncio.create_task(loop(), name="supportd-metrics-sampler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if multiprocess_dir() is not None:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class _Snapshot(Collector):
    """Values read from the store at scrape time (one process answers for all)."""

    def __init__(self, backlog: dict[str, int] | None) -> None:
        self.backlog = backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "supportd_store_up", "1 if the store answered the scrape's backlog query."
        )
        up.add_metric([], 0 if self.backlog is None else 1)
        yield up
        if self.backlog is None:
            return
        jobs = GaugeMetricFamily(
            "supportd_jobs",
            "Background jobs by state (done jobs are not counted).",
            labels=["state"],
        )
        for name, value in self.backlog.items():
            if name.startswith("jobs_") and name != "jobs_due":
                jobs.add_metric([name[len("jobs_") :]], value)
        yield jobs
        yield GaugeMetricFamily(
            "supportd_jobs_due", "Queued jobs whose time has come.", value=self.backlog["jobs_due"]
        )
        if "outbox_events" in self.backlog:
            yield GaugeMetricFamily(
                "supportd_outbox_events_pending",
                "Notification events not yet fanned out into deliveries.",
                value=self.backlog["outbox_events"],
            )
        if "outbox_deliveries" in self.backlog:
            yield GaugeMetricFamily(
                "supportd_outbox_deliveries_pending",
                "Notification deliveries waiting to be (re)tried.",
                value=self.backlog["outbox_deliveries"],
            )


def routes(ctx: Context) -> dict[str, Any]:
    """The /metrics and /readyz endpoints."""
    store = ctx.store

    async def metrics(request: Request) -> Response:
        try:
            backlog: dict[str, int] | None = await asyncio.wait_for(
                store.backlog(ctx.clock.now_ms()), STORE_TIMEOUT_S
            )
        except Exception as exc:
            log.warning("metrics: the store did not answer the backlog query: %r", exc)
            backlog = None
        sample(store)
        directory = multiprocess_dir()
        if directory is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        else:
            registry = REGISTRY
        snapshot = CollectorRegistry()
        snapshot.register(_Snapshot(backlog))
        body = generate_latest(registry) + generate_latest(snapshot)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"cache-control": "no-store"})

    async def readyz(request: Request) -> Response:
        """Ready: the store answers and its schema is the one this supportd needs."""
        try:
            problem = await asyncio.wait_for(store.schema_problem(), STORE_TIMEOUT_S)
        except TimeoutError:
            problem = f"the store did not answer within {STORE_TIMEOUT_S:.0f} s"
        except Exception as exc:
            # The detail (addresses, drivers' messages) goes to the log, not to the probe.
            log.warning("readiness: the store cannot be reached: %r", exc)
            problem = "the store cannot be reached"
        if problem is not None:
            return JSONResponse(
                {"status": "unavailable", "reason": problem},
                status_code=503,
                headers={"cache-control": "no-store", "retry-after": "5"},
            )
        return JSONResponse({"status": "ready"}, headers={"cache-control": "no-store"})

    return {"metrics": metrics, "readyz": readyz}
