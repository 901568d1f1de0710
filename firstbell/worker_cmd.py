"""`firstbell worker --master HOST`: this machine joins a run's master as a load worker.

The master (`firstbell run … --expect-workers N`) sends each worker its index, the worker
count, the plan and the start time over Locust's own protocol; the worker loads its share of
the user pool (rows whose number mod N is its index, so no identity is used by two machines),
sends its load, and ships its counters and HDR histograms to the master, which merges them
exactly. The worker needs the same user pool folder as the master's district; it checks the
target against its own allowlist before sending anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from firstbell.run_cmd import LOCUSTFILES, MASTER_PORT, STAGING_HOSTS, drive
from kernel.errors import UserError
from loadtests.identities import check_folder
from loadtests.targets import load_target


def worker_command(master: str, master_port: int, userpool: Path, staging_hosts: str,
                   processes: int) -> list[str]:
    cmd = [sys.executable, "-m", "locust", "-f", LOCUSTFILES, "--worker",
           "--master-host", master, "--master-port", str(master_port),
           "--userpool", str(userpool)]
    if staging_hosts:
        cmd += ["--staging-hosts", staging_hosts]
    if processes > 1:  # several worker processes on this machine, each its own share
        cmd += ["--processes", str(processes)]
    return cmd


def worker(
    master: str = typer.Option(..., "--master", envvar="FIRSTBELL_MASTER",
                               help="Host name or address of the machine running"
                                    " `firstbell run … --expect-workers N`."),
    master_port: int = MASTER_PORT,
    userpool: Path = typer.Option(..., "--userpool", envvar="FIRSTBELL_USERPOOL",
                                  help="User pool folder of the same district as the"
                                       " master's run."),
    staging_hosts: str = STAGING_HOSTS,
    processes: int = typer.Option(1, "--processes", envvar="FIRSTBELL_PROCESSES", min=1,
                                  help="Worker processes on this machine (one per core)."),
) -> None:
    """Join a run's master from this machine and send its share of the load.

    Example: firstbell worker --master loadgen-1.district.internal --userpool pool/userpool
    """
    try:  # every persona's pool file must be there before the master counts on this worker
        check_folder(str(userpool), load_target("staging").pools_for(
            ["teacher", "student", "guardian", "clerk", "district_admin"]))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    raise typer.Exit(drive(worker_command(master, master_port, userpool, staging_hosts,
                                          processes), {}))
