"""A synchronous `Browser` on httpx, to drive click paths against a real SIS in tests.

It records instead of measuring: every request (with its probe name, if any, and what its
content check said), every think time (not slept), every real-time wait (slept: a test lets a
short-lived link expire that way), every login backoff (never slept) and every probe's outcome.
With ``always=True`` every "sometimes" step whose share is above 0 happens, so a test sees every
write and download.
httpx's own cookies are dropped after each answer, so a request carries only the token it is
told to; a target whose session is carried by cookies (`LoginSpec.cookies`) gets a jar per
session, as in the engine. Redirects are followed unless a request says otherwise.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httpx

from loadtests.browser import (
    DENIED,
    Check,
    HttpVerbs,
    LoginAttempt,
    LoginSpec,
    Response,
    backoff_seconds,
)
from loadtests.cookies import CookieJar

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    method: str
    endpoint: str
    path: str
    status: int | None        # None: no answer (connection error, timeout)
    failure: str | None       # what the content check found wrong
    probe: str | None = None  # the probe this request was, if any
    query: tuple[tuple[str, str], ...] = ()  # the query parameters given apart from the path


@dataclass(frozen=True)
class Outcome:
    probe: str
    endpoint: str
    asked: str
    status: int

    @property
    def refused(self) -> bool:
        return self.status in DENIED

    @property
    def exposed(self) -> bool:
        return 200 <= self.status < 300


class SyncBrowser(HttpVerbs):
    def __init__(self, base_url: str, login: LoginSpec, persona: str,
                 identity: Mapping[str, Any], *,
                 pools: Mapping[str, list[dict[str, Any]]] | None = None,
                 probes: Iterable[str] = (), seed: int = 0, attempts: int = 3,
                 backoff: float = 0.5, always: bool = False,
                 held: set[tuple[str, Any]] | None = None,
                 transport: httpx.BaseTransport | None = None,
                 options: Mapping[str, float] | None = None,
                 shared: dict[str, Any] | None = None,
                 counts: Counter[str] | None = None) -> None:
        self.persona, self.identity, self.rng = persona, identity, random.Random(seed)
        self.options: Mapping[str, float] = dict(options or {})
        self.spec, self.attempts, self.backoff = login, attempts, backoff
        self.always = always
        self.waits: list[float] = []
        self.pools = dict(pools or {})
        self.enabled = frozenset(probes)
        self.held = held if held is not None else set()  # share it to share the pools
        self.client = httpx.Client(base_url=base_url, timeout=30.0, transport=transport)
        self.token: str | None = None
        self.cookies: CookieJar | None = CookieJar() if login.cookies else None
        self.login_variables: Mapping[str, Any] = {}
        self.thinks_unjittered: list[float] = []
        self.calls: list[Call] = []
        self.thinks: list[float] = []
        self.backoffs: list[float] = []
        self.outcomes: list[Outcome] = []
        self.exposures: list[Outcome] = []
        self.borrowed: list[tuple[str, Any]] = []
        # pass the same dict (and Counter) to several browsers: they are one load process's
        # sessions, sharing what `shared` makes and adding to the same counters
        self.store = shared if shared is not None else {}
        self.counts: Counter[str] = counts if counts is not None else Counter()

    def __enter__(self) -> SyncBrowser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the session: give back the borrowed identities, close the connection."""
        for held in self.borrowed:
            self.held.discard(held)
        self.borrowed.clear()
        self.client.close()

    # -- requests ---------------------------------------------------------------------------
    def request(self, method: str, endpoint: str, path: str, *, json: Any = None,
                data: Mapping[str, str] | str | None = None,
                params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, token: str | bool | None = True,
                check: Check | None = None, probe: str | None = None,
                follow_redirects: bool = True, expect: Collection[int] = ()) -> Response:
        sent = dict(headers or {})
        bearer = self.token if token is True else (token or None)
        if bearer and self.spec.token_header:
            sent[self.spec.token_header] = f"{self.spec.token_prefix}{bearer}"
        jar = self.cookies if token is True else None
        if jar is not None and (cookie := jar.header()):
            sent["Cookie"] = cookie
        query = tuple((str(k), str(v)) for k, v in (params or {}).items())
        body: dict[str, Any] = {"content": data} if isinstance(data, str) else {"data": data}
        try:
            r = self.client.request(method, path, json=json, params=params, headers=sent,
                                    follow_redirects=follow_redirects, **body)
        except httpx.TransportError:
            self.calls.append(Call(method, endpoint, path, None, None, probe, query))
            raise
        finally:
            self.client.cookies.clear()
        if jar is not None:
            jar.take(r.headers)
        # httpx's Headers is a MutableMapping: the protocol's read-only Mapping, as far as a
        # path can tell, but mypy holds protocol attributes invariant.
        answer = cast(Response, r)
        self.calls.append(Call(method, endpoint, path, r.status_code,
                               check(answer) if check else None, probe, query))
        return answer

    def think(self, seconds: float, *, jitter: bool = True) -> None:
        self.thinks.append(seconds)
        if not jitter:
            self.thinks_unjittered.append(seconds)

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)

    def sometimes(self, share: float) -> bool:
        # `always` makes every step that can happen happen; a share of 0 (a mix knob turned
        # off) is a step that cannot, as in the engine, where random() < 0 is never true.
        return share > 0 and (self.always or self.rng.random() < share)

    # -- logins -----------------------------------------------------------------------------
    def login(self, username: str, password: str, *, keep: bool = True) -> str | None:
        kept = self.cookies.copy() if self.cookies is not None and not keep else None
        try:
            for attempt in range(self.attempts):
                if attempt:  # recorded, not slept
                    self.backoffs.append(backoff_seconds(self.backoff, attempt - 1))
                if kept is not None and self.cookies is not None:
                    self.cookies.clear()
                try:
                    outcome, token, variables = self._attempt(username, password)
                except httpx.TransportError:
                    continue
                if outcome == "ok":
                    if keep:
                        self.token, self.login_variables = token, variables
                    return token
                if outcome != "retry":
                    return None
            return None
        finally:
            if kept is not None:
                self.cookies = kept

    def _attempt(self, username: str, password: str) -> LoginAttempt:
        spec = self.spec
        if spec.steps is not None:
            return spec.steps(self, username, password)
        r = self.request("POST", spec.endpoint, spec.path, json=spec.body(username, password),
                         token=None)
        outcome = spec.outcome(r.status_code)
        return LoginAttempt(outcome, spec.token(r) if outcome == "ok" else None)

    def logout(self) -> None:
        if self.token and self.spec.logout_path:
            self.request("POST", self.spec.logout_endpoint, self.spec.logout_path)
        self.token = None
        self.login_variables = {}
        if self.cookies is not None:
            self.cookies.clear()

    # -- identities -------------------------------------------------------------------------
    def borrow(self, persona: str) -> Mapping[str, Any] | None:
        for row in self.pools.get(persona, ()):
            held = (persona, row.get("user_id", row.get("username")))
            if held not in self.held:
                self.held.add(held)
                self.borrowed.append(held)
                return row
        return None

    def lookup(self, persona: str, key: str, value: Any) -> Mapping[str, Any] | None:
        return next((r for r in self.pools.get(persona, ()) if r.get(key) == value), None)

    # -- what sessions share ----------------------------------------------------------------
    def shared(self, name: str, factory: Callable[[], T]) -> T:
        if name not in self.store:  # setdefault: threads racing here keep one object
            self.store.setdefault(name, factory())
        return cast(T, self.store[name])

    def count(self, name: str, amount: float = 1) -> None:
        self.counts[name] += amount  # type: ignore[assignment]

    # -- probes -----------------------------------------------------------------------------
    def should_probe(self, probe: str) -> bool:
        return probe in self.enabled

    def probe(self, probe: str, method: str, endpoint: str, path: str, *, asked: str,
              token: str | bool | None = True, json: Any = None,
              params: Mapping[str, Any] | None = None,
              data: Mapping[str, str] | str | None = None,
              headers: Mapping[str, str] | None = None,
              follow_redirects: bool = True, denied: Collection[int] = DENIED) -> Response:
        r = self.request(method, endpoint, path, json=json, params=params, token=token,
                         probe=probe, data=data, headers=headers,
                         follow_redirects=follow_redirects)
        self.outcomes.append(Outcome(probe, endpoint, asked, r.status_code))
        if r.status_code not in denied and 200 <= r.status_code < 300:
            self.exposed(probe, endpoint, asked, r.status_code)
        return r

    def exposed(self, probe: str, endpoint: str, asked: str, status: int) -> None:
        self.exposures.append(Outcome(probe, endpoint, asked, status))

    def denied(self, probe: str, endpoint: str, asked: str, status: int) -> None:
        self.outcomes.append(Outcome(probe, endpoint, asked, status))

    # -- what a test reads ------------------------------------------------------------------
    def labels(self, *, probes: bool = False) -> list[str]:
        """Endpoint labels in order (probe requests too when `probes`)."""
        return [c.endpoint for c in self.calls if probes or c.probe is None]

    def failures(self) -> list[Call]:
        """Normal (non-probe) requests that failed: a non-2xx answer or a failed check."""
        return [c for c in self.calls if c.probe is None
                and (c.status is None or not 200 <= c.status < 300 or c.failure)]
