"""`firstbell target …`: target files. `record` turns a browser recording (HAR) into a persona
of a target folder (`recordings.convert.record`) and prints what it did and what to edit."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

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
                                 " login; never written).", show_default=False),
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
