"""The staging SIS's Prometheus metrics (``sis_…``), on a registry the app owns.

Each app gets its own ``CollectorRegistry`` (tests make a fresh one per app). With several
server workers, prometheus-client's multiprocess mode aggregates the workers' values at scrape
time (``PROMETHEUS_MULTIPROC_DIR``); gauges say how their per-worker values combine.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from kernel.latency import LATENCY_EDGES

QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.request_duration = Histogram(
            "sis_http_request_duration_seconds", "HTTP request duration by route template.",
            ["route", "method", "status_class"], buckets=LATENCY_EDGES, registry=r)
        self.in_flight = Gauge("sis_http_requests_in_flight", "Requests being served.",
                               registry=r, multiprocess_mode="livesum")
        self.pool_size = Gauge("sis_db_pool_size", "Connections in the database pool.",
                               registry=r, multiprocess_mode="livesum")
        self.pool_in_use = Gauge("sis_db_pool_in_use", "Pool connections lent out.",
                                 registry=r, multiprocess_mode="livesum")
        self.pool_waiting = Gauge("sis_db_pool_waiting", "Requests waiting for a connection.",
                                  registry=r, multiprocess_mode="livesum")
        self.pool_max = Gauge("sis_db_pool_max", "Configured maximum pool size.",
                              registry=r, multiprocess_mode="livesum")
        self.query_duration = Histogram(
            "sis_db_query_duration_seconds", "Database query duration by query name.",
            ["query"], buckets=QUERY_BUCKETS, registry=r)
        self.logins = Counter("sis_logins_total", "Login attempts by result.", ["result"],
                              registry=r)
        self.active_sessions = Gauge(
            "sis_active_sessions", "Sessions seen within the idle timeout.", registry=r,
            multiprocess_mode="max")
        self.exports = Counter("sis_exports_total", "Bulk exports and report downloads.",
                               ["kind", "role"], registry=r)
        self.export_rows = Counter("sis_export_rows_total", "Rows handed out by exports.",
                                   ["kind", "role"], registry=r)
        self.oauth_tokens = Counter("sis_oauth_tokens_total", "OAuth 2 token requests by result.",
                                    ["result"], registry=r)
        self.registrations = Counter("sis_registrations_total",
                                     "Parent self-registration steps by step and result.",
                                     ["step", "result"], registry=r)
        self.faults_active = Gauge("sis_faults_active", "Fault switches in effect, by kind.",
                                   ["kind"], registry=r, multiprocess_mode="max")
        self.insecure_probe_targets = Gauge(
            "sis_insecure_probe_targets",
            "1 when deliberately vulnerable test routes shadow the real ones (never a real SIS).",
            registry=r, multiprocess_mode="max")
        self.dev_mailbox = Gauge(
            "sis_dev_mailbox",
            "1 when the test mailbox (GET /api/dev/mailbox) serves the email outbox over HTTP.",
            registry=r, multiprocess_mode="max")

        self.district_rows = Gauge(
            "sis_district_rows", "Rows of the seeded district per table (the planner's count,"
            " exact after the seed's ANALYZE).", ["table"], registry=r, multiprocess_mode="max")
        self.district_info = Gauge(
            "sis_district_info", "The seeded district (value 1): profile, scale, seed.",
            ["profile", "scale", "seed"], registry=r, multiprocess_mode="max")

        # CPU and memory of the server process (one worker; with several, multiprocess mode
        # aggregates only the metrics above, so the SIS CPU panel stays empty there).
        ProcessCollector(registry=r)

    def exposition(self) -> bytes:
        if multiprocess_dir():
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)
