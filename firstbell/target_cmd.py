"""`firstbell target …`: target files. `record` turns a browser recording (HAR) into a persona
of a target folder (`recordings.convert.record`) and prints what it did and what to edit;
`check` runs one session per persona against a SIS and prints every step, the loop a person
iterates on before a rehearsal."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from fake_data.userpool import load_persona
from firstbell.cli_options import SEED, STAGING_HOSTS, USERPOOL
from firstbell.run_cmd import pool_for
from kernel.errors import EXIT_CHECK_FAILED, EXIT_EXPOSURE, UserError
from loadtests.identities import check_folder
from loadtests.target_source import check_hosts
from loadtests.targetfile.check_run import check_target, render
from loadtests.targetfile.loader import load_with_source
from loadtests.targetfile.model import TargetFile
from loadtests.targetfile.target import csv_pool, pool_of
from loadtests.targets_allowed import TargetRefused
from loadtests.targets_allowed import check_target as allowed
from recordings.convert import MAX_THINK, record
from recordings.filters import FilterRules

target_app = typer.Typer(help="Target files: a district's own SIS as data.",
                         no_args_is_help=True)


@target_app.command("record")
def record_cmd(
    har_file: Path = typer.Argument(..., help="The recording (HAR 1.2, from the browser's dev"
                                    " tools, Charles or Playwright).", show_default=False),
    persona: str = typer.Option(..., "--persona", envvar="FIRSTBELL_PERSONA",
                                help="The persona this recording becomes (e.g. guardian)."),
    into: Path = typer.Option(Path("target"), "--into", envvar="FIRSTBELL_INTO",
                              help="The target folder (target.yaml, personas/NAME.yaml)."),
    plays: str = typer.Option("", "--plays", envvar="FIRSTBELL_PLAYS",
                              help="The day persona it plays (default: the persona's name)."),
    password: str = typer.Option("", "--password", envvar="FIRSTBELL_RECORD_PASSWORD",
                                 help="The password the recording logged in with (finds the"
                                 " login; never written). Prefer the environment variable:"
                                 " a command line shows in ps and the shell's history.",
                                 show_default=False),
    username: str = typer.Option("", "--username", envvar="FIRSTBELL_RECORD_USERNAME",
                                 help="The username, if its field is not named like one."),
    name: str = typer.Option("", "--name", envvar="FIRSTBELL_TARGET_NAME",
                             help="The target's name (default: the folder's)."),
    host: list[str] = typer.Option([], "--host", help="A host of the target (repeat; default:"
                                   " the host of the first page). Others are third parties."),
    drop_host: list[str] = typer.Option([], "--drop-host", help="A host to drop (repeat)."),
    keep_type: list[str] = typer.Option([], "--keep-type",
                                        help="A resource type to keep (e.g. script; repeat)."),
    max_think: float = typer.Option(MAX_THINK, "--max-think", envvar="FIRSTBELL_MAX_THINK",
                                    help="Cap on a recorded think time, in seconds.", min=0),
) -> None:
    """Turn a browser recording into a persona of a target folder.

    Example: firstbell target record guardian.har --persona guardian --into district_sis
    """
    rules = FilterRules(hosts=tuple(host), drop_hosts=tuple(drop_host),
                        keep_types=tuple(keep_type))
    report = record(har_file, persona, into, password=password or None,
                    username=username or None, plays=plays or None, name=name or None,
                    rules=rules, max_think=max_think)
    console = Console(soft_wrap=True)
    for line in report.lines():
        console.print(escape(line), highlight=False)


@target_app.command("check")
def check_cmd(
    target_file: Path = typer.Argument(..., help="The target file or folder.",
                                       show_default=False),
    target: str = typer.Option(..., "--target", envvar="FIRSTBELL_TARGET",
                               help="Base URL of the SIS to check against (loopback, or a"
                                    " host in --staging-hosts)."),
    userpool: Path | None = USERPOOL,
    persona: list[str] = typer.Option([], "--persona", help="Check only this persona"
                                      " (repeat; default: every persona)."),
    staging_hosts: str = STAGING_HOSTS,
    seed: int = SEED,
) -> None:
    """Run one session per persona at think time 0 and print every step.

    Prints each step's status, time, what it extracted and each check, and on a failure the
    start of the answer (secrets masked); the declared probes run too. Exit 0 when every
    step passed, 1 when one failed, 4 when a probe read data it must not.

    Example: firstbell target check district_sis --target http://127.0.0.1:8080
    --userpool pool/userpool
    """
    tf, base = load_with_source(target_file)
    hosts = staging_hosts.split(",")
    try:
        allowed(target, hosts)
        check_hosts({"hosts": tf.hosts}, hosts)
    except TargetRefused as exc:
        raise UserError(f"option --target / {target_file} hosts: {exc}") from None
    unknown = sorted(set(persona) - set(tf.personas))
    if unknown:
        raise UserError(f"--persona {', '.join(unknown)}: {target_file} has no such persona;"
                        f" its personas are {', '.join(tf.personas)}")
    wanted = persona or list(tf.personas)
    identities = _identities(tf, base, wanted, pool_for(target, userpool), seed)
    report = check_target(tf, target, identities, personas=wanted, seed=seed)
    Console(soft_wrap=True).print(escape(render(report)), highlight=False, end="")
    raise typer.Exit(EXIT_EXPOSURE if any(p.exposed for p in report.probes)
                     else 0 if report.ok else EXIT_CHECK_FAILED)


def _identities(tf: TargetFile, base: Path, personas: list[str], userpool: Path | None,
                seed: int) -> dict[str, dict[str, Any]]:
    """One account per persona: a seeded row of its user pool, or the first of its vendor
    CSV pool."""
    rng = random.Random(seed)
    out: dict[str, dict[str, Any]] = {}
    for name in personas:
        rows = csv_pool(tf, name, base)
        if rows is None:
            pool = pool_of(name, tf.personas[name])
            try:
                check_folder(str(userpool) if userpool else None, [pool])
            except ValueError as exc:
                raise UserError(str(exc)) from None
            table = load_persona(Path(str(userpool)), pool)
            rows = table.slice(rng.randrange(table.num_rows), 1).to_pylist() \
                if table.num_rows else []
        if not rows:
            raise UserError(f"persona {name}: its user pool has no account to log in with")
        out[name] = dict(rows[0])
    return out
