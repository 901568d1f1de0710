"""`firstbell sis …`: third-party SIS products installed on this machine (RosarioSIS)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from firstbell.cli_options import DISTRICT_SCALE, DISTRICT_SEED
from sis.rosariosis import control

sis_app = typer.Typer(help="Third-party SIS products installed here to rehearse against.",
                      no_args_is_help=True)
rosariosis_app = typer.Typer(help="RosarioSIS 12 (PHP on PostgreSQL) with the synthetic "
                                  "district in its own tables.", no_args_is_help=True)
sis_app.add_typer(rosariosis_app, name="rosariosis")


@rosariosis_app.command("up")
def up_cmd(
    source: Path = typer.Option(..., envvar="FIRSTBELL_ROSARIOSIS_SOURCE", show_default=False,
                                help="The RosarioSIS release tarball or its unpacked folder."),
    # Its own default profile (a small district installs in seconds) and its own port and
    # worker variables: FIRSTBELL_PORT and FIRSTBELL_WORKERS belong to `staging up`.
    profile: str = typer.Option("small", "--profile", envvar="FIRSTBELL_PROFILE",
                                help="District profile."),
    scale: float = DISTRICT_SCALE, seed: int = DISTRICT_SEED,
    port: int = typer.Option(8780, "--port", envvar="FIRSTBELL_ROSARIOSIS_PORT",
                             help="HTTP port on 127.0.0.1 (0: any free)."),
    workers: int = typer.Option(4, "--workers", envvar="FIRSTBELL_ROSARIOSIS_WORKERS", min=1,
                                help="PHP worker processes (php-fpm pool or built-in server)."),
    builtin: bool = typer.Option(False, "--builtin/--no-builtin", envvar="FIRSTBELL_BUILTIN",
                                 help="PHP's built-in server even when php-fpm and nginx are "
                                      "installed."),
) -> None:
    """Install RosarioSIS from its source, seed the district into it and serve it on 127.0.0.1.

    Everything lives under .firstbell/rosariosis/ (the app, its own embedded PostgreSQL, the
    server configs and logs, the user pool). Run again with the same district: reused.

    Example: firstbell sis rosariosis up --source rosariosis-12.0-b6951427.tar.gz --port 8780
    """
    console = Console(stderr=True)
    options = control.UpOptions(source, profile, scale, seed, port, workers, builtin)
    with console.status("rosariosis up") as status:
        result = control.up(options, step=lambda s: status.update(s))
    state = result.state
    out = Console(highlight=False)
    if not result.started:
        console.print(f"Already running ({state.server}, district {state.district}).")
    elif not result.seeded:
        console.print(f"Database already seeded with district {state.district}; reused.")
    else:
        console.print(f"Seeded district {profile} (scale {scale:g}, seed {seed}) into "
                      f"RosarioSIS: " + ", ".join(f"{t} {n:,}" for t, n in result.rows.items()))
        console.print(f"User pool in {state.userpool}: " + ", ".join(
            f"{p} {n:,}" for p, n in result.identities.items()))
        total = sum(v for k, v in result.seconds.items() if not k.startswith(" "))
        console.print(f"Took {total:.1f} s.")
    console.print(f"Served by {state.server} ({state.workers} PHP workers).")
    out.print(state.url)


@rosariosis_app.command("status")
def status_cmd() -> None:
    """What runs for RosarioSIS here, and whether it answers (exit 1 when it does not).

    Example: firstbell sis rosariosis status
    """
    status = control.status()
    out = Console(highlight=False)
    if status.state is None:
        out.print("Not running (no .firstbell/rosariosis/state.json).")
        raise typer.Exit(1)
    state = status.state
    out.print(f"{state.url} · {'answers' if status.answers else 'does NOT answer'}")
    out.print(f"server: {state.server}, {state.workers} PHP workers")
    for name, ok in status.processes.items():
        out.print(f"  {name}: {'running' if ok else 'GONE'}")
    out.print(f"embedded PostgreSQL: {'running' if status.database else 'NOT running'} "
              f"({state.pg_root}), database {state.database}")
    out.print(f"district: {state.district} · user pool: {state.userpool}")
    if not (status.answers and status.database and all(status.processes.values())):
        raise typer.Exit(1)


@rosariosis_app.command("down")
def down_cmd() -> None:
    """Stop everything `sis rosariosis up` started (web server, PHP workers, PostgreSQL).

    Example: firstbell sis rosariosis down
    """
    stopped = control.down()
    Console(highlight=False).print("Stopped: " + ", ".join(stopped) if stopped
                                   else "Nothing was running.")
