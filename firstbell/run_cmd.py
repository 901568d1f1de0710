"""`firstbell run`: a scenario against a target. Computes the plan (as `firstbell plan`),
refuses any target that is not loopback or a declared staging host before a single request,
writes the plan into the run directory and drives Locust on `loadtests/locustfile.py` with it;
the exit code is the verdict's (0 GO, 3 NO-GO, 4 data exposure, 2 usage error)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

import loadtests
from firstbell.cli_options import (
    ASSUME,
    ASSUMPTIONS,
    DROP_PERSONA,
    EXPORTER_HOST,
    EXPORTER_PORT_OPTION,
    MASTER_PORT_OPTION,
    ONEROSTER_CLIENT,
    PROFILE,
    RUN_DIR,
    SCALE,
    SCENARIO_HELP,
    SEED,
    SPEED,
    STAGING_HOSTS,
    TARGET_SPEC,
    THRESHOLDS,
    USERPOOL,
    WINDOW,
    thresholds_of,
)
from firstbell.districts import staging_userpool
from firstbell.plan_cmd import PlanRequest
from kernel.clock import hhmm
from kernel.errors import USAGE_ERROR_EXIT, UserError
from loadtests.identities import check_folder
from loadtests.oneroster.spec import check_clients
from loadtests.run_options import RunOptions
from loadtests.rundir import default_run_dir, write_json
from loadtests.target_source import csv_pools, target_of
from loadtests.targets_allowed import TargetRefused, check_target
from scenarios.compute import ComputedPlan
from thresholds import Thresholds

LOCUSTFILE = Path(loadtests.__file__).with_name("locustfile.py")
# the engine, then the plugin that annotates its runs in Grafana (Locust reads -f a.py,b.py)
LOCUSTFILES = f"{LOCUSTFILE},{Path(__file__).with_name('locust_grafana.py')}"


def pool_for(target: str, userpool: Path | None) -> Path | None:
    """The user pool a run logs in with: the one given, else that of the district the local
    staging SIS was seeded with when `target` is that SIS (said on stderr)."""
    if userpool is not None:
        return userpool
    found = staging_userpool(target)
    if found is not None:
        Console(stderr=True).print(f"user pool: {found} (the district `firstbell staging up`"
                                   " seeded)", highlight=False)
    return found


def checked_limits(options: RunOptions) -> Thresholds:
    """The target allowed (loopback or a declared staging host) and the thresholds file
    valid, or a UserError naming the option."""
    try:
        check_target(options.target, options.staging_hosts.split(","))
    except TargetRefused as exc:
        raise UserError(f"option --target: {exc}") from None
    return thresholds_of(options.thresholds)


def new_run_dir(path: Path) -> Path:
    """`path` created empty (it may exist if empty), or a UserError: a run never writes into
    another run's directory."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(f"option --out: {path} already exists and is not an empty folder;"
                        " choose a new one")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"option --out: cannot create {path} ({exc.strerror})") from None
    return path


def locust_command(options: RunOptions) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", LOCUSTFILES, *options.argv()]


def prepare(request: PlanRequest,
            options: RunOptions) -> tuple[ComputedPlan, Path, list[str]]:
    """Everything before the first request: check every input (a UserError otherwise),
    compute the plan, create the run directory (`options.run_dir`, or a new one under runs/)
    with plan.json and scenario.json; the Locust command line."""
    checked_limits(options)
    if options.expect_workers and options.processes > 1:
        raise UserError(f"options --workers {options.processes} and --expect-workers"
                        f" {options.expect_workers}: choose one (local worker processes, or"
                        " workers that join with `firstbell worker --master HOST`)")
    computed = request.compute()
    target_paths = target_of(computed.plan)
    userpool, clients = options.userpool, options.oneroster_client
    # A target file's vendor CSV pools are read beside it, not from --userpool
    vendor = set(csv_pools(computed.plan, options.target_spec))
    try:  # every input Locust would refuse, refused here before anything is written
        if userpool is not None or not options.expect_workers:  # remote workers bring their own
            check_folder(str(userpool) if userpool else None,
                         [p for p in target_paths.pools_for(computed.plan.personas)
                          if p not in vendor])
        check_clients(clients.split(",") if clients else [],
                      options.staging_hosts.split(","))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    run_dir = new_run_dir(options.run_dir or default_run_dir(computed.scenario.name))
    options = options.in_dir(run_dir)
    try:
        write_json(options.plan_file, computed.plan.model_dump(mode="json"))
        write_json(run_dir / "scenario.json", computed.as_json())
    except OSError as exc:
        raise UserError(f"option --out: cannot write the run directory {run_dir}"
                        f" ({exc.strerror})") from None
    return computed, run_dir, locust_command(options)


