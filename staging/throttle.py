"""Login throttling that hands an attacker no lockout switch.

Three limits, none of which tells whether an account exists (they key on the username as sent,
so an unknown username is counted, slowed and locked exactly like an account):

- **per (username, address)**: ``lockout_threshold`` wrong passwords from one client address
  lock that username *for that address* for ``lockout_minutes`` (423). The owner, from their own
  address, is not locked out by someone else's guesses; a person who mistypes five times is.
- **per username, from every address**: after ``login_slow_after`` failures within
  ``lockout_minutes``, an address that already failed on the username gets one try per
  ``login_slow_seconds`` (429 with Retry-After). This only slows a guesser spread over many
  addresses; an address with no failure on the username (the owner's, usually) is never slowed.
- **per address**: at most ``login_failures_per_minute`` failed logins a minute from one address
  (a token bucket per server worker; a burst of one minute's worth), then 429 with Retry-After:
  password spraying (one guess on each of many usernames). Addresses in
  ``login_throttle_exempt`` (default loopback: a rehearsal's load generators on this machine,
  tens of logins a second with a few percent of typos) are not counted.

The counts live in ``sis.login_failures`` (the first two, shared by every server worker) and in
this worker's memory (the third). A success clears the (username, address) row.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from staging.config import Settings, parse_networks
from staging.db import Database

EVERYWHERE = "*"  # the address of a username's row counting failures from every address
SWEEP_EVERY = 500  # failures (per worker) between sweeps of rows past their window
MAX_BUCKETS = 50_000  # addresses remembered per worker before full buckets are dropped

STATE = """
SELECT
  (SELECT failures FROM sis.login_failures WHERE username = %(u)s AND address = %(a)s
     AND last_at > now() - make_interval(secs => %(window)s)) AS here,
  (SELECT failures FROM sis.login_failures WHERE username = %(u)s AND address = '*'
     AND last_at > now() - make_interval(secs => %(window)s)) AS everywhere,
  (SELECT extract(epoch FROM last_at + make_interval(secs => %(slow)s) - now())
     FROM sis.login_failures WHERE username = %(u)s AND address = '*') AS slow_wait
"""

# Counted before the slow verification, so concurrent guesses cannot overrun the threshold:
# once `limit` attempts are counted, further ones are refused unverified (no row returned).
RESERVE = """
INSERT INTO sis.login_failures AS f (username, address, failures) VALUES (%(u)s, %(a)s, 1)
ON CONFLICT (username, address) DO UPDATE SET
  failures = CASE WHEN f.locked_until <= now() OR (f.locked_until IS NULL
                  AND f.last_at <= now() - make_interval(secs => %(window)s))
             THEN 1 ELSE f.failures + 1 END,
  locked_until = CASE WHEN f.locked_until <= now() THEN NULL ELSE f.locked_until END,
  last_at = now()
WHERE f.locked_until <= now() OR (f.locked_until IS NULL AND (f.failures < %(limit)s
      OR f.last_at <= now() - make_interval(secs => %(window)s)))
RETURNING f.failures
"""

FAILED = """
WITH lock AS (
  UPDATE sis.login_failures SET locked_until = now() + make_interval(secs => %(window)s)
  WHERE username = %(u)s AND address = %(a)s AND %(failures)s >= %(limit)s RETURNING 1),
everywhere AS (
  INSERT INTO sis.login_failures AS f (username, address, failures) VALUES (%(u)s, '*', 1)
  ON CONFLICT (username, address) DO UPDATE SET
    failures = CASE WHEN f.last_at <= now() - make_interval(secs => %(window)s) THEN 1
               ELSE f.failures + 1 END,
    last_at = now())
SELECT EXISTS (SELECT 1 FROM lock) AS locked
"""

# A success from an address clears that address's count, unless it was locked meanwhile (by a
# concurrent wrong guess): then the success is refused too.
SUCCEEDED = """
WITH gone AS (
  DELETE FROM sis.login_failures WHERE username = %(u)s AND address = %(a)s
    AND (locked_until IS NULL OR locked_until <= now()) RETURNING 1)
