"""Login throttling against a real server, with client addresses set through a trusted proxy's
X-Forwarded-For: no lockout switch for an attacker (the lock is per username *and* address),
a per-address throttle (429 + Retry-After) that spraying meets and a rehearsal from loopback
does not, a per-username slow-down that never touches a clean address, and answers that never
tell whether an account exists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS

from staging.app import create_app
from staging.config import Settings

Identities = dict[str, list[dict[str, Any]]]
STUDENTS = range(1100, 1140)  # students no other test logs in as


@contextmanager
def sis(seeded_url: str, **over: Any) -> Iterator[httpx.Client]:
    """A SIS behind a 'proxy' (this test): X-Forwarded-For is the client's address."""
    settings = Settings(**{**TEST_SETTINGS, "trusted_proxies": "127.0.0.1",
                           "login_throttle_exempt": "", **over})
    with serve(create_app(settings, seeded_url)) as base, \
            httpx.Client(base_url=base, timeout=30) as c:
        yield c


def attempt(c: httpx.Client, username: str, password: str, address: str) -> httpx.Response:
    return c.post("/api/auth/login", json={"username": username, "password": password},
                  headers={"X-Forwarded-For": address})


def answers(rs: list[httpx.Response]) -> list[tuple[int, Any]]:
    return [(r.status_code, r.json()) for r in rs]


def test_no_lockout_switch_and_the_lock_does_not_tell_who_exists(
        seeded_url: str, identities: Identities) -> None:
    victim = identities["student"][STUDENTS[0]]
    ghost = f"ghost-{uuid.uuid4().hex[:8]}@example.org"
    with sis(seeded_url) as c:
        attacker = [attempt(c, victim["username"], f"guess{i}", "198.51.100.1") for i in range(6)]
        unknown = [attempt(c, ghost, f"guess{i}", "198.51.100.1") for i in range(6)]
        # The attacker's address is locked out of the account ...
        assert [r.status_code for r in attacker] == [401, 401, 401, 401, 423, 423]
        assert attempt(c, victim["username"], victim["password"],
                       "198.51.100.1").status_code == 423
        # ... the owner, from their own address, is not.
        assert attempt(c, victim["username"], victim["password"],
                       "203.0.113.5").status_code == 200
    # An unknown username is answered exactly alike, lock included: nothing to enumerate.
    assert answers(unknown) == answers(attacker)


def test_spraying_from_one_address_meets_429_and_a_rehearsal_does_not(
        seeded_url: str, identities: Identities) -> None:
    """20 accounts x 1 guess from one address (the reported case: 20 x 401, no 429)."""
    known = [identities["student"][i]["username"] for i in STUDENTS[1:11]]
    ghosts = [f"ghost-{uuid.uuid4().hex[:8]}@example.org" for _ in range(10)]
    names = [n for pair in zip(known, ghosts, strict=True) for n in pair]
    with sis(seeded_url, login_failures_per_minute=8) as c:
        sprayed = [attempt(c, n, "Winter2024!", "198.51.100.2") for n in names]
        other = attempt(c, known[0], "Winter2024!", "198.51.100.3")
    codes = [r.status_code for r in sprayed]
    assert codes == [401] * 8 + [429] * 12, codes
    assert all(1 <= int(r.headers["retry-after"]) <= 8 for r in sprayed[8:])
    # Known and unknown usernames get the same 429 (it is the address that is throttled).
    assert len({(r.status_code, r.text) for r in sprayed[8:]}) == 1
    assert other.status_code == 401  # another address is not throttled
    # From loopback (exempt by default): a rehearsal's typos are never throttled.
    settings = Settings(**{**TEST_SETTINGS, "login_failures_per_minute": 8})
    with serve(create_app(settings, seeded_url)) as base, httpx.Client(base_url=base) as c:
        typos = [c.post("/api/auth/login", json={"username": n, "password": "typo"}).status_code
                 for n in names]
    assert typos == [401] * 20


def test_a_username_guessed_from_many_addresses_is_slowed_not_locked(
        seeded_url: str, identities: Identities) -> None:
    victim = identities["student"][STUDENTS[12]]
    ghost = f"ghost-{uuid.uuid4().hex[:8]}@example.org"
    outcomes = {}
    with sis(seeded_url, login_slow_after=3, login_slow_seconds=30) as c:
        for name in (victim["username"], ghost):
            spread = [attempt(c, name, "guess", f"198.51.100.{20 + i}").status_code
                      for i in range(3)]
            again = attempt(c, name, "guess", "198.51.100.20")  # an address that failed
            outcomes[name] = (spread, again.status_code, again.json(),
                              int(again.headers.get("retry-after", 0)))
        # A clean address (the owner's) is never slowed: the right password works at once.
        assert attempt(c, victim["username"], victim["password"],
                       "203.0.113.77").status_code == 200
    spread, status, body, wait = outcomes[victim["username"]]
    assert spread == [401] * 3 and status == 429 and 20 <= wait <= 30
    assert body["error"]["code"] == "too_many_attempts"
    assert outcomes[ghost][:3] == outcomes[victim["username"]][:3]  # the same for a ghost
