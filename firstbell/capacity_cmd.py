"""`firstbell capacity`: how much the target takes, measured live.

A stepped arrival-rate search (each step a short open-model run of the probe scenario's persona
mix at one rate, judged against the launch thresholds; `firstbell.capacity.next_rates` picks the
next rate until the highest sustained rate is known within `--resolution`), then closed-loop
sweeps (N sessions always in flight, one short run per N) fitted to the Universal Scalability
Law, and the latency knee. Headroom is the sustained rate over the forecast day's peak (from
its plan). Everything lands in one capacity directory: `capacity.json` (rewritten after every
step, so an interrupted search still says what it found) and one run directory per
measurement under `steps/` and `sweep/`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from firstbell.capacity import UslFit, fit_usl, headroom, latency_knee, next_rates, sustainable
from firstbell.capacity.measure import (
    SweepPoint,
    dropped_share,
    partial,
    reasons,
    step,
    sweep_point,
)
from firstbell.capacity.steps import Step
from firstbell.capacity.usl import MIN_POINTS
from firstbell.cli_options import (
    DROP_PERSONA,
    EXPORTER_PORT_OPTION,
    MASTER_PORT_OPTION,
    ONEROSTER_CLIENT,
    PROFILE,
    SCALE,
    SEED,
    STAGING_HOSTS,
    TARGET_SPEC,
    THRESHOLDS,
    USERPOOL,
)
from firstbell.plan_cmd import PlanRequest
from firstbell.run_cmd import checked_limits, drive, locust_command, new_run_dir, pool_for
from kernel.clock import hhmm
from kernel.errors import EXIT_EXPOSURE, EXIT_GO, EXIT_INTERRUPTED, EXIT_NO_GO, UserError
from loadtests.identities import check_folder
from loadtests.plan import LoadPlan, PlanError, build_plan
from loadtests.run_options import RunOptions
from loadtests.rundir import default_run_dir, write_json
from loadtests.target_source import check_hosts, target_of, userpool_files
from scenarios.compute import ComputedPlan, apportion, day_personas
from scenarios.model import load_scenario

# A step's sessions still in flight when its rate ends are given this long to finish: the step
# is judged on what it offered, and a long drain only delays the next step.
DRAIN_SECONDS = 5.0
DEFAULT_SWEEP = (1, 2, 4, 8, 16, 32)
DROPPED_WARNING = 0.02
POOR_FIT = 0.8  # r² below this: the sweep says more about its noise than about the target
FITTED_POINTS = 40


@dataclass(frozen=True)
class Probe:
    """What the search offers: the persona mix (shares adding up to 1) and the start rate of the
    probe scenario's peak, its step length, and its closed-loop sweep."""

    mix: dict[str, float]
    start: float
    step_seconds: float
    sweep_users: tuple[int, ...]
    sweep_personas: dict[str, float]
    sweep_seconds: float


def probe_of(computed: ComputedPlan) -> Probe:
    """The probe scenario's peak as a persona mix (its day's busiest slot: the steps and sweeps
    of a capacity day replace the day in its own plan), and its steps' and sweep's sizes."""
    rates = {p: r for p, r in sorted(computed.day_peak_rates.items()) if r > 0}
    if not rates:
        raise UserError(f"scenario {computed.scenario.name}: it has no activity whose persona"
                        " mix the search could offer; give it activities")
    total = sum(rates.values())
    mix = {p: r / total for p, r in rates.items()}
    day = computed.scenario
    sw = day.sweep
    return Probe(mix=mix, start=total,
                 step_seconds=day.steps[0].seconds if day.steps else 60.0,
                 sweep_users=tuple(sw.users) if sw else DEFAULT_SWEEP,
                 sweep_personas=dict(sw.personas) if sw else mix,
                 sweep_seconds=sw.seconds if sw else 45.0)


def _plan(base: LoadPlan, stage: dict[str, Any], seed: int) -> LoadPlan:
    raw = base.model_dump(mode="json")
    raw.update(stages=[stage], seed=seed, drain_seconds=min(base.drain_seconds, DRAIN_SECONDS))
    try:
        return build_plan(raw, source="capacity step")
    except PlanError as exc:  # a rate or size the options allowed but a plan does not
        raise UserError(str(exc)) from None


def step_plan(base: LoadPlan, mix: dict[str, float], rate: float, seconds: float,
              seed: int) -> LoadPlan:
    """One search step: `rate` sessions/s split by `mix`, for `seconds`."""
    return _plan(base, {"seconds": seconds, "label": f"step {rate:.3g}/s",
                        "rates": {p: rate * share for p, share in mix.items() if share > 0}}, seed)


