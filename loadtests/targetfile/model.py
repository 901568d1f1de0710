"""The target file format, version 1: a district's own SIS described as data (hosts, how a
session logs in and what carries it, personas as ordered click paths of steps, user pools,
declared security probes). `docs/targets.md` explains it with examples; the JSON Schema that
editors complete against is generated from these models (`schema.py`).

Values that change per session are templates: ``{{ user.username }}`` (the session's user
pool row), ``{{ csrf }}`` (a variable a step extracted), ``{{ kid }}`` (the item of a
``for_each``), ``{{ other.student_id }}`` (a probe's other identity), ``{{ mix.grade_share }}``
(a persona's mix knob). Templates are checked when the file is loaded, not when a session
first meets them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

FORMAT_VERSION = 1
# The day's personas a target persona can play: every built-in scenario is written in these.
DAY_PERSONAS = ("teacher", "student", "guardian", "guardian_unregistered", "clerk",
                "district_admin", "integration")
METRIC = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_.]+$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Product(_Strict):
    """The system rehearsed, as the report names it (``RosarioSIS 12.0``)."""

    name: str = Field(min_length=1)
    version: str = ""


# -- requests and what is read from their answers ------------------------------------------
class Request(_Strict):
    """One HTTP request. `url` is a path on the target's base URL (or a full URL on one of its
    `hosts`); `query`, `form`, `json` and `headers` are templated. At most one body."""

    method: Literal[METHODS] = "GET"  # type: ignore[valid-type]
    url: str = Field(min_length=1)
    query: dict[str, str] = Field(default_factory=dict)
    form: dict[str, str] | str | None = None     # a mapping, or "{{ var }}" holding one
    json_body: Any = Field(None, alias="json")
    body: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    # Which session credentials go with it: the session's (default) or none at all.
    session: Literal["own", "none"] = "own"

    @model_validator(mode="after")
    def _one_body(self) -> Request:
        bodies = [b for b in (self.form, self.json_body, self.body) if b is not None]
        if len(bodies) > 1:
            raise ValueError("a request has at most one of form, json, body")
        return self


class Extract(_Strict):
    """Where a variable comes from in an answer: exactly one source. `all` keeps every match
    (a list for `for_each`); otherwise the first match, or a seeded random one with
    ``pick: random``. A missing value fails the step unless `optional`."""

    jsonpath: str | None = None
    regex: str | None = None          # group 1 if the pattern has a group, else the match
    css: str | None = None            # with `attr` (else the element's text)
    attr: str | None = None
    form: str | None = None           # CSS selector of a form: its hidden inputs as a mapping
    field: str | None = None          # with `form`: one input's value
    # with `form`: every field the form submits, as a browser does (not only hidden inputs)
    submit: bool = False
    header: str | None = None
    cookie: str | None = None
    location: bool = False            # the redirect's Location
    all: bool = False
    pick: Literal["first", "random"] = "first"
    optional: bool = False
    default: Any = None

    @model_validator(mode="after")
    def _one_source(self) -> Extract:
        sources = [n for n in ("jsonpath", "regex", "css", "form", "header", "cookie")
                   if getattr(self, n) is not None] + (["location"] if self.location else [])
        if len(sources) != 1:
            raise ValueError("an extract has exactly one of jsonpath, regex, css, form, header,"
                             f" cookie, location (found {', '.join(sources) or 'none'})")
        if self.attr is not None and self.css is None:
            raise ValueError("attr goes with css")
        if self.field is not None and self.form is None:
            raise ValueError("field goes with form")
        if self.submit and (self.form is None or self.field is not None):
            raise ValueError("submit goes with form (and without field)")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        return self


class Size(_Strict):
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


class Check(_Strict):
    """What a right answer looks like. A failed check marks the request failed (and counts it);
    its message never quotes the payload."""

    status: list[int] = Field(default_factory=list)   # empty: any 2xx or 3xx
    body_contains: list[str] = Field(default_factory=list)
    body_lacks: list[str] = Field(default_factory=list)
    jsonpath: dict[str, Any] = Field(default_factory=dict)   # path -> expected (templated)
    size: Size | None = None
    location_contains: str | None = None
    location_lacks: str | None = None

    @field_validator("status")
    @classmethod
    def _statuses(cls, v: list[int]) -> list[int]:
        bad = [s for s in v if not 100 <= s <= 599]
        if bad:
            raise ValueError(f"{bad[0]} is not an HTTP status")
        return v


class Think(_Strict):
    """A pause after a step: a mean (randomized ±50% and scaled like every think), a range
    (uniform), or the gap a recording measured (`recorded`: scaled, not randomized)."""

    mean: float | None = Field(None, ge=0)
    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)
    recorded: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _shape(self) -> Think:
        shapes = [self.mean is not None, self.recorded is not None,
                  self.min is not None or self.max is not None]
        if sum(shapes) != 1 or (shapes[2] and (self.min is None or self.max is None)):
            raise ValueError("a think time is a number, {mean: S}, {recorded: S} or"
                             " {min: S, max: S}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"think min {self.min} is above max {self.max}")
        return self


ThinkTime = Annotated[float, Field(ge=0)] | Think


# -- steps -----------------------------------------------------------------------------------
class Step(_Strict):
    """One request of a click path (a page, a form post, an API call)."""

    name: str = Field(min_length=1)
    request: Request
    metric: str | None = None          # endpoint label "<group>.<action>"
    group: str | None = None           # threshold group; metric = "<group>.<name>" if no metric
    extract: dict[str, Extract] = Field(default_factory=dict)
    check: Check = Field(default_factory=Check)
    think: ThinkTime | None = None
    probability: float | str | None = None   # a share, or "{{ mix.knob }}"

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str | None) -> str | None:
        if v is not None and not METRIC.match(v):
            raise ValueError(f"metric {v!r} is not <group>.<action> in lower case")
        return v

    @field_validator("group")
    @classmethod
    def _group(cls, v: str | None) -> str | None:
        if v is not None and not NAME.match(v):
            raise ValueError(f"group {v!r} is not a lower-case name")
        return v

    @field_validator("extract")
    @classmethod
    def _variables(cls, v: dict[str, Extract]) -> dict[str, Extract]:
        for var in v:
            if not NAME.match(var):
                raise ValueError(f"variable {var!r} is not a lower-case name")
        return v

    @model_validator(mode="after")
    def _label(self) -> Step:
        if self.metric is None and self.group is None:
            raise ValueError(f"step {self.name!r} names neither a metric nor a group: say which"
                             " threshold group it counts in (group: portal) or its metric"
                             " (metric: portal.grades)")
        return self


class Pick(_Strict):
    """Which items of a list a `for_each` walks: all of them, a fixed number, or a seeded
    random count between 1 and all (``count: "1..all"``)."""

    count: int | Literal["all", "1..all"] = "all"
    order: Literal["as_listed", "random"] = "random"


class ForEach(_Strict):
    for_each: str = Field(min_length=1)        # a list variable (or "{{ user.children }}")
    as_: str = Field(alias="as", pattern=NAME.pattern)
    pick: Pick = Field(default_factory=Pick)
    steps: list[AnyStep] = Field(min_length=1)


class Repeat(_Strict):
    repeat: int | str                          # a count, or "{{ mix.knob }}"
    up_to: bool = False                        # a seeded random count from 1 to `repeat`
    steps: list[AnyStep] = Field(min_length=1)


class Block(_Strict):
    """Steps taken together now and then (`probability`)."""

    probability: float | str
    steps: list[AnyStep] = Field(min_length=1)


class Pause(_Strict):
    think: ThinkTime


class ProbeStep(_Strict):
    """Run a declared probe here in the click path (else it runs at the end of the session)."""

    probe: str = Field(pattern=NAME.pattern)


def _step_kind(raw: Any) -> str:
    """Which kind of step a mapping is, by its telling key, so a mistake is reported against
    that kind alone (not against every kind a step could be)."""
    if not isinstance(raw, dict):
        kinds: dict[type, str] = {Step: "Step", ForEach: "ForEach", Repeat: "Repeat",
                                  Block: "Block", Pause: "Pause", ProbeStep: "ProbeStep"}
        return kinds.get(type(raw), "Step")
    # The tags are capitalized so they never read like a field of the file in an error's path.
    for key, kind in (("for_each", "ForEach"), ("repeat", "Repeat"), ("probe", "ProbeStep"),
                      ("request", "Step")):
        if key in raw:
            return kind
    if "steps" in raw:
        return "Block"
    return "Pause" if "think" in raw and len(raw) == 1 else "Step"


AnyStep = Annotated[
    Annotated[Step, Tag("Step")] | Annotated[ForEach, Tag("ForEach")]
    | Annotated[Repeat, Tag("Repeat")] | Annotated[Block, Tag("Block")]
    | Annotated[Pause, Tag("Pause")] | Annotated[ProbeStep, Tag("ProbeStep")],
    Discriminator(_step_kind),
]
ForEach.model_rebuild()
Repeat.model_rebuild()
Block.model_rebuild()


# -- sessions, logins, pools -----------------------------------------------------------------
class SessionCarrier(_Strict):
    """What carries a logged-in session: the cookies the target sets (a jar per session), a
    bearer token, or a header, the last two from a variable the login extracted."""

    carrier: Literal["cookie", "bearer", "header"] = "cookie"
    token: str | None = None           # bearer/header: template of the value, e.g. "{{ token }}"
    header: str | None = None          # header: its name

    @model_validator(mode="after")
    def _complete(self) -> SessionCarrier:
        if self.carrier != "cookie" and not self.token:
            raise ValueError(f"a {self.carrier} session needs token: \"{{{{ variable }}}}\""
                             " naming what the login extracted")
        if self.carrier == "header" and not self.header:
            raise ValueError("a header session needs header: its name")
        return self


class Login(_Strict):
    """How one session logs in: its steps (with ``{{ user.<column> }}``), what success looks
    like on the last answer, and what a locked account looks like."""

    steps: list[Step] = Field(min_length=1)
    success: Check = Field(default_factory=Check)
    locked: Check | None = None
    retry_statuses: list[int] = Field(default_factory=lambda: [429, 500, 502, 503, 504])


class CsvPool(_Strict):
    """The vendor's test accounts: a CSV file (path relative to the target file) and which of
    its columns are the pool's fields (at least username and password)."""

    csv: str = Field(min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)   # pool field -> CSV column

    @field_validator("columns")
    @classmethod
    def _login_fields(cls, v: dict[str, str]) -> dict[str, str]:
        missing = [f for f in ("username", "password") if f not in v]
        if missing:
            raise ValueError(f"columns must map {' and '.join(missing)} to a CSV column")
        return v


