"""What a click path may do: the `Browser` protocol between target-specific click paths and the
engine.

A click path is a plain function ``path(browser) -> None`` that walks one persona's session
through a target (log in, look, think, write, log out). It never imports Locust or gevent: the
engine hands it a Browser that times every request twice (service time and latency from the
moment the request was meant to start), counts status classes, runs content checks and probes,
and sleeps the think times on the engine's clock. Tests drive the same paths with a plain
synchronous browser, so a path is checked against a real SIS without a load generator.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

T = TypeVar("T")

# Statuses that mean "refused", the only acceptable answers to a security probe. A 404 counts:
# the SIS answers someone else's record as if it did not exist.
DENIED = frozenset({401, 403, 404})


class Response(Protocol):
    """The part of an HTTP response a click path may read."""

    status_code: int
    headers: Mapping[str, str]

    @property
    def text(self) -> str: ...

    @property
    def content(self) -> bytes: ...

    def json(self) -> Any: ...


class LoginAttempt(NamedTuple):
    """What one try of a multi-step login came to: ``ok``, ``locked``, ``refused`` or ``retry``
    (as `LoginSpec.outcome`), the session's token (any non-empty text for a session carried by
    cookies), and the variables the login steps read (a CSRF token, say) for the click path."""

    outcome: str
    token: str | None
    variables: Mapping[str, Any] = {}


# One try of a login of several requests: (browser, username, password) -> LoginAttempt. It
# sends its requests through the browser (so they are timed and counted) and stops at the
# first answer that decides the try; the browser retries, backs off and counts as for a
# one-request login.
LoginSteps = Callable[["Browser", str, str], LoginAttempt]


def _no_body(username: str, password: str) -> Any:
    return None


def _no_token(r: Response) -> str | None:
    return None


@dataclass(frozen=True)
class LoginSpec:
    """How a target logs people in and out, so the engine can retry logins the way people do
    (and meet lockouts) without knowing the target.

    A one-request login is `path`, `body` and `token`; a login of several requests (a form
    page, its post, a redirect) is `steps` instead, and `path`/`body`/`token` are unused. The
    token travels as ``<token_header>: <token_prefix><token>`` (``Authorization: Bearer`` by
    default; no header when `token_header` is None); with `cookies` the session also keeps the
    cookies the target sets (a jar per session) and sends them back."""

    path: str = ""
    body: Callable[[str, str], Any] = _no_body        # (username, password) -> JSON body
    token: Callable[[Response], str | None] = _no_token  # the token of a successful answer
    locked_status: int = 423                   # the answer to a locked account: stop retrying
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    logout_path: str | None = None             # POST here ends the session
    endpoint: str = "auth.login"
    logout_endpoint: str = "auth.logout"
    steps: LoginSteps | None = None
    cookies: bool = False
    token_header: str | None = "Authorization"
    token_prefix: str = "Bearer "

    def outcome(self, status: int) -> str:
        """What a person does with a login answer: ``ok``; ``locked`` or ``refused`` (stop);
        ``retry`` (a 429/5xx, or no answer at all: status 0)."""
        if 200 <= status < 300:
            return "ok"
        if status == self.locked_status:
            return "locked"
        return "retry" if status == 0 or status in self.retry_statuses else "refused"


def backoff_seconds(base: float, attempt: int) -> float:
    """The pause before login attempt `attempt` + 1 (0-based): base, 2 base, 4 base, …"""
    return base * 2 ** attempt


# A content check returns None when the page is right, or what is wrong (never the payload).
Check = Callable[[Response], "str | None"]


class Browser(Protocol):
    """One person's session on a target, as the engine (or a test) provides it."""

    persona: str
    identity: Mapping[str, Any]   # the user pool row this session logged in as
    # The persona's click-path mix from the plan (knob -> value, e.g. ``grade_share``): paths
    # read ``options.get(KNOB, DEFAULT)``; the target's ``MIX`` lists every knob and default.
    options: Mapping[str, float]
    # What the last kept login's steps read (`LoginAttempt.variables`); empty otherwise.
    login_variables: Mapping[str, Any]

    @property
    def rng(self) -> random.Random:
        """Per-session randomness (click choices), seeded by the engine."""
        ...

    def request(self, method: str, endpoint: str, path: str, *,
                json: Any = None, data: Mapping[str, str] | str | None = None,
                params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None,
                token: str | bool | None = True, check: Check | None = None,
                follow_redirects: bool = True, expect: Collection[int] = ()) -> Response:
        """Send one request. `endpoint` is the bounded label (``portal.grades``): its group is
        the part before the dot. `token=True` sends this session's credentials (its token, and
        its cookies when the target's session is carried by cookies), None sends none, a
        string sends that token (another session's) and no cookies. A failed check marks the
        request failed. `data` is a form (a mapping) or a raw body (text). With
        `follow_redirects=False` a redirect is the answer (target files record each hop as
        its own step). `expect` names the statuses `check` accepts (a target file's
        ``status: [303]``): when given, the check judges every answer, so an expected 3xx or
        4xx that passes it is a success and any other status fails it."""
        ...

    def get(self, endpoint: str, path: str, **kw: Any) -> Response: ...

    def post(self, endpoint: str, path: str, **kw: Any) -> Response: ...

    def put(self, endpoint: str, path: str, **kw: Any) -> Response: ...

    def delete(self, endpoint: str, path: str, **kw: Any) -> Response: ...

    def think(self, seconds: float, *, jitter: bool = True) -> None:
        """Pause like a person reading the page; `seconds` is the mean (the engine randomizes
        it ±50% and scales it). The next request is meant to start when the pause ends.
        `jitter=False` scales without randomizing (a pause a recording measured, or one the
        path drew itself)."""
        ...

    def wait(self, seconds: float) -> None:
        """Pause `seconds` of real time, never scaled: for clocks the target keeps (a link
        that expires, a rate window), unlike `think`."""
        ...

    def sometimes(self, share: float) -> bool:
        """True with probability `share`: the steps a session takes only now and then. Tests
        can make every such step happen."""
        ...

    def login(self, username: str, password: str, *, keep: bool = True) -> str | None:
        """Log in with the target's LoginSpec, with retries and backoff as people do (slow or
        failed answers are retried; a lockout ends the attempts). Returns the session token,
        or None. `keep=False` logs in another identity (see `borrow`) without replacing this
        session's token."""
        ...

    def logout(self) -> None: ...

    def borrow(self, persona: str) -> Mapping[str, Any] | None:
        """Check out one more identity of `persona` for this session (given back when the
        session ends), or None when none is free. No other session can hold it meanwhile."""
        ...

    def lookup(self, persona: str, key: str, value: Any) -> Mapping[str, Any] | None:
        """Read-only: the user pool row of `persona` whose `key` equals `value` (for content
        checks, e.g. a guardian's child's sections from the student pool), or None."""
        ...

    def shared(self, name: str, factory: Callable[[], T]) -> T:
        """The object `name` that every session of this load process shares for the run,
        made by `factory` on first use (e.g. a sync's cursor, so sessions continue where the
        previous ones stopped). It belongs to the run, not to the module: a new run starts
        with none."""
        ...

    def denied(self, probe: str, endpoint: str, asked: str, status: int) -> None:
        """Record a refusal a probe judged by its marker (the answer did not show what was
        asked; e.g. a 200 with an error page), counted like a refusal `probe` saw."""
        ...

    def count(self, name: str, amount: float = 1) -> None:
        """Add `amount` to the run's counter `name` (``family|label|…``, see
        `loadtests.stats`): it is merged across load processes and shown in the summary."""
        ...

    def should_probe(self, probe: str) -> bool:
        """Whether to mix this security probe into the session now (the engine's probe rate)."""
        ...

    def probe(self, probe: str, method: str, endpoint: str, path: str, *, asked: str,
              token: str | bool | None = True, json: Any = None,
              params: Mapping[str, Any] | None = None,
              data: Mapping[str, str] | str | None = None,
              headers: Mapping[str, str] | None = None,
              follow_redirects: bool = True, denied: Collection[int] = DENIED) -> Response:
        """Ask for something this session must NOT get. A refusal (`denied`: 401, 403, 404
        unless the probe declares its own, e.g. a redirect to the login page) is the
        expected answer; any 2xx is a data exposure, recorded with what was asked (`asked`,
        e.g. ``student 123``) and by whom, never with the payload."""
        ...

    def exposed(self, probe: str, endpoint: str, asked: str, status: int) -> None:
        """Record a data exposure found by a multi-step probe (e.g. a login that should have
        been refused), the same way `probe` does."""
        ...


ClickPath = Callable[[Browser], None]


class _Requests(Protocol):
    def request(self, method: str, endpoint: str, path: str, **kw: Any) -> Response: ...


class HttpVerbs:
    """`get`, `post`, `put` and `delete` in terms of a browser's own `request`: every Browser
    implementation (the engine's, `target check`'s, the tests') shares them."""

    def get(self: _Requests, endpoint: str, path: str, **kw: Any) -> Response:
        return self.request("GET", endpoint, path, **kw)

    def post(self: _Requests, endpoint: str, path: str, **kw: Any) -> Response:
        return self.request("POST", endpoint, path, **kw)

    def put(self: _Requests, endpoint: str, path: str, **kw: Any) -> Response:
        return self.request("PUT", endpoint, path, **kw)

    def delete(self: _Requests, endpoint: str, path: str, **kw: Any) -> Response:
        return self.request("DELETE", endpoint, path, **kw)