def sweep_plan(base: LoadPlan, personas: dict[str, float], users: int, seconds: float,
               seed: int) -> LoadPlan:
    """One sweep point: exactly `users` sessions always in flight, split by `personas`."""
    return _plan(base, {"seconds": seconds, "label": f"closed {users} users", "rates": {},
                        "users": apportion(users, personas)}, seed)


def parse_users(text: str) -> tuple[int, ...]:
    """``"1,2,4,8,16,32"`` → (1, 2, 4, 8, 16, 32): at least MIN_POINTS distinct levels ≥ 1."""
    try:
        levels = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UserError(f"option --sweep-users: {text!r} is not a comma-separated list of whole"
                        " numbers; write e.g. 1,2,4,8,16,32") from None
    if any(n < 1 for n in levels) or len(set(levels)) < MIN_POINTS:
        raise UserError(f"option --sweep-users: {text!r} needs at least {MIN_POINTS} distinct"
                        " levels of 1 or more sessions in flight (a three-parameter fit on"
                        " fewer bends through every point); write e.g. 1,2,4,8,16,32")
    return tuple(sorted(set(levels)))


@dataclass
class Search:
    """Everything measured so far; `as_json` is what capacity.json holds."""

    header: dict[str, Any]
    forecast_peak: float
    required: float
    steps: list[Step] = dataclasses.field(default_factory=list)
    step_info: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    sweep: list[SweepPoint] = dataclasses.field(default_factory=list)
    fit: UslFit | None = None
    knee: float | None = None
    exposure: bool = False
    partial: bool = True

    @property
    def sustainable_rate(self) -> float:
        best = sustainable(self.steps)
        return best.rate if best else 0.0

    @property
    def headroom(self) -> float:
        return headroom(self.sustainable_rate, self.forecast_peak)

    def as_json(self) -> dict[str, Any]:
        fit = self.fit
        usl = None
        fitted: list[list[float]] = []
        if fit is not None:
            top = max(p.users for p in self.sweep)
            fitted = [[n, round(fit.throughput(n), 4)]
                      for n in (1 + (top * 1.25 - 1) * k / (FITTED_POINTS - 1)
                                for k in range(FITTED_POINTS))]
            usl = {"sigma": fit.sigma, "kappa": fit.kappa, "lambda": fit.lam, "r2": fit.r2,
                   "peak_concurrency": _finite(fit.peak_concurrency),
                   "max_throughput": _finite(fit.max_throughput)}
        return {
            **self.header, "partial": self.partial, "data_exposure": self.exposure,
            "forecast_peak": self.forecast_peak, "sustainable_rate": self.sustainable_rate,
            "headroom": round(self.headroom, 4), "headroom_required": self.required,
            "headroom_passed": self.headroom >= self.required,
            "steps": [{**dataclasses.asdict(s), **info}
                      for s, info in zip(self.steps, self.step_info, strict=True)],
            "sweep": [dataclasses.asdict(p) for p in self.sweep],
            "points": [[p.users, round(p.sessions_per_s, 4)] for p in self.sweep],
            "usl": usl, "fitted": fitted, "knee": self.knee}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class Runner:
    """Runs one measurement (a plan) as a Locust run in its own directory under `root`, with
    the run options every measurement shares."""

    def __init__(self, options: RunOptions, root: Path) -> None:
        self.options, self.root = options, root

    def __call__(self, plan: LoadPlan, name: str) -> tuple[Path, int]:
        run_dir = self.root / name
        run_dir.mkdir(parents=True)
        options = self.options.in_dir(run_dir)
        write_json(options.plan_file, plan.model_dump(mode="json"))
        code = drive(locust_command(options), options.secrets(), log=run_dir / "locust.log")
        if partial(run_dir):  # Ctrl-C reached Locust, which wrote what it had
            code = EXIT_INTERRUPTED
        if code not in (EXIT_GO, EXIT_NO_GO, EXIT_EXPOSURE, EXIT_INTERRUPTED) or \
                not (run_dir / "verdict.json").is_file():
            raise UserError(f"{name}: the load generator stopped with exit code {code} and no"
                            f" verdict; see {run_dir / 'locust.log'}")
        return run_dir, code


@dataclass(frozen=True)
class Stepping:
    """How the stepped search moves: its first rate, growth factor, resolution, step length
    and limits (what capacity.json records under "search")."""

    start: float
    factor: float
    resolution: float
    step_seconds: float
    max_rate: float | None
    max_steps: int

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start, "factor": self.factor, "resolution": self.resolution,
                "step_seconds": self.step_seconds, "max_rate": self.max_rate,
                "max_steps": self.max_steps}


