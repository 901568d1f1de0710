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

from firstbell.cli_options import MASTER_PORT_OPTION, STAGING_HOSTS
from firstbell.run_cmd import LOCUSTFILES, drive
from kernel.errors import UserError
from loadtests.identities import check_folder
from loadtests.run_options import WorkerOptions
from loadtests.target_source import (
    check_hosts,
    target_file_payload,
    target_of_payload,
    userpool_files,
)
from loadtests.targets import load_target


def worker_command(options: WorkerOptions) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", LOCUSTFILES, *options.argv()]


def worker(
    master: str = typer.Option(..., "--master", envvar="FIRSTBELL_MASTER",
                               help="Host name or address of the machine running"
                                    " `firstbell run … --expect-workers N`."),
    master_port: int = MASTER_PORT_OPTION,
    userpool: Path = typer.Option(..., "--userpool", envvar="FIRSTBELL_USERPOOL",
                                  help="User pool folder of the same district as the"
                                       " master's run."),
    staging_hosts: str = STAGING_HOSTS,
    processes: int = typer.Option(1, "--processes", envvar="FIRSTBELL_PROCESSES", min=1,
                                  help="Worker processes on this machine (one per core)."),
    target_spec: Path | None = typer.Option(None, "--target-spec",
                                            envvar="FIRSTBELL_TARGET_SPEC",
                                            help="This machine's copy of the run's target"
                                                 " file, where its vendor-account CSV pools"
                                                 " are read (the master sends its paths)."),
) -> None:
    """Join a run's master from this machine and send its share of the load.

    Example: firstbell worker --master loadgen-1.district.internal --userpool pool/userpool
    """
    try:  # every persona's pool file must be there before the master counts on this worker
        if target_spec is None:
            check_folder(str(userpool), load_target("staging").pools_for(
                ["teacher", "student", "guardian", "clerk", "district_admin"]))
        else:  # the file is valid here too, and this machine has the pools it needs
            payload = target_file_payload(target_spec)
            target = target_of_payload(payload)
            check_folder(str(userpool),
                         userpool_files(payload, target, target.click_paths, target_spec))
            check_hosts(payload, staging_hosts.split(","))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    raise typer.Exit(drive(worker_command(WorkerOptions(
        master, userpool, master_port=master_port, staging_hosts=staging_hosts,
        processes=processes, target_spec=target_spec)), {}))
