"""`firstbell rehearse`: from nothing to a report in one command, what `make rehearse` runs.

Generate the district (cached under ``.firstbell/districts``, keyed by the profile file's
content, scale and seed), start the embedded PostgreSQL and the staging SIS and seed it (cached
in the embedded cluster), start a local Prometheus when the binary is there, run the scenario
(time-compressed), judge it, write the report, and stop everything it started — also on Ctrl-C
or an error, with a partial report. `--target URL` rehearses against an external staging
system instead: nothing is seeded, only load is sent (with `--userpool`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console

from fake_data.describe import describe
from fake_data.output import Request, write_district
from firstbell.cli_options import (
    DISTRICT_PROFILE,
    DISTRICT_SCALE,
    DISTRICT_SEED,
    DROP_PERSONA,
    RUN_DIR,
    STAGING_HOSTS,
    TARGET_SPEC,
)
from firstbell.district_cmd import render
from firstbell.districts import district_cache, remember_userpool
from firstbell.headroom import HeadroomSettings, judge, measure
from firstbell.plan_cmd import PlanRequest, computed_plan
from firstbell.readiness_cmd import score_into
from firstbell.report.compare import previous_run
from firstbell.report.data import load as load_report
from firstbell.report.people import gate as people_gate
from firstbell.report.people import section as people_section
from firstbell.report.render import write as write_report
from firstbell.run_cmd import checked_limits, finish, pool_for, prepare, spawn
from kernel.clock import Phases, hhmm
from kernel.errors import EXIT_GO, EXIT_INTERRUPTED, EXIT_NO_GO, UserError
from kernel.ports import LOOPBACK
from loadtests.run_options import RunOptions
from loadtests.rundir import write_json
from monitoring.config import DEFAULT as MONITORING
from monitoring.local import LocalPrometheus, saturation, start, stop
from readiness import Metrics, load_metrics
from scenarios.compute import ComputedPlan
from staging.control import UpOptions, down, load_state, up
from staging.embedded import free_port
from staging.seed import SeedRequest
from thresholds import load_thresholds

STATE_DIR = Path(".firstbell")
MAX_LOAD_SECONDS = 240.0


def _district(profile: str, scale: float, seed: int, console: Console) -> Path:
    folder = district_cache(profile, scale, seed)
    if (folder / "district.json").is_file():
        console.print(f"[1/5] district: cached in {folder}", highlight=False)
    else:
        console.print(f"[1/5] district: generating '{profile}' (scale {scale:g}, seed {seed})"
                      f" in {folder} …", highlight=False)
        write_district(Request(profile=profile, scale=scale, seed=seed), folder, force=True)
        render(describe(folder), console)
    return folder


def default_speed(scenario: str, profile: str, window: str | None, seed: int) -> float:
    """The scenario's own speed, or faster so that the load lasts at most MAX_LOAD_SECONDS:
    the default rehearsal must finish within 10 minutes on a 2-core machine."""
    natural = computed_plan(scenario, profile, None, 1.0, window, None, None, seed)
    if natural.duration <= MAX_LOAD_SECONDS:
        return natural.speed
    return round(natural.speed * natural.duration / MAX_LOAD_SECONDS, 1)


def _status(run_dir: Path) -> str:
    """One line of the run so far, from the last interval written."""
    path = run_dir / "intervals.jsonl"
    if not path.is_file():
        return "starting the load generator …"
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    if not lines:
        return "starting the load generator …"
    last: dict[str, Any] = json.loads(lines[-1])
    failing = [n for n, s in last.get("objectives", {}).items() if s.get("failing")]
    return (f"t={last['t']:.0f}s · simulated {hhmm(float(last.get('clock', 0)) % 86400)} ·"
            f" {last.get('stage', '')} · {sum(last.get('achieved_rate', {}).values()):.1f}/"
            f"{sum(last.get('target_rate', {}).values()):.1f} sessions/s · objectives failing:"
            f" {', '.join(failing) or 'none'}")


def rehearse(
    profile: str = DISTRICT_PROFILE, scale: float = DISTRICT_SCALE, seed: int = DISTRICT_SEED,
    scenario: str = typer.Option("back-to-school", "--scenario", envvar="FIRSTBELL_SCENARIO",
                                 help="The day to rehearse (a built-in day or a file)."),
    speed: float | None = typer.Option(None, "--speed", envvar="FIRSTBELL_SPEED",
                                       help="Simulated minutes per real minute (rates stay"
                                            " real). Default: the scenario's, compressed"
                                            " further so the load lasts at most 4 minutes"
                                            " (back-to-school: 17 h at speed 255)."),
    window: str | None = typer.Option(None, "--window", envvar="FIRSTBELL_WINDOW",
                                      help="Only this part of the day, HH:MM-HH:MM."),
    target: str = typer.Option("", "--target", envvar="FIRSTBELL_TARGET",
                               help="An external staging SIS (nothing is seeded; needs"
                                    " --userpool)."),
    userpool: Path | None = typer.Option(None, "--userpool", envvar="FIRSTBELL_USERPOOL",
                                         help="User pool for --target (default: the"
                                              " generated district's)."),
    target_spec: Path | None = TARGET_SPEC, drop_persona: list[str] | None = DROP_PERSONA,
    staging_hosts: str = STAGING_HOSTS, out: Path | None = RUN_DIR,
    monitor: bool = typer.Option(True, "--monitor/--no-monitor", envvar="FIRSTBELL_MONITOR",
                                 help="Start a local Prometheus when `prometheus` is on PATH."),
    headroom: bool = typer.Option(True, "--headroom/--no-headroom",
                                  envvar="FIRSTBELL_HEADROOM",
                                  help="After the day, offer its peak at rising multiples to"
                                       " measure the headroom the verdict's capacity gate"
                                       " needs."),
    headroom_ceiling: float = typer.Option(
        HeadroomSettings.ceiling, "--headroom-ceiling", min=1.0,
        envvar="FIRSTBELL_HEADROOM_CEILING",
        help="The highest multiple of the forecast peak to offer."),
    headroom_budget: float = typer.Option(
        HeadroomSettings.budget, "--headroom-budget", min=10.0,
        envvar="FIRSTBELL_HEADROOM_BUDGET",
        help="Seconds the headroom steps may take in all."),
    headroom_step: float = typer.Option(
        HeadroomSettings.step_seconds, "--headroom-step-seconds", min=5.0,
        envvar="FIRSTBELL_HEADROOM_STEP_SECONDS", help="Length of each headroom step."),
    readiness: bool = typer.Option(False, "--readiness/--no-readiness",
                                   envvar="FIRSTBELL_READINESS",
                                   help="People readiness beside the system's: score the"
                                        " district's staff on a synthetic training-sandbox"
                                        " log (or --readiness-log); one decision."),
    readiness_log: Path | None = typer.Option(None, "--readiness-log",
                                              envvar="FIRSTBELL_READINESS_LOG",
                                              help="The training sandbox's activity log (CSV or"
                                                   " JSON lines) for the district's staff."),
    readiness_metrics: Path | None = typer.Option(None, "--readiness-metrics",
                                                  envvar="FIRSTBELL_READINESS_METRICS",
                                                  help="The readiness metrics file (default:"
                                                       " the built-in readiness.yaml)."),
) -> None:
    """Rehearse the go-live: district, staging SIS, load, verdict, report — and clean up.

    Example: firstbell rehearse --profile small --scenario smoke
    """
    console = Console(width=110)
    people = _people_request(readiness, readiness_log, readiness_metrics, target)
    phases = Phases()
    run_dir: Path | None = None
    code = 2
    # Whatever this rehearsal started is stopped on the way out, in reverse order, also on
    # Ctrl-C or an error; the report is written after, from what the run left.
    with contextlib.ExitStack() as started:
        try:
            target, pool = _system(started, target, userpool, profile, scale, seed, console,
                                   phases)
            phases.lap("staging")
            exporter = free_port()
            prom = _monitoring(started, monitor, target, exporter, console)
            phases.lap("monitoring")
            if speed is None:
                speed = default_speed(scenario, profile, window, seed)
            request = PlanRequest(scenario, profile, speed, scale, window, seed=seed,
                                  target_spec=target_spec, drop=tuple(drop_persona or ()))
            options = RunOptions(target, run_dir=out, userpool=pool,
                                 staging_hosts=staging_hosts, exporter_port=exporter,
                                 target_spec=target_spec)
            computed, run_dir, cmd = _prepare(request, options, console)
            code = _load(cmd, run_dir, prom, phases, console)
            phases.lap("run")
            if headroom:
                settings = HeadroomSettings(ceiling=headroom_ceiling, budget=headroom_budget,
                                            step_seconds=headroom_step)
                code = _headroom(computed, options, run_dir, code, settings, console)
                phases.lap("headroom")
            if people is not None:
                code = _people(people, run_dir, code, (profile, scale, seed), console)
                phases.lap("people")
        except KeyboardInterrupt:
            console.print("interrupted: stopping and writing a partial report …")
            code = EXIT_INTERRUPTED
    _report(run_dir, code, phases, console)
    raise typer.Exit(code)


def _system(started: contextlib.ExitStack, target: str, userpool: Path | None, profile: str,
            scale: float, seed: int, console: Console, phases: Phases) -> tuple[str, Path | None]:
    """The SIS to load and its user pool: an external `target` as given, or the generated
    district seeded into a staging SIS (phases 1 and 2)."""
    if target:
        console.print(f"[1/5] district: not generated (external target {target})")
        console.print("[2/5] staging SIS: external, nothing seeded")
        return target, pool_for(target, userpool)
    folder = _district(profile, scale, seed, console)
    phases.lap("district")
    base_url = _staging(started, SeedRequest(profile, scale, seed), folder, console)
    remember_userpool(folder / "userpool")
    return base_url, userpool or folder / "userpool"


def rehearsal_database(folder: Path) -> str:
    """The embedded cluster's database for one district: the rehearsal keeps one per district
    in firstbell's own cluster, so whatever `staging up` seeded before never stands in the
    way, and a district seeded once is reused."""
    return ("firstbell_" + re.sub(r"[^a-z0-9_]", "_", folder.name.lower()))[:63]


def _staging(started: contextlib.ExitStack, seed: SeedRequest, folder: Path,
             console: Console) -> str:
    """The staging SIS up and seeded (cached in the embedded cluster, a database per
    district); its base URL. One that was running before is left running, and used when it
    holds this district."""
    console.print("[2/5] staging SIS: embedded PostgreSQL, seeding (cached), server …")
    running = load_state()
    if running is not None and running.userpool and \
            Path(running.userpool).resolve() != (folder / "userpool").resolve():
        raise UserError(f"a staging SIS started by `firstbell staging up` is running at"
                        f" {running.base_url} with another district (user pool"
                        f" {running.userpool}); stop it with `firstbell staging down`, or"
                        " rehearse against it with --target URL --userpool POOL")
    state, _ = up(UpOptions(seed=seed, port=0, database=rehearsal_database(folder)),
                  step=lambda s: console.print(f"      {s}"))
    if running is None:
        started.callback(down)
    return state.base_url


def _monitoring(started: contextlib.ExitStack, monitor: bool, target: str, exporter: int,
                console: Console) -> LocalPrometheus | None:
    """A local Prometheus scraping the generator's exporter and the target, when wanted and
    `prometheus` is on PATH (phase 3)."""
    if not (monitor and shutil.which("prometheus")):
        console.print("[3/5] monitoring: none (no `prometheus` on PATH, or --no-monitor)")
        return None
    netloc = target.split("://", 1)[-1].rstrip("/")
    cfg = dataclasses.replace(MONITORING, generator_targets=(f"{LOOPBACK}:{exporter}",),
                              sis_targets=(netloc,))
    try:  # monitoring helps; a Prometheus that will not start must not stop the run
        prom = start(load_thresholds(), cfg, STATE_DIR / "rehearse-prometheus", free_port())
    except RuntimeError as exc:
        console.print(f"[3/5] monitoring: none ({exc})", highlight=False)
        return None
    started.callback(stop, prom)
    console.print(f"[3/5] monitoring: Prometheus on {prom.url}", highlight=False)
    return prom


def _prepare(request: PlanRequest, options: RunOptions,
             console: Console) -> tuple[ComputedPlan, Path, list[str]]:
    """The run directory with its plan, and the Locust command line (phase 4 begins)."""
    computed, run_dir, cmd = prepare(request, options)
    console.print(f"[4/5] run: {computed.scenario.title}, {hhmm(computed.span[0])}-"
                  f"{hhmm(computed.span[1])} at speed {computed.speed:g}"
                  f" ({computed.duration / 60:.1f} min), peak"
                  f" {computed.total_peak:.1f} sessions/s → {run_dir}", highlight=False)
    return computed, run_dir, cmd


def _load(cmd: list[str], run_dir: Path, prom: LocalPrometheus | None, phases: Phases,
          console: Console) -> int:
    """Locust's run, one status line per new interval; the SIS's peaks under load when a
    Prometheus watched (phase 4). Locust's exit code."""
    proc = spawn(cmd, {}, log=run_dir / "locust.log")
    shown = [""]

    def show() -> None:
        line = _status(run_dir)
        if line != shown[0]:  # a new interval (every 10 s)
            shown[0] = line
            console.print(f"      {line}", highlight=False)

    code = finish(proc, show)
    if prom is not None:  # the SIS's peaks while it was under load, for the report
        record_saturation(prom, phases.since(), run_dir, console)
    return code


