"""One ASGI middleware for every request: in-flight gauge, fault injection, duration histogram.

Pure ASGI (no BaseHTTPMiddleware), so the per-request cost stays a few microseconds. The route
label is the matched route's template (``/api/portal/students/{student_id}/grades``), never a
raw path, so label cardinality stays bounded.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from staging.faults import FaultState
from staging.metrics import Metrics

# Operations and test tooling (the dev mailbox) are never faulted: a fault drill must not make
# the harness lose the emails the faulted routes did send.
UNFAULTED = ("/metrics", "/healthz", "/readyz", "/admin/", "/docs", "/openapi.json", "/api/dev/")
INJECTED = json.dumps({"error": {"code": "injected_fault",
                                 "message": "fault injection: this request failed on purpose"}})
SHED = json.dumps({"error": {"code": "rate_limited",
                             "message": "fault injection: over this route group's rate limit"}})


def route_group(path: str) -> str:
    """``/api/portal/...`` -> ``portal``; OneRoster paths -> ``ims``."""
    parts = path.split("/", 3)
    if len(parts) > 2 and parts[1] == "api":
        return parts[2]
    return parts[1] if len(parts) > 1 else ""


class ObserveAndInject:
    def __init__(self, app: ASGIApp, metrics: Metrics, faults: FaultState) -> None:
        self.app, self.metrics, self.faults = app, metrics, faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}
        path: str = scope["path"]
        self.metrics.in_flight.inc()
        try:
            if not path.startswith(UNFAULTED):
                group = route_group(path)
                delay = self.faults.delay(group)
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.faults.sheds(group):
                    status["code"] = 503
                    await _send_json(send, 503, SHED)
                    return
                if self.faults.fails(group):
                    status["code"] = 503
                    await _send_json(send, 503, INJECTED)
                    return

            async def send_wrapper(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                await send(message)

            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.request_duration.labels(
                template, scope["method"], f"{status['code'] // 100}xx"
            ).observe(time.perf_counter() - start)


async def _send_json(send: Send, status: int, body: str) -> None:
    raw = body.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})
