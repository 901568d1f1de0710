"""`firstbell target check`'s work: one session per persona of a target file against a URL, at
think time 0, on a plain synchronous browser (httpx, cookies per session, redirects never
followed, every "sometimes" step taken), reporting each step: its status and time, the
variables it extracted (a short rendering; secrets never shown), each check's result, and for a
failed step the start of the answer with the session's secrets masked.

`check_target` returns the results as data; `render` words them as plain text."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import httpx

from loadtests.browser import DENIED, Check, HttpVerbs, LoginAttempt, LoginSpec, Response
from loadtests.cookies import CookieJar
from loadtests.targetfile.checks import Judge, parts
from loadtests.targetfile.extract import show
from loadtests.targetfile.model import TargetFile
from loadtests.targetfile.runtime import CStep, Runner, Vars
from loadtests.targetfile.target import build_target
from loadtests.targetfile.template import text

T = TypeVar("T")

EXCERPT = 300
SECRET_NAME = re.compile(r"pass|token|secret|cookie|session|auth|key|csrf|jwt|sid", re.I)
MASK = "•••"


@dataclass
class StepResult:
    persona: str
    step: str
    method: str
    url: str
    status: int
    seconds: float
    variables: dict[str, str] = field(default_factory=dict)   # name -> safe rendering
    checks: list[tuple[str, str | None]] = field(default_factory=list)  # part -> problem
    failed: bool = False
    excerpt: str | None = None    # the start of a failed answer, secrets masked
    probe: str | None = None


@dataclass
class ProbeResult:
    persona: str
    probe: str
    asked: str
    status: int
    exposed: bool
    denied: bool = False   # one of the probe's denied statuses


@dataclass
class CheckReport:
    target: str
    url: str
    steps: list[StepResult] = field(default_factory=list)
    probes: list[ProbeResult] = field(default_factory=list)
    logins: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.logins.values()) and not any(s.failed for s in self.steps) \
            and not any(p.exposed for p in self.probes)


class CheckBrowser(HttpVerbs):
    """A `Browser` for one checked session: synchronous, never sleeping, every step taken."""

    def __init__(self, client: httpx.Client, spec: LoginSpec, persona: str,
                 identity: Mapping[str, Any], probes: Iterable[str], seed: int,
                 report: CheckReport) -> None:
        self.client, self.spec, self.persona, self.identity = client, spec, persona, identity
        self.options: Mapping[str, float] = {}
        self.login_variables: Mapping[str, Any] = {}
        self._rng = random.Random(seed)
        self.enabled = frozenset(probes)
        self.report = report
        self.token: str | None = None
        self.cookies: CookieJar | None = CookieJar() if spec.cookies else None
        self.last_seconds = 0.0
        self.last_url = ""
        self.secrets: set[str] = {text(identity.get("password", ""))} - {""}
        self.store: dict[str, Any] = {}
        self.counts: dict[str, float] = {}

    @property
    def rng(self) -> random.Random:
        return self._rng

    def request(self, method: str, endpoint: str, path: str, *, json: Any = None,
                data: Mapping[str, str] | str | None = None,
                params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, token: str | bool | None = True,
                check: Check | None = None, follow_redirects: bool = True,
                expect: Collection[int] = ()) -> Response:
        sent = dict(headers or {})
        bearer = self.token if token is True else (token or None)
        if bearer and self.spec.token_header:
            sent[self.spec.token_header] = f"{self.spec.token_prefix}{bearer}"
        jar = self.cookies if token is True else None
        if jar is not None and (cookie := jar.header()):
            sent["Cookie"] = cookie
        body: dict[str, Any] = {"content": data} if isinstance(data, str) else {"data": data}
        start = time.perf_counter()
        try:
            r = self.client.request(method, path, json=json, params=params, headers=sent,
                                    follow_redirects=follow_redirects, **body)
        except httpx.HTTPError as exc:
            r = httpx.Response(0, text=f"no answer: {type(exc).__name__}")
        finally:
            self.client.cookies.clear()
        self.last_seconds = time.perf_counter() - start
        self.last_url = path
        if jar is not None:
            jar.take(r.headers)
            self.secrets |= set(jar.cookies.values())
        answer = cast(Response, r)
        if check is not None:
            check(answer)
        return answer

    def think(self, seconds: float, *, jitter: bool = True) -> None:
        pass

    def wait(self, seconds: float) -> None:
        pass

    def sometimes(self, share: float) -> bool:
        return share > 0

    def login(self, username: str, password: str, *, keep: bool = True) -> str | None:
        self.secrets.add(password)
        if self.spec.steps is None:
            return None
        attempt: LoginAttempt = self.spec.steps(self, username, password)
        self.report.logins[self.persona] = attempt.outcome == "ok" and bool(attempt.token)
        if attempt.outcome != "ok":
            return None
        if attempt.token:
            self.secrets.add(attempt.token)
        if keep:
            self.token, self.login_variables = attempt.token, attempt.variables
        return attempt.token

    def logout(self) -> None:
        self.token = None
        if self.cookies is not None:
            self.cookies.clear()

    def shared(self, name: str, factory: Callable[[], T]) -> T:
        if name not in self.store:
            self.store[name] = factory()
        return cast(T, self.store[name])

    def count(self, name: str, amount: float = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def borrow(self, persona: str) -> Mapping[str, Any] | None:
        return None

    def lookup(self, persona: str, key: str, value: Any) -> Mapping[str, Any] | None:
        return None

    def should_probe(self, probe: str) -> bool:
        return probe in self.enabled

    def probe(self, probe: str, method: str, endpoint: str, path: str, *, asked: str,
              token: str | bool | None = True, json: Any = None,
              params: Mapping[str, Any] | None = None,
              data: Mapping[str, str] | str | None = None,
              headers: Mapping[str, str] | None = None,
              follow_redirects: bool = True, denied: Collection[int] = DENIED) -> Response:
        r = self.request(method, endpoint, path, json=json, params=params, data=data,
                         headers=headers, token=token, follow_redirects=follow_redirects)
        status = r.status_code
        self.report.probes.append(ProbeResult(
            self.persona, probe, asked, status, status not in denied and 200 <= status < 300,
            status in denied))
        return r

    def exposed(self, probe: str, endpoint: str, asked: str, status: int) -> None:
        self.report.probes.append(ProbeResult(self.persona, probe, asked, status, True))

    def denied(self, probe: str, endpoint: str, asked: str, status: int) -> None:
        self.report.probes.append(ProbeResult(self.persona, probe, asked, status, False, True))

    def mask(self, body: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= 4:
                body = body.replace(secret, MASK)
        return body


def _safe(name: str, value: Any, secrets: set[str]) -> str:
    """A variable's value for the report: secret-looking names and known secrets masked, also
    inside a mapping (a form's hidden inputs) or a list."""
    if SECRET_NAME.search(name) or (isinstance(value, str) and value in secrets):
        return f"{MASK} ({len(text(value))} chars)"
    if isinstance(value, dict):
        value = {k: MASK if SECRET_NAME.search(str(k)) else v for k, v in value.items()}
    shown = show(value)
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            shown = shown.replace(secret, MASK)
    return shown


def check_target(tf: TargetFile, url: str, identities: Mapping[str, Mapping[str, Any]], *,
                 personas: Iterable[str] | None = None, probes: Iterable[str] | None = None,
                 seed: int = 0, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> CheckReport:
    """One session of each persona (all, or `personas`) logged in as `identities[persona]`,
    against `url`; the declared probes run too (all, or `probes`)."""
    report = CheckReport(tf.name, url)
    current: list[CheckBrowser] = []
    cache: dict[int, list[tuple[str, Judge]]] = {}

    def observe(step: CStep, r: Response, ctx: Vars, failed: bool) -> None:
        b = current[0]
        judges = cache.get(id(step))
        if judges is None:
            judges = cache[id(step)] = parts(step.source.check) if step.source else []
        results = [(name, judge(r, ctx)) for name, judge in judges]
        secrets = b.secrets | {text(v) for k, v in ctx.items() if SECRET_NAME.search(k)}
        variables = {ex.name: _safe(ex.name, ctx[ex.name], secrets)
                     for ex in step.extracts if ex.name in ctx}
        excerpt = None
        if failed:
            b.secrets = secrets
            excerpt = b.mask((r.text or "")[:EXCERPT * 2])[:EXCERPT]
        report.steps.append(StepResult(b.persona, step.name, step.request.method, b.last_url,
                                       r.status_code, b.last_seconds, variables, results,
                                       failed, excerpt))

    runner = Runner(tf, observe)
    spec = build_target(tf).login
    spec = LoginSpec(steps=runner.login if tf.login else None, cookies=spec.cookies,
                     token_header=spec.token_header, token_prefix=spec.token_prefix)
    wanted = list(personas) if personas is not None else list(tf.personas)
    enabled = list(probes) if probes is not None else list(tf.probes)
    with httpx.Client(base_url=url, timeout=timeout, transport=transport) as client:
        for name in wanted:
            identity = identities.get(name, {})
            b = CheckBrowser(client, spec, name, identity, enabled, seed, report)
            current[:] = [b]
            runner.click_path(name)(b)
    return report


def render(report: CheckReport) -> str:
    """The report as plain text, one block per step."""
    lines = [f"target {report.target} at {report.url}"]
    for persona, ok in report.logins.items():
        lines.append(f"  {persona}: login {'ok' if ok else 'FAILED'}")
    for s in report.steps:
        mark = "FAIL" if s.failed else "ok  "
        lines.append(f"{mark} {s.persona} {s.step}: {s.method} {s.url} -> {s.status}"
                     f" in {s.seconds * 1000:.0f} ms")
        for name, value in s.variables.items():
            lines.append(f"       {name} = {value}")
        for part, problem in s.checks:
            lines.append(f"       check {part}: {'ok' if problem is None else problem}")
        if s.excerpt is not None:
            lines.append("       answer: " + s.excerpt.replace("\n", " "))
    for p in report.probes:
        verdict = "EXPOSED" if p.exposed else ("denied" if p.denied else "inconclusive")
        lines.append(f"probe {p.probe} as {p.persona} ({p.asked}): {p.status} {verdict}")
    failed = not all(report.logins.values()) or any(s.failed for s in report.steps)
    lines.append("some steps failed" if failed else "all steps passed")
    if any(p.exposed for p in report.probes):
        lines.append("a probe read data it must not: a data exposure")
    return "\n".join(lines) + "\n"
