"""Operations: /metrics, /healthz, /readyz, and every fault switch doing what it claims."""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from support.sis_server import serve
from support.sisdb import ADMIN_TOKEN, TEST_SETTINGS, new_database

from staging.app import create_app
from staging.config import Settings
from staging.faults import FaultSpec, FaultState, parse_table
from staging.metrics import Metrics
from staging.seed import SeedRequest, seed_database

ADMIN = {"X-Admin-Token": ADMIN_TOKEN}


@pytest.fixture(scope="module")
def fault_db(postgres_url: str) -> str:
    """A database of its own: fault switches are shared by every server on a database."""
    url = new_database(postgres_url)
    seed_database(url, SeedRequest("small", 0.2, 3))
    return url


@pytest.fixture
def sis(fault_db: str) -> Iterator[tuple[httpx.Client, Metrics]]:
    metrics = Metrics()
    with serve(create_app(Settings(**TEST_SETTINGS), fault_db, metrics)) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        try:
            yield client, metrics
        finally:
            client.delete("/admin/faults", headers=ADMIN)


def _eventually(read: Callable[[], float | None], at_least: float) -> float:
    """The request histogram is observed just after the response is sent: allow a moment."""
    deadline = time.monotonic() + 2.0
    value = read() or 0.0
    while value < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
        value = read() or 0.0
    return value


def _timed(client: httpx.Client, path: str) -> tuple[int, float]:
    start = time.perf_counter()
    status = client.get(path).status_code
    return status, time.perf_counter() - start


def test_health_ready_and_openapi(sis: tuple[httpx.Client, Metrics]) -> None:
    client, _ = sis
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["district"]["profile"] == "small"
    spec = client.get("/openapi.json").json()
    assert {"/api/auth/login", "/api/auth/logout", "/admin/faults"} <= set(spec["paths"])


def test_metrics_count_requests_logins_and_queries(sis: tuple[httpx.Client, Metrics],
                                                   fault_db: str) -> None:
    client, metrics = sis
    with psycopg.connect(fault_db) as conn:
        username = conn.execute("SELECT username FROM sis.accounts WHERE status = 'active'"
                                " ORDER BY user_id LIMIT 1").fetchone()[0]  # type: ignore[index]
    get = metrics.registry.get_sample_value
    before = get("sis_logins_total", {"result": "refused"}) or 0
    client.post("/api/auth/login", json={"username": username, "password": "wrong"})
    assert get("sis_logins_total", {"result": "refused"}) == before + 1
    for _ in range(3):
        client.get("/api/auth/session")
    labels = {"route": "/api/auth/session", "method": "GET", "status_class": "4xx"}
    assert _eventually(lambda: get("sis_http_request_duration_seconds_count", labels), 3) >= 3
    assert get("sis_http_request_duration_seconds_bucket", {**labels, "le": "+Inf"}) >= 3
    assert _eventually(lambda: -(get("sis_http_requests_in_flight") or 0), 0) == 0
    assert (get("sis_db_query_duration_seconds_count", {"query": "auth.login.account"})
            or 0) >= 1
    client.get("/api/portal/xyz/unknown")
    unmatched = {"route": "unmatched", "method": "GET", "status_class": "4xx"}
    assert _eventually(lambda: get("sis_http_request_duration_seconds_count", unmatched), 1) >= 1
    text = client.get("/metrics").text
    for name in ("sis_db_pool_size", "sis_db_pool_in_use", "sis_db_pool_waiting",
                 "sis_active_sessions", "sis_http_request_duration_seconds_bucket"):
        assert name in text


def test_added_latency_per_route_group(sis: tuple[httpx.Client, Metrics]) -> None:
    client, _ = sis
    r = client.put("/admin/faults", headers=ADMIN, json={"latency": {"auth": 0.4}})
    assert r.status_code == 200 and r.json()["active"]["latency"]
    status, slow = _timed(client, "/api/auth/session")
    assert status == 401 and slow >= 0.4
    _, other = _timed(client, "/api/gradebook/nothing-here")
    assert other < 0.3
    client.delete("/admin/faults", headers=ADMIN)
    _, fast = _timed(client, "/api/auth/session")
    assert fast < 0.3


def test_error_rate(sis: tuple[httpx.Client, Metrics]) -> None:
    client, metrics = sis
    client.put("/admin/faults", headers=ADMIN, json={"error_rate": {"auth": 1.0}})
    r = client.get("/api/auth/session")
    assert r.status_code == 503 and r.json()["error"]["code"] == "injected_fault"
    assert metrics.registry.get_sample_value("sis_faults_active", {"kind": "error_rate"}) == 1
    client.put("/admin/faults", headers=ADMIN, json={"error_rate": {"*": 0.5}})
    failed = sum(client.get("/api/auth/session").status_code == 503 for _ in range(200))
    assert 60 <= failed <= 140
    assert client.get("/healthz").status_code == 200  # operations endpoints are never faulted


