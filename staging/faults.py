"""Fault injection for rehearsals: added latency and error rate per route group, a rate limit
per route group (a capacity ceiling: requests above it are shed with 503), a shrunken database
pool, and a full stall (every request pauses until a deadline).

Switched by environment variables at start (``FIRSTBELL_FAULT_*``) or at run time through
``/admin/faults`` (token in ``X-Admin-Token``; loopback only unless allowed). The switches live
in ``sis.faults`` so every server worker follows them within ``fault_refresh_seconds``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from kernel.durations import seconds
from staging.api_docs import answers
from staging.errors import ApiError

GROUPS = ("auth", "portal", "gradebook", "attendance", "sim", "admin", "ims")
ALL = "*"


@dataclass(frozen=True)
class FaultSpec:
    latency: dict[str, float] = field(default_factory=dict)  # group -> added seconds
    error_rate: dict[str, float] = field(default_factory=dict)  # group -> share answered 503
    pool_size: int = 0  # 0: the configured pool
    stall_until: float = 0.0  # epoch seconds; requests wait until then
    rate_limit: dict[str, float] = field(default_factory=dict)  # group -> requests/s served

    def for_group(self, table: dict[str, float], group: str) -> float:
        return table.get(group, table.get(ALL, 0.0))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> FaultSpec:
        data = json.loads(text) if isinstance(text, str) else text
        return cls(**data)  # a spec stored before rate_limit existed reads as "no limit"

    def active_kinds(self, now: float) -> dict[str, bool]:
        return {"latency": any(self.latency.values()), "error_rate": any(self.error_rate.values()),
                "pool_size": self.pool_size > 0, "stall": self.stall_until > now,
                "rate_limit": any(self.rate_limit.values())}


def parse_table(text: str, what: str, *, durations: bool,
                upper: float | None = 1.0) -> dict[str, float]:
    """``"portal=200ms,auth=1s"`` (or ``"*=0.1"``) to ``{"portal": 0.2, "auth": 1.0}``.
    Plain numbers are shares (at most `upper`), or, with `upper=None`, positive rates."""
    table: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        group, _, value = item.partition("=")
        group = group.strip()
        if group not in (*GROUPS, ALL):
            raise ValueError(f"{what}: unknown route group '{group}' (use {', '.join(GROUPS)} "
                             "or *)")
        try:
            number = seconds(value, bare_numbers=True) if durations else float(value)
        except ValueError:
            raise ValueError(f"{what}: '{item}' is not group=value") from None
        out_of_range = (number <= 0) if upper is None and not durations else (
            number < 0 or (not durations and upper is not None and number > upper))
        if out_of_range or not math.isfinite(number):
            raise ValueError(f"{what}: {group}={value} is out of range")
        table[group] = number
    return table


class FaultUpdate(BaseModel):
    latency: dict[str, Annotated[float, Field(ge=0, le=120)]] = {}
    error_rate: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}
    pool_size: Annotated[int, Field(ge=0, le=1000)] = 0
    stall_seconds: Annotated[float, Field(ge=0, le=600)] = 0.0
    rate_limit: dict[str, Annotated[float, Field(gt=0, le=100_000)]] = {}

    def spec(self) -> FaultSpec:
        for table in (self.latency, self.error_rate, self.rate_limit):
            unknown = [g for g in table if g not in (*GROUPS, ALL)]
            if unknown:
                raise ApiError(422, "invalid_request", f"unknown route groups {unknown}")
        stall = time.time() + self.stall_seconds if self.stall_seconds else 0.0
        return FaultSpec(dict(self.latency), dict(self.error_rate), self.pool_size, stall,
                         dict(self.rate_limit))


class TokenBucket:
    """`rate` tokens a second, at most `rate` × BURST_SECONDS saved up: an API gateway's
    "N requests per second" quota. Above the rate the excess is refused, so the group's
    capacity is exactly `rate` requests/s however fast the code behind it is."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate, self.size = rate, max(1.0, rate * BURST_SECONDS)
        self.tokens, self.at = self.size, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.size, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


