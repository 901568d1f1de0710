"""`firstbell report RUN_DIR [--baseline OTHER_RUN|last]`: the leadership report of a run (HTML,
Markdown, JSON) written into the run directory; `firstbell report --history runs/`: the
verdicts of every run directory in a folder, newest first (history.md, history.html)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from firstbell.report.compare import history as read_history
from firstbell.report.compare import previous_run
from firstbell.report.data import load
from firstbell.report.render import write, write_history
from kernel.errors import UserError

REPO = Path(__file__).resolve().parents[1]


def _baseline(run_dir: Path, baseline: str | None) -> Path | None:
    if baseline is None:
        return None
    if baseline != "last":
        return Path(baseline)
    found = previous_run(run_dir)
    if found is None:
        raise UserError(f"option --baseline last: no earlier run of the same scenario beside"
                        f" {run_dir} (in {run_dir.resolve().parent}); give a run directory")
    return found


def _history(folder: Path, console: Console) -> None:
    rows = read_history(folder, load)
    table = Table(title=f"rehearsals in {folder} (newest first)")
    table.add_column("run", no_wrap=True)
    for column in ("scenario", "decision", "headroom", "p95 at peak", "failed"):
        table.add_column(column)
    for r in rows:
        p95 = r["p95_at_peak"]
        table.add_row(r["run"], r["scenario"] or "n/a", r["decision"], r["headroom_short"],
                      "n/a" if p95 is None else f"{p95 * 1000:.0f} ms",
                      ", ".join(r["failed"]) or "none")
    console.print(table)
    for path in write_history(folder, rows):
        console.print(str(path), highlight=False)


def report(
    run_dir: Path | None = typer.Argument(None, help="A run directory (runs/<time>-<scenario>)."),
    baseline: str | None = typer.Option(None, "--baseline", envvar="FIRSTBELL_BASELINE",
                                        help="An earlier run to compare with, or `last`: the"
                                             " newest earlier run of the same scenario in the"
                                             " same folder."),
    capacity: Path | None = typer.Option(None, "--capacity", envvar="FIRSTBELL_CAPACITY",
                                         help="capacity.json of a `firstbell capacity` search"
                                              " (default: the run directory's, if any)."),
    readiness: Path | None = typer.Option(None, "--readiness", envvar="FIRSTBELL_READINESS",
                                          help="readiness.json of `firstbell readiness`: people"
                                               " readiness beside the system's, one decision"
                                               " (default: the run directory's, if any)."),
    history: Path | None = typer.Option(None, "--history",
                                        help="A folder of run directories: print the table of"
                                             " their verdicts, newest first, and write"
                                             " history.md and history.html there."),
    runbook_root: str = typer.Option(REPO.as_uri(), "--runbook-root",
                                     envvar="FIRSTBELL_RUNBOOK_ROOT",
                                     help="Where the runbooks' links point (the repo here;"
                                          " your forge's URL when the report travels)."),
) -> None:
    """Write the leadership report of a run (HTML, Markdown, JSON), or a folder's history.

    Writes report.html (self-contained, printable), report.md and report.json into the run
    directory: page one (the decision in two sentences, the worst moment forecast beside
    achieved, latency then, headroom, what saturates first, the scope, three actions), what
    changed since --baseline, the objectives, charts, errors, exposures, actions, assumptions.

    Example: firstbell report runs/20261128T120000Z-smoke --baseline last

    Example: firstbell report --history runs/
    """
    console = Console()
    if history is not None:
        if run_dir is not None:
            raise UserError("firstbell report: give a RUN_DIR or --history FOLDER, not both")
        _history(history, console)
        return
    if run_dir is None:
        raise UserError("firstbell report: give a run directory (runs/<time>-<scenario>), or"
                        " --history runs/ for the verdicts of every run in a folder")
    data = load(run_dir, _baseline(run_dir, baseline), capacity, readiness)
    paths = write(run_dir, data, runbook_root.rstrip("/"))
    console.print(" ".join(data["page_one"]["sentences"]), highlight=False)
    if data["partial_note"]:
        console.print(f"partial run: {data['partial_note']}", highlight=False)
    for path in paths:
        console.print(str(path), highlight=False)
