"""One config object for everything monitoring generates that is not a launch threshold: scrape
targets, jobs, severities, where runbooks live, and the burn-rate windows and factors (with
where they come from). The thresholds themselves come only from
`thresholds/launch-thresholds.yaml`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kernel.ports import EXPORTER_PORT, LOOPBACK, STAGING_PORT


@dataclass(frozen=True)
class BurnWindow:
    """A multiwindow burn-rate alert: the error ratio over both windows above
    `factor` x the error budget (1 - SLO)."""

    long: str
    short: str
    factor: float
    severity: str


@dataclass(frozen=True)
class MonitoringConfig:
    # Scrape targets (Prometheus `static_configs`); the load generator's exporter and the
    # staging SIS on their default ports, postgres_exporter where one runs.
    generator_targets: tuple[str, ...] = (f"{LOOPBACK}:{EXPORTER_PORT}",)
    sis_targets: tuple[str, ...] = (f"{LOOPBACK}:{STAGING_PORT}",)
    postgres_targets: tuple[str, ...] = ("127.0.0.1:9187",)  # none: no postgres job
    alertmanager_targets: tuple[str, ...] = ("127.0.0.1:9093",)
    scrape_interval: str = "5s"      # a rehearsal is minutes long: see changes quickly
    prometheus_url: str = "http://127.0.0.1:9090"   # what Grafana's datasource points at
    grafana_dashboards_path: str = "/etc/grafana/dashboards/firstbell"  # where they are mounted
    evaluation_interval: str = "5s"
    generator_job: str = "firstbell"
    sis_job: str = "sis"
    postgres_job: str = "postgres"
    # runbook_url = runbook_base + "/" + <alert file>; a deployment sets its own absolute base
    # (e.g. its Git forge's URL of runbooks/alerts).
    runbook_base: str = "runbooks/alerts"
    # Severity of an objective's alerts: abortable objectives page (they can stop a launch),
    # the others open a ticket.
    abortable_severity: str = "page"
    other_severity: str = "ticket"
    # Burn rates: the Google SRE Workbook, ch. 5 "Alerting on SLOs", multiwindow multi-burn-rate
    # alerts (page at 14.4x over 1 h and 5 min: 2% of a 30-day budget in an hour; ticket at 6x
    # over 6 h and 30 min: 5% in six hours). The SLO period here is the launch week (7 days,
    # `slo_period`): at these factors the page fires after 8.6% of the week's budget burns in
    # an hour, the ticket after 21% in six hours. The budget of a group is its error_ratio
    # threshold from the launch thresholds.
    slo_period: str = "7d"
    burn_windows: tuple[BurnWindow, ...] = field(default_factory=lambda: (
        BurnWindow("1h", "5m", 14.4, "page"),
        BurnWindow("6h", "30m", 6.0, "ticket"),
    ))
    # Load-generator CPU saturation and target-down alerts wait this long.
    saturation_for: str = "30s"
    target_down_for: str = "30s"

    def runbook_url(self, file: str) -> str:
        return f"{self.runbook_base.rstrip('/')}/{file}"


DEFAULT = MonitoringConfig()


def compose(cfg: MonitoringConfig = DEFAULT) -> MonitoringConfig:
    """`cfg` as seen from inside the repo's docker-compose.yml: the targets are the compose
    services (the master's exporter, the staging SIS, Alertmanager; the stack runs no
    postgres_exporter, so no postgres job) and Grafana reaches Prometheus by its service name."""
    return replace(cfg, generator_targets=(f"locust-master:{EXPORTER_PORT}",),
                   sis_targets=(f"staging:{STAGING_PORT}",), postgres_targets=(),
                   alertmanager_targets=("alertmanager:9093",),
                   prometheus_url="http://prometheus:9090")
