"""The engine's options, added to Locust's own parser: each has a command-line flag, a
``FIRSTBELL_*`` environment variable and a key in Locust's config file (``locust.conf``,
``--config``), as Locust's own options do. Defaults live here, in `loadtests.plan` and, for the
ports, in `kernel.ports`; `loadtests.run_options` renders these options for a run.
"""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path
from typing import Any

from kernel.ports import EXPORTER_PORT, LOOPBACK
from loadtests.plan import LoadPlan, PlanError, constant_plan, load_plan, parse_rates
from loadtests.target_source import target_file_payload, target_of_payload
from thresholds import Thresholds, load_thresholds

DEFAULT_RATES = "teacher=1,student=1,guardian=1,clerk=0.2,district_admin=0.05"

# option name -> (plan field it overrides, type); None values are left to the plan.
PLAN_OVERRIDES = {
    "firstbell_think_scale": ("think_scale", float),
    "firstbell_probe_rate": ("probe_rate", float),
    "firstbell_seed": ("seed", int),
    "firstbell_max_users": ("max_users", int),
    "firstbell_late_after": ("late_after_seconds", float),
    "firstbell_drop_after": ("drop_after_seconds", float),
    "firstbell_login_attempts": ("login_attempts", int),
    "firstbell_login_backoff": ("login_backoff_seconds", float),
    "firstbell_drain": ("drain_seconds", float),
    "firstbell_login_timeout": ("login_timeout_seconds", float),
    "firstbell_target_paths": ("target", str),
}


def add_arguments(parser: Any) -> None:
    """Register the options on Locust's configargparse parser."""
    group = parser.add_argument_group("firstbell", "open-model arrivals, corrected latency,"
                                      " probes, exporter (firstbell)")

    def add(flag: str, env: str, help_: str, **kw: Any) -> None:
        group.add_argument(flag, env_var=env, help=help_, **kw)

    add("--plan", "FIRSTBELL_PLAN", "Load plan file (YAML/JSON: stages of arrival rates per"
        " persona); without it --rate and --duration make a constant plan", dest="firstbell_plan")
    add("--rate", "FIRSTBELL_RATE", f"Sessions per second per persona (default {DEFAULT_RATES})",
        dest="firstbell_rate", default=DEFAULT_RATES)
    add("--duration", "FIRSTBELL_DURATION", "Seconds of a constant plan (default 60)",
        dest="firstbell_duration", type=float, default=60.0)
    add("--userpool", "FIRSTBELL_USERPOOL", "User pool folder written by"
        " `firstbell district generate` (userpool/)", dest="firstbell_userpool")
    add("--target-paths", "FIRSTBELL_TARGET_PATHS", "Click paths of which target: staging,"
        " or a Python target module (path/to/module.py or package.module)",
        dest="firstbell_target_paths")
    add("--target-spec", "FIRSTBELL_TARGET_SPEC", "A district's own SIS as a target file or"
        " folder (docs/targets.md); its personas replace the built-in click paths",
        dest="firstbell_target_spec")
    add("--run-dir", "FIRSTBELL_RUN_DIR", "Run directory (default runs/<UTC time>-<scenario>)",
        dest="firstbell_run_dir")
    add("--run-id", "FIRSTBELL_RUN_ID", "Run id (default: the run directory's name)",
        dest="firstbell_run_id")
    add("--exporter-port", "FIRSTBELL_EXPORTER_PORT", "Prometheus exporter port on the master"
        f" ({EXPORTER_PORT}; 0 any free port; -1 off)", dest="firstbell_exporter_port",
        type=int, default=EXPORTER_PORT)
    add("--exporter-host", "FIRSTBELL_EXPORTER_HOST", f"Exporter bind address ({LOOPBACK})",
        dest="firstbell_exporter_host", default=LOOPBACK)
    add("--probe-rate", "FIRSTBELL_PROBE_RATE", "Chance a session runs each probe it can"
        " (0.05)", dest="firstbell_probe_rate", type=float)
    add("--think-scale", "FIRSTBELL_THINK_SCALE", "Multiplier of think times (1.0)",
        dest="firstbell_think_scale", type=float)
    add("--seed", "FIRSTBELL_SEED", "Seed of the arrival streams (42)", dest="firstbell_seed",
        type=int)
    add("--max-users", "FIRSTBELL_MAX_USERS", "Most Locust users the engine provisions (700"
        " per load process)",
        dest="firstbell_max_users", type=int)
    add("--late-after", "FIRSTBELL_LATE_AFTER", "Seconds after its arrival a session counts as"
        " late (0.25)", dest="firstbell_late_after", type=float)
    add("--drop-after", "FIRSTBELL_DROP_AFTER", "Seconds after its arrival a session that could"
        " not start is dropped (30)", dest="firstbell_drop_after", type=float)
    add("--login-attempts", "FIRSTBELL_LOGIN_ATTEMPTS", "Login attempts per session (3)",
        dest="firstbell_login_attempts", type=int)
    add("--login-backoff", "FIRSTBELL_LOGIN_BACKOFF", "First login retry pause, doubling (1 s)",
        dest="firstbell_login_backoff", type=float)
    add("--login-timeout", "FIRSTBELL_LOGIN_TIMEOUT", "Seconds a person waits for a login"
        " before trying again (10)", dest="firstbell_login_timeout", type=float)
    add("--drain", "FIRSTBELL_DRAIN", "Seconds sessions in flight may finish after the plan"
        " ends (30)", dest="firstbell_drain", type=float)
    add("--thresholds", "FIRSTBELL_THRESHOLDS", "Launch thresholds file (default: firstbell's"
        " thresholds/launch-thresholds.yaml)", dest="firstbell_thresholds")
    group.add_argument("--abort-on-fail", env_var="FIRSTBELL_ABORT_ON_FAIL",
                       action="store_true", dest="firstbell_abort_on_fail",
                       help="Stop the run when an abortable objective has failed for its"
                            " duration")
    add("--staging-hosts", "FIRSTBELL_STAGING_HOSTS", "Hosts besides loopback that may receive"
        " load, comma-separated (.example.org for subdomains)", dest="firstbell_staging_hosts")
    add("--oneroster-client", "FIRSTBELL_ONEROSTER_CLIENT", "OAuth client(s) of the"
        " integration persona, comma-separated: ID:SECRET (the target, OneRoster 1.2, OAuth 2)"
        " or ID:SECRET@BASE_URL?version=1.1&auth=oauth1|oauth2&token_url=URL&scope=S"
        " (docs/oneroster.md)", dest="firstbell_oneroster_client")