SELECT EXISTS (SELECT 1 FROM gone)
    OR NOT EXISTS (SELECT 1 FROM sis.login_failures WHERE username = %(u)s
                   AND address = %(a)s) AS ok
"""

SWEEP = """
DELETE FROM sis.login_failures WHERE last_at < now() - make_interval(secs => %(window)s)
  AND (locked_until IS NULL OR locked_until < now())
"""


@dataclass(frozen=True)
class Gate:
    """What the throttle says before a password is checked."""
    locked: bool = False  # 423
    retry_after: float = 0.0  # > 0: 429, try again in this many seconds
    failures: int = 0  # attempts counted from this address, this one included


class _Bucket:
    def __init__(self, size: float, now: float) -> None:
        self.tokens, self.at = size, now

    def refill(self, size: float, rate: float, now: float) -> float:
        self.tokens = min(size, self.tokens + (now - self.at) * rate)
        self.at = now
        return self.tokens


class LoginThrottle:
    """One per app (server worker): the per-address buckets, and the queries of the rest."""

    def __init__(self, settings: Settings) -> None:
        self.size = settings.login_failures_per_minute
        self.rate = self.size / 60.0
        self.limit = settings.lockout_threshold
        self.window = settings.lockout_minutes * 60.0
        self.slow_after, self.slow = settings.login_slow_after, settings.login_slow_seconds
        self.exempt = parse_networks(settings.login_throttle_exempt, "login_throttle_exempt")
        self.buckets: dict[str, _Bucket] = {}
        self.failures = 0

    def _exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.exempt)

    def _params(self, username: str, address: str) -> dict[str, object]:
        return {"u": username, "a": address, "window": self.window, "limit": self.limit,
                "slow": self.slow}

    async def check(self, db: Database, username: str, address: str) -> Gate:
        """Whether to verify this attempt; when so, it is counted (`Gate.failures`)."""
        if not self._exempt(address):
            bucket = self.buckets.get(address)
            now = time.monotonic()
            if bucket is not None and bucket.refill(self.size, self.rate, now) < 1.0:
                return Gate(retry_after=(1.0 - bucket.tokens) / self.rate)
        params = self._params(username, address)
        state = await db.fetchrow("auth.throttle.state", STATE, params)
        if state and (state["everywhere"] or 0) >= self.slow_after and state["here"] \
                and (state["slow_wait"] or 0) > 0:
            return Gate(retry_after=float(state["slow_wait"]))
        reserved = await db.fetchrow("auth.throttle.reserve", RESERVE, params)
        if reserved is None:
            return Gate(locked=True)
        return Gate(failures=int(reserved["failures"]))

    async def failed(self, db: Database, username: str, address: str, gate: Gate) -> bool:
        """Count a wrong password; True when it locked the username for this address."""
        if not self._exempt(address):
            now = time.monotonic()
            bucket = self.buckets.get(address)
            if bucket is None:
                if len(self.buckets) >= MAX_BUCKETS:
                    self._forget_full(now)
                bucket = self.buckets[address] = _Bucket(self.size, now)
            bucket.refill(self.size, self.rate, now)
            bucket.tokens -= 1.0
        self.failures += 1
        if self.failures % SWEEP_EVERY == 0:
            await db.fetch("auth.throttle.sweep", SWEEP, {"window": self.window})
        row = await db.fetchrow("auth.throttle.failed", FAILED,
                                {**self._params(username, address), "failures": gate.failures})
        return bool(row and row["locked"])

    async def succeeded(self, db: Database, username: str, address: str) -> bool:
        """Clear this address's count; False when a concurrent guess locked it meanwhile."""
        row = await db.fetchrow("auth.throttle.success", SUCCEEDED,
                                self._params(username, address))
        return bool(row and row["ok"])

    def _forget_full(self, now: float) -> None:
        for address in [a for a, b in self.buckets.items()
                        if b.refill(self.size, self.rate, now) >= self.size]:
            del self.buckets[address]


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
