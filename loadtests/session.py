"""The engine's `Browser`: one session of one persona on a Locust `FastHttpSession`.

Each request is timed twice. Service time runs from sending to the last byte. Latency runs from
the moment the request was *meant* to start: the session's arrival for its first request, then
the end of the previous request plus the think time. So a request that could not start on time
(no free user, a busy generator) carries its wait, and a stall of the target is seen by every
request that should have been in flight — the coordinated-omission correction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar, cast

import gevent

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
from loadtests.identities import IdentityPool
from loadtests.plan import LoadPlan
from loadtests.returns import MAX_TYPOS, typo_password
from loadtests.stats import Recorder, key

T = TypeVar("T")


class GaveUp(Exception):
    """A person stopped waiting for an answer (the login timeout)."""


class NoAnswer:
    """Stands in for a response that never came (connection refused, reset, given up)."""

    status_code = 0
    headers: Mapping[str, str] = {}
    text = ""
    content = b""

    def json(self) -> Any:
        raise ValueError("no answer")


class EngineBrowser(HttpVerbs):
    def __init__(self, client: Any, recorder: Recorder, pool: IdentityPool, plan: LoadPlan,
                 login_spec: LoginSpec, persona: str, identity: Mapping[str, Any],
                 intended: float, seed: int, probes: frozenset[str],
                 closed: bool = False, shared: dict[str, Any] | None = None) -> None:
        self.client, self.recorder, self.pool, self.plan = client, recorder, pool, plan
        self._shared = shared if shared is not None else {}
        self.spec, self.persona, self.identity = login_spec, persona, identity
        self.options: Mapping[str, float] = plan.mix.get(persona, {})
        # A closed-loop session (capacity sweep) thinks at the sweep's scale, 0 by default
        self.think_scale = plan.closed_think_scale if closed \
            else plan.persona_think_scale(persona)
        self.seed = seed
        self._rng: random.Random | None = None
        self.next_intended = intended
        self.enabled_probes = probes
        self.token: str | None = None
        # A jar per session when the target's session is carried by cookies (the Locust
        # client keeps none: one user slot runs many people's sessions).
        self.cookies: CookieJar | None = CookieJar() if login_spec.cookies else None
        self.login_variables: Mapping[str, Any] = {}
        self._step_timeout: float | None = None  # the login timeout, during a multi-step login
        self.borrowed: list[tuple[str, int]] = []
        # how this session's own login failed (`loadtests.returns`), None if it did not
        self.login_failed: str | None = None
        self._typos = 0  # wrong passwords typed in the login under way

    @property
    def rng(self) -> random.Random:
        """Made on first use: seeding a Random costs more than a one-request session."""
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng

    # -- requests ---------------------------------------------------------------------------
    def request(self, method: str, endpoint: str, path: str, *, json: Any = None,
                data: Mapping[str, str] | str | None = None,
                params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, token: str | bool | None = True,
                check: Check | None = None, name: str | None = None,
                timeout: float | None = None, expect_denied: bool = False,
                follow_redirects: bool = True, expect: Collection[int] = (),
                denied: Collection[int] = DENIED) -> Response:
        sent_headers = dict(headers or {})
        bearer = self.token if token is True else (token or None)
        if bearer and self.spec.token_header:
            sent_headers[self.spec.token_header] = f"{self.spec.token_prefix}{bearer}"
        jar = self.cookies if token is True else None
        if jar is not None and (cookie := jar.header()):
            sent_headers["Cookie"] = cookie
        kwargs: dict[str, Any] = {"headers": sent_headers}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        if params:
            kwargs["params"] = dict(params)
        if not follow_redirects:
            kwargs["allow_redirects"] = False
        if timeout is None:
            timeout = self._step_timeout
        intended = self.next_intended
        start = time.perf_counter()
        response: Any = NoAnswer()
        outcome = "ok"
        try:
            if timeout is None:
                with self.client.request(method, path, name=name or endpoint,
                                         catch_response=True, **kwargs) as response:
                    outcome = self._judge(response, check, expect_denied, expect, denied)
            else:
                with gevent.Timeout(timeout, GaveUp), \
                        self.client.request(method, path, name=name or endpoint,
                                            catch_response=True, **kwargs) as response:
                    outcome = self._judge(response, check, expect_denied, expect, denied)
        except GaveUp:
            response, outcome = NoAnswer(), "gave_up"
        if jar is not None:
            jar.take(response.headers)
        end = time.perf_counter()
        self.next_intended = end
        self.recorder.time(self.persona, endpoint, method, response.status_code,
                           end - start, end - min(intended, start))
        if outcome == "check_failed":
            self.recorder.count(key("checks_failed", self.persona, endpoint))
        return response

    def _judge(self, response: Any, check: Check | None, expect_denied: bool,
               expect: Collection[int] = (), denied: Collection[int] = DENIED) -> str:
        status = response.status_code
        if expect_denied:
            if status in denied:
                response.success()  # a refusal is the right answer to a probe
                return "ok"
            if 200 <= status < 300:
                response.failure("data exposure: a probe was answered")
                return "exposed"
            return "ok"  # any other answer (5xx) stays a failure by its status
        if check is not None and (200 <= status < 300 or status in expect
                                  or (expect and 300 <= status < 400)):
            # With `expect` the check also judges redirects and the statuses it expects: an
            # expected 303 or 404 is a success (Locust marks a 4xx failed), an unexpected 302
            # (a session sent back to the login page) a failed check.
            problem = check(response)
            if problem:
                response.failure(f"check failed: {problem}")
                return "check_failed"
            if expect:
                response.success()
        return "ok"

    def think(self, seconds: float, *, jitter: bool = True) -> None:
        pause = seconds * self.think_scale * (self.rng.uniform(0.5, 1.5) if jitter else 1.0)
        self.next_intended = max(self.next_intended, time.perf_counter()) + pause
        gevent.sleep(max(0.0, self.next_intended - time.perf_counter()))

    # -- logins -----------------------------------------------------------------------------
    def login(self, username: str, password: str, *, keep: bool = True) -> str | None:
        plan = self.plan
        kept = self.cookies.copy() if self.cookies is not None and not keep else None
        self._typos = 0
        for attempt in range(plan.login_attempts):
            if kept is not None and self.cookies is not None:
                self.cookies.clear()  # another identity's login starts without our cookies
            outcome, token, variables = self._typed(username, password)
            if outcome == "ok":
                self.recorder.count(key("logins", self.persona, "ok" if token else "failed"))
                if keep:
                    self.token, self.login_variables = token, variables
                else:
                    self._restore(kept)
                return token
            if outcome != "retry":
                self.recorder.count(key("logins", self.persona,
                                        "mistyped" if outcome == "typo" else outcome))
                self._failed(outcome, keep, kept)
                return None
            if attempt + 1 < plan.login_attempts:
                self.recorder.count(key("logins", self.persona, "retried"))
                # exponential backoff with jitter, as a person (or a well-behaved app) retries
                self.wait(backoff_seconds(plan.login_backoff_seconds, attempt)
                          * self.rng.uniform(0.5, 1.5))
        self.recorder.count(key("logins", self.persona, "gave_up"))
        self._failed("gave_up", keep, kept)
        return None

    def _failed(self, outcome: str, keep: bool, kept: CookieJar | None) -> None:
        if keep:  # the session's own login: the engine may send this person back later
            self.login_failed = outcome
        self._restore(kept)

    def _typed(self, username: str, password: str) -> LoginAttempt:
        """One attempt as a person types it: with the plan's typo rate a wrong password first
        (the SIS refuses it, the person retypes), at most `MAX_TYPOS` wrong ones in a login;
        then the right one. ``typo`` when the person stopped after the last wrong one."""
        attempts = key("login_attempts", self.persona)
        while self.plan.typo_rate and self.rng.random() < self.plan.typo_rate:
            self.recorder.count(attempts)
            tried = self._attempt(username, typo_password(password))
            if tried.outcome != "refused":  # locked, a 5xx, no answer (or a lax target)
                return tried
            self.recorder.count(key("logins", self.persona, "typo"))
            self._typos += 1
            if self._typos >= MAX_TYPOS:
                return LoginAttempt("typo", None)
        self.recorder.count(attempts)
        return self._attempt(username, password)

    def _attempt(self, username: str, password: str) -> LoginAttempt:
        """One try: the spec's steps (each request under the login timeout), or its one POST."""
        spec = self.spec
        if spec.steps is not None:
            self._step_timeout = self.plan.login_timeout_seconds
            try:
                return spec.steps(self, username, password)
            finally:
                self._step_timeout = None
        response = self.request("POST", spec.endpoint, spec.path,
                                json=spec.body(username, password), token=None,
                                timeout=self.plan.login_timeout_seconds)
        outcome = spec.outcome(response.status_code)
        return LoginAttempt(outcome, spec.token(response) if outcome == "ok" else None)

    def _restore(self, kept: CookieJar | None) -> None:
        if kept is not None:
            self.cookies = kept

    def wait(self, seconds: float) -> None:
        self.next_intended = max(self.next_intended, time.perf_counter()) + seconds
        gevent.sleep(max(0.0, self.next_intended - time.perf_counter()))

    def sometimes(self, share: float) -> bool:
        return self.rng.random() < share

    def logout(self) -> None:
        if self.token and self.spec.logout_path:
            self.request("POST", self.spec.logout_endpoint, self.spec.logout_path)
        self.token = None
        self.login_variables = {}
        if self.cookies is not None:
            self.cookies.clear()

    # -- identities -------------------------------------------------------------------------
    def borrow(self, persona: str) -> Mapping[str, Any] | None:
        taken = self.pool.checkout(persona)
        if taken is None:
            return None
        self.borrowed.append((persona, taken[0]))
        return taken[1]

    def give_back(self) -> None:
        for persona, row in self.borrowed:
            self.pool.checkin(persona, row)
        self.borrowed.clear()

    def lookup(self, persona: str, key_: str, value: Any) -> Mapping[str, Any] | None:
        return self.pool.lookup(persona, key_, value)

    # -- what sessions share ----------------------------------------------------------------
    def shared(self, name: str, factory: Callable[[], T]) -> T:
        if name not in self._shared:
            self._shared[name] = factory()
        return cast(T, self._shared[name])

    def count(self, name: str, amount: float = 1) -> None:
        self.recorder.count(name, amount)

    # -- probes -----------------------------------------------------------------------------
    def should_probe(self, probe: str) -> bool:
        return probe in self.enabled_probes and self.rng.random() < self.plan.probe_rate

    def probe(self, probe: str, method: str, endpoint: str, path: str, *, asked: str,
              token: str | bool | None = True, json: Any = None,
              params: Mapping[str, Any] | None = None,
              data: Mapping[str, str] | str | None = None,
              headers: Mapping[str, str] | None = None,
              follow_redirects: bool = True, denied: Collection[int] = DENIED) -> Response:
        response: Any = self.request(method, endpoint, path, json=json, params=params,
                                     data=data, headers=headers, token=token,
                                     name=f"probe:{probe}", expect_denied=True,
                                     follow_redirects=follow_redirects, denied=denied)
        status = response.status_code
        if status in denied:
            self.recorder.count(key("probes", probe, "denied"))
        elif 200 <= status < 300:
            self.exposed(probe, endpoint, asked, status)
        else:
            self.recorder.count(key("probes", probe, "inconclusive"))
        return response

    def denied(self, probe: str, endpoint: str, asked: str, status: int) -> None:
        self.recorder.count(key("probes", probe, "denied"))

    def exposed(self, probe: str, endpoint: str, asked: str, status: int) -> None:
        self.recorder.count(key("probes", probe, "exposed"))
        self.recorder.exposure({
            "time": time.time(), "probe": probe, "persona": self.persona,
            "by": self.identity.get("username") or self.identity.get("client_id"),
            "user_id": self.identity.get("user_id"), "endpoint": endpoint, "asked": asked,
            "status": status, "worker": self.recorder.worker,
        })
