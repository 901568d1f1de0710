"""The staging SIS application: FastAPI on a psycopg async pool, one router per SIS module.

``create_app`` builds a fresh app (its own metrics registry, pool and fault state), so tests and
server workers never share globals. Modules: auth, portal (guardians and students), gradebook
and attendance (teachers), sim (registrars), plus operations: /metrics, /healthz, /readyz and
the fault switches.

``FIRSTBELL_INSECURE_PROBE_TARGETS`` (test only) mounts ``staging.vulnerable`` ahead of the real
routers, so its deliberately flawed routes shadow the real ones; a warning is logged at start
and ``sis_insecure_probe_targets`` reads 1. ``FIRSTBELL_DEV_MAILBOX`` (test only) mounts
``staging.mailbox`` (the email outbox over HTTP, loopback only) the same way: a warning at start
and ``sis_dev_mailbox`` 1; without it the route does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from psycopg_pool import AsyncConnectionPool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kernel.version import __version__
from staging import (
    api_docs,
    attendance,
    auth,
    errors,
    faults,
    gradebook,
    incidents,
    mailbox,
    oauth,
    oneroster_gradebook,
    oneroster_rostering,
    portal,
    registration,
    reports,
    sim,
    vulnerable,
)
from staging.api_docs import answers
from staging.config import Settings
from staging.db import Database
from staging.faults import FaultSpec, FaultState, parse_table
from staging.limits import BodyLimit
from staging.metrics import Metrics
from staging.middleware import ObserveAndInject
from staging.throttle import LoginThrottle

DISTRICT_EVERY = 60.0  # seconds between refreshes of the seeded-district gauges
DISTRICT_TABLES = ["schools", "students", "staff", "guardians", "sections", "enrollments",
                   "accounts", "attendance_daily", "attendance_period", "line_items", "scores"]
DISTRICT_ROWS = """
SELECT c.relname AS name, greatest(c.reltuples, 0)::bigint AS n
FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
WHERE ns.nspname = 'sis' AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)
"""
ACTIVE_SESSIONS_EVERY = 5.0
log = logging.getLogger(__name__)
INSECURE_WARNING = (
    "!!! FIRSTBELL_INSECURE_PROBE_TARGETS is on: deliberately VULNERABLE routes shadow the real "
    "ones (portal grades, sim record, gradebook roster, login, session, signed downloads). "
    "For testing security probes only; never use this server for a real rehearsal. !!!")


def initial_faults(settings: Settings) -> FaultSpec | None:
    """The fault switches asked for in the environment at start, if any."""
    latency = parse_table(settings.fault_latency, "FIRSTBELL_FAULT_LATENCY", durations=True)
    rate = parse_table(settings.fault_error_rate, "FIRSTBELL_FAULT_ERROR_RATE", durations=False)
    limit = parse_table(settings.fault_rate_limit, "FIRSTBELL_FAULT_RATE_LIMIT", durations=False,
                        upper=None)
    stall = time.time() + settings.fault_stall_seconds if settings.fault_stall_seconds else 0.0
    if not (latency or rate or settings.fault_pool_size or stall or limit):
        return None
    return FaultSpec(latency, rate, settings.fault_pool_size, stall, limit)


def create_app(settings: Settings, conninfo: str, metrics: Metrics | None = None) -> FastAPI:
    metrics = metrics or Metrics()
    state = FaultState()
    app = FastAPI(title="firstbell staging SIS", version=__version__,
                  description=_description(settings),
                  lifespan=_lifespan(conninfo, initial_faults(settings)))
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.faults = state
    app.state.apply_faults = functools.partial(_apply_faults, app)
    app.state.login_throttle = LoginThrottle(settings)
    errors.install(app)
    api_docs.install(app)
    _include_routers(app, settings, metrics)
    app.add_middleware(ObserveAndInject, metrics=metrics, faults=state)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.trusted_proxies.strip():  # added last: outermost, so every part sees the client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=[
            h.strip() for h in settings.trusted_proxies.split(",") if h.strip()])
    _add_ops_routes(app, metrics)
    return app


def _description(settings: Settings) -> str:
    """The OpenAPI description; it says so when a test-only route is mounted."""
    return ("A reference student information system to rehearse a go-live against. "
            "All data is synthetic."
            + (" INSECURE PROBE TARGETS ARE ON: deliberately vulnerable routes shadow"
               " the real ones (test only)." if settings.insecure_probe_targets else "")
            + (" THE TEST MAILBOX IS ON: GET /api/dev/mailbox serves the email outbox"
               " to loopback clients (test only)." if settings.dev_mailbox else ""))


def _lifespan(conninfo: str, start_faults: FaultSpec | None
              ) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """At start: the pool, the faults asked for in the environment (stored, so every worker
    reads them), and the housekeeping loop; at stop, both closed."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings: Settings = app.state.settings
        if settings.insecure_probe_targets:
            log.warning(INSECURE_WARNING)
        if settings.dev_mailbox:
            log.warning(mailbox.WARNING)
        pool = AsyncConnectionPool(
            conninfo, min_size=min(settings.pool_min, settings.pool_max),
            max_size=settings.pool_max, timeout=settings.pool_timeout_seconds,
            kwargs={"autocommit": True}, open=False, name="sis")
        await pool.open(wait=True)
        app.state.db = Database(pool, app.state.metrics)
        if start_faults is not None:
            await app.state.db.fetch(
                "admin.faults.store",
                "INSERT INTO sis.faults (id, spec) VALUES (1, %s) ON CONFLICT (id)"
                " DO UPDATE SET spec = excluded.spec, updated_at = now()",
                [start_faults.to_json()])
        await _refresh_faults(app)
        task = asyncio.create_task(_housekeeping(app))
        try:
            yield
        finally:
            db: Database = app.state.db
            for running in (task, *db.retiring):
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
            await db.pool.close()  # the pool in use (a shrunken-pool fault replaces it)

    return lifespan


