"""firstbell on Locust's own command line:

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8700 --userpool DIR/userpool

runs the open-model engine (Poisson arrivals per persona, corrected latency in HDR histograms,
security probes, the Prometheus exporter on :9646, a run directory) with Locust's runners, web
UI, ``--headless``, ``--processes N``, ``--master``/``--worker``, ``--csv`` and ``--html``.
`firstbell run` drives the same file. The users are execution slots: the load shape provisions
as many as the arrival rate needs, so do not pass ``--users``.
"""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser, LoadTestShape, constant, events, task

from loadtests import engine, options


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    options.add_arguments(parser)


@events.init.add_listener
def _attach(environment: Any, **_: Any) -> None:
    engine.attach(environment)


class SessionUser(FastHttpUser):
    """Takes the next arrival of any persona and runs that persona's session."""

    wait_time = constant(0)

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        # No cookie jar: one user slot runs many people's sessions one after another, and a
        # probe "without a session" must send no credentials. Sessions carry their token only
        # as an explicit bearer header.
        self.client.client.cookiejar = None

    @task
    def session(self) -> None:
        engine.engine_of(self.environment).serve(self)


class OpenModelShape(LoadTestShape):
    """Provisions users for the plan's arrival rates and ends the run when the plan has."""

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        return engine.engine_of(self.runner.environment).tick()
