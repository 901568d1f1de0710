"""The load generator's Prometheus metrics, read from the merged run state at scrape time.

A custom `Collector` over the `Hub` instead of prometheus-client metrics updated per request:
the hub already holds every count once (merged from the workers), so nothing is counted twice
and the request path pays nothing for the exporter. Latency histograms are cut from the HDR
histograms at fixed bucket edges that include every launch threshold, so "share of requests
under the threshold" is exact to 3 significant digits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from kernel.latency import LATENCY_EDGES
from loadtests.hdr import counts_at_or_below, mean_us
from loadtests.stats import Hub
from loadtests.verdict import Evaluator

# One edge past the SIS's: latency here counts from each request's intended start (corrected
# for coordinated omission), so a backed-up run goes further than the SIS's own timings.
BASE_EDGES = (*LATENCY_EDGES, 60.0)
CPU_SATURATED = 90.0


def bucket_edges(thresholds: Iterable[float] = ()) -> tuple[float, ...]:
    """The base edges plus every latency threshold (seconds), sorted and distinct."""
    return tuple(sorted(set(BASE_EDGES) | {round(float(t), 6) for t in thresholds}))


@dataclass
class Live:
    """What the exporter shows besides the hub's counts; the engine keeps it current."""

    run_id: str = ""
    scenario: str = ""
    target: str = ""
    personas: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    elapsed: float = 0.0
    planned: float = 0.0          # the plan's length: a run seen to stop short of it was lost
    clock_seconds: float = 0.0
    target_rate: dict[str, float] = field(default_factory=dict)
    achieved_rate: dict[str, float] = field(default_factory=dict)
    workers: int = 0
    stage: str = ""


