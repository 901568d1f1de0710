"""A scenario day as data: what it rehearses, the personas with their click-path mix and think
times, the assumptions its numbers rest on, and the day's activities, each a population times
factors (assumption names) spread over time windows placed against the bell schedule.

Built-in days live in ``scenarios/days/*.yaml``; ``load_scenario`` takes a name or a path and
turns every mistake into a `ScenarioError` naming the file, the field and the value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kernel.durations import seconds
from kernel.fields import field_errors
from kernel.files import builtin_names, resolve_named
from scenarios.ledger import LedgerError, check_name, check_source

DAYS_DIR = Path(__file__).with_name("days")
DEFAULTS_FILE = Path(__file__).with_name("assumptions.yaml")
CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# "07:30", "high.first_bell", "high.first_bell - 45m", "+8m" (an offset, in `every` windows)
MOMENT = re.compile(r"^\s*(?P<base>\d\d:\d\d|[a-z][a-z_]*\.[a-z_]+)?\s*"
                    r"(?:(?P<sign>[+-])\s*(?P<off>\d+(?:\.\d+)?\s*(?:s|m|h)))?\s*$")
PHASES = ("cutover_day", "first_semester", "steady_state")


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file, field and value."""


def clock_seconds(text: str) -> float:
    match = CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day; write HH:MM, e.g. 07:30")
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60


def span(text: str) -> tuple[float, float]:
    """``"07:30-09:00"`` -> (27000, 32400); ``24:00`` may end a span."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a span of the day; write HH:MM-HH:MM, e.g."
                         " 07:30-09:00")
    lo = clock_seconds(start)
    hi = 86400.0 if end.strip() == "24:00" else clock_seconds(end)
    if hi <= lo:
        raise ValueError(f"{text!r} ends before it starts")
    return lo, hi


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AssumptionSpec(_Strict):
    value: float = Field(ge=0, allow_inf_nan=False)
    unit: str = ""
    source: str

    @field_validator("source")
    @classmethod
    def _basis(cls, value: str) -> str:
        try:
            return check_source(value, "source")
        except LedgerError as exc:
            raise ValueError(str(exc).removeprefix("source: ")) from None


class Moment(_Strict):
    """A clock time or a bell event, plus or minus an offset."""

    base: str | None
    offset: float

    @classmethod
    def parse(cls, text: str) -> Moment:
        match = MOMENT.match(str(text))
        if not match or not (match.group("base") or match.group("off")):
            raise ValueError(f"{text!r} is not a moment; write 07:30, high.first_bell,"
                             " high.first_bell - 45m or (in an `every` window) +8m")
        sign = -1.0 if match.group("sign") == "-" else 1.0
        offset = sign * seconds(match.group("off").replace(" ", "")) if match.group("off") \
            else 0.0
        base = match.group("base")
        if base is not None and ":" in base:
            clock_seconds(base)  # validates HH:MM
        return cls(base=base, offset=offset)


class Window(_Strict):
    """`share` of the activity's sessions, spread over [from, to) with a shape: flat, or a
    triangle rising to `peak` and falling back (a storm around a bell). With `every`, the
    window repeats at each occurrence of that event (every period start) and `from`, `to`,
    `peak` are offsets from it; the share is split evenly across the occurrences."""

    start: Moment = Field(alias="from")
    end: Moment = Field(alias="to")
    share: float = Field(1.0, gt=0, le=1)
    shape: Literal["flat", "peak"] = "flat"
    peak: Moment | None = None
    every: str | None = None
    # Where the window's times come from; its width and apex are ledger lines with this source
    # (window.<activity>[.<k>].width_minutes, .apex_minutes). Default: an estimate of the day.
    source: str | None = None

    @field_validator("source")
    @classmethod
    def _basis(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_source(value, "source")
        except LedgerError as exc:
            raise ValueError(str(exc).removeprefix("source: ")) from None

    @field_validator("start", "end", "peak", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 8:30 as the sexagesimal number 510
            raise ValueError(f"{value!r} is not a moment; quote clock times in YAML, e.g."
                             " '08:30' (an unquoted 8:30 reads as a number)")
        return Moment.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Window:
        if self.every is not None:
            for name, m in (("from", self.start), ("to", self.end), ("peak", self.peak)):
                if m is not None and m.base is not None:
                    raise ValueError(f"in an `every` window, {name} is an offset like +8m"
                                     f" (value {m.base!r})")
        if self.shape == "flat" and self.peak is not None:
            raise ValueError("a flat window has no peak; set shape: peak or drop `peak`")
        return self


class Activity(_Strict):
    name: str
    description: str = ""
    persona: str
    population: str
    factors: list[str] = Field(default_factory=list)  # assumption names multiplied in
    windows: list[Window] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9_]*$", value):
            raise ValueError(f"{value!r} is not an activity name; write snake_case")
        return value

    @field_validator("windows")
    @classmethod
    def _shares(cls, windows: list[Window]) -> list[Window]:
        total = sum(w.share for w in windows)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"the windows' shares add up to {total:g}; make them add up to 1")
        return windows


class PersonaSpec(_Strict):
    """How a persona behaves in this day: its think-time scale and its click-path mix; a mix
    value is a number or the name of an assumption (then it is in the ledger)."""

    think_scale: float = Field(1.0, ge=0)
    mix: dict[str, float | str] = Field(default_factory=dict)


def _duration(value: Any) -> float:
    result = seconds(value)
    if result <= 0:
        raise ValueError(f"{value!r} must be a positive duration, e.g. 60s or 1m")
    return result


class Step(_Strict):
    """Capacity probing: the base mix's rates x `factor`, held `seconds` (real)."""

    factor: float = Field(gt=0, allow_inf_nan=False)
    seconds: float

    _seconds = field_validator("seconds", mode="before")(_duration)