def run(
    scenario: str = typer.Argument(..., help=SCENARIO_HELP),
    target: str = typer.Option(..., "--target", envvar="FIRSTBELL_TARGET",
                               help="Base URL of the SIS to load (loopback, or a host in"
                                    " --staging-hosts)."),
    profile: str = PROFILE, speed: float | None = SPEED, scale: float = SCALE,
    window: str | None = WINDOW, assume: list[str] | None = ASSUME,
    assumptions: Path | None = ASSUMPTIONS, seed: int = SEED,
    userpool: Path | None = USERPOOL, thresholds: Path | None = THRESHOLDS,
    target_spec: Path | None = TARGET_SPEC, drop_persona: list[str] | None = DROP_PERSONA,
    workers: int = typer.Option(1, "--workers", envvar="FIRSTBELL_WORKERS", min=1,
                                help="Load processes on this machine (a Locust master and N"
                                     " workers when above 1)."),
    abort_on_fail: bool = typer.Option(False, "--abort-on-fail",
                                       envvar="FIRSTBELL_ABORT_ON_FAIL",
                                       help="Stop when an abortable objective has failed for"
                                            " its duration."),
    staging_hosts: str = STAGING_HOSTS, oneroster_client: str = ONEROSTER_CLIENT,
    out: Path | None = RUN_DIR,
    exporter_port: int = EXPORTER_PORT_OPTION,
    exporter_host: str = EXPORTER_HOST,
    master_port: int = MASTER_PORT_OPTION,
    expect_workers: int = typer.Option(0, "--expect-workers", envvar="FIRSTBELL_EXPECT_WORKERS",
                                       min=0,
                                       help="Run only the master and wait for this many"
                                            " workers to join from other machines (`firstbell"
                                            " worker --master HOST`); the user pool is"
                                            " partitioned among them."),
    grafana_url: str = typer.Option("", "--grafana-url", envvar="FIRSTBELL_GRAFANA_URL",
                                    help="Annotate the run in this Grafana (start, phases,"
                                         " abort, end) and print a dashboard link."),
    grafana_token: str = typer.Option("", "--grafana-token", envvar="FIRSTBELL_GRAFANA_TOKEN",
                                      help="Grafana service-account token (prefer the"
                                           " environment variable)."),
) -> None:
    """Run a scenario against a target and judge it against the launch thresholds.

    Example: firstbell run smoke --profile small --target http://127.0.0.1:8700
    --userpool pool/userpool
    """
    userpool = pool_for(target, userpool)
    computed, run_dir, cmd = prepare(
        PlanRequest(scenario, profile, speed, scale, window, assume, assumptions, seed,
                    target_spec, tuple(drop_persona or ())),
        RunOptions(target, run_dir=out, userpool=userpool, thresholds=thresholds,
                   staging_hosts=staging_hosts, oneroster_client=oneroster_client,
                   exporter_host=exporter_host, exporter_port=exporter_port,
                   master_port=master_port, processes=workers, expect_workers=expect_workers,
                   abort_on_fail=abort_on_fail, grafana_url=grafana_url,
                   target_spec=target_spec))
    console = Console(width=120)
    console.print(f"{computed.scenario.name}: {computed.scenario.title} · profile"
                  f" {computed.profile} · {hhmm(computed.span[0])}-{hhmm(computed.span[1])}"
                  f" at speed {computed.speed:g} · {computed.duration / 60:.1f} min ·"
                  f" peak {computed.total_peak:.2f} sessions/s · {run_dir}", highlight=False)
    if expect_workers:
        console.print(f"waiting for {expect_workers} workers on port {master_port}: on each"
                      f" load machine run `firstbell worker --master THIS_HOST --master-port"
                      f" {master_port} --userpool POOL`", highlight=False)
    code = drive(cmd, {"FIRSTBELL_GRAFANA_TOKEN": grafana_token} if grafana_token else {})
    if code == USAGE_ERROR_EXIT and not (run_dir / "run.json").exists():
        shutil.rmtree(run_dir, ignore_errors=True)  # Locust refused to start: no run to keep
    raise typer.Exit(code)


def spawn(cmd: list[str], secrets: dict[str, str],
          log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start Locust in a process group of its own, so that a terminal's Ctrl-C reaches it
    once, from us (see `finish`). With `log`, its output goes to that file (a file, never a
    pipe nobody reads: a full pipe would block Locust's event loop)."""
    # firstbell's FIRSTBELL_* variables must not reach Locust's own options: the plan file
    # already holds every value, and a stray FIRSTBELL_THINK_SCALE would change the run
    # behind the ledger's back.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRSTBELL_")}
    env.update(secrets, PYTHONUNBUFFERED="1")
    out = log.open("ab") if log is not None else None
    return subprocess.Popen(cmd, env=env, process_group=0, stdout=out,
                            stderr=subprocess.STDOUT if out else None)


def finish(proc: subprocess.Popen[bytes], poll: Callable[[], None] | None = None,
           every: float = 1.0) -> int:
    """Wait for Locust (calling `poll` every `every` seconds); Ctrl-C is passed on as one
    SIGINT (Locust then writes a partial summary and verdict), and so is SIGTERM. Its exit
    code, 128 + N when a signal N killed it."""
    # A container stop, `kubectl delete` or a Job deadline sends SIGTERM (and, as PID 1, Python
    # would ignore it while Locust, in its own process group, never hears of it): pass it on
    # as the SIGINT that makes Locust write its partial summary and verdict.
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGINT)) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        while True:
            try:
                code = proc.wait(timeout=every if poll else None)
                return 128 - code if code < 0 else code
            except subprocess.TimeoutExpired:
                if poll:
                    poll()
            except KeyboardInterrupt:
                proc.send_signal(signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def drive(cmd: list[str], secrets: dict[str, str], log: Path | None = None) -> int:
    return finish(spawn(cmd, secrets, log))