# One second of quota may be spent at once (a gateway's "N per second"): Poisson arrivals at
# 95% of the limit are seldom refused, and a bucket of B seconds lets at most (1 + B/t) × the
# limit through for t seconds, so a 20-second step above 1.06 × the limit is refused.
BURST_SECONDS = 1.0


class FaultState:
    """The switches this worker follows; `delay`, `sheds` and `fails` are asked once per
    request."""

    def __init__(self, spec: FaultSpec | None = None, rng: random.Random | None = None) -> None:
        self._spec = spec or FaultSpec()
        self._rng = rng or random.Random()
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def spec(self) -> FaultSpec:
        return self._spec

    @spec.setter
    def spec(self, spec: FaultSpec) -> None:
        if spec.rate_limit != self._spec.rate_limit:
            self._buckets = {}  # a new quota starts full
        self._spec = spec

    def sheds(self, group: str, now: float | None = None) -> bool:
        """True when the group's rate limit refuses this request (per server worker)."""
        rate = self._spec.for_group(self._spec.rate_limit, group)
        if rate <= 0:
            return False
        key = group if group in self._spec.rate_limit else ALL
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, now)
        return not bucket.take(now)

    def delay(self, group: str) -> float:
        wait = max(0.0, self.spec.stall_until - time.time())
        return wait + self.spec.for_group(self.spec.latency, group)

    def fails(self, group: str) -> bool:
        rate = self.spec.for_group(self.spec.error_rate, group)
        return rate > 0 and self._rng.random() < rate


router = APIRouter(prefix="/admin", tags=["faults"], include_in_schema=True,
                   responses=answers(401, 403, 404, 422))


def _check_admin(request: Request, token: str | None) -> None:
    settings = request.app.state.settings
    if not settings.admin_token:
        raise ApiError(404, "not_found", "the fault admin endpoint is off (no admin token set)")
    if not settings.admin_allow_remote and not _is_loopback(request.client.host
                                                            if request.client else ""):
        raise ApiError(403, "forbidden", "the fault admin endpoint answers loopback only")
    if not token or not _equal(token, settings.admin_token):
        raise ApiError(401, "unauthenticated", "missing or wrong X-Admin-Token")


def check_metrics_access(request: Request) -> None:
    """/metrics as configured: open by default (its series reveal no account), or loopback only
    and/or behind a bearer token, checked like the admin endpoint's."""
    settings = request.app.state.settings
    if settings.metrics_loopback_only and not _is_loopback(request.client.host
                                                           if request.client else ""):
        raise ApiError(403, "forbidden", "/metrics answers loopback only")
    if settings.metrics_token:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not _equal(token.strip(), settings.metrics_token):
            raise ApiError(401, "unauthenticated", "send the metrics token as"
                           " 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def store(request: Request, spec: FaultSpec) -> None:
    await request.app.state.db.fetch(
        "admin.faults.store",
        "INSERT INTO sis.faults (id, spec) VALUES (1, %s) ON CONFLICT (id)"
        " DO UPDATE SET spec = excluded.spec, updated_at = now()", [spec.to_json()])
    await request.app.state.apply_faults(spec)


@router.get("/faults")
async def get_faults(request: Request,
                     x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    _check_admin(request, x_admin_token)
    spec: FaultSpec = request.app.state.faults.spec
    return {**asdict(spec), "active": spec.active_kinds(time.time())}


@router.put("/faults")
async def set_faults(update: FaultUpdate, request: Request,
                     x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    _check_admin(request, x_admin_token)
    spec = update.spec()
    await store(request, spec)
    return {**asdict(spec), "active": spec.active_kinds(time.time())}


@router.delete("/faults")
async def clear_faults(request: Request,
                       x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    _check_admin(request, x_admin_token)
    await store(request, FaultSpec())
    return {**asdict(FaultSpec()), "active": FaultSpec().active_kinds(time.time())}