class UserpoolPool(_Strict):
    """Rows of fake_data's user pool (``--userpool``) of one persona."""

    userpool: str = Field(pattern=NAME.pattern)


class Persona(_Strict):
    plays: str | None = None            # a day persona (DAY_PERSONAS); default: the name
    pool: UserpoolPool | CsvPool | None = None   # default: the userpool of `plays`
    login: bool = True                  # an anonymous persona skips the login
    mix: dict[str, float] = Field(default_factory=dict)   # knob -> default
    think: ThinkTime | None = None      # default after each step that sets none
    steps: list[AnyStep] = Field(min_length=1)

    @field_validator("plays")
    @classmethod
    def _plays(cls, v: str | None) -> str | None:
        if v is not None and v not in DAY_PERSONAS:
            raise ValueError(f"{v!r} is not a day persona; use one of {', '.join(DAY_PERSONAS)}")
        return v


class Other(_Strict):
    """Whose record a probe asks for: a row of another pool (its fields as ``other.*``), or
    one value of a list (``{{ user.forbidden_students }}``) as ``other.value``."""

    pool: str | None = Field(None, pattern=NAME.pattern)
    values: str | None = None
    avoid: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Other:
        if (self.pool is None) == (self.values is None):
            raise ValueError("a probe's other identity is either pool: NAME or values: LIST")
        return self


