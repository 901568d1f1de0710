"""`firstbell prometheus up|down` (formerly `firstbell monitor`): a local Prometheus with the
generated config and rules, scraping the load generator and the staging SIS on this machine
(when Debian's `prometheus` is on PATH), so a rehearsal shows live metrics without Docker."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.console import Console

from firstbell.cli_options import THRESHOLDS, thresholds_of
from kernel.errors import UserError
from kernel.ports import EXPORTER_PORT, LOOPBACK, STAGING_PORT
from monitoring.config import DEFAULT
from monitoring.local import LocalPrometheus, PrometheusMissing, start, stop
from staging.control import STATE_DIR, load_state
from thresholds import DEFAULT_FILE

prometheus_app = typer.Typer(help="Run a local Prometheus with the generated rules (no Docker).",
                          no_args_is_help=True)
STATE = STATE_DIR / "monitor.json"


def _alive(pid: int) -> bool:
    import os
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@prometheus_app.command("up")
def up(
    port: int = typer.Option(9090, "--port", envvar="FIRSTBELL_MONITOR_PORT",
                             help="Prometheus port on 127.0.0.1."),
    generator: str = typer.Option(f"{LOOPBACK}:{EXPORTER_PORT}", "--generator",
                                  envvar="FIRSTBELL_MONITOR_GENERATOR",
                                  help="host:port of the load generator's exporter."),
    sis: str = typer.Option("", "--sis", envvar="FIRSTBELL_MONITOR_SIS",
                            help="host:port of the SIS's /metrics (default: the running"
                                 f" `firstbell staging up`, else {LOOPBACK}:{STAGING_PORT})."),
    thresholds: Path | None = THRESHOLDS,
) -> None:
    """Start a local Prometheus with firstbell's rules, scraping the generator and the SIS.

    Example: firstbell prometheus up --port 9090
    """
    current = _current()
    if current is not None:
        Console().print(f"Already running: {current.url}")
        return
    if not sis:
        staging = load_state()
        sis = urlsplit(staging.base_url).netloc if staging else f"{LOOPBACK}:{STAGING_PORT}"
    cfg = dataclasses.replace(DEFAULT, generator_targets=(generator,), sis_targets=(sis,))
    limits = thresholds_of(thresholds)
    try:
        prom = start(limits, cfg, STATE_DIR / "monitor", port)
    except PrometheusMissing as exc:
        raise UserError(str(exc)) from None
    except RuntimeError as exc:
        raise UserError(f"option --port = {port}: {exc}") from None
    STATE.write_text(json.dumps(dataclasses.asdict(prom)) + "\n", encoding="utf-8")
    Console().print(f"{prom.url} (scraping {generator} and {sis}; alerts and rules from"
                    f" {(thresholds or DEFAULT_FILE).name})", highlight=False)


@prometheus_app.command("down")
def down() -> None:
    """Stop the Prometheus `prometheus up` started.

    Example: firstbell prometheus down
    """
    current = _current()
    if current is None:
        Console().print("Not running.")
        return
    stop(current)
    STATE.unlink(missing_ok=True)
    Console().print(f"Stopped: Prometheus (pid {current.pid}).")


def _current() -> LocalPrometheus | None:
    if not STATE.is_file():
        return None
    prom = LocalPrometheus(**json.loads(STATE.read_text(encoding="utf-8")))
    if not _alive(prom.pid):
        STATE.unlink(missing_ok=True)
        return None
    return prom