def thresholds_from(options: Namespace) -> Thresholds:
    path = getattr(options, "firstbell_thresholds", None)
    return load_thresholds(Path(path)) if path else load_thresholds()


def plan_from(options: Namespace) -> LoadPlan:
    """The plan the options ask for (a plan file, or a constant plan), with overrides."""
    overrides: dict[str, Any] = {}
    for option, (field, cast) in PLAN_OVERRIDES.items():
        value = getattr(options, option, None)
        if value is not None:
            overrides[field] = cast(value)
    clients = getattr(options, "firstbell_oneroster_client", None)
    if clients:
        overrides["oneroster_clients"] = [c.strip() for c in clients.split(",") if c.strip()]
    spec = getattr(options, "firstbell_target_spec", None)
    if spec:
        overrides["target_file"] = target_file_payload(spec)
        overrides["target"] = overrides["target_file"]["name"]
    if getattr(options, "firstbell_plan", None):
        plan = load_plan(Path(options.firstbell_plan), overrides)
    else:
        rates = parse_rates(getattr(options, "firstbell_rate", None) or DEFAULT_RATES)
        if not rates:
            raise PlanError("--rate: no persona has a rate; write e.g. --rate teacher=2,"
                            "guardian=1")
        plan = constant_plan(rates, float(getattr(options, "firstbell_duration", 60.0)),
                             overrides)
    if plan.target_file is not None:
        _plays_every_persona(plan)
    return plan


def _plays_every_persona(plan: LoadPlan) -> None:
    """A target file runs only the personas it plays: any other the plan sends would be
    silently left out, and a GO would not say so (`firstbell run --drop-persona` says it)."""
    played = target_of_payload(plan.target_file or {}).click_paths
    missing = [p for p in plan.personas if p not in played and p not in plan.not_rehearsed]
    if missing:
        raise PlanError(f"target {plan.target!r} plays no {', '.join(missing)}, which the plan"
                        f" sends; give --rate only for {', '.join(sorted(played))} (or run"
                        " the day with `firstbell run … --drop-persona`)")
