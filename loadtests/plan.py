"""The load plan: what the engine is asked to do, as data.

A plan is the arrival-rate stages per persona plus the knobs of the traffic (think-time scale,
probe rate, login retries, lateness limits). The scenarios part computes plans from a district
and a day; here a plan can also be read from a YAML/JSON file or built from ``--rate`` and
``--duration`` for a constant-rate run. Rates are real sessions per second; the simulated
school-day clock only labels the run (``clock_start`` + ``speed`` x elapsed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kernel.fields import field_errors
from loadtests.arrivals import RateCurve, RateStage


class PlanError(ValueError):
    """A plan that cannot be used; the message names the file, field and value."""


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(gt=0)
    rates: dict[str, float] = Field(default_factory=dict)
    label: str = ""
    # Closed loop (capacity sweeps): this many sessions per persona always in flight, each
    # started as soon as the previous one ends, instead of (or on top of) open arrivals.
    users: dict[str, int] = Field(default_factory=dict)

    @field_validator("users")
    @classmethod
    def _users(cls, users: dict[str, int]) -> dict[str, int]:
        for persona, count in users.items():
            if count < 0:
                raise ValueError(f"closed-loop users of {persona!r} is {count}; it cannot be"
                                 " negative")
        return users

    @field_validator("rates")
    @classmethod
    def _non_negative(cls, rates: dict[str, float]) -> dict[str, float]:
        for persona, rate in rates.items():
            if rate < 0:
                raise ValueError(f"rate of {persona!r} is {rate}; rates are sessions per second"
                                 " and cannot be negative")
        return rates


class LoadPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: str = "constant"
    title: str = ""
    profile: str = ""                       # the district profile the rates came from
    date: str = ""                          # the calendar day rehearsed, YYYY-MM-DD
    target: str = "staging"                 # which click paths (loadtests.targets)
    # A district's own SIS as a target file (loadtests.targetfile), validated and carried
    # whole in the plan so that every load process, local or remote, runs the same paths.
    target_file: dict[str, Any] | None = None
    # The day's personas the target does not play, left out on purpose (--drop-persona).
    not_rehearsed: list[str] = Field(default_factory=list)
    stages: list[Stage] = Field(min_length=1)
    clock_start: str = "07:00"              # simulated time of day at the start, HH:MM
    speed: float = Field(1.0, gt=0)         # simulated seconds per real second
    think_scale: float = Field(1.0, ge=0)   # multiplies every think time
    think_scales: dict[str, float] = Field(default_factory=dict)  # per persona, on top
    closed_think_scale: float = Field(0.0, ge=0)  # closed-loop stages: back to back
    probe_rate: float = Field(0.05, ge=0, le=1)  # chance a session runs each eligible probe
    probes: list[str] | None = None         # None: every probe the target has
    login_attempts: int = Field(3, ge=1)
    login_backoff_seconds: float = Field(1.0, ge=0)
    login_timeout_seconds: float = Field(10.0, gt=0)  # a person gives up waiting and retries
    # Re-arrival: a person whose session failed at login (gave up, locked) comes back after a
    # lognormal delay (median in simulated minutes, converted by `speed`), up to `max_returns`
    # times; 0 (the default of a bare plan) turns it off. Scenario plans take the ledger's.
    max_returns: int = Field(0, ge=0)
    return_delay_median_minutes: float = Field(3.0, gt=0)
    return_delay_sigma: float = Field(0.8, ge=0)
    # The chance that a login attempt is first typed with a wrong password (then retyped)
    typo_rate: float = Field(0.0, ge=0, le=1)
    late_after_seconds: float = Field(0.25, ge=0)
    drop_after_seconds: float = Field(30.0, gt=0)
    max_users: int | None = Field(None, ge=1)   # None: USERS_PER_PROCESS x load processes
    session_seconds_estimate: float = Field(30.0, gt=0)  # think seconds of a session of a
    # target that does not declare its own (at think scale 1), until sessions are measured
    drain_seconds: float = Field(30.0, ge=0)
    seed: int = 42
    oneroster_clients: list[str] = Field(default_factory=list)  # "client_id:secret"
    # Click-path mix per persona (knob -> value); the target's MIX names the knobs.
    mix: dict[str, dict[str, float]] = Field(default_factory=dict)
    # The assumption ledger the rates were computed from (scenarios.ledger), carried into
    # run.json and the report.
    assumptions: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("clock_start")
    @classmethod
    def _clock(cls, value: str) -> str:
        hh, _, mm = value.partition(":")
        if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 07:30")
        return value

    @field_validator("think_scales")
    @classmethod
    def _scales(cls, scales: dict[str, float]) -> dict[str, float]:
        for persona, scale in scales.items():
            if scale < 0:
                raise ValueError(f"think scale of {persona!r} is {scale}; it cannot be negative")
        return scales

    def persona_think_scale(self, persona: str) -> float:
        return self.think_scale * self.think_scales.get(persona, 1.0)

    @property
    def curve(self) -> RateCurve:
        return RateCurve([RateStage(s.seconds, s.rates) for s in self.stages])

    @property
    def personas(self) -> tuple[str, ...]:
        """Every persona the plan sends: by arrival rate, or in closed-loop stages."""
        seen = dict.fromkeys(self.curve.personas)
        seen.update(dict.fromkeys(p for s in self.stages for p, n in s.users.items() if n))
        return tuple(seen)

    @property
    def duration(self) -> float:
        return sum(s.seconds for s in self.stages)

    def clock_seconds(self, elapsed: float) -> float:
        """The simulated time of day (seconds after midnight) `elapsed` real seconds in."""
        hh, mm = (int(x) for x in self.clock_start.split(":"))
        return (hh * 3600 + mm * 60 + self.speed * elapsed) % 86400

    def stage_label(self, elapsed: float) -> str:
        index = self.curve.stage_at(elapsed)
        return self.stages[index].label or f"stage {index + 1}"


def parse_rates(text: str, source: str = "--rate") -> dict[str, float]:
    """``teacher=2,guardian=0.5`` -> {"teacher": 2.0, "guardian": 0.5}."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        persona, sep, value = part.partition("=")
        try:
            rates[persona.strip()] = float(value)
        except ValueError:
            raise PlanError(f"{source}: {part!r} is not persona=rate; write e.g."
                            " teacher=2,guardian=0.5 (sessions per second)") from None
        if not sep or not persona.strip():
            raise PlanError(f"{source}: {part!r} is not persona=rate")
    return rates