class Denial(_Strict):
    """What a refusal looks like: one of these statuses, or an answer that does not show the
    marker (a value of the other identity's that must never appear)."""

    status: list[int] = Field(default_factory=lambda: [401, 403, 404])
    absent: list[str] = Field(default_factory=list)


class Probe(_Strict):
    """As persona `as` (or each of a list of personas), ask for what belongs to someone else;
    anything but a denial is a data exposure (exit 4)."""

    as_: str | list[str] = Field(alias="as")
    other: Other | None = None
    request: Request
    metric: str | None = None
    # How the exposure record names what was asked; default: the value asked for, or the
    # other pool's name and the row's user_id (never a whole row: it holds a password).
    asked: str | None = None
    denied: Denial = Field(default_factory=Denial)
    steps: list[Step] = Field(default_factory=list)   # run before the request (same session)

    @field_validator("as_")
    @classmethod
    def _as(cls, v: str | list[str]) -> str | list[str]:
        for name in [v] if isinstance(v, str) else v:
            if not NAME.match(name):
                raise ValueError(f"persona {name!r} is not a lower-case name")
        if isinstance(v, list) and not v:
            raise ValueError("a probe runs as at least one persona")
        return v

    @property
    def personas(self) -> list[str]:
        """The personas whose sessions run this probe."""
        return [self.as_] if isinstance(self.as_, str) else list(self.as_)


class TargetFile(_Strict):
    version: Literal[1]
    name: str = Field(pattern=NAME.pattern)
    product: Product | None = None
    hosts: list[str] = Field(min_length=1)
    session: SessionCarrier = Field(default_factory=SessionCarrier)
    login: Login | None = None
    logout: list[Step] = Field(default_factory=list)
    personas: dict[str, Persona] = Field(min_length=1)
    probes: dict[str, Probe] = Field(default_factory=dict)
    # Whole-file checks (persona names, probes' personas, a login for personas that log in,
    # templates and variables) are the loader's, which can name the line of each.