class RunCollector(Collector):
    def __init__(self, hub: Hub, live: Callable[[], Live], edges: Sequence[float],
                 evaluator: Evaluator | None = None) -> None:
        self.hub, self.live, self.edges = hub, live, tuple(edges)
        self.evaluator = evaluator

    def collect(self) -> Iterator[Metric]:
        hub, live = self.hub, self.live()
        yield InfoMetricFamily("firstbell_run", "The run: id, scenario, target.",
                               value={"run_id": live.run_id, "scenario": live.scenario,
                                      "target": live.target})
        yield from self._requests(hub)
        yield from self._sessions(hub, live)
        yield from self._probes(hub, live)
        yield from self._generator(hub, live)
        if self.evaluator is not None:
            yield from self._objectives(self.evaluator)

    def _objectives(self, evaluator: Evaluator) -> Iterator[Metric]:
        failing = GaugeMetricFamily("firstbell_objective_failing", "1 while a launch objective"
                                    " has been breached for its duration.", labels=["objective"])
        failed = GaugeMetricFamily("firstbell_objective_failed", "1 once a launch objective has"
                                   " failed during the run (the verdict is NO-GO).",
                                   labels=["objective"])
        value = GaugeMetricFamily("firstbell_objective_value", "The objective's measure over its"
                                  " window (seconds, or a ratio).", labels=["objective"])
        threshold = GaugeMetricFamily("firstbell_objective_threshold", "The objective's threshold"
                                      " (from the launch thresholds file).", labels=["objective"])
        for check in evaluator.checks:
            state = evaluator.states[check.name]
            failing.add_metric([check.name], 1.0 if state.failing else 0.0)
            failed.add_metric([check.name], 0.0 if state.failed_at is None else 1.0)
            if state.value is not None:
                value.add_metric([check.name], state.value)
            threshold.add_metric([check.name], check.threshold)
        yield from (failing, failed, value, threshold)
        go = all(s.failed_at is None for s in evaluator.states.values()) \
            and not self.hub.exposures
        yield GaugeMetricFamily("firstbell_verdict_go", "1 while the run is GO so far.",
                                value=1.0 if go else 0.0)

    def _requests(self, hub: Hub) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "firstbell_requests", "Requests sent, by persona, endpoint, method and status"
            " class (error: no answer).", labels=["persona", "endpoint", "method", "status_class"])
        for labels, value in sorted(hub.family("requests").items()):
            requests.add_metric(list(labels), value)
        yield requests
        checks = CounterMetricFamily("firstbell_check_failures", "Answers whose content check"
                                     " failed.", labels=["persona", "endpoint"])
        for labels, value in sorted(hub.family("checks_failed").items()):
            checks.add_metric(list(labels), value)
        yield checks
        for kind, name, doc in (
                ("corrected", "firstbell_request_latency_seconds",
                 "Latency from the moment each request was meant to start (corrected for"
                 " coordinated omission)."),
                ("service", "firstbell_request_service_seconds",
                 "Service time: from sending each request to its last byte.")):
            family = HistogramMetricFamily(name, doc, labels=["persona", "endpoint"])
            for hist_key in sorted(hub.timings.histograms):
                h = hub.timings.histograms[hist_key][kind]
                total = h.get_total_count()
                counts = counts_at_or_below(h, self.edges)
                buckets = [(f"{e:g}", c) for e, c in zip(self.edges, counts, strict=True)]
                buckets.append(("+Inf", total))
                family.add_metric(hist_key.split("|", 1), buckets,
                                  sum_value=mean_us(h) * total / 1e6)
            yield family

    def _sessions(self, hub: Hub, live: Live) -> Iterator[Metric]:
        sessions = hub.family("sessions")
        for outcome, doc in (("started", "Sessions started."),
                             ("late", "Sessions that started later than they arrived (no free"
                                      " user or a busy generator)."),
                             ("dropped", "Arrivals that could not start at all."),
                             ("completed", "Sessions that ran to their end.")):
            family = CounterMetricFamily(f"firstbell_sessions_{outcome}", doc,
                                         labels=["persona"])
            for persona in live.personas:
                family.add_metric([persona], sessions.get((persona, outcome), 0))
            yield family
        scheduled = CounterMetricFamily("firstbell_arrivals", "Arrivals drawn from the"
                                        " Poisson process.", labels=["persona"])
        target = GaugeMetricFamily("firstbell_arrival_rate_target", "Arrival rate the plan asks"
                                   " for now (sessions per second).", labels=["persona"])
        achieved = GaugeMetricFamily("firstbell_arrival_rate_achieved", "Sessions started per"
                                     " second over the last interval.", labels=["persona"])
        busy = GaugeMetricFamily("firstbell_users", "Locust users running a session, by"
                                 " persona.", labels=["persona"])
        arrivals = hub.family("scheduled")
        for persona in live.personas:
            scheduled.add_metric([persona], arrivals.get((persona,), 0))
            target.add_metric([persona], live.target_rate.get(persona, 0.0))
            achieved.add_metric([persona], live.achieved_rate.get(persona, 0.0))
            busy.add_metric([persona], hub.gauge(f"busy|{persona}"))
        yield from (scheduled, target, achieved, busy)
        logins = CounterMetricFamily("firstbell_logins", "Login outcomes (ok, refused, locked,"
                                     " retried, gave_up, typo, mistyped).",
                                     labels=["persona", "outcome"])
        for labels, value in sorted(hub.family("logins").items()):
            logins.add_metric(list(labels), value)
        yield logins

    def _probes(self, hub: Hub, live: Live) -> Iterator[Metric]:
        probes = hub.family("probes")
        exposures = CounterMetricFamily("firstbell_data_exposures", "Security probes that got"
                                        " data they must not get.", labels=["probe"])
        runs = CounterMetricFamily("firstbell_probes", "Security probes by outcome (denied,"
                                   " exposed, inconclusive).", labels=["probe", "outcome"])
        for probe in live.probes:
            exposures.add_metric([probe], probes.get((probe, "exposed"), 0))
        for labels, value in sorted(probes.items()):
            runs.add_metric(list(labels), value)
        yield exposures
        yield runs

    def _generator(self, hub: Hub, live: Live) -> Iterator[Metric]:
        yield GaugeMetricFamily("firstbell_users_total", "Locust users provisioned.",
                                value=hub.gauge("users"))
        yield GaugeMetricFamily("firstbell_sessions_queued", "Arrivals waiting for a free"
                                " user.", value=hub.gauge("queued"))
        yield GaugeMetricFamily("firstbell_school_day_clock_seconds", "Simulated time of day,"
                                " seconds after midnight.", value=live.clock_seconds)
        yield GaugeMetricFamily("firstbell_run_elapsed_seconds", "Real seconds since the run"
                                " started.", value=live.elapsed)
        yield GaugeMetricFamily("firstbell_run_planned_seconds", "Real seconds the plan lasts"
                                " (an exporter gone before elapsed reaches it: a lost run).",
                                value=live.planned)
        yield GaugeMetricFamily("firstbell_workers_connected", "Load processes reporting.",
                                value=live.workers)
        cpu = GaugeMetricFamily("firstbell_generator_cpu_percent", "CPU of each load process;"
                                f" above {CPU_SATURATED:g}% the generator falsifies results.",
                                labels=["worker"])
        saturated = 0
        for worker, gauges in sorted(hub.gauges.items()):
            cpu.add_metric([str(worker)], gauges.get("cpu", 0.0))
            saturated |= gauges.get("cpu", 0.0) > CPU_SATURATED
        yield cpu
        lag = GaugeMetricFamily("firstbell_generator_loop_lag_seconds", "Longest delay of the"
                                " load process's event loop since its last report (a blocked"
                                " generator delays every request).", labels=["worker"])
        for worker, gauges in sorted(hub.gauges.items()):
            lag.add_metric([str(worker)], gauges.get("loop_lag", 0.0))
        yield lag
        yield GaugeMetricFamily("firstbell_generator_cpu_saturated", "1 while any load process"
                                f" is above {CPU_SATURATED:g}% CPU.", value=saturated)
