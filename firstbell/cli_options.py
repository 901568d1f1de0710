"""The options several `firstbell` commands take, declared once: one flag, one environment
variable, one default and one help text each, and the checks that go with them (the seed's
range, the thresholds file). A command that needs its own wording of an option (`capacity`'s
`--target` measures, `run`'s loads) declares it itself.

Typer reads an `OptionInfo` without changing it, so one object may stand as the default of a
parameter in several commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from fake_data.district import MAX_SEED, MIN_SEED
from kernel.errors import UserError
from kernel.ports import EXPORTER_PORT, LOOPBACK, MASTER_PORT
from thresholds import ThresholdError, Thresholds, load_thresholds


def seed_in_range(value: int) -> int:
    """Typer callback for --seed: the seed is stored as a 64-bit signed integer."""
    if not MIN_SEED <= value <= MAX_SEED:
        raise typer.BadParameter(
            f"{value} is out of range; use a whole number from {MIN_SEED} to {MAX_SEED} (2**63-1)."
        )
    return value


def seed_option(help_: str) -> Any:
    """`--seed` (42, FIRSTBELL_SEED, 0 to 2**63-1) with what the seed fixes in this command."""
    return typer.Option(42, "--seed", envvar="FIRSTBELL_SEED", callback=seed_in_range,
                        help=f"{help_} ({MIN_SEED} to 2**63-1).")


def thresholds_of(path: Path | None) -> Thresholds:
    """The launch thresholds `--thresholds` names (None: the built-in file), or a UserError."""
    try:
        return load_thresholds(path) if path is not None else load_thresholds()
    except ThresholdError as exc:
        raise UserError(str(exc)) from None


# --- the district (district generate, staging up/seed, rehearse) ------------------------------

DISTRICT_PROFILE = typer.Option("cps", "--profile", envvar="FIRSTBELL_PROFILE",
                                help="District profile.")
DISTRICT_SCALE = typer.Option(1.0, "--scale", envvar="FIRSTBELL_SCALE",
                              help="Population multiplier.")
DISTRICT_SEED = seed_option("Random seed")
HISTORY_DAYS = typer.Option(0, "--history-days", envvar="FIRSTBELL_HISTORY_DAYS",
                            help="School days of history to seed.")

# --- the computed plan (plan, run, capacity) ---------------------------------------------------

SCENARIO_HELP = ("A built-in day (back-to-school, cutover-day, grade-deadline, attendance-spike,"
                 " nightly-sync, soak, smoke, capacity-probe) or a scenario YAML file.")
PROFILE = typer.Option("cps", "--profile", envvar="FIRSTBELL_PROFILE",
                       help="District profile the rates are computed from (cps, small, or a"
                            " file).")
SPEED = typer.Option(None, "--speed", envvar="FIRSTBELL_SPEED",
                     help="Simulated minutes per real minute (rates stay real). Default: the"
                          " scenario's.")
SCALE = typer.Option(1.0, "--scale", envvar="FIRSTBELL_SCALE",
                     help="Rate multiplier, e.g. 2.0 for twice the district.")
WINDOW = typer.Option(None, "--window", envvar="FIRSTBELL_WINDOW",
                      help="Only this part of the day, HH:MM-HH:MM (e.g. 07:30-09:00).")
ASSUME = typer.Option(None, "--assume", help="Override an assumption: NAME=VALUE"
                                             " (repeatable).")
ASSUMPTIONS = typer.Option(None, "--assumptions", envvar="FIRSTBELL_ASSUMPTIONS",
                           help="YAML file of assumption overrides (name: value or"
                                " {value, source}).")
SEED = seed_option("Seed of the arrivals")
TARGET_SPEC = typer.Option(None, "--target-spec", envvar="FIRSTBELL_TARGET_SPEC",
                           help="Your own SIS as a target file or folder (docs/targets.md):"
                                " its personas replace the staging SIS's click paths.")
DROP_PERSONA = typer.Option(None, "--drop-persona", envvar="FIRSTBELL_DROP_PERSONA",
                            help="A day persona the target file does not play, left out on"
                                 " purpose (repeatable); the verdict says it was not"
                                 " rehearsed.")

# --- a run's Locust process (run, capacity, worker, rehearse; loadtests.run_options) ------------

USERPOOL = typer.Option(None, "--userpool", envvar="FIRSTBELL_USERPOOL",
                        help="User pool folder (firstbell district generate … --formats"
                             " userpool).")
THRESHOLDS = typer.Option(None, "--thresholds", envvar="FIRSTBELL_THRESHOLDS",
                          help="Launch thresholds file (default: the built-in one).")
STAGING_HOSTS = typer.Option("", "--staging-hosts", envvar="FIRSTBELL_STAGING_HOSTS",
                             help="Hosts besides loopback that may receive load,"
                                  " comma-separated.")
ONEROSTER_CLIENT = typer.Option("", "--oneroster-client", envvar="FIRSTBELL_ONEROSTER_CLIENT",
                                help="The integration persona's OAuth clients,"
                                     " comma-separated: ID:SECRET (the target: OneRoster"
                                     " 1.2, OAuth 2) or ID:SECRET@BASE_URL?version=1.1&"
                                     "auth=oauth1 (another provider; docs/oneroster.md).")
EXPORTER_PORT_OPTION = typer.Option(EXPORTER_PORT, "--exporter-port",
                                    envvar="FIRSTBELL_EXPORTER_PORT",
                                    help="Prometheus exporter port (0 any free, -1 off).")
EXPORTER_HOST = typer.Option(LOOPBACK, "--exporter-host", envvar="FIRSTBELL_EXPORTER_HOST",
                             help="Exporter bind address (0.0.0.0 in a container, so"
                                  " Prometheus on another host can scrape it).")
MASTER_PORT_OPTION = typer.Option(MASTER_PORT, "--master-port", envvar="FIRSTBELL_MASTER_PORT",
                                  help="Locust master port with --workers above 1 or"
                                       " --expect-workers.")
RUN_DIR = typer.Option(None, "--out", envvar="FIRSTBELL_RUN_DIR",
                       help="Run directory (default runs/<UTC time>-<scenario>).")
