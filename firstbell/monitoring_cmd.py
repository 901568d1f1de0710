"""`firstbell monitoring generate`: the Prometheus config and its recording and alert rules,
regenerated from the launch thresholds (`--check` tells whether the committed files are
current, for CI)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from firstbell.cli_options import THRESHOLDS, thresholds_of
from kernel.errors import UserError
from monitoring.config import DEFAULT
from monitoring.generate import render, stale, write

monitoring_app = typer.Typer(help="Generate Prometheus rules, alerts and Grafana dashboards from"
                                  " the launch thresholds.", no_args_is_help=True)
MONITORING_DIR = Path(__file__).resolve().parents[1] / "monitoring"


@monitoring_app.command("generate")
def generate(
    thresholds: Path | None = THRESHOLDS,
    out: Path = typer.Option(MONITORING_DIR, "--out", envvar="FIRSTBELL_MONITORING_OUT",
                             help="Folder to write prometheus/ into (default: the repo's"
                                  " monitoring/)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 when a file"
                                                      " differs from what would be generated."),
) -> None:
    """Regenerate the Prometheus and Grafana files from the launch thresholds.

    Writes monitoring/prometheus/ (config, recording and alert rules) and monitoring/grafana/
    (provisioning, dashboards).

    Example: firstbell monitoring generate --check
    """
    files = render(thresholds_of(thresholds), DEFAULT)
    console = Console()
    if check:
        behind = stale(out, files)
        for rel in behind:
            console.print(f"{out / rel} differs from what the thresholds generate")
        if behind:
            raise typer.Exit(1)
        console.print(f"{len(files)} generated files are current.")
        return
    try:
        written = write(out, files)
    except OSError as exc:
        raise UserError(f"option --out: cannot write under {out} ({exc.strerror})") from None
    for path in written:
        console.print(f"wrote {path}", highlight=False)