def _message(source: str, exc: ValidationError) -> str:
    return "\n".join([f"{source}: the plan is not valid:", *field_errors(exc)])


def load_plan(path: Path, overrides: dict[str, Any] | None = None) -> LoadPlan:
    """Read a plan file (YAML or JSON), with option overrides on top."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the plan ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise PlanError(f"{path}: not a text file (byte {exc.start} is not UTF-8); a plan is"
                        " UTF-8 YAML or JSON") from None
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: not YAML or JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise PlanError(f"{path}: a plan is a mapping with at least 'stages'")
    return build_plan(raw, overrides, source=str(path))


def build_plan(raw: dict[str, Any], overrides: dict[str, Any] | None = None, *,
               source: str = "plan") -> LoadPlan:
    try:
        return LoadPlan.model_validate({**raw, **(overrides or {})})
    except ValidationError as exc:
        raise PlanError(_message(source, exc)) from None


def constant_plan(rates: dict[str, float], seconds: float,
                  overrides: dict[str, Any] | None = None) -> LoadPlan:
    return build_plan({"stages": [{"seconds": seconds, "rates": rates, "label": "constant"}]},
                      overrides, source="--rate/--duration")


def plan_json(plan: LoadPlan) -> str:
    return json.dumps(plan.model_dump(mode="json"), sort_keys=True)