@dataclass
class Measuring:
    """A capacity directory being filled: the search so far, what each measurement offers
    (the probe's mix on the probe day's plan, seeded from `seed`) and how it is run."""

    search: Search
    probe: Probe
    measure: Runner
    base: LoadPlan
    seed: int
    console: Console

    @property
    def file(self) -> Path:
        return self.measure.root / "capacity.json"

    def save(self) -> None:  # after every measurement: an interrupted search still tells
        write_json(self.file, self.search.as_json())


def capacity(
    target: str = typer.Option(..., "--target", envvar="FIRSTBELL_TARGET",
                               help="Base URL of the SIS to measure (loopback, or a host in"
                                    " --staging-hosts)."),
    scenario: str = typer.Option("capacity-probe", "--scenario", envvar="FIRSTBELL_SCENARIO",
                                 help="Whose persona mix, step length and sweep to use."),
    forecast: str = typer.Option("back-to-school", "--forecast",
                                 envvar="FIRSTBELL_FORECAST",
                                 help="The day whose peak the headroom is measured against."),
    profile: str = PROFILE, scale: float = SCALE, seed: int = SEED,
    userpool: Path | None = USERPOOL, thresholds: Path | None = THRESHOLDS,
    target_spec: Path | None = TARGET_SPEC, drop_persona: list[str] | None = DROP_PERSONA,
    start: float | None = typer.Option(None, "--start", min=0.01, envvar="FIRSTBELL_START",
                                       help="First offered rate, sessions/s (default: the"
                                            " probe scenario's peak)."),
    factor: float = typer.Option(2.0, "--factor", min=1.01,
                                 help="Multiply the rate by this while every step passes."),
    resolution: float = typer.Option(0.1, "--resolution", min=0.01, max=1.0,
                                     help="Stop bisecting when the gap between the highest"
                                          " pass and the lowest failure is below this share."),
    step_seconds: float | None = typer.Option(None, "--step-seconds", min=5.0,
                                              help="Length of each step (default: the probe"
                                                   " scenario's, 60 s)."),
    max_rate: float | None = typer.Option(None, "--max-rate", min=0.01,
                                          help="Stop growing here (sessions/s)."),
    max_steps: int = typer.Option(12, "--max-steps", min=1, help="Give up after this many"
                                                                  " steps."),
    sweep_users: str = typer.Option("", "--sweep-users",
                                    help="Sessions in flight per sweep point (default: the"
                                         " probe scenario's, 1,2,4,8,16,32,48)."),
    sweep_seconds: float | None = typer.Option(None, "--sweep-seconds", min=3.0,
                                               help="Length of each sweep point (default: the"
                                                    " probe scenario's, 45 s)."),
    sweep: bool = typer.Option(True, "--sweep/--no-sweep",
                               help="Run the closed-loop sweeps after the search."),
    staging_hosts: str = STAGING_HOSTS, oneroster_client: str = ONEROSTER_CLIENT,
    out: Path | None = typer.Option(None, "--out", envvar="FIRSTBELL_RUN_DIR",
                                    help="Capacity directory (default runs/<UTC time>-"
                                         "capacity)."),
    exporter_port: int = EXPORTER_PORT_OPTION,
    workers: int = typer.Option(1, "--workers", envvar="FIRSTBELL_WORKERS", min=1,
                                help="Load processes per step (a Locust master and N workers"
                                     " when above 1): a generator that cannot keep a rate"
                                     " fails the step on arrivals, not the target."),
    master_port: int = MASTER_PORT_OPTION,
) -> None:
    """Measure the target's sustainable rate and its headroom over the forecast peak.

    Finds the highest arrival rate the target sustains within the launch thresholds, fits its
    capacity curve, and measures the headroom over the forecast day's peak.

    Example: firstbell capacity --target http://127.0.0.1:8700 --profile small
    --userpool pool/userpool
    """
    userpool = pool_for(target, userpool)
    options = RunOptions(target, userpool=userpool, thresholds=thresholds,
                         staging_hosts=staging_hosts, oneroster_client=oneroster_client,
                         exporter_port=exporter_port, master_port=master_port,
                         processes=workers, target_spec=target_spec)
    limits = checked_limits(options)
    drop = tuple(drop_persona or ())
    # The forecast day may send personas the probe's day does not (back-to-school's clerk):
    # each day is refused only the drops it sends.
    probe_drop = tuple(d for d in drop if d in _day_personas(scenario))
    probe_day = PlanRequest(scenario, profile, scale=scale, seed=seed, target_spec=target_spec,
                            drop=probe_drop).compute()
    day = PlanRequest(forecast, profile, scale=scale, seed=seed, target_spec=target_spec,
                      drop=drop).compute()
    probe = probe_of(probe_day)
    levels = _sweep_levels(sweep_users, probe, scenario, sweep)
    _check_pools(userpool, probe_day, probe, sweep, options)
    root = new_run_dir(out or default_run_dir("capacity"))
    stepping = Stepping(start or probe.start, factor, resolution,
                        step_seconds or probe.step_seconds, max_rate, max_steps)
    search = Search(
        header={"target": target, "scenario": probe_day.scenario.name, "profile": profile,
                "scale": scale, "seed": seed, "mix": probe.mix,
                "forecast": {"scenario": day.scenario.name, "peak_rate": day.total_peak,
                             "peak_at": hhmm(day.total_peak_at)},
                "search": stepping.as_json()},
        forecast_peak=day.total_peak, required=limits.gates.capacity_headroom)
    console = Console(width=110)
    console.print(f"capacity of {target}: {probe_day.scenario.name} mix "
                  + ", ".join(f"{p} {s:.0%}" for p, s in probe.mix.items())
                  + f"; forecast peak {day.total_peak:.2f} sessions/s ({day.scenario.name},"
                  f" {hhmm(day.total_peak_at)}) → {root}", highlight=False)
    run = Measuring(search, probe, Runner(options, root), probe_day.plan, seed, console)
    code = _search(run, stepping)
    if code is None and sweep:
        code = _sweep(run, levels, sweep_seconds or probe.sweep_seconds)
    search.partial = code == EXIT_INTERRUPTED
    run.save()
    _conclude(search, console, run.file)
    if code is not None:
        raise typer.Exit(code)
    raise typer.Exit(EXIT_GO if search.sustainable_rate and search.headroom >= search.required
                     else EXIT_NO_GO)


