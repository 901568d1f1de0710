"""`firstbell grafana publish`: push the datasource and the generated dashboards to a Grafana
over its HTTP API (grafana-client)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer
from grafana_client.client import GrafanaException
from rich.console import Console

from firstbell.cli_options import THRESHOLDS, thresholds_of
from kernel.errors import UserError
from monitoring.config import DEFAULT
from monitoring.grafana_api import connect, publish

grafana_app = typer.Typer(help="Publish firstbell's dashboards to a Grafana.",
                          no_args_is_help=True)


@grafana_app.command("publish")
def publish_cmd(
    url: str = typer.Option(..., "--url", envvar="FIRSTBELL_GRAFANA_URL",
                            help="Grafana base URL, e.g. http://127.0.0.1:3000"),
    token: str = typer.Option(..., "--token", envvar="FIRSTBELL_GRAFANA_TOKEN",
                              help="Service-account token with Editor rights."),
    prometheus_url: str = typer.Option(DEFAULT.prometheus_url, "--prometheus-url",
                                       envvar="FIRSTBELL_PROMETHEUS_URL",
                                       help="The Prometheus the datasource points at, as"
                                            " Grafana reaches it."),
    thresholds: Path | None = THRESHOLDS,
) -> None:
    """Push the datasource and the dashboards to a Grafana.

    Creates or updates the Prometheus datasource (uid firstbell-prometheus), the firstbell
    folder and the five dashboards.

    Example: firstbell grafana publish --url http://127.0.0.1:3000 --token $GRAFANA_TOKEN
    """
    t = thresholds_of(thresholds)
    cfg = dataclasses.replace(DEFAULT, prometheus_url=prometheus_url)
    try:
        urls = publish(connect(url, token), t, cfg)
    except GrafanaException as exc:
        raise UserError(f"option --url = {url}: Grafana answered {exc.status_code}:"
                        f" {exc.message}; check the URL and that the token may edit"
                        " dashboards") from None
    except OSError as exc:
        raise UserError(f"option --url = {url}: cannot reach Grafana ({exc})") from None
    console = Console()
    for path in urls:
        console.print(f"{url.rstrip('/')}{path}", highlight=False)