def record_saturation(prom: LocalPrometheus, seconds: float, run_dir: Path,
                      console: Console) -> bool:
    """saturation.json from the local Prometheus; when it stopped answering meanwhile, a
    warning saying what the report will lack, and the rehearsal goes on to its report."""
    try:
        peaks = saturation(prom, seconds)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        console.print(f"      warning: the SIS's saturation under load was not recorded:"
                      f" Prometheus at {prom.url} did not answer ({type(exc).__name__}: {exc});"
                      " the report has no saturation section", highlight=False)
        return False
    write_json(run_dir / "saturation.json", peaks)
    return True


def _headroom(computed: ComputedPlan, options: RunOptions, run_dir: Path, code: int,
              settings: HeadroomSettings, console: Console) -> int:
    """The headroom steps after the day (phase 4, continued), unless the day ended in a data
    exposure or was interrupted; the verdict's capacity gate filled in. The exit code."""
    if code not in (EXIT_GO, EXIT_NO_GO) or not (run_dir / "verdict.json").is_file():
        return code
    required = checked_limits(options).gates.capacity_headroom
    result, stop = measure(computed, options.in_dir(run_dir), run_dir, required, settings,
                           console)
    write_json(run_dir / "capacity.json", result)
    code = judge(run_dir, result, code)
    console.print(f"      headroom: {result['statement']} (required {required:g}×)",
                  highlight=False)
    return stop if stop is not None else code


