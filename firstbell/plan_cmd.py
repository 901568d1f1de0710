"""`firstbell plan`: a scenario's computed arrival curves, peaks, concurrency (Little's law)
and assumption ledger, without sending traffic; and the computing of a scenario's plan, as
`run`, `capacity` and `rehearse` do it."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from fake_data.profile import ProfileError, load_profile
from firstbell.cli_options import (
    ASSUME,
    ASSUMPTIONS,
    DROP_PERSONA,
    PROFILE,
    SCALE,
    SCENARIO_HELP,
    SEED,
    SPEED,
    TARGET_SPEC,
    WINDOW,
)
from kernel.clock import hhmm
from kernel.durations import seconds
from kernel.errors import UserError
from loadtests.returns import planned
from loadtests.rundir import write_json
from loadtests.target_source import target_file_payload, target_of_payload
from scenarios.compute import ComputedPlan, compute
from scenarios.ledger import LedgerError, load_overrides, parse_assume
from scenarios.model import ScenarioError, load_scenario

BARS = " ▁▂▃▄▅▆▇█"


def computed_plan(scenario: str, profile: str, speed: float | None, scale: float,
                  window: str | None, assume: list[str] | None,
                  assumptions: Path | None, seed: int = 42, target_spec: Path | None = None,
                  drop: Sequence[str] = ()) -> ComputedPlan:
    """The scenario computed against the profile (and a district's target file, which the
    plan then carries), every input error as a UserError."""
    payload = target_file_payload(target_spec) if target_spec is not None else None
    target = target_of_payload(payload) if payload is not None else None
    try:
        day, path = load_scenario(scenario)
        overrides = []
        if assumptions is not None:
            overrides.append((load_overrides(assumptions), str(assumptions)))
        if assume:
            overrides.append((parse_assume(assume), "--assume"))
        computed = compute(day, load_profile(profile), source=str(path), speed=speed,
                           scale=scale, window=window, overrides=overrides, seed=seed,
                           target=target, drop=drop)
    except (ScenarioError, LedgerError, ProfileError) as exc:
        raise UserError(str(exc)) from None
    if payload is not None:
        computed.plan = computed.plan.model_copy(update={
            "target_file": payload, "not_rehearsed": sorted(drop)})
    return computed


@dataclass(frozen=True)
class PlanRequest:
    """What a scenario's plan is computed from: `firstbell plan`'s inputs, which `run` and
    `rehearse` take too."""

    scenario: str
    profile: str = "cps"
    speed: float | None = None
    scale: float = 1.0
    window: str | None = None
    assume: list[str] | None = None
    assumptions: Path | None = None
    seed: int = 42
    target_spec: Path | None = None    # a district's own SIS as a target file
    drop: tuple[str, ...] = ()         # day personas that target does not play, left out

    def compute(self) -> ComputedPlan:
        return computed_plan(self.scenario, self.profile, self.speed, self.scale, self.window,
                             self.assume, self.assumptions, self.seed, self.target_spec,
                             self.drop)


def plan(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    profile: str = PROFILE, speed: float | None = SPEED, scale: float = SCALE,
    window: str | None = WINDOW, assume: list[str] | None = ASSUME,
    assumptions: Path | None = ASSUMPTIONS, seed: int = SEED,
    target_spec: Path | None = TARGET_SPEC, drop_persona: list[str] | None = DROP_PERSONA,
    every: str = typer.Option("", "--every", help="Rows of the curve table, e.g. 30m"
                                                  " (default: about 30 rows)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole plan as JSON."),
    out: Path | None = typer.Option(None, "--out", help="Also write the load plan (the"
                                                        " engine's --plan file) here."),
) -> None:
    """Compute a day's traffic from the district, without sending any.

    Arrival curves per persona, peak rates, concurrency and the assumption ledger of a
    scenario, computed from the district profile.

    Example: firstbell plan back-to-school --profile cps --window 07:00-09:00
    """
    try:
        step = seconds(every) if every else None
    except ValueError as exc:
        raise UserError(f"--every: {exc}") from None
    if step is not None and step < 60:
        raise UserError(f"--every {every}: rows of less than a minute; write e.g. 5m or 30m")
    computed = PlanRequest(scenario, profile, speed, scale, window, assume, assumptions,
                           seed, target_spec, tuple(drop_persona or ())).compute()
    if out is not None:
        try:
            write_json(out, computed.plan.model_dump(mode="json"))
        except OSError as exc:
            raise UserError(f"option --out: cannot write {out} ({exc.strerror})") from None
    if as_json:
        typer.echo(json.dumps({**computed.as_json(), "retries": demand(computed)}, indent=1))
        return
    render(computed, Console(width=120), step)


def render(c: ComputedPlan, console: Console, step: float | None = None) -> None:
    s = c.scenario
    console.print(f"[bold]{s.name}[/]: {s.title}")
    console.print(s.rehearses, style="dim")
    minutes = c.duration / 60
    console.print(f"profile {c.profile}" + (f" · {c.plan.date}" if c.plan.date else "")
                  + f" · day {hhmm(c.span[0])}-{hhmm(c.span[1])} · speed"
                  f" {c.speed:g} (a real minute = {c.speed:g} simulated) · scale {c.scale:g}"
                  + (f" · normalized x{c.normalized:.4g} to a {s.peak_rate:g}/s peak"
                     if c.normalized != 1.0 else "")
                  + f" · runs {minutes:.1f} min", highlight=False)
    console.print(_curves(c, step))
    console.print(_peaks(c))
    busiest = max(c.slots, key=lambda s: sum(s.rates.values()))
    when = busiest.label if busiest.end == busiest.start else f"at {hhmm(c.total_peak_at)}"
    console.print(f"Peak: {c.total_peak:.2f} sessions/s {when}; at most"
                  f" {c.peak_concurrency:,.0f} sessions in flight (Little's law, rate x session"
                  f" length) and {c.peak_logged_in:,.0f} people logged in (logins within the"
                  f" {c.session_lifetime / 60:g}-minute session lifetime:"
                  " what vendors call concurrent users).", highlight=False)
    if c.plan.not_rehearsed:
        console.print(f"Not rehearsed: target {c.plan.target} plays no"
                      f" {', '.join(c.plan.not_rehearsed)} (--drop-persona).", highlight=False)
    console.print(_demand(c))
    console.print(_ledger(c))


def demand(c: ComputedPlan) -> dict[str, Any]:
    """The plan's demand without and with retries (`loadtests.returns.planned`): sessions of
    the simulated day, login attempts, and the peak rate of login attempts, for the people
    the day sends once each (first visits); with the ledger's typo rate and no failure; and
    the most they can cost if every login fails (each session `login_attempts` tries, each
    person back `max_returns` times)."""
    amp = planned(c.plan)
    sessions = sum(ps.sessions for ps in c.personas.values())
    rows = {"without_retries": {"sessions_per_person": 1.0, "attempts_per_person": 1.0},
            "typos": amp["typo"], "every_login_fails": amp["bound"]}
    return {**amp, "rows": {
        name: {**row, "sessions": round(sessions * row["sessions_per_person"], 1),
               "login_attempts": round(sessions * row["attempts_per_person"], 1),
               "peak_login_attempts_per_second":
                   round(c.total_peak * row["attempts_per_person"], 3)}
        for name, row in rows.items()}}


def _demand(c: ComputedPlan) -> Table:
    d = demand(c)
    table = Table(title=f"Demand with and without retries (people back at most {d['max_returns']}"
                  f" times, ~{d['return_delay_median_minutes']:g} simulated min later; typo rate"
                  f" {d['typo_rate']:g} a typed password; {d['login_attempts']} attempts a"
                  " login)", title_justify="left")
    for name in ("", "sessions per person", "login attempts per person", "sessions",
                 "login attempts", "peak attempts /s"):
        table.add_column(name, justify="left" if not name else "right", no_wrap=not name)
    labels = {"without_retries": "without retries (each person once)",
              "typos": "with typos, no failure (expected)",
              "every_login_fails": "if every login fails (the most)"}
    for name, row in d["rows"].items():
        table.add_row(labels[name], f"{row['sessions_per_person']:.2f}",
                      f"{row['attempts_per_person']:.2f}", f"{row['sessions']:,.0f}",
                      f"{row['login_attempts']:,.0f}",
                      f"{row['peak_login_attempts_per_second']:,.2f}")
    return table


def _curves(c: ComputedPlan, step: float | None) -> Table:
    personas = list(c.personas)
    table = Table(title="Arrival curves (sessions per second; real rates)", title_justify="left")
    table.add_column("time" if not any(s.users for s in c.slots) else "stage")
    for p in personas:
        table.add_column(p, justify="right")
    table.add_column("total", justify="right")
    table.add_column("", no_wrap=True)
    peak = c.total_peak or 1.0
    for label, rates, extra in _rows(c, step):
        total = sum(rates.values())
        bar = BARS[min(len(BARS) - 1, math.ceil(total / peak * (len(BARS) - 1)))] * \
            max(0, round(total / peak * 20)) if total else ""
        table.add_row(label, *(f"{rates.get(p, 0.0):.2f}" for p in personas), f"{total:.2f}",
                      extra or bar)
    return table


def _rows(c: ComputedPlan, step: float | None) -> list[tuple[str, dict[str, float], str]]:
    """Table rows on the day's grid (from the scenario's day start, `step` apart), each the
    time-weighted mean rate of the slots it overlaps; then capacity steps and points."""
    day = [s for s in c.slots if not s.users and s.end > s.start]
    rows: list[tuple[str, dict[str, float], str]] = []
    if day:
        lo, hi = c.span
        day_start = c.scenario.bounds[0]
        base = c.scenario.resolution
        step = step or max(base, math.ceil((hi - lo) / 32 / base) * base)
        edge = day_start + math.floor((lo - day_start) / step + 1e-9) * step
        while edge < hi - 1e-9:
            start, end = max(edge, lo), min(edge + step, hi)
            rates: dict[str, float] = {}
            for s in day:
                overlap = min(s.end, end) - max(s.start, start)
                if overlap > 0:
                    for p, r in s.rates.items():
                        rates[p] = rates.get(p, 0.0) + r * overlap / (end - start)
            rows.append((hhmm(start), rates, ""))
            edge += step
    for s in c.slots:  # capacity probing: steps and closed-loop points, in real seconds
        if s.users or s.end == s.start:
            extra = (f"{sum(s.users.values())} in flight" if s.users else "") + \
                f" · {s.real_seconds:g} s"
            rows.append((s.label, s.rates, extra))
    return rows


def _peaks(c: ComputedPlan) -> Table:
    table = Table(title="Per persona", title_justify="left")
    for name in ("persona", "sessions (simulated)", "sent by the run", "peak /s", "at",
                 "session s", "in flight at peak", "logged in at most"):
        table.add_column(name, justify="left" if name == "persona" else "right")
    capacity = any(s.end == s.start for s in c.slots)  # steps and points: no clock
    for p, ps in c.personas.items():
        sent = sum(s.rates.get(p, 0.0) * s.real_seconds for s in c.slots)
        table.add_row(p, "-" if capacity else f"{ps.sessions:,.0f}", f"{sent:,.0f}",
                      f"{ps.peak_rate:.2f}",
                      hhmm(ps.peak_at) if ps.peak_rate and not capacity else "-",
                      f"{ps.session_seconds:g}", f"{ps.peak_concurrency:,.0f}",
                      f"{ps.peak_logged_in:,.0f}")
    return table


def _ledger(c: ComputedPlan) -> Table:
    table = Table(title="Assumption ledger ([S] published, [D] derived, [E] estimate)",
                  title_justify="left")
    for name in ("assumption", "value", "unit", "basis", "source", "from"):
        table.add_column(name, justify="right" if name == "value" else "left",
                         overflow="fold")
    for a in c.ledger:  # the basis is the weakest of the source's tags
        table.add_row(a.name, f"{a.value:,.6g}", a.unit, f"[{a.basis}]", a.source, a.origin)
    return table
