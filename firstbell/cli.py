"""The `firstbell` command: one Typer app with a sub-app per part.

Errors a user can cause surface as one clear paragraph and exit code 2, never a traceback.
Every option also reads ``FIRSTBELL_<OPTION>`` from the environment.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from firstbell.capacity_cmd import capacity
from firstbell.district_cmd import district_app
from firstbell.grafana_cmd import grafana_app
from firstbell.monitoring_cmd import monitoring_app
from firstbell.plan_cmd import plan
from firstbell.prometheus_cmd import prometheus_app
from firstbell.readiness_cmd import readiness
from firstbell.rehearse_cmd import rehearse
from firstbell.report_cmd import report
from firstbell.run_cmd import run
from firstbell.sis_cmd import sis_app
from firstbell.staging_cmd import staging_app
from firstbell.target_cmd import target_app
from firstbell.worker_cmd import worker
from kernel.errors import EXIT_INTERRUPTED, UserError

app = typer.Typer(
    name="firstbell",
    help="Rehearse a school district's SIS go-live before it happens.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(district_app, name="district")
app.add_typer(staging_app, name="staging")
app.add_typer(monitoring_app, name="monitoring")
app.add_typer(prometheus_app, name="prometheus")
# The old spelling keeps working for one release: `monitor` beside `monitoring` read as one
# thing; `prometheus` says what it starts.
app.add_typer(prometheus_app, name="monitor", hidden=True, deprecated=True,
              help="Deprecated spelling of `firstbell prometheus` (removed in the next release).")
app.add_typer(grafana_app, name="grafana")
app.add_typer(target_app, name="target")
app.add_typer(sis_app, name="sis")
app.command("plan")(plan)
app.command("run")(run)
app.command("capacity")(capacity)
app.command("report")(report)
app.command("rehearse")(rehearse)
app.command("worker")(worker)
app.command("readiness")(readiness)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, turn user errors into exit code 2."""
    try:
        app(args=argv, prog_name="firstbell")  # click handles its own usage errors (exit 2)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except UserError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}",
                                                   highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted; nothing was left half-written.")
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
