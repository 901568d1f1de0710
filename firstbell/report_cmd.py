"""`firstbell report RUN_DIR [--baseline OTHER_RUN]`: the leadership report of a run (HTML,
Markdown, JSON) written into the run directory."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from firstbell.report.data import load
from firstbell.report.render import write

REPO = Path(__file__).resolve().parents[1]


def report(
    run_dir: Path = typer.Argument(..., help="A run directory (runs/<time>-<scenario>)."),
    baseline: Path | None = typer.Option(None, "--baseline", envvar="FIRSTBELL_BASELINE",
                                         help="An earlier run to compare with."),
    capacity: Path | None = typer.Option(None, "--capacity", envvar="FIRSTBELL_CAPACITY",
                                         help="capacity.json of a `firstbell capacity` search"
                                              " (default: the run directory's, if any)."),
    runbook_root: str = typer.Option(REPO.as_uri(), "--runbook-root",
                                     envvar="FIRSTBELL_RUNBOOK_ROOT",
                                     help="Where the runbooks' links point (the repo here;"
                                          " your forge's URL when the report travels)."),
) -> None:
    """Write the leadership report of a run (HTML, Markdown, JSON).

    Writes report.html (self-contained, printable), report.md and report.json into the run
    directory: the verdict and its reasons, what was rehearsed, latency against the thresholds,
    arrivals, errors, exposures, capacity and headroom, the baseline, actions, assumptions.

    Example: firstbell report runs/20261128T120000Z-smoke --baseline runs/20261121T120000Z-smoke
    """
    data = load(run_dir, baseline, capacity)
    paths = write(run_dir, data, runbook_root.rstrip("/"))
    console = Console()
    console.print(f"{data['verdict']['verdict']}: "
                  + ("; ".join(data["verdict"]["reasons"]) or "every objective held"),
                  highlight=False)
    if data["partial_note"]:
        console.print(f"partial run: {data['partial_note']}", highlight=False)
    for path in paths:
        console.print(str(path), highlight=False)
