"""A wrong password costs the same for every account: an unknown user, a seeded account that
never logged in (its hash has the seed's 1 iteration) and one that has (the full cost). Timed
against a real server at a KDF cost large enough to see (medians, a tolerant ratio)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS

from staging.app import create_app
from staging.config import Settings

KDF = 60_000  # ~25 ms here: far above the request's own cost, so the ratio shows the KDF
N = 15  # one wrong password per account, so no lockout or throttle answers instead
FIRST = 1000  # students no other test logs in as (their hashes still have the seed's cost)


def _median_ms(c: httpx.Client, usernames: list[str]) -> float:
    times = []
    for name in usernames:
        started = time.perf_counter()
        r = c.post("/api/auth/login", json={"username": name, "password": "wrong-password"})
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 401, r.text
    return statistics.median(times)


def test_refusal_costs_the_same_for_every_account(
        seeded_url: str, identities: dict[str, list[dict[str, Any]]]) -> None:
    students = identities["student"][FIRST:FIRST + 2 * N]
    with serve(create_app(Settings(**{**TEST_SETTINGS, "kdf_iterations": KDF}), seeded_url)) \
            as base, httpx.Client(base_url=base, timeout=30) as c:
        # Warm up (connections, caches); then log half of the accounts in once, so they have
        # the full-cost hash.
        _median_ms(c, [f"warm-{i}@example.org" for i in range(3)])
        for who in students[N:]:
            assert c.post("/api/auth/login", json={"username": who["username"],
                                                   "password": who["password"]}).status_code == 200
        unknown = _median_ms(c, [f"nobody-{i}@example.org" for i in range(N)])
        seeded = _median_ms(c, [s["username"] for s in students[:N]])
        upgraded = _median_ms(c, [s["username"] for s in students[N:]])
    print(f"wrong password, median of {N}: unknown {unknown:.1f} ms, seeded never logged in "
          f"{seeded:.1f} ms, logged in before {upgraded:.1f} ms (kdf {KDF})")
    for name, ms in (("seeded", seeded), ("upgraded", upgraded)):
        assert 0.6 < ms / unknown < 1.6, (name, ms, unknown)
