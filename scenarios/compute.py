"""From a scenario day and a district profile to arrival curves and a load plan.

Each activity's sessions for the day are its population times its factors (ledger values);
its windows spread them over clock time (flat or peaked, placed against the bell schedule).
The day is cut into slots of the scenario's resolution; a slot's rate per persona is the
sessions falling in it divided by its simulated length. Rates stay real when the run is
compressed: ``--speed`` shortens each slot's real duration, not its intensity. ``--scale``
multiplies rates; ``--window`` keeps part of the day. Concurrency is Little's law (rate x
session seconds of the persona's click path).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_data.profile import Profile
from kernel.clock import hhmm
from loadtests.plan import LoadPlan, PlanError, build_plan
from loadtests.targets import Target, load_target
from scenarios.builder import Builder, Overrides
from scenarios.ledger import Assumption, Ledger, LedgerError
from scenarios.model import DEFAULTS_FILE, Scenario, ScenarioError, span
from scenarios.shapes import Spread

# Ledger names that set load-plan knobs rather than rates.
PLAN_ASSUMPTIONS = {"login.attempts": ("login_attempts", int),
                    "login.backoff_seconds": ("login_backoff_seconds", float),
                    "login.timeout_seconds": ("login_timeout_seconds", float),
                    "login.max_returns": ("max_returns", int),
                    "login.return_delay_median_minutes": ("return_delay_median_minutes", float),
                    "login.return_delay_sigma": ("return_delay_sigma", float),
                    "login.typo_rate": ("typo_rate", float),
                    "probe.rate": ("probe_rate", float),
                    "think.scale": ("think_scale", float)}


@dataclass(frozen=True)
class Slot:
    start: float                 # clock seconds
    end: float
    rates: dict[str, float]      # persona -> sessions per second
    label: str                   # the activity sending most sessions in the slot
    users: dict[str, int] = field(default_factory=dict)  # closed-loop points (capacity)
    real_seconds: float = 0.0


@dataclass(frozen=True)
class PersonaSummary:
    persona: str
    sessions: float              # over the planned span, at full (simulated) length
    peak_rate: float             # sessions per second
    peak_at: float               # clock seconds of the peak slot's start
    session_seconds: float       # W in Little's law
    peak_concurrency: float      # peak_rate x session_seconds: sessions in flight
    peak_logged_in: float = 0.0  # people who logged in within the session lifetime, at most


@dataclass
class ComputedPlan:
    scenario: Scenario
    source: str
    profile: str
    span: tuple[float, float]    # the planned part of the day (clock seconds)
    speed: float
    scale: float
    normalized: float            # factor applied to reach the scenario's peak_rate (else 1)
    slots: list[Slot]
    activities: dict[str, float]  # activity -> sessions in the planned span
    personas: dict[str, PersonaSummary]
    total_peak: float
    total_peak_at: float
    peak_concurrency: float      # sessions in flight at the busiest moment (Little's law)
    ledger: list[Assumption]
    plan: LoadPlan
    # The busiest slot of the day itself, per persona: for a capacity day (whose plan holds its
    # steps and sweeps instead of the day) the mix the capacity search offers.
    day_peak_rates: dict[str, float] = field(default_factory=dict)
    # The most people logged in at once, counting a login for the target's session lifetime
    # (ledger: session.lifetime_seconds): "concurrent users" as vendors and the news count them.
    peak_logged_in: float = 0.0
    session_lifetime: float = 0.0

    @property
    def duration(self) -> float:
        return self.plan.duration

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name, "title": self.scenario.title,
            "rehearses": self.scenario.rehearses, "source": self.source,
            "profile": self.profile, "date": self.plan.date,
            "window": [hhmm(self.span[0]), hhmm(self.span[1])],
            "speed": self.speed, "scale": self.scale, "normalized": self.normalized,
            "real_seconds": self.duration,
            "activities": self.activities,
            "personas": {p: vars(s) for p, s in self.personas.items()},
            "total_peak_rate": self.total_peak, "total_peak_at": hhmm(self.total_peak_at),
            "peak_concurrency": self.peak_concurrency,
            "peak_logged_in": self.peak_logged_in,
            "session_lifetime_seconds": self.session_lifetime,
            "slots": [{"start": hhmm(s.start), "end": hhmm(s.end), "rates": s.rates,
                       "label": s.label, "users": s.users, "real_seconds": s.real_seconds}
                      for s in self.slots],
            "assumptions": [a.as_json() for a in self.ledger],
            "plan": self.plan.model_dump(mode="json"),
        }


def compute(scenario: Scenario, profile: Profile, *, source: str = "scenario",
            speed: float | None = None, scale: float = 1.0,
            window: str | None = None, overrides: Overrides = (), seed: int = 42,
            defaults: Path = DEFAULTS_FILE, target: Target | None = None,
            drop: Collection[str] = ()) -> ComputedPlan:
    """The scenario's curves, peaks, concurrency, ledger and load plan. Raises ScenarioError
    (or LedgerError) naming the file, the field and the value.

    `target` replaces the scenario's own (a district's target file): the day then runs with
    the personas the target plays, less those in `drop`, which are left out on purpose."""
    for name, value, must in (("--scale", scale, "the rate multiplier"),
                              ("--speed", speed, "simulated minutes per real minute")):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ScenarioError(f"{name} {value:g}: {must} must be a positive number")
    if target is None:
        if drop:
            raise ScenarioError("--drop-persona leaves out personas a target file does not play;"
                                f" the built-in target {scenario.target!r} plays them all")
        try:
            target = load_target(scenario.target)
        except ValueError as exc:
            raise ScenarioError(f"{source}: field target: {exc}") from None
    else:
        scenario = for_target(scenario, target, drop, source)
    b = Builder(scenario, source, profile, target)
    ledger = b.ledger(defaults, overrides)
    b.check_references(ledger)
    date = b.date()

    totals = {}
    spreads = {}
    for i, a in enumerate(scenario.activities):
        sessions = ledger.value(a.population)
        for f in a.factors:
            sessions *= ledger.value(f)
        totals[a.name], spreads[a.name] = sessions, b.spreads(i, ledger)

    lo_day, hi_day = scenario.bounds
    lo, hi = (lo_day, hi_day) if window is None else _window(window, scenario)
    # The whole day's slots (split at the window's edges), so that normalizing to a peak
    # rate does not depend on the window; then only the window's are kept.
    edges = sorted({*_edges(lo_day, hi_day, scenario.resolution), lo, hi})
    day_slots = [_slot(s0, s1, scenario, totals, spreads)
                 for s0, s1 in itertools.pairwise(edges)]
    peak_total = max(sum(r.values()) for _, _, r, _ in day_slots)
    normalized = 1.0
    if scenario.peak_rate is not None and peak_total > 0:
        normalized = scenario.peak_rate / peak_total
    factor = normalized * scale
    if speed is None:  # a soak's length is the whole day's, whatever the window
        speed = (hi_day - lo_day) / scenario.duration_seconds if scenario.duration_seconds \
            else scenario.speed
    slots = [Slot(s0, s1, {p: _tidy(r * factor) for p, r in rates.items()}, label,
                  real_seconds=(s1 - s0) / speed)
             for s0, s1, rates, label in day_slots if lo <= s0 and s1 <= hi]
    for i in range(len(scenario.activities)):
        name = scenario.activities[i].name
        totals[name] = factor * totals[name] * sum(sp.between(lo, hi) for sp in spreads[name])
    day_peak = max(slots, key=lambda s: sum(s.rates.values())).rates if slots else {}
    capacity = _capacity_slots(scenario, slots, hi)
    if capacity:  # a capacity probe does not replay the day: the day only gave the mix
        slots = capacity

    think = {p: spec.think_scale for p, spec in scenario.personas.items()}
    overall_think = ledger.value("think.scale") if "think.scale" in ledger else 1.0
    seconds_of = {p: ledger.value(f"session_seconds.{p}") * think.get(p, 1.0) * overall_think
                  for p in {a.persona for a in scenario.activities}
                  if f"session_seconds.{p}" in ledger}
    lifetime = ledger.value("session.lifetime_seconds")
    logged_in = peak_logged_in([(s0, s1, {p: r * factor for p, r in rates.items()})
                                for s0, s1, rates, _ in day_slots], lifetime, lo, hi)
    personas = {p: dataclasses.replace(s, peak_logged_in=logged_in.get(p, 0.0))
                for p, s in _summaries(slots, seconds_of).items()}
    busiest_slot = max(slots, key=lambda s: sum(s.rates.values()))
    concurrency = max(sum(r * seconds_of.get(p, 30.0) for p, r in s.rates.items())
                      + sum(s.users.values()) for s in slots)
    mix = {p: b.mix(p, ledger) for p in scenario.personas if scenario.personas[p].mix}
    plan = _plan(scenario, source, slots, lo, speed, think, mix, ledger, seed, profile.name,
                 date)
    b.check_overrides_used(ledger, overrides)
    return ComputedPlan(scenario, source, profile.name, (lo, hi), speed, scale, normalized,
                        slots, totals, personas, sum(busiest_slot.rates.values()),
                        busiest_slot.start, concurrency, ledger.rows(), plan, dict(day_peak),
                        logged_in.get("*", 0.0), lifetime)


def peak_logged_in(slots: Sequence[tuple[float, float, Mapping[str, float]]], lifetime: float,
                   lo: float, hi: float) -> dict[str, float]:
    """The most people logged in at once, per persona and in all ("*"), counting everyone who
    logged in within the last `lifetime` seconds, at any moment of [lo, hi]: what vendors and
    news reports call concurrent users, as opposed to the sessions in flight of Little's law.
    The count over a sliding window of a piecewise-constant rate is piecewise linear, so its
    maximum is at a moment when the window's start or end meets a slot edge."""
    edges = {e for s0, s1, _ in slots for e in (s0, s1)}
    moments = sorted({t for e in edges for t in (e, e + lifetime) if lo <= t <= hi} | {lo, hi})
    best: dict[str, float] = {}
    for t in moments:
        start = t - lifetime
        now: dict[str, float] = {}
        for s0, s1, rates in slots:
            overlap = min(s1, t) - max(s0, start)
            if overlap > 0:
                for p, r in rates.items():
                    now[p] = now.get(p, 0.0) + r * overlap
        now["*"] = sum(now.values())
        for p, n in now.items():
            best[p] = max(best.get(p, 0.0), n)
    return best