# --- faults and housekeeping --------------------------------------------------------------------

async def _apply_faults(app: FastAPI, spec: FaultSpec) -> None:
    """Put `spec` in effect in this worker: the pool's size, the middleware's switches, and the
    ``sis_faults_active`` gauge."""
    settings: Settings = app.state.settings
    db: Database = app.state.db
    size = min(spec.pool_size, settings.pool_max) if spec.pool_size else settings.pool_max
    if size > db.pool.max_size:
        await db.pool.resize(min_size=min(settings.pool_min, size), max_size=size)
    elif size < db.pool.max_size:
        await _shrink_pool(db, min(settings.pool_min, size), size)
    app.state.faults.spec = spec
    for kind, on in spec.active_kinds(time.time()).items():
        app.state.metrics.faults_active.labels(kind).set(1 if on else 0)


async def _shrink_pool(db: Database, min_size: int, max_size: int) -> None:
    """A smaller pool at once. psycopg_pool's `resize` never closes the connections above a
    smaller maximum (only its idle timeout does, minutes later), so the shrunken pool fault
    would not cap the connections: a new pool of the new size takes over at once, and the old
    one closes once the requests already queued on it have had their pool timeout (closing it
    at once would fail them)."""
    old = db.pool
    new: AsyncConnectionPool = AsyncConnectionPool(
        old.conninfo, min_size=min_size, max_size=max_size, timeout=old.timeout,
        kwargs=old.kwargs, open=False, name=old.name)
    await new.open(wait=True)
    db.pool = new

    async def retire() -> None:
        try:
            await asyncio.sleep(old.timeout)
        finally:  # also when the server stops first
            await old.close()

    db.retiring.add(asyncio.create_task(retire()))


async def _refresh_faults(app: FastAPI) -> None:
    """The stored switches, applied when they changed (another worker may have set them)."""
    row = await app.state.db.fetchrow("admin.faults.load",
                                      "SELECT spec FROM sis.faults WHERE id = 1")
    spec = FaultSpec.from_json(row["spec"]) if row else FaultSpec()
    if spec != app.state.faults.spec or not row:
        await _apply_faults(app, spec)


