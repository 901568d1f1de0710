"""/metrics tells nothing about who is on file: every series moves the same way whether a
login, a password reset, a registration code request or a wrong code concerns a real account
or an unknown one (sis_logins_total, sis_registrations_total and the per-query counters of
sis_db_query_duration_seconds); and /metrics can be put behind a token or loopback only."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS

from staging.app import create_app
from staging.config import Settings

Identities = dict[str, list[dict[str, Any]]]
WATCHED = ("sis_logins_total", "sis_registrations_total", "sis_db_query_duration_seconds_count",
           "sis_oauth_tokens_total")


def _samples(c: httpx.Client) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    text = c.get("/metrics").text
    return Counter({(s.name, tuple(sorted(s.labels.items()))): s.value
                    for f in text_string_to_metric_families(text) for s in f.samples
                    if s.name in WATCHED})


def _moved(c: httpx.Client, action: Callable[[], Any]) -> dict[Any, float]:
    before = _samples(c)
    action()
    after = _samples(c)
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def test_metrics_move_alike_for_real_and_unknown_people(seeded_url: str,
                                                        identities: Identities) -> None:
    teacher = identities["teacher"][-5]
    guardian = identities["guardian"][-5]  # has an account and an email: gets a reset email
    parent = identities["guardian_unregistered"][5]  # eligible: gets a registration code
    ghost = f"ghost-{uuid.uuid4().hex[:8]}@example.org"
    # No housekeeping queries in between (their counters would move at random).
    quiet = Settings(**{**TEST_SETTINGS, "fault_refresh_seconds": 3600})
    with serve(create_app(quiet, seeded_url)) as base, \
            httpx.Client(base_url=base, timeout=30) as c:
        def login(name: str) -> Callable[[], Any]:
            return lambda: c.post("/api/auth/login", json={"username": name, "password": "x"})

        def reset(name: str) -> Callable[[], Any]:
            return lambda: c.post("/api/auth/password-reset", json={"username": name})

        def code(email: str) -> Callable[[], Any]:
            return lambda: c.post("/api/registration/request-code", json={"email": email})

        def verify(email: str) -> Callable[[], Any]:
            return lambda: c.post("/api/registration/verify",
                                  json={"email": email, "code": "000000"})

        pairs = {"login": (login(teacher["username"]), login(ghost)),
                 "reset": (reset(guardian["username"]), reset(ghost)),
                 "request_code": (code(parent["email"]), code(ghost)),
                 "verify": (verify(parent["email"]), verify(ghost))}
        for step, (real, unknown) in pairs.items():
            seen_real, seen_unknown = _moved(c, real), _moved(c, unknown)
            assert seen_real, step  # the action is counted somewhere
            assert seen_real == seen_unknown, (step, seen_real, seen_unknown)


def test_metrics_can_require_a_token_or_loopback(seeded_url: str) -> None:
    guarded = Settings(**{**TEST_SETTINGS, "metrics_token": "scrape-me"})
    with serve(create_app(guarded, seeded_url)) as base:
        assert httpx.get(f"{base}/metrics").status_code == 401
        wrong = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "scrape-me" not in wrong.text
        ok = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200 and "sis_logins_total" in ok.text
    # Loopback only: a client behind a trusted proxy from elsewhere is refused.
    local = Settings(**{**TEST_SETTINGS, "metrics_loopback_only": True,
                        "trusted_proxies": "127.0.0.1"})
    with serve(create_app(local, seeded_url)) as base:
        assert httpx.get(f"{base}/metrics").status_code == 200
        remote = httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "198.51.100.4"})
        assert remote.status_code == 403