def _tidy(rate: float) -> float:
    """Nine significant digits: equal neighbouring slots stay equal (and merge into one
    stage) instead of differing in the last bit of a float sum."""
    return float(f"{rate:.9g}")


def _slot(s0: float, s1: float, scenario: Scenario, totals: Mapping[str, float],
          spreads: Mapping[str, list[Spread]]) -> tuple[float, float, dict[str, float], str]:
    by_activity = {a.name: totals[a.name] * sum(sp.between(s0, s1) for sp in spreads[a.name])
                   for a in scenario.activities}
    rates: dict[str, float] = {}
    for a in scenario.activities:
        rates[a.persona] = rates.get(a.persona, 0.0) + by_activity[a.name] / (s1 - s0)
    busiest = max(by_activity, key=lambda n: by_activity[n])
    return s0, s1, rates, busiest if by_activity[busiest] > 0 else "quiet"


def _window(text: str, scenario: Scenario) -> tuple[float, float]:
    try:
        lo, hi = span(text)
    except ValueError as exc:
        raise ScenarioError(f"--window: {exc}") from None
    day_lo, day_hi = scenario.bounds
    if lo < day_lo or hi > day_hi:
        raise ScenarioError(f"--window {text}: outside the scenario's day {scenario.day};"
                            " choose a window inside it")
    return lo, hi


