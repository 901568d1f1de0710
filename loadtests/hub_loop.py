"""The master's side of a run (or the single process's): merge deltas into the `Hub`, serve the
exporter, and write the run directory as the run goes — an interval line every
`INTERVAL_SECONDS`, exposures as they come, the summary at the end (also after Ctrl-C, marked
partial)."""

from __future__ import annotations

import logging
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent
from prometheus_client import CollectorRegistry, start_http_server

from kernel.clock import hhmm
from kernel.errors import EXIT_GO
from kernel.version import __version__
from loadtests.exporter import CPU_SATURATED, RunCollector, bucket_edges
from loadtests.hdr import Timings, summary
from loadtests.rundir import RunDir, default_run_dir
from loadtests.stats import Delta, Hub
from loadtests.verdict import Evaluator, Interval
from monitoring.grafana_api import RunAnnotations, connect
from thresholds import latency_thresholds

if TYPE_CHECKING:
    from loadtests.engine import Engine

SECRET_OPTIONS = {"firstbell_grafana_token"}  # never written to run.json
log = logging.getLogger("firstbell")
INTERVAL_SECONDS = 10.0
FINAL_GRACE = 15.0   # seconds to wait for the workers' finals after the drain


class HubLoop:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hub = Hub()
        options = engine.options
        path = getattr(options, "firstbell_run_dir", None)
        self.run_dir = RunDir(Path(path) if path else default_run_dir(engine.plan.scenario))
        self.run_id = getattr(options, "firstbell_run_id", None) or self.run_dir.path.name
        self.achieved: dict[str, float] = {}
        self.exporter_port: int | None = None
        self.closed = False
        self.t0_wall = 0.0
        self._last = 0.0
        self.cpu_warned: set[int] = set()
        self.evaluator = Evaluator(engine.thresholds, engine.plan.curve)
        self.abort_on_fail = bool(getattr(options, "firstbell_abort_on_fail", False))
        self.aborted: list[str] = []
        self.exit_code = EXIT_GO
        self.annotations: RunAnnotations | None = None
        self.stage = ""

    def serve_exporter(self) -> None:
        port = int(getattr(self.engine.options, "firstbell_exporter_port", -1))
        if port < 0:
            return
        registry = CollectorRegistry(auto_describe=True)
        registry.register(RunCollector(
            self.hub, self.engine.live, bucket_edges(latency_thresholds(self.engine.thresholds)),
            self.evaluator))
        host = getattr(self.engine.options, "firstbell_exporter_host", "127.0.0.1")
        try:
            server, _ = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            raise SystemExit(f"firstbell: the exporter cannot listen on {host}:{port}"
                             f" ({exc.strerror}); choose another --exporter-port, 0 for any"
                             " free port, or -1 to turn it off") from None
        self.exporter_port = int(server.server_port)
        log.info("firstbell exporter on http://%s:%d/metrics", host, self.exporter_port)
        self.run_dir.write("exporter.json", {"host": host, "port": self.exporter_port})

    def start(self, t0_wall: float) -> None:
        self.t0_wall = t0_wall
        engine = self.engine
        self.run_dir.write("run.json", {
            "run_id": self.run_id, "scenario": engine.plan.scenario,
            "target": engine.environment.host, "paths": engine.target.name,
            "plan": engine.plan.model_dump(mode="json"), "role": engine.role,
            "workers": engine.count, "started_at": t0_wall, "versions": {
                "firstbell": __version__, "python": platform.python_version()},
            "exporter_port": self.exporter_port,
            "options": {k: v for k, v in vars(engine.options).items()
                        if k.startswith("firstbell_") and k not in SECRET_OPTIONS}})
        self._last = time.monotonic()
        url = getattr(engine.options, "firstbell_grafana_url", None)
        if url:
            token = getattr(engine.options, "firstbell_grafana_token", None) or ""
            self.annotations = RunAnnotations(connect(url, token), url, self.run_id,
                                              engine.plan.scenario)
            self.annotations.start(f"scenario {engine.plan.scenario} against"
                                   f" {engine.environment.host}", at=t0_wall)
        gevent.spawn(self._loop)

    def _loop(self) -> None:
        while not self.closed:
            gevent.sleep(1.0)
            engine = self.engine
            if engine.role == "local" and engine.started and not engine.final_sent:
                self.absorb(engine.take())
            if time.monotonic() - self._last >= INTERVAL_SECONDS:
                self.write_interval()

    def absorb(self, delta: Delta) -> None:
        self.hub.absorb(delta)
        cpu = delta.gauges.get("cpu", 0.0)
        if cpu > CPU_SATURATED and delta.worker not in self.cpu_warned:
            self.cpu_warned.add(delta.worker)
            log.warning("load process %d is at %.0f%% CPU: above %.0f%% its own delays distort"
                        " the latencies it measures; add workers (--processes or --workers)",
                        delta.worker, cpu, CPU_SATURATED)
        for record in delta.exposures:
            log.error("DATA EXPOSURE: probe %s, %s %s asked for %s on %s (status %s)",
                      record["probe"], record["persona"], record["by"], record["asked"],
                      record["endpoint"], record["status"])
            self.run_dir.append("exposures.jsonl", record)

    def write_interval(self) -> None:
        now = time.monotonic()
        span, self._last = max(now - self._last, 1e-9), now
        timings, counters, _ = self.hub.take_interval()
        engine = self.engine
        started = self.hub.family("sessions", counters)
        personas = engine.plan.personas
        self.achieved = {p: started.get((p, "started"), 0) / span for p in personas}
        t = engine.elapsed()
        live = engine.live()
        self.evaluator.add(Interval(t, span, timings, counters))
        for check, state, newly in self.evaluator.evaluate(t):
            if newly:
                log.warning("objective %s FAILED: %.3g against %g, breached for %g s",
                            check.name, state.value, check.threshold, check.for_)
        target = sum(live.target_rate.values())
        stage = live.stage if t < engine.plan.duration else "draining"
        if stage != self.stage and self.annotations is not None:
            self.annotations.phase(stage)
        self.stage = stage
        log.info("t=%.0fs %s %s · %.2f/%.2f sessions/s · %s", t, hhmm(live.clock_seconds % 86400),
                 stage, sum(self.achieved.values()), target, self.evaluator.status_line())
        if self.abort_on_fail and not self.aborted and self.evaluator.abort_due():
            self.aborted = self.evaluator.abort_due()
            log.warning("aborting the run (--abort-on-fail): %s", ", ".join(self.aborted))
            if self.annotations is not None:
                self.annotations.abort(", ".join(self.aborted))
        self.run_dir.append("intervals.jsonl", {
            "t": round(t, 3), "seconds": round(span, 3), "time": time.time(),
            "clock": round(live.clock_seconds, 1), "stage": live.stage,
            "target_rate": live.target_rate, "achieved_rate": self.achieved,
            "counters": dict(counters), "histograms": _histograms(timings),
            "users": self.hub.gauge("users"), "queued": self.hub.gauge("queued"),
            "busy": {p: self.hub.gauge(f"busy|{p}") for p in personas},
            "cpu": {str(w): g.get("cpu", 0.0) for w, g in self.hub.gauges.items()},
            "loop_lag": {str(w): g.get("loop_lag", 0.0) for w, g in self.hub.gauges.items()},
            "workers": len(self.hub.gauges),
            "objectives": {name: s.as_json() for name, s in self.evaluator.states.items()}})

    def mean_session_seconds(self) -> dict[str, float]:
        done = self.hub.family("sessions")
        spent = self.hub.family("session_seconds")
        return {p: spent[(p,)] / done[(p, "completed")] for (p,) in spent
                if done.get((p, "completed"))}

    def finished(self) -> bool:
        engine = self.engine
        over = engine.elapsed() - engine.plan.duration
        if over < 0:
            return False
        return (len(self.hub.finals) >= engine.count
                or over > engine.plan.drain_seconds + FINAL_GRACE)

    def close(self) -> None:
        """The last interval and the summary; safe to call more than once."""
        if self.closed:
            return
        if self.engine.role == "local" and self.engine.started:
            self.engine.send_final()
        self.closed = True
        self.write_interval()
        summary = self.summary()
        self.run_dir.write("summary.json", summary)
        whole = self.evaluator.whole_run(self.hub.timings, self.hub.counters, summary["duration"])
        verdict = self.evaluator.verdict(len(self.hub.exposures), whole, self.aborted,
                                         duration=summary["duration"])
        verdict["partial"] = summary["partial"]
        self.exit_code = int(verdict["exit_code"])
        self.run_dir.write("verdict.json", verdict)
        for line in report_lines(summary, self.run_dir.path):
            log.info("%s", line)
        passed = sum(1 for o in verdict["objectives"] if o["passed"])
        log.info("  objectives: %d passed, %d failed (each in verdict.json)", passed,
                 len(verdict["objectives"]) - passed)
        log.info("  verdict: %s%s", verdict["verdict"],
                 "".join(f"\n    - {r}" for r in verdict["reasons"]))
        if self.annotations is not None:
            link = self.annotations.end(str(verdict["verdict"]), list(verdict["reasons"]))
            log.info("  Grafana: %s", link)

    def summary(self) -> dict[str, Any]:
        engine, hub = self.engine, self.hub
        curve = engine.plan.curve
        sessions, scheduled = hub.family("sessions"), hub.family("scheduled")
        ran = min(max(engine.elapsed(), 0.0), curve.duration)
        arrivals = {}
        for p in engine.plan.personas:
            expected = curve.expected(p, 0.0, ran)
            closed = sessions.get((p, "closed"), 0)  # closed-loop sessions are no arrivals
            started = sessions.get((p, "started"), 0) - closed
            arrivals[p] = {
                "closed_loop": closed,
                "expected": round(expected, 1), "scheduled": scheduled.get((p,), 0),
                "started": started, "late": sessions.get((p, "late"), 0),
                "dropped": sessions.get((p, "dropped"), 0),
                "completed": sessions.get((p, "completed"), 0),
                "aborted": sessions.get((p, "aborted"), 0),
                "target_rate": round(expected / ran, 4) if ran else 0.0,
                "achieved_rate": round(started / ran, 4) if ran else 0.0,
                "achieved_ratio": round(started / expected, 4) if expected else None}
        workers = sorted(hub.gauges)
        return {
            "run_id": self.run_id, "scenario": engine.plan.scenario,
            "target": engine.environment.host, "duration": round(ran, 3),
            "partial": len(hub.finals) < engine.count or ran < curve.duration - 1.0,
            "workers": workers, "finals": sorted(hub.finals),
            "requests": int(hub.timings.count()), "arrivals": arrivals,
            "exposures": len(hub.exposures),
            "probes": {"|".join(k): v for k, v in hub.family("probes").items()},
            "logins": {"|".join(k): v for k, v in hub.family("logins").items()},
            "counters": dict(hub.counters),
            "latency": _histograms(hub.timings),
            "overall": {kind: summary(hub.timings.total(kind))
                        for kind in ("service", "corrected")},
            "max_cpu": max((g.get("cpu", 0.0) for g in hub.gauges.values()), default=0.0)}


