"""Running a target file's sessions: its steps compiled into click paths that drive the same
`Browser` protocol as the built-in Python targets (`target.py` assembles them into the
engine's `Target`).

Everything a file says is compiled once here (templates, JSONPaths, checks, extracts); a session
only renders and sends. The rules a session follows:

- Steps run in order. A step sends its request without following redirects (a recorded
  redirect is its own step); its check (or, without one, any 2xx or 3xx) decides whether it
  failed, then its extracts run. A failed step, a missing extract or a template naming a value
  the session lacks skips the rest of the innermost `for_each` iteration, `repeat` round or
  block (at the top of a persona: the rest of its path; its end probes and logout still run),
  as a person who meets an error page goes back.
- ``probability`` is `browser.sometimes(p)`; a literal 1 (or none) draws nothing. ``for_each``
  picks with the session's rng: ``count: "1..all"`` is ``rng.randint(1, n)`` then
  ``rng.sample``; ``count: N`` samples ``min(N, n)``; ``order: as_listed`` keeps the list's
  order; ``repeat`` with ``up_to`` runs ``rng.randint(1, N)`` times.
- Think times: a number or ``{mean: S}`` is `browser.think(S)` (randomized ±50%, scaled by the
  plan's think scale); ``{min, max}`` draws ``rng.uniform(min, max)`` and scales it without
  further randomizing; ``{recorded: S}`` is scaled, not randomized. A step without a think
  takes its persona's default think, if any.
- Variables extracted inside a block or loop live until it ends (the loader refuses uses
  outside). The login's variables are visible to the whole session.
- Probes: a probe whose other identity is a list value picks it first (``rng.choice``, avoiding
  `avoid`), then asks `should_probe`; a probe on another pool asks first, then borrows a row.
  Denial by status goes through `browser.probe` (a 2xx is a data exposure); denial by a marker
  (``absent``) sends a plain request and records an exposure when a 2xx shows the marker, a
  refusal (`browser.denied`) when the answer is below 400 without it or a DENIED status, and
  counts it inconclusive otherwise.
  Probes not placed by a ``probe:`` step run at the end of their persona's session, in the
  order declared, before logout.
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from loadtests.browser import DENIED, Browser, ClickPath, LoginAttempt, Response
from loadtests.stats import key
from loadtests.targetfile.checks import Judge, compile_check
from loadtests.targetfile.extract import MISSING, Extractor, compile_extract
from loadtests.targetfile.model import (
    Block,
    ForEach,
    Pause,
    Pick,
    Probe,
    ProbeStep,
    Repeat,
    Request,
    Step,
    TargetFile,
    Think,
    ThinkTime,
)
from loadtests.targetfile.template import (
    Template,
    TemplateError,
    compile_template,
    compile_value,
    render_value,
    text,
)

Vars = dict[str, Any]


class _Stop(Exception):
    """The rest of the innermost block is skipped (a failed step)."""


def host_of(url: str) -> str:
    """The host name of a URL or of a `hosts:` entry (a name, or a URL)."""
    return (urlsplit(url).hostname or "") if "//" in url else url.split(":")[0].lower()


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "step"


# -- compiled parts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CThink:
    kind: str      # "mean", "range", "recorded"
    a: float
    b: float = 0.0

    def run(self, browser: Browser) -> None:
        if self.kind == "mean":
            browser.think(self.a)
        elif self.kind == "range":
            browser.think(browser.rng.uniform(self.a, self.b), jitter=False)
        else:
            browser.think(self.a, jitter=False)


def compile_think(t: ThinkTime | None) -> CThink | None:
    if t is None:
        return None
    if not isinstance(t, Think):
        return CThink("mean", float(t))
    if t.mean is not None:
        return CThink("mean", t.mean)
    if t.recorded is not None:
        return CThink("recorded", t.recorded)
    assert t.min is not None and t.max is not None
    return CThink("range", t.min, t.max)


Chance = float | Template | None


def _chance(p: float | str | None) -> Chance:
    if p is None or (isinstance(p, (int, float)) and p >= 1):
        return None
    return compile_template(p) if isinstance(p, str) else float(p)


def _happens(chance: Chance, browser: Browser, ctx: Vars) -> bool:
    if chance is None:
        return True
    share = chance if isinstance(chance, float) else float(chance.render(ctx))
    return browser.sometimes(share)


@dataclass(frozen=True)
class CRequest:
    method: str
    url: Template
    query: tuple[tuple[str, Template], ...]
    form: dict[str, Template] | Template | None
    json: Any
    has_json: bool
    body: Template | None
    headers: tuple[tuple[str, Template], ...]
    own_session: bool

    def render(self, ctx: Vars, hosts: frozenset[str]) -> dict[str, Any]:
        url = self.url.render_text(ctx)
        if url.startswith(("http://", "https://")) and host_of(url) not in hosts:
            raise TemplateError("the URL leaves the target's hosts")
        kw: dict[str, Any] = {"path": url}
        if self.query:
            kw["params"] = {k: t.render_text(ctx) for k, t in self.query}
        if self.headers:
            kw["headers"] = {k: t.render_text(ctx) for k, t in self.headers}
        if isinstance(self.form, Template):
            form = self.form.render(ctx)
            if not isinstance(form, Mapping):
                raise TemplateError("form: the variable is not a mapping")
            kw["data"] = {str(k): text(v) for k, v in form.items()}
        elif self.form is not None:
            kw["data"] = {k: t.render_text(ctx) for k, t in self.form.items()}
        elif self.body is not None:
            kw["data"] = self.body.render_text(ctx)
        if self.has_json:
            kw["json"] = render_value(self.json, ctx)
        return kw


def _request(r: Request) -> CRequest:
    form: dict[str, Template] | Template | None
    if isinstance(r.form, str):
        form = compile_template(r.form)
    elif r.form is not None:
        form = {k: compile_template(v) for k, v in r.form.items()}
    else:
        form = None
    return CRequest(r.method, compile_template(r.url),
                    tuple((k, compile_template(v)) for k, v in r.query.items()), form,
                    compile_value(r.json_body), r.json_body is not None,
                    compile_template(r.body) if r.body is not None else None,
                    tuple((k, compile_template(v)) for k, v in r.headers.items()),
                    r.session == "own")


@dataclass(frozen=True)
class CStep:
    name: str
    label: str
    request: CRequest
    judge: Judge
    statuses: tuple[int, ...]
    extracts: tuple[Extractor, ...]
    think: CThink | None
    chance: Chance
    source: Step | None = None   # what the file said (for `target check`)


@dataclass(frozen=True)
class CForEach:
    source: Template
    as_: str
    pick: Pick
    steps: tuple[Any, ...]


@dataclass(frozen=True)
class CRepeat:
    count: int | Template
    up_to: bool
    steps: tuple[Any, ...]


@dataclass(frozen=True)
class CBlock:
    chance: Chance
    steps: tuple[Any, ...]


@dataclass(frozen=True)
class CPause:
    think: CThink


@dataclass(frozen=True)
class CProbeStep:
    probe: str


def _step(s: Step, default_think: CThink | None) -> CStep:
    label = s.metric or f"{s.group}.{slug(s.name)}"
    return CStep(s.name, label, _request(s.request), compile_check(s.check),
                 tuple(s.check.status),
                 tuple(compile_extract(n, e) for n, e in s.extract.items()),
                 compile_think(s.think) if s.think is not None else default_think,
                 _chance(s.probability),
                 s)


def _steps(steps: list[Any], default_think: CThink | None) -> tuple[Any, ...]:
    out: list[Any] = []
    for s in steps:
        if isinstance(s, Step):
            out.append(_step(s, default_think))
        elif isinstance(s, ForEach):
            src = s.for_each if "{{" in s.for_each else f"{{{{ {s.for_each} }}}}"
            out.append(CForEach(compile_template(src), s.as_, s.pick,
                                _steps(s.steps, default_think)))
        elif isinstance(s, Repeat):
            count = compile_template(s.repeat) if isinstance(s.repeat, str) else s.repeat
            out.append(CRepeat(count, s.up_to, _steps(s.steps, default_think)))
        elif isinstance(s, Block):
            out.append(CBlock(_chance(s.probability), _steps(s.steps, default_think)))
        elif isinstance(s, Pause):
            think = compile_think(s.think)
            assert think is not None
            out.append(CPause(think))
        elif isinstance(s, ProbeStep):
            out.append(CProbeStep(s.probe))
    return tuple(out)


# -- sending a step ----------------------------------------------------------------------------
class Runner:
    """The compiled target: what every session of it runs."""

    def __init__(self, tf: TargetFile, observe: Observer | None = None) -> None:
        self.tf = tf
        self.observe = observe  # `target check` watches every step; the engine does not
        self.hosts = frozenset(host_of(h) for h in tf.hosts)
        self.cookie_session = tf.session.carrier == "cookie"
        self.token = compile_template(tf.session.token) if tf.session.token else None
        self.login_steps = _steps(tf.login.steps, None) if tf.login else ()
        self.success = compile_check(tf.login.success) if tf.login else None
        self.locked = compile_check(tf.login.locked) if tf.login and tf.login.locked else None
        self.retry = frozenset(tf.login.retry_statuses) if tf.login else frozenset()
        self.logout = _steps(tf.logout, None)
        self.personas = {name: _steps(p.steps, compile_think(p.think))
                         for name, p in tf.personas.items()}
        self.probes = {name: CProbe.of(name, p) for name, p in tf.probes.items()}
        placed = {s.probe for p in tf.personas.values() for s in _walk(p.steps)
                  if isinstance(s, ProbeStep)}
        self.end_probes = {name: [pr for n, pr in self.probes.items()
                                  if name in pr.personas and n not in placed]
                           for name in tf.personas}

    def send(self, step: CStep, browser: Browser, ctx: Vars, *,
             login: bool = False) -> tuple[Response, bool]:
        """Send one step; (answer, failed). Extracts land in `ctx` when it did not fail."""
        kw = step.request.render(ctx, self.hosts)
        own = step.request.own_session and (self.cookie_session or not login)
        seen: list[str | None] = []
        judge = step.judge

        def check(r: Response) -> str | None:
            problem = judge(r, ctx)
            seen.append(problem)
            return problem
        r = browser.request(step.request.method, step.label, kw.pop("path"),
                            token=True if own else None, check=check,
                            follow_redirects=False, expect=step.statuses, **kw)
        failed = bool(seen[0]) if seen else bool(judge(r, ctx))
        if not failed:
            rng = browser.rng
            for ex in step.extracts:
                value = ex.run(r, rng)
                if value is MISSING:
                    failed = True
                    break
                ctx[ex.name] = value
        if self.observe is not None:
            self.observe(step, r, ctx, failed)
        return r, failed

    def run(self, steps: tuple[Any, ...], browser: Browser, ctx: Vars) -> None:
        """Run `steps`; raises _Stop when one fails (the caller decides how far that reaches)."""
        for s in steps:
            if isinstance(s, CStep):
                if s.chance is not None and not _happens(s.chance, browser, ctx):
                    continue
                try:
                    _, failed = self.send(s, browser, ctx)
                except TemplateError:
                    raise _Stop from None
                if failed:
                    raise _Stop
                if s.think is not None:
                    s.think.run(browser)
            elif isinstance(s, CPause):
                s.think.run(browser)
            elif isinstance(s, CForEach):
                self._for_each(s, browser, ctx)
            elif isinstance(s, CBlock):
                if _happens(s.chance, browser, ctx):
                    with contextlib.suppress(_Stop):
                        self.run(s.steps, browser, ctx)
            elif isinstance(s, CRepeat):
                try:
                    count = int(s.count.render(ctx)) if isinstance(s.count, Template) \
                        else s.count
                except (TemplateError, ValueError, TypeError):
                    raise _Stop from None
                if s.up_to and count >= 1:
                    count = browser.rng.randint(1, count)
                for _ in range(count):
                    with contextlib.suppress(_Stop):
                        self.run(s.steps, browser, ctx)
            elif isinstance(s, CProbeStep):
                self.run_probe(self.probes[s.probe], browser, ctx)

    def _for_each(self, s: CForEach, browser: Browser, ctx: Vars) -> None:
        try:
            items = s.source.render(ctx)
        except TemplateError:
            raise _Stop from None
        if not isinstance(items, list):
            raise _Stop
        for item in choose(items, s.pick, browser.rng):
            ctx[s.as_] = item
            with contextlib.suppress(_Stop):
                self.run(s.steps, browser, ctx)
        ctx.pop(s.as_, None)

    # -- logins ----------------------------------------------------------------------------
    def login(self, browser: Browser, username: str, password: str) -> LoginAttempt:
        """One try of the file's login steps (the `LoginSpec.steps` of the target)."""
        user = dict(browser.identity)
        user["username"], user["password"] = username, password
        ctx: Vars = {"user": user}
        r: Response | None = None
        for step in self.login_steps:
            try:
                r, failed = self.send(step, browser, ctx, login=True)
            except TemplateError:
                return LoginAttempt("refused", None)
            status = r.status_code
            if status == 0 or status in self.retry:
                return LoginAttempt("retry", None)
            if self._locked(r, ctx):
                return LoginAttempt("locked", None)
            if failed and step is not self.login_steps[-1]:
                return LoginAttempt("refused", None)
        assert r is not None and self.success is not None
        if self.success(r, ctx) is not None:
            return LoginAttempt("refused", None)
        del ctx["user"]
        if self.token is None:
            return LoginAttempt("ok", "cookie", ctx)
        try:
            token = text(self.token.render(ctx))
        except TemplateError:
            token = ""
        return LoginAttempt("ok", token or None, ctx)

    def _locked(self, r: Response, ctx: Vars) -> bool:
        if self.locked is None:
            return r.status_code == 423
        return self.locked(r, ctx) is None

    # -- probes ----------------------------------------------------------------------------
    def run_probe(self, p: CProbe, browser: Browser, ctx: Vars) -> None:
        other: Any
        asked: str
        if p.values is not None:
            try:
                values = p.values.render(ctx)
            except TemplateError:
                return
            try:  # advisory: a persona without the column avoids nothing
                avoid = p.avoid.render(ctx) if p.avoid is not None else []
            except TemplateError:
                avoid = []
            values = values if isinstance(values, list) else [values]
            avoid = avoid if isinstance(avoid, list) else [avoid]
            preferred = [v for v in values if v not in avoid] or list(values)
            if not preferred:
                return
            value = browser.rng.choice(preferred)
            if not browser.should_probe(p.name):
                return
            other, asked = {"value": value}, text(value)
        else:
            if not browser.should_probe(p.name):
                return
            if p.pool is not None:
                row = browser.borrow(p.pool)
                if row is None:
                    return
                other = row
                asked = f"{p.pool} {row.get('user_id', row.get('username', '?'))}"
            else:
                other, asked = {}, p.name
        pctx = dict(ctx)
        pctx["other"] = other
        try:
            self.run(p.steps, browser, pctx)
            kw = p.request.render(pctx, self.hosts)
            if p.asked is not None:
                asked = p.asked.render_text(pctx)
            markers = [t.render_text(pctx) for t in p.absent]
        except (_Stop, TemplateError):
            return  # a probe that cannot be run honestly is skipped
        token: bool | None = True if p.request.own_session else None
        path = kw.pop("path")
        if not markers:
            browser.probe(p.name, p.request.method, p.label, path, asked=asked, token=token,
                          follow_redirects=False, denied=p.denied, **kw)
            return
        r = browser.request(p.request.method, p.label, path, token=token,
                            follow_redirects=False, **kw)
        if 200 <= r.status_code < 300 and any(m and m in (r.text or "") for m in markers):
            browser.exposed(p.name, p.label, asked, r.status_code)
        elif r.status_code < 400 or r.status_code in DENIED:
            browser.denied(p.name, p.label, asked, r.status_code)
        else:
            browser.count(key("probes", p.name, "inconclusive"))

    # -- sessions ----------------------------------------------------------------------------
    def click_path(self, name: str) -> ClickPath:
        persona, steps = self.tf.personas[name], self.personas[name]
        mix = dict(persona.mix)
        end_probes = self.end_probes[name]

        def session(browser: Browser) -> None:
            me = browser.identity
            options = browser.options
            ctx: Vars = {"user": me, "mix": {k: options.get(k, d) for k, d in mix.items()}}
            if persona.login:
                if browser.login(str(me["username"]), str(me["password"])) is None:
                    return
                ctx.update(browser.login_variables)
            with contextlib.suppress(_Stop):
                self.run(steps, browser, ctx)
            for probe in end_probes:
                self.run_probe(probe, browser, ctx)
            if persona.login:
                with contextlib.suppress(_Stop):
                    self.run(self.logout, browser, ctx)
                browser.logout()
        session.__name__ = f"{self.tf.name}_{name}"
        session.__doc__ = f"Persona {name!r} of target file {self.tf.name!r}."
        return session