def _sweep_levels(sweep_users: str, probe: Probe, scenario: str,
                  sweep: bool) -> tuple[int, ...]:
    """The sweep's levels (--sweep-users, else the probe scenario's), enough for the fit when
    the sweep runs."""
    levels = parse_users(sweep_users) if sweep_users else probe.sweep_users
    if sweep and len(set(levels)) < MIN_POINTS:
        raise UserError(f"scenario {scenario}: its sweep has {len(set(levels))} levels; the fit"
                        f" needs {MIN_POINTS} (set --sweep-users)")
    return levels


def _check_pools(userpool: Path | None, probe_day: ComputedPlan, probe: Probe,
                 sweep: bool, options: RunOptions) -> None:
    """A user pool file for every persona the steps (and the sweeps) send, or a UserError."""
    personas = sorted(set(probe.mix) | set(probe.sweep_personas if sweep else {}))
    try:
        plan = probe_day.plan
        check_folder(str(userpool) if userpool else None,
                     userpool_files(plan.target_file, target_of(plan), personas,
                                    options.target_spec))
        check_hosts(plan.target_file, options.staging_hosts.split(","))
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _search(run: Measuring, stepping: Stepping) -> int | None:
    """The stepped search; an exit code when it must stop everything (exposure, Ctrl-C)."""
    search, console = run.search, run.console
    rates = [stepping.start]
    while rates and len(search.steps) < stepping.max_steps:
        rate = rates[0]
        k = len(search.steps) + 1
        run_dir, code = run.measure(step_plan(run.base, run.probe.mix, rate,
                                              stepping.step_seconds, run.seed + k),
                                    f"steps/{k:02d}-{rate:.3f}")
        measured = step(run_dir, rate)
        why = reasons(run_dir)
        search.steps.append(measured)
        search.step_info.append({"run_dir": run_dir.name, "reasons": why})
        run.save()
        console.print(f"  step {k:2d}: {rate:8.3f} sessions/s offered, {measured.achieved:7.3f}"
                      f" started/s, p95 {measured.p95 * 1000:7.0f} ms, errors"
                      f" {measured.error_ratio:6.2%} → {'pass' if measured.passed else 'FAIL'}"
                      + (f" ({why[0]})" if why and not measured.passed else ""),
                      highlight=False)
        dropped = dropped_share(run_dir)
        search.step_info[-1]["dropped_share"] = round(dropped, 4)
        if not measured.passed and (dropped > DROPPED_WARNING or
                                    all(r.startswith("arrivals") for r in why)):
            console.print(f"    the generator dropped {dropped:.0%} of the arrivals due (no free"
                          " identity in the user pool, or too late to start): this limit may be"
                          " the generator's or the pool's, not the target's; add --workers or a"
                          " larger district", style="yellow", highlight=False)
        if code == EXIT_EXPOSURE:
            search.exposure = True
            console.print("  DATA EXPOSURE under load: the search stops (see"
                          f" {run_dir / 'exposures.jsonl'})", style="bold red")
            return EXIT_EXPOSURE
        if code == EXIT_INTERRUPTED:
            return EXIT_INTERRUPTED
        rates = next_rates(search.steps, stepping.factor, stepping.resolution,
                           max_rate=stepping.max_rate)
    if rates:
        console.print(f"  stopped after {stepping.max_steps} steps (--max-steps) before the"
                      " search converged", highlight=False)
    return None


