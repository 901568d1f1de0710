"""A Locust plugin that annotates each run of the engine in Grafana: a point at its start, one
at each phase change and on abort, and at the end the start made a region over the run with
the verdict (`monitoring.grafana_api.RunAnnotations`); the Launch overview's link is logged.
Load it after the engine's locustfile (what `firstbell run` does):

    locust -f loadtests/locustfile.py,firstbell/locust_grafana.py --grafana-url URL …

It lives here, not in `loadtests/` (the engine knows no dashboard) nor in `monitoring/` (which
does not import the engine): it only joins the two, through the engine's run observers.
"""

from __future__ import annotations

import logging
from typing import Any

from locust import events
from locust.runners import WorkerRunner

from loadtests.engine import engine_of
from loadtests.observers import RunInfo, RunOutcome
from monitoring.grafana_api import RunAnnotations, connect

log = logging.getLogger("firstbell")


class GrafanaObserver:
    """A `loadtests.observers.RunObserver` writing the run's annotations."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.annotations: RunAnnotations | None = None

    def run_started(self, run: RunInfo) -> None:
        self.annotations = RunAnnotations(connect(self.url, self.token), self.url, run.run_id,
                                          run.scenario)
        self.annotations.start(f"scenario {run.scenario} against {run.target}",
                               at=run.started_at)

    def phase_changed(self, run: RunInfo, phase: str, at: float) -> None:
        if self.annotations is not None:
            self.annotations.phase(phase, at=at)

    def run_aborted(self, run: RunInfo, reasons: tuple[str, ...], at: float) -> None:
        if self.annotations is not None:
            self.annotations.abort(", ".join(reasons), at=at)

    def run_finished(self, run: RunInfo, outcome: RunOutcome) -> None:
        if self.annotations is not None:
            link = self.annotations.end(outcome.verdict, list(outcome.reasons),
                                        at=outcome.ended_at)
            log.info("  Grafana: %s", link)
            if self.annotations.errors:  # what the dashboards miss; the run itself is whole
                log.warning("Grafana at %s did not record %d annotation(s) of this run (%s):"
                            " its region, phases and verdict are missing from the dashboards;"
                            " the run directory and the report have everything",
                            self.url, len(self.annotations.errors),
                            ", ".join(e.split(":", 1)[0] for e in self.annotations.errors))


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("firstbell Grafana", "run annotations in Grafana")
    group.add_argument("--grafana-url", env_var="FIRSTBELL_GRAFANA_URL",
                       dest="firstbell_grafana_url",
                       help="Grafana to annotate the run in (start, phase changes, abort, end"
                            " as a region)")
    # The engine leaves options named *_token out of run.json.
    group.add_argument("--grafana-token", env_var="FIRSTBELL_GRAFANA_TOKEN",
                       dest="firstbell_grafana_token",
                       help="Grafana service-account token (better from the environment than"
                            " the command line)")


@events.init.add_listener
def _observe(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master (or the local runner) tells of the run
    options = environment.parsed_options
    url = getattr(options, "firstbell_grafana_url", None)
    if not url:
        return
    try:
        engine = engine_of(environment)
    except KeyError:  # Locust fires init in the order of -f: the engine's file must come first
        raise SystemExit("firstbell: list loadtests/locustfile.py before"
                         " firstbell/locust_grafana.py in -f") from None
    engine.add_observer(GrafanaObserver(url, getattr(options, "firstbell_grafana_token", None)
                                        or ""))