async def _refresh_district(app: FastAPI) -> None:
    """What was seeded, for the District data dashboard: rows per table (the planner's
    count: no table scans) and the profile, scale and seed."""
    metrics: Metrics = app.state.metrics
    rows = await app.state.db.fetch("ops.district_rows", DISTRICT_ROWS, [DISTRICT_TABLES])
    for row in rows:
        metrics.district_rows.labels(row["name"]).set(row["n"])
    meta = {r["key"]: r["value"] for r in await app.state.db.fetch(
        "ops.district_meta", "SELECT key, value FROM sis.firstbell_meta")}
    if "profile" in meta:
        metrics.district_info.labels(meta["profile"], meta.get("scale", ""),
                                     meta.get("seed", "")).set(1)


async def _refresh_active_sessions(app: FastAPI) -> None:
    row = await app.state.db.fetchrow(
        "ops.active_sessions",
        "SELECT count(*) AS n FROM sis.sessions WHERE ended_at IS NULL"
        " AND last_seen_at > now() - make_interval(secs => %s)",
        [app.state.settings.session_idle_minutes * 60])
    app.state.metrics.active_sessions.set(row["n"] if row else 0)


async def _housekeeping(app: FastAPI) -> None:
    """Every fault refresh tick: the faults and pool gauges; less often, the district and
    active-session gauges."""
    settings: Settings = app.state.settings
    last_sessions = last_district = -DISTRICT_EVERY
    while True:
        await asyncio.sleep(settings.fault_refresh_seconds)
        try:
            await _refresh_faults(app)
            app.state.db.refresh_pool_metrics()
            if time.monotonic() - last_district >= DISTRICT_EVERY:
                last_district = time.monotonic()
                await _refresh_district(app)
            if time.monotonic() - last_sessions >= ACTIVE_SESSIONS_EVERY:
                last_sessions = time.monotonic()
                await _refresh_active_sessions(app)
        except Exception:  # a failed refresh must not kill the loop; next tick retries
            await asyncio.sleep(settings.fault_refresh_seconds)


# --- routes -------------------------------------------------------------------------------------

def _include_routers(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    # Test only: the flawed routes go first, so they answer instead of the real ones (the first
    # registered route matching the path and method wins).
    metrics.insecure_probe_targets.set(1 if settings.insecure_probe_targets else 0)
    if settings.insecure_probe_targets:
        app.include_router(vulnerable.router)
    for module in (auth, portal, gradebook, attendance, sim, registration, incidents, reports,
                   oauth, oneroster_rostering, oneroster_gradebook):
        app.include_router(module.router)
    app.include_router(auth.admin_router)
    # Test only: off, the mailbox route does not exist at all (404), not merely refuse.
    metrics.dev_mailbox.set(1 if settings.dev_mailbox else 0)
    if settings.dev_mailbox:
        app.include_router(mailbox.router)
    app.include_router(faults.router)


def _add_ops_routes(app: FastAPI, metrics: Metrics) -> None:
    """/metrics (for Prometheus), /healthz (the process answers) and /readyz (the database
    answers and is seeded)."""

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint(request: Request) -> Response:
        faults.check_metrics_access(request)
        app.state.db.refresh_pool_metrics()
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=None, responses=answers(503))
    async def readyz(request: Request) -> dict[str, Any] | JSONResponse:
        try:
            rows = await request.app.state.db.fetch(
                "ops.ready", "SELECT key, value FROM sis.firstbell_meta")
        except Exception as exc:  # not reachable or not seeded: not ready, never a 500
            return JSONResponse({"status": "not_ready", "reason": type(exc).__name__}, 503)
        meta = {r["key"]: r["value"] for r in rows}
        if "schema_version" not in meta:
            return JSONResponse({"status": "not_ready", "reason": "not seeded"}, 503)
        return {"status": "ready", "district": meta}