def _edges(day_lo: float, day_hi: float, step: float) -> list[float]:
    """Slot edges every `step` from the day's start to its end."""
    count = math.ceil((day_hi - day_lo) / step - 1e-9)
    return [day_lo + k * step for k in range(count)] + [day_hi]


def _capacity_slots(scenario: Scenario, slots: list[Slot], end: float) -> list[Slot]:
    """capacity-probe: the peak slot's mix, stepped up; then closed-loop points (none for
    an ordinary day)."""
    if not scenario.steps and scenario.sweep is None:
        return []
    base = max(slots, key=lambda s: sum(s.rates.values())).rates
    out = [Slot(end, end, {p: r * step.factor for p, r in base.items()},
                f"step x{step.factor:g}", real_seconds=step.seconds)
           for step in scenario.steps]
    if scenario.sweep is not None:
        sw = scenario.sweep
        for n in sw.users:
            users = apportion(n, sw.personas)
            out.append(Slot(end, end, {}, f"closed {n} users", users=users,
                            real_seconds=sw.seconds))
    return out


def apportion(n: int, shares: Mapping[str, float]) -> dict[str, int]:
    """`n` users split by share, largest remainders first, so they add up to exactly `n`
    (a capacity fit needs the concurrency it was asked for)."""
    total = sum(shares.values())
    exact = {p: n * s / total for p, s in shares.items()}
    users = {p: int(v) for p, v in exact.items()}
    for p in sorted(exact, key=lambda p: users[p] - exact[p])[:n - sum(users.values())]:
        users[p] += 1
    return {p: u for p, u in users.items() if u}


