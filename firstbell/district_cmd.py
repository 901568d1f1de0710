"""`firstbell district …`: generate a district and describe what was generated."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from fake_data.describe import Description, describe
from fake_data.output import DEFAULT_FORMATS, Events, Request, parse_formats, write_district
from firstbell.cli_options import seed_option

district_app = typer.Typer(help="Generate a synthetic district and describe it.",
                           no_args_is_help=True)


def _stderr() -> Console:
    """Where progress goes (a function so tests can watch it on a recording terminal)."""
    return Console(stderr=True)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"), BarColumn(), TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(), console=console, transient=False,
        disable=not console.is_terminal,
    )


@district_app.command("generate")
def generate_cmd(
    profile: str = typer.Option("cps", envvar="FIRSTBELL_PROFILE",
                                help="Built-in profile name (cps, small) or a path to a YAML."),
    scale: float = typer.Option(1.0, envvar="FIRSTBELL_SCALE",
                                help="Population multiplier, 0.001 to 10."),
    seed: int = seed_option("Fixes every random choice"),
    out: Path = typer.Option(..., envvar="FIRSTBELL_OUT", help="Output folder (created)."),
    formats: str = typer.Option(DEFAULT_FORMATS, envvar="FIRSTBELL_FORMATS",
                                help="Comma-separated formats to write (add activity for a"
                                     " synthetic training-sandbox log)."),
    history_days: int = typer.Option(0, envvar="FIRSTBELL_HISTORY_DAYS",
                                     help="School days of history before the cutover date."),
    force: bool = typer.Option(False, envvar="FIRSTBELL_FORCE",
                               help="Replace a district generated before in --out."),
) -> None:
    """Generate a whole district, deterministically.

    Example: firstbell district generate --profile small --seed 7 --out out/small
    """
    request = Request(profile=profile, scale=scale, seed=seed, formats=parse_formats(formats),
                      history_days=history_days)
    console = _stderr()
    with _progress(console) as bar:
        steps: dict[str, TaskID] = {}

        def on_table(name: str, rows: int) -> None:  # one bar per table, full once it is built
            bar.add_task(f"table {name}", total=1, completed=1,
                         detail=f"{rows:,} row{'' if rows == 1 else 's'}")

        def on_step(name: str) -> None:
            for task in steps.values():
                bar.update(task, completed=1)
            total = history_days if name == "history" else 1
            steps[name] = bar.add_task(f"write {name}", total=total, detail="")

        def on_day(days: int) -> None:
            bar.update(steps["history"], advance=days, detail="school days")

        manifest = write_district(request, out, force=force,
                                  events=Events(table=on_table, step=on_step, history_day=on_day))
        for task in steps.values():
            bar.update(task, completed=bar.tasks[task].total)
    tables_written = manifest["tables"]
    assert isinstance(tables_written, dict)
    summary = Console()
    summary.print(
        f"Generated district '{manifest['profile']}' (scale {scale}, seed {seed}) in {out}: "
        f"{tables_written['schools']:,} schools, {tables_written['students']:,} students, "
        f"{tables_written['staff']:,} staff, {tables_written['guardians']:,} guardians, "
        f"{tables_written['enrollments']:,} enrollments. Formats: {', '.join(request.formats)}."
    )
    _print_warnings(manifest, summary)


def _print_warnings(manifest: dict[str, object], console: Console) -> None:
    """Where the district departs from its profile (also in district.json under "warnings")."""
    warnings = manifest.get("warnings") or []
    assert isinstance(warnings, list)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {escape(str(warning))}", style="yellow",
                      highlight=False)


def render(description: Description, console: Console) -> None:
    m = description.manifest
    console.print(f"[bold]District[/] {m['profile']} · scale {m['scale']} · seed {m['seed']} · "
                  f"formats {', '.join(m['formats'])}  [dim](synthetic data)[/]")  # type: ignore[arg-type]
    _print_warnings(m, console)
    sections = dict.fromkeys(f.section for f in description.figures)
    for section in sections:
        table = Table(title=section, title_justify="left", show_edge=False)
        table.add_column("item")
        table.add_column("generated", justify="right")
        table.add_column("profile target", justify="right")
        table.add_column("diff", justify="right")
        for fig in description.section(section):
            diff = ""
            if fig.target:
                diff = f"{(fig.generated - fig.target) / fig.target * 100:+.1f}%"
            table.add_row(fig.item, fig.shown(fig.generated), fig.shown(fig.target), diff)
        console.print(table)


@district_app.command("describe")
def describe_cmd(
    folder: Path = typer.Argument(..., help="A folder written by 'district generate'."),
) -> None:
    """Print what was generated beside the profile's targets.

    Example: firstbell district describe out/small
    """
    render(describe(folder), Console(width=100))