@dataclasses.dataclass(frozen=True)
class PeopleRequest:
    """People readiness asked of a rehearsal: the metrics, and a real log or a synthetic one."""

    metrics: Metrics
    log: Path | None


def _people_request(readiness: bool, log: Path | None, metrics: Path | None,
                    target: str) -> PeopleRequest | None:
    """The people half of the decision, checked before any load is sent."""
    if not (readiness or log is not None):
        return None
    if target:
        raise UserError("option --readiness: people readiness scores the district this"
                        " rehearsal generates; with --target, run `firstbell readiness` on the"
                        " district's roster and give its readiness.json to `firstbell report"
                        " RUN --readiness FILE`")
    if log is not None and not log.is_file():
        raise UserError(f"option --readiness-log: {log}: no such file; give the training"
                        " sandbox's activity log (CSV or JSON lines: person, time, action)")
    return PeopleRequest(load_metrics(metrics), log)


def _people(people: PeopleRequest, run_dir: Path, code: int,
            district: tuple[str, float, int], console: Console) -> int:
    """People readiness scored into the run directory, and into the verdict as a gate beside
    the system's: a system GO with the people not ready is a NO-GO. The exit code."""
    if code not in (EXIT_GO, EXIT_NO_GO) or not (run_dir / "verdict.json").is_file():
        return code
    console.print("      people readiness: scoring the district's staff on"
                  + (f" {people.log}" if people.log else " a synthetic training-sandbox log")
                  + " …", highlight=False)
    folder = district_cache(*district)
    result, ready, reasons = score_into(run_dir, people.metrics, district=folder,
                                        activity=people.log,
                                        generated=None if people.log else district)
    # the scorecard as readiness.json holds it, without reading back what was just written
    section = people_section({**result.as_json(),
                              "decision": {"passed": ready, "reasons": reasons}})
    verdict = people_gate(json.loads((run_dir / "verdict.json").read_text("utf-8")), section)
    write_json(run_dir / "verdict.json", verdict)
    console.print(f"      people readiness: {section['statement']}", highlight=False)
    return int(verdict["exit_code"])


def _report(run_dir: Path | None, code: int, phases: Phases, console: Console) -> None:
    """The report of what the run wrote, with what changed since the last rehearsal of the
    same day in the same folder, and the verdict (phase 5)."""
    if run_dir is None or not (run_dir / "verdict.json").is_file():
        raise UserError(f"the run wrote no verdict (Locust exit {code}); see"
                        f" {run_dir / 'locust.log' if run_dir else 'the output above'}")
    before = previous_run(run_dir)
    try:
        data = load_report(run_dir, before)
    except UserError as exc:  # an earlier run this one cannot read must not cost its report
        if before is None:
            raise
        console.print(f"      not compared with {before}: {exc}", highlight=False)
        data = load_report(run_dir)
    paths = write_report(run_dir, data, Path(__file__).resolve().parents[1].as_uri())
    phases.lap("report")
    console.print(f"[5/5] report: {paths[0]}", highlight=False)
    console.print(phases.line(), highlight=False)
    console.print(f"{data['verdict']['verdict']}"
                  + "".join(f"\n  - {r}" for r in data["verdict"]["reasons"]),
                  style="bold green" if data["verdict"]["verdict"] == "GO" else "bold red")