def test_shrunken_pool(sis: tuple[httpx.Client, Metrics]) -> None:
    client, metrics = sis
    client.put("/admin/faults", headers=ADMIN, json={"pool_size": 1})
    client.get("/metrics")
    get = metrics.registry.get_sample_value
    assert get("sis_db_pool_max") == 1
    # Concurrent requests now queue for the one connection, and all still succeed.
    with httpx.Client(base_url=str(client.base_url)) as c, cf.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: c.get("/api/auth/session").status_code, range(16)))
    assert codes == [401] * 16
    # psycopg_pool closes a connection over the new size when it is next returned, in a task of
    # its own: keep using the pool a moment (bounded) before reading the gauge again.
    deadline = time.monotonic() + 3.0
    while True:
        client.get("/api/auth/session")
        client.get("/metrics")
        if (get("sis_db_pool_size") or 0) <= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (get("sis_db_pool_size") or 0) <= 1
    client.delete("/admin/faults", headers=ADMIN)
    client.get("/metrics")
    assert get("sis_db_pool_max") == TEST_SETTINGS["pool_max"]


def test_full_stall(sis: tuple[httpx.Client, Metrics]) -> None:
    client, _ = sis
    client.put("/admin/faults", headers=ADMIN, json={"stall_seconds": 1.0})
    _, stalled = _timed(client, "/api/auth/session")
    assert stalled >= 0.8
    time.sleep(0.3)
    _, after = _timed(client, "/api/auth/session")
    assert after < 0.3


def test_admin_endpoint_needs_the_token(sis: tuple[httpx.Client, Metrics], fault_db: str) -> None:
    client, _ = sis
    assert client.get("/admin/faults").status_code == 401
    assert client.get("/admin/faults", headers={"X-Admin-Token": "wrong"}).status_code == 401
    bad: dict[str, Any] = {"latency": {"nowhere": 1}}
    assert client.put("/admin/faults", headers=ADMIN, json=bad).status_code == 422
    assert client.put("/admin/faults", headers=ADMIN,
                      json={"error_rate": {"auth": 2}}).status_code == 422
    no_token = Settings(**{**TEST_SETTINGS, "admin_token": ""})
    with serve(create_app(no_token, fault_db)) as base:
        assert httpx.get(f"{base}/admin/faults", headers=ADMIN).status_code == 404


def test_faults_from_the_environment_at_start(fault_db: str) -> None:
    settings = Settings(**{**TEST_SETTINGS, "fault_latency": "auth=300ms"})
    with serve(create_app(settings, fault_db)) as base, httpx.Client(base_url=base) as client:
        status, slow = _timed(client, "/api/auth/session")
        assert status == 401 and slow >= 0.3
        assert client.get("/admin/faults", headers=ADMIN).json()["latency"] == {"auth": 0.3}
        client.delete("/admin/faults", headers=ADMIN)


def test_metrics_say_what_was_seeded(sis: tuple[httpx.Client, Metrics],
                                     fault_db: str) -> None:
    """sis_district_rows per table and sis_district_info (profile, scale, seed), for the
    District data dashboard: equal to the seeded tables (the seed ANALYZEs them)."""
    _, metrics = sis
    get = metrics.registry.get_sample_value
    deadline = time.monotonic() + 10
    while get("sis_district_rows", {"table": "students"}) is None \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    with psycopg.connect(fault_db) as conn:
        for table in ("schools", "students", "sections", "enrollments", "accounts"):
            exact = conn.execute(f"SELECT count(*) FROM sis.{table}").fetchone()[0]  # type: ignore[index]
            assert get("sis_district_rows", {"table": table}) == exact, table
    assert get("sis_district_info", {"profile": "small", "scale": "0.2", "seed": "3"}) == 1


def test_rate_limit_sheds_above_the_quota(sis: tuple[httpx.Client, Metrics]) -> None:
    client, metrics = sis
    r = client.put("/admin/faults", headers=ADMIN, json={"rate_limit": {"auth": 5}})
    assert r.json()["active"]["rate_limit"] is True
    assert metrics.registry.get_sample_value("sis_faults_active", {"kind": "rate_limit"}) == 1
    # A burst of 20 back-to-back requests: the full bucket (one second's quota, 5) passes, plus
    # whatever refilled while they ran; the rest are shed with 503 rate_limited.
    answers = [client.get("/api/auth/session") for _ in range(20)]
    served = [a for a in answers if a.status_code == 401]  # no session: the route's own answer
    shed = [a for a in answers if a.status_code == 503]
    assert len(served) + len(shed) == 20
    assert 5 <= len(served) <= 9
    assert {a.json()["error"]["code"] for a in shed} == {"rate_limited"}
    assert client.get("/api/portal/home").status_code == 401  # other groups are not limited
    time.sleep(1.0)  # the quota refills at 5/s
    assert client.get("/api/auth/session").status_code == 401


def test_token_bucket_serves_exactly_the_rate() -> None:
    state = FaultState(FaultSpec(rate_limit={"*": 10.0}))
    # 30 requests/s offered for 20 simulated seconds (the last at 599/30 s) against a 10/s
    # quota: the initial bucket of one second's quota, then 10/s.
    served = sum(not state.sheds("auth", now=k / 30) for k in range(600))
    assert served == 10 + int(10 * 599 / 30)
    # Below the quota, evenly spaced requests are never shed.
    calm = FaultState(FaultSpec(rate_limit={"portal": 10.0}))
    assert not any(calm.sheds("portal", now=k / 9) for k in range(900))
    assert not any(calm.sheds("auth", now=k / 1000) for k in range(100))  # not limited


def test_rate_limit_switches_are_checked() -> None:
    with pytest.raises(ValueError, match="auth=0 is out of range"):
        parse_table("auth=0", "--rate-limit", durations=False, upper=None)
    assert parse_table("auth=250", "--rate-limit", durations=False, upper=None) == \
        {"auth": 250.0}