def _sweep(run: Measuring, levels: tuple[int, ...], seconds: float) -> int | None:
    """The closed-loop sweep and its USL fit; an exit code when it must stop everything."""
    search = run.search
    for k, users in enumerate(levels, 1):
        run_dir, code = run.measure(sweep_plan(run.base, run.probe.sweep_personas, users,
                                               seconds, run.seed + 100 + k),
                                    f"sweep/{k:02d}-{users}-users")
        point = sweep_point(run_dir, users)
        search.sweep.append(point)
        run.console.print(f"  sweep {users:3d} in flight: {point.sessions_per_s:7.2f}"
                          f" sessions/s, {point.requests_per_s:7.1f} requests/s, mean"
                          f" {point.mean * 1000:6.0f} ms, p95 {point.p95 * 1000:6.0f} ms",
                          highlight=False)
        if code in (EXIT_EXPOSURE, EXIT_INTERRUPTED):
            search.exposure = code == EXIT_EXPOSURE
            run.save()
            return code
    points = [p for p in search.sweep if p.sessions_per_s > 0]
    if len({p.users for p in points}) >= MIN_POINTS:
        search.fit = fit_usl([p.users for p in points], [p.sessions_per_s for p in points])
        search.knee = sweep_knee(points)
    else:
        run.console.print("  too few sweep points completed sessions to fit the USL")
    run.save()
    return None


def sweep_knee(points: list[SweepPoint]) -> float | None:
    """The latency knee of a sweep, found on log2 of the sessions in flight: sweeps double
    their levels, and on a linear axis the doubling squeezes the early, flat levels together
    so that a clear elbow (mean 4, 5, 8, 16, 34, 73, 112 ms at 1…48) reads as a straight
    line."""
    knee = latency_knee([math.log2(p.users) for p in points], [p.mean for p in points])
    return None if knee is None else round(2.0 ** knee, 6)


def _conclude(search: Search, console: Console, file: Path) -> None:
    rate = search.sustainable_rate
    if rate:
        console.print(f"sustainable: {rate:.3f} sessions/s within the launch thresholds;"
                      f" forecast peak {search.forecast_peak:.2f} → headroom"
                      f" {search.headroom:.2f}x (required {search.required:g}x)",
                      highlight=False)
    else:
        console.print("sustainable: none — even the lowest rate tried broke the thresholds",
                      style="bold red")
    fit = search.fit
    if fit is not None:
        peak = fit.peak_concurrency
        console.print(f"USL: sigma {fit.sigma:.4f}, kappa {fit.kappa:.6f}, N* "
                      f"{'unbounded' if not math.isfinite(peak) else f'{peak:.1f}'}, max"
                      f" {fit.max_throughput:.2f} sessions/s (r² {fit.r2:.3f}); latency knee at"
                      f" {search.knee if search.knee is not None else 'none'} in flight",
                      highlight=False)
        if fit.r2 < POOR_FIT:
            console.print(f"    the sweep's points do not follow the USL (r² {fit.r2:.2f}): the"
                          " measurements were noisy or disturbed (another load on the"
                          " generator's or the target's machine?); read σ, κ and N* as"
                          " unreliable and re-run with longer --sweep-seconds",
                          style="yellow", highlight=False)
    console.print(f"capacity.json: {file}  (firstbell report RUN_DIR --capacity {file})",
                  highlight=False)


def _day_personas(scenario: str) -> list[str]:
    """The personas a day sends (none when it does not load: its plan then says why)."""
    try:
        return day_personas(load_scenario(scenario)[0])
    except Exception:  # PlanRequest.compute reports the day's own error
        return []