def _summaries(slots: list[Slot], seconds_of: Mapping[str, float]) -> dict[str, PersonaSummary]:
    out = {}
    for p in sorted({p for s in slots for p in s.rates}):
        peak = max(slots, key=lambda s: s.rates.get(p, 0.0))
        sessions = sum(s.rates.get(p, 0.0) * (s.end - s.start) for s in slots)
        w = seconds_of.get(p, 30.0)
        out[p] = PersonaSummary(p, sessions, peak.rates.get(p, 0.0), peak.start, w,
                                peak.rates.get(p, 0.0) * w)
    return out


def day_personas(scenario: Scenario) -> list[str]:
    """The personas a day sends: its activities' and its sweep's."""
    used = dict.fromkeys(a.persona for a in scenario.activities)
    if scenario.sweep is not None:
        used.update(dict.fromkeys(scenario.sweep.personas))
    return list(used)


def for_target(scenario: Scenario, target: Target, drop: Collection[str],
               source: str) -> Scenario:
    """The day as it runs against another target: the personas it lacks refused unless
    dropped (then their activities are left out), and the click-path knobs kept only where
    the target declares them (a day's knobs are written for the staging SIS's paths)."""
    used = day_personas(scenario)
    unknown = sorted(set(drop) - set(used))
    if unknown:
        raise ScenarioError(f"--drop-persona {', '.join(unknown)}: the day {scenario.name!r}"
                            f" sends no such persona; it sends {', '.join(used)}")
    missing = [p for p in used if p not in target.click_paths and p not in drop]
    if missing:
        raise ScenarioError(
            f"target {target.name!r} plays no {', '.join(missing)}, which the day"
            f" {scenario.name!r} sends ({', '.join(used)}). Record that persona, let one of the"
            f" target's personas play it (plays: {missing[0]}), or leave it out with"
            f" --drop-persona {missing[0]} (the verdict then says it was not rehearsed)")
    activities = [a for a in scenario.activities if a.persona not in drop]
    if not activities:
        raise ScenarioError(f"--drop-persona leaves the day {scenario.name!r} with nothing to"
                            " send")
    personas = {name: spec.model_copy(update={"mix": {
        k: v for k, v in spec.mix.items() if k in target.mix.get(name, {})}})
        for name, spec in scenario.personas.items() if name not in drop}
    update: dict[str, Any] = {"activities": activities, "personas": personas,
                              "target": target.name}
    if scenario.sweep is not None:
        shares = {p: s for p, s in scenario.sweep.personas.items() if p not in drop}
        if not shares:
            raise ScenarioError(f"--drop-persona leaves the sweep of {scenario.name!r} with no"
                                " persona")
        update["sweep"] = scenario.sweep.model_copy(update={"personas": shares})
    return scenario.model_copy(update=update)


def _plan(scenario: Scenario, source: str, slots: list[Slot], lo: float, speed: float,
          think: dict[str, float], mix: dict[str, dict[str, float]], ledger: Ledger,
          seed: int, profile: str, date: str) -> LoadPlan:
    stages: list[dict[str, Any]] = []
    for s in slots:
        rates = {p: r for p, r in s.rates.items() if r > 0}
        last = stages[-1] if stages else None
        if last and last["rates"] == rates and last["label"] == s.label and not s.users \
                and not last.get("users"):
            last["seconds"] += s.real_seconds
            continue
        stages.append({"seconds": s.real_seconds, "rates": rates, "label": s.label,
                       **({"users": s.users} if s.users else {})})
    knobs: dict[str, Any] = {k: v for k, v in scenario.plan.model_dump().items()
                             if v is not None}
    for name, (knob, kind) in PLAN_ASSUMPTIONS.items():
        if name in ledger and knob not in knobs:
            knobs[knob] = kind(ledger.value(name))
    raw = {"scenario": scenario.name, "title": scenario.title, "profile": profile, "date": date,
           "target": scenario.target, "stages": stages, "clock_start": hhmm(lo),
           "speed": speed, "think_scales": think, "seed": seed,
           "mix": mix,
           "assumptions": [a.as_json() for a in ledger.rows()], **knobs}
    if scenario.sweep is not None:
        raw["closed_think_scale"] = scenario.sweep.think_scale
    try:
        return build_plan(raw, source=source)
    except PlanError as exc:
        raise ScenarioError(str(exc)) from None


__all__ = ["ComputedPlan", "LedgerError", "apportion", "compute"]