class Sweep(_Strict):
    """Closed-loop points: `users` sessions of each persona always in flight, per point."""

    personas: dict[str, float] = Field(min_length=1)  # persona -> share of the users
    users: list[int] = Field(min_length=1)
    seconds: float
    think_scale: float = Field(0.0, ge=0, allow_inf_nan=False)  # back to back by default

    _seconds = field_validator("seconds", mode="before")(_duration)

    @field_validator("personas")
    @classmethod
    def _shares(cls, personas: dict[str, float]) -> dict[str, float]:
        if any(not (v >= 0) for v in personas.values()) or not sum(personas.values()) > 0:
            raise ValueError("shares of the users are non-negative and add up to more than 0")
        return personas

    @field_validator("users")
    @classmethod
    def _positive(cls, users: list[int]) -> list[int]:
        if any(u < 1 for u in users):
            raise ValueError(f"concurrency points must be at least 1 (value {users})")
        return users


class PlanKnobs(_Strict):
    """Load-plan settings a scenario may fix (the rest come from the ledger or defaults)."""

    probes: list[str] | None = None  # the probe rate is the ledger's probe.rate
    drain_seconds: float | None = Field(None, ge=0)
    late_after_seconds: float | None = Field(None, ge=0)
    drop_after_seconds: float | None = Field(None, gt=0)


class Scenario(_Strict):
    name: str
    title: str
    rehearses: str = Field(min_length=20)   # the header: what this day rehearses, and why
    target: str = "staging"
    phase: Literal["cutover_day", "first_semester", "steady_state"] = "steady_state"
    day: str                                # the simulated span, HH:MM-HH:MM
    # Which day of the profile's calendar: first_day, cutover, end:<grading period> or a
    # YYYY-MM-DD date; bells ring only on school days. None: any ordinary school day.
    date: str | None = None
    resolution: float = 300.0               # simulated seconds per slot of the curve
    speed: float = Field(60.0, gt=0, allow_inf_nan=False)  # simulated s per real s, default
    duration_seconds: float | None = Field(None, gt=0, allow_inf_nan=False)  # soak: fixed
    peak_rate: float | None = Field(None, gt=0, allow_inf_nan=False)  # normalize to this peak
    plan: PlanKnobs = PlanKnobs()
    personas: dict[str, PersonaSpec] = Field(default_factory=dict)
    assumptions: dict[str, AssumptionSpec] = Field(default_factory=dict)
    activities: list[Activity] = Field(min_length=1)
    steps: list[Step] = Field(default_factory=list)
    sweep: Sweep | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]*$", value):
            raise ValueError(f"{value!r} is not a scenario name; write lower-case-with-dashes")
        return value

    @field_validator("day")
    @classmethod
    def _day(cls, value: str) -> str:
        span(value)
        return value

    @field_validator("resolution", mode="before")
    @classmethod
    def _resolution(cls, value: Any) -> float:
        resolution = seconds(value)
        if not 10 <= resolution <= 3600:
            raise ValueError(f"resolution {value!r} must be between 10s and 1h")
        return resolution

    @field_validator("assumptions")
    @classmethod
    def _assumption_names(cls, value: dict[str, AssumptionSpec]) -> dict[str, AssumptionSpec]:
        for name in value:
            try:
                check_name(name, "assumptions")
            except LedgerError as exc:
                raise ValueError(str(exc).removeprefix("assumptions: ")) from None
        return value

    @field_validator("activities")
    @classmethod
    def _unique(cls, activities: list[Activity]) -> list[Activity]:
        names = [a.name for a in activities]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"activity names must be unique: {', '.join(twice)} repeats")
        return activities

    @model_validator(mode="after")
    def _capacity(self) -> Scenario:
        if (self.steps or self.sweep) and self.duration_seconds:
            raise ValueError("a capacity scenario's length is its steps and sweep; drop"
                             " duration_seconds")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """The simulated day, clock seconds."""
        return span(self.day)


def _message(path: Path | str, exc: ValidationError) -> str:
    return "\n".join([f"{path}: the scenario is not valid:", *field_errors(exc),
                      "  See docs/scenarios.md for the format."])


def builtin_scenarios() -> list[str]:
    return builtin_names(DAYS_DIR)


def resolve(name_or_path: str) -> Path:
    return resolve_named(name_or_path, DAYS_DIR)


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (a {what} is UTF-8 YAML)") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: a {what} is a YAML mapping (value {raw!r})")
    return raw


def load_scenario(name_or_path: str) -> tuple[Scenario, Path]:
    """A built-in day by name (``back-to-school``) or any scenario file by path."""
    path = resolve(name_or_path)
    if not path.is_file():
        raise ScenarioError(f"scenario {name_or_path!r} not found: no file {path}. Use a"
                            f" built-in day ({', '.join(builtin_scenarios())}) or a path to a"
                            " YAML file.")
    raw = read_yaml(path, "scenario")
    try:
        return Scenario.model_validate(raw), path
    except ValidationError as exc:
        raise ScenarioError(_message(path, exc)) from None


def load_defaults(path: Path = DEFAULTS_FILE) -> dict[str, AssumptionSpec]:
    """The shared assumptions every scenario starts from (a scenario may restate any)."""
    raw = read_yaml(path, "assumptions file")
    try:
        return {check_name(str(k), str(path)): AssumptionSpec.model_validate(v)
                for k, v in raw.items()}
    except ValidationError as exc:
        raise ScenarioError(_message(path, exc)) from None
    except LedgerError as exc:
        raise ScenarioError(str(exc)) from None