@dataclass(frozen=True)
class CProbe:
    name: str
    personas: tuple[str, ...]
    label: str
    request: CRequest
    steps: tuple[Any, ...]
    values: Template | None
    avoid: Template | None
    pool: str | None
    asked: Template | None
    absent: tuple[Template, ...]
    denied: frozenset[int] = DENIED

    @classmethod
    def of(cls, name: str, p: Probe) -> CProbe:
        other = p.other
        return cls(name, tuple(p.personas), p.metric or f"probes.{name}", _request(p.request),
                   _steps(p.steps, None),
                   compile_template(other.values) if other and other.values else None,
                   compile_template(other.avoid) if other and other.avoid else None,
                   other.pool if other else None,
                   compile_template(p.asked) if p.asked is not None else None,
                   tuple(compile_template(a) for a in p.denied.absent),
                   frozenset(p.denied.status))


def _walk(steps: list[Any]) -> list[Any]:
    out: list[Any] = []
    for s in steps:
        out.append(s)
        if isinstance(s, (ForEach, Repeat, Block)):
            out += _walk(s.steps)
    return out


def choose(items: list[Any], pick: Pick, rng: random.Random) -> list[Any]:
    """The items a for_each walks (see the module docstring)."""
    n = len(items)
    if n == 0:
        return []
    count = pick.count
    k = n if count == "all" else rng.randint(1, n) if count == "1..all" else min(int(count), n)
    if pick.order == "as_listed":
        if k == n:
            return list(items)
        return [items[i] for i in sorted(rng.sample(range(n), k))]
    return rng.sample(items, k)


# -- the Target --------------------------------------------------------------------------------


LoginFn = Callable[[Browser, str, str], LoginAttempt]
# Called after every step a session sends: (step, answer, the session's variables, failed).
Observer = Callable[[CStep, Response, Vars, bool], None]