def _histograms(timings: Timings) -> dict[str, Any]:
    """Per key: percentiles of both timings, and the encoded histograms (for exact sums)."""
    from loadtests.hdr import encode
    return {k: {kind: {**summary(h), "hdr": encode(h)} for kind, h in pair.items()}
            for k, pair in sorted(timings.histograms.items())
            if pair["service"].get_total_count()}


def report_lines(s: dict[str, Any], folder: Path) -> list[str]:
    """The end of a run in a few lines, for the console."""
    arrivals = s["arrivals"].values()
    expected = sum(a["expected"] for a in arrivals)
    started = sum(a["started"] for a in arrivals)
    corrected, service = s["overall"]["corrected"], s["overall"]["service"]
    lines = [
        f"firstbell run {s['run_id']}{' (partial)' if s['partial'] else ''}: {s['duration']:.0f} s,"
        f" {len(s['workers'])} load process(es)",
        f"  sessions: {expected:,.0f} due, {started:,} started"
        f" ({started / expected:.1%} of the target rate)" if expected else "  sessions: none due",
        f"            {sum(a['late'] for a in arrivals):,} late,"
        f" {sum(a['dropped'] for a in arrivals):,} dropped",
        f"  requests: {s['requests']:,}",
    ]
    if corrected.get("count"):
        lines.append("  latency (corrected) p50 {p50:.3f} s  p95 {p95:.3f} s  p99 {p99:.3f} s"
                     "  max {max:.3f} s".format(**corrected))
        lines.append("  service time        p50 {p50:.3f} s  p95 {p95:.3f} s  p99 {p99:.3f} s"
                     "  max {max:.3f} s".format(**service))
    lines.append(f"  data exposures: {s['exposures']}")
    lines.append(f"  run directory: {folder}")
    return lines
