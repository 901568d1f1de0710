"""The master's side of a run (or the single process's): merge deltas into the `Hub`, serve the
exporter, write the run directory as the run goes — an interval line every
`INTERVAL_SECONDS`, exposures as they come, the summary at the end (also after Ctrl-C, marked
partial) — and tell the run's observers (`loadtests.observers`) of its milestones.

It sees its load process through `RunSetup` (fixed before the start) and `LoadHooks` (what it
asks as the run goes), never the engine itself."""

from __future__ import annotations

import functools
import logging
import platform
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from gevent.queue import Queue
from prometheus_client import CollectorRegistry, start_http_server

from kernel.clock import hhmm
from kernel.errors import EXIT_GO, EXIT_NO_GO, USAGE_ERROR_EXIT
from kernel.version import __version__
from loadtests.exporter import CPU_SATURATED, Live, RunCollector, bucket_edges
from loadtests.hdr import Timings, summary
from loadtests.observers import Observers, RunInfo, RunObserver, RunOutcome
from loadtests.oneroster.spec import redacted
from loadtests.plan import LoadPlan
from loadtests.returns import measured, planned
from loadtests.rundir import RunDir, RunDirError
from loadtests.stats import Delta, Hub
from loadtests.verdict import Evaluator, Interval
from thresholds import Thresholds, latency_thresholds

# Credentials are never written to run.json, whoever declares the option (plugins too): secrets,
# and the OneRoster clients (id:secret; the plan's copy is recorded with the secrets masked).
SECRET_OPTION = re.compile(r"_(token|secret|password|oneroster_client)$")
log = logging.getLogger("firstbell")
INTERVAL_SECONDS = 10.0
FINAL_GRACE = 15.0   # seconds to wait for the workers' finals after the drain
OBSERVER_GRACE = 12.0  # seconds the end waits for observers (two 5-s Grafana timeouts)


@dataclass(frozen=True)
class RunSetup:
    """The run as the hub loop knows it before the start."""

    plan: LoadPlan
    thresholds: Thresholds
    run_dir: Path
    run_id: str
    role: str                    # "master" or "local"
    target_paths: str            # the click paths' target, for run.json
    options: Mapping[str, Any]   # Locust's parsed options; the firstbell_* ones go in run.json
    abort_on_fail: bool = False
    exporter_port: int = -1      # -1: no exporter
    exporter_host: str = "127.0.0.1"


@dataclass(frozen=True)
class LoadHooks:
    """What the hub loop asks of its load process as the run goes."""

    elapsed: Callable[[], float]          # seconds since the plan's second 0
    live: Callable[[], Live]
    host: Callable[[], str | None]        # the target (the web UI may change it)
    # A local runner sends load itself: its delta since the last one (None when there is none
    # to take), and its final before the summary. A master's workers send theirs.
    take_own: Callable[[], Delta | None]
    final_own: Callable[[], None]


class HubLoop:
    def __init__(self, setup: RunSetup, hooks: LoadHooks) -> None:
        self.setup, self.hooks = setup, hooks
        self.plan = setup.plan
        self.hub = Hub()
        self.run_dir = RunDir(setup.run_dir)
        self.run_id = setup.run_id
        self.workers = 1   # the load processes, known at the start
        self.achieved: dict[str, float] = {}
        self.exporter_port: int | None = None
        self.closed = False
        self.t0_wall = 0.0
        self._last = 0.0
        self.cpu_warned: set[int] = set()
        self.evaluator = Evaluator(setup.thresholds, setup.plan.curve)
        self.abort_on_fail = setup.abort_on_fail
        self.aborted: list[str] = []
        self.exit_code = EXIT_GO
        self.observers = Observers()
        self.run: RunInfo | None = None   # set at the start: observers hear of started runs
        self.stage = ""
        self.lost: dict[int, dict[str, Any]] = {}   # load processes that stopped reporting
        self._told: Queue[tuple[str, Callable[[RunObserver], None]] | None] = Queue()
        self._notifier: gevent.Greenlet | None = None
        self.failed = ""   # why the run directory could not be written, if it could not

    def add_observer(self, observer: RunObserver) -> None:
        self.observers.add(observer)

    def _tell(self, what: str, call: Callable[[RunObserver, RunInfo], None]) -> None:
        """Observers hear of the run in order, from a greenlet of their own: a dashboard that
        takes its timeout to answer (or never does) holds neither the start of the load nor
        the intervals."""
        run = self.run
        if run is None:
            return
        if self._notifier is None:
            self._notifier = gevent.spawn(self._notify)
        self._told.put((what, lambda observer: call(observer, run)))

    def _notify(self) -> None:
        while True:
            item = self._told.get()
            if item is None:
                return
            what, call = item
            self.observers.tell(what, call)

    def _observers_done(self) -> None:
        """Let the observers finish (the end annotation), within OBSERVER_GRACE."""
        if self._notifier is not None:
            self._told.put(None)
            self._notifier.join(timeout=OBSERVER_GRACE)
            if not self._notifier.dead:
                log.warning("run observers still busy after %.0f s at the end; not waited for",
                            OBSERVER_GRACE)

    def serve_exporter(self) -> None:
        port = self.setup.exporter_port
        if port < 0:
            return
        registry = CollectorRegistry(auto_describe=True)
        registry.register(RunCollector(
            self.hub, self.hooks.live, bucket_edges(latency_thresholds(self.setup.thresholds)),
            self.evaluator))
        host = self.setup.exporter_host
        try:
            server, _ = start_http_server(port, addr=host, registry=registry)
        except OSError as exc:
            raise SystemExit(f"firstbell: the exporter cannot listen on {host}:{port}"
                             f" ({exc.strerror}); choose another --exporter-port, 0 for any"
                             " free port, or -1 to turn it off") from None
        self.exporter_port = int(server.server_port)
        log.info("firstbell exporter on http://%s:%d/metrics", host, self.exporter_port)
        self._save(lambda: self.run_dir.write("exporter.json",
                                              {"host": host, "port": self.exporter_port}))

    def start(self, t0_wall: float, workers: int) -> None:
        self.t0_wall, self.workers = t0_wall, workers
        setup, host = self.setup, self.hooks.host()
        self._save(lambda: self.run_dir.write("run.json", {
            "run_id": self.run_id, "scenario": self.plan.scenario,
            "target": host, "paths": setup.target_paths,
            "plan": recorded_plan(self.plan), "role": setup.role,
            "workers": workers, "started_at": t0_wall, "versions": {
                "firstbell": __version__, "python": platform.python_version()},
            "exporter_port": self.exporter_port,
            "options": {k: v for k, v in setup.options.items()
                        if k.startswith("firstbell_") and not SECRET_OPTION.search(k)}}))
        self._last = time.monotonic()
        self.run = RunInfo(self.run_id, self.plan.scenario, str(host or ""), t0_wall)
        self._tell("run started", lambda observer, run: observer.run_started(run))
        gevent.spawn(self._loop)

    def _loop(self) -> None:
        while not self.closed:
            gevent.sleep(1.0)
            own = self.hooks.take_own()
            if own is not None:
                self.absorb(own)
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
            self._save(functools.partial(self.run_dir.append, "exposures.jsonl", record))

    def write_interval(self) -> None:
        now = time.monotonic()
        span, self._last = max(now - self._last, 1e-9), now
        timings, counters, _ = self.hub.take_interval()
        started = self.hub.family("sessions", counters)
        personas = self.plan.personas
        self.achieved = {p: started.get((p, "started"), 0) / span for p in personas}
        t = self.hooks.elapsed()
        live = self.hooks.live()
        self.evaluator.add(Interval(t, span, timings, counters))
        for check, state, newly in self.evaluator.evaluate(t):
            if newly:
                log.warning("objective %s FAILED: %.3g against %g, breached for %g s",
                            check.name, state.value, check.threshold, check.for_)
        target = sum(live.target_rate.values())
        stage = live.stage if t < self.plan.duration else "draining"
        if stage != self.stage:
            at = time.time()
            self._tell("phase changed",
                       lambda observer, run: observer.phase_changed(run, stage, at))
        self.stage = stage
        log.info("t=%.0fs %s %s · %.2f/%.2f sessions/s · %s", t, hhmm(live.clock_seconds % 86400),
                 stage, sum(self.achieved.values()), target, self.evaluator.status_line())
        if self.abort_on_fail and not self.aborted and self.evaluator.abort_due():
            self.aborted = self.evaluator.abort_due()
            log.warning("aborting the run (--abort-on-fail): %s", ", ".join(self.aborted))
            reasons, at = tuple(self.aborted), time.time()
            self._tell("aborted", lambda observer, run: observer.run_aborted(run, reasons, at))
        line = {
            "t": round(t, 3), "seconds": round(span, 3), "time": time.time(),
            "clock": round(live.clock_seconds, 1), "stage": live.stage,
            "target_rate": live.target_rate, "achieved_rate": self.achieved,
            "counters": dict(counters), "histograms": _histograms(timings),
            "users": self.hub.gauge("users"), "queued": self.hub.gauge("queued"),
            "busy": {p: self.hub.gauge(f"busy|{p}") for p in personas},
            "cpu": {str(w): g.get("cpu", 0.0) for w, g in self.hub.gauges.items()},
            "loop_lag": {str(w): g.get("loop_lag", 0.0) for w, g in self.hub.gauges.items()},
            "workers": len(self.hub.gauges), "lost_workers": sorted(self.lost),
            "objectives": {name: s.as_json() for name, s in self.evaluator.states.items()}}
        self._save(lambda: self.run_dir.append("intervals.jsonl", line))

    def _save(self, write: Callable[[], None]) -> bool:
        """One write to the run directory. When one fails (the disk full) the run stops at
        the next tick (`failed`): a rehearsal whose results cannot be kept is not worth its
        load. Said once; the exit code is 2."""
        if self.failed:
            return False
        try:
            write()
        except RunDirError as exc:
            self.failed, self.exit_code = str(exc), USAGE_ERROR_EXIT
            log.error("firstbell: %s. Stopping the run.", exc)
            return False
        return True

    def worker_lost(self, index: int) -> None:
        """Load process `index` stopped answering (its master's heartbeat check gave it up):
        its share of the arrivals from the last time it reported is not sent. Recorded once,
        with how much of the plan's load that is, for the summary, the verdict and the report."""
        if index in self.lost or index in self.hub.finals:
            return
        now, t = time.monotonic(), self.hooks.elapsed()
        seen = self.hub.seen.get(index)
        last = max(t - (now - seen), 0.0) if seen is not None else 0.0
        curve, share = self.plan.curve, 1.0 / max(self.workers, 1)
        after = sum(curve.expected(p, last, curve.duration) for p in curve.personas)
        whole = sum(curve.expected(p, 0.0, curve.duration) for p in curve.personas)
        self.lost[index] = {
            "worker": index, "last_report_at": round(last, 1), "noticed_at": round(t, 1),
            "time": time.time(), "share_after": round(share, 4),
            "sessions_lost": round(after * share, 1),
            "share_of_run": round(after * share / whole, 4) if whole else 0.0}
        log.warning("load process %d of %d lost: last report at %.0f s, noticed at %.0f s; its"
                    " share (%.0f%% of the arrivals from then on, %.0f%% of the run's planned"
                    " sessions) is not sent", index + 1, self.workers, last, t, share * 100,
                    self.lost[index]["share_of_run"] * 100)

    def mean_session_seconds(self) -> dict[str, float]:
        done = self.hub.family("sessions")
        spent = self.hub.family("session_seconds")
        return {p: spent[(p,)] / done[(p, "completed")] for (p,) in spent
                if done.get((p, "completed"))}

    def finished(self) -> bool:
        over = self.hooks.elapsed() - self.plan.duration
        if over < 0:
            return False
        return (len(self.hub.finals | set(self.lost)) >= self.workers
                or over > self.plan.drain_seconds + FINAL_GRACE)

    def close(self) -> None:
        """The last interval and the summary; safe to call more than once."""
        if self.closed:
            return
        self.hooks.final_own()
        self.closed = True
        self.write_interval()
        summary = self.summary()
        if self.failed or not self._save(lambda: self.run_dir.write("summary.json", summary)):
            log.error("firstbell: no summary or verdict written: %s is incomplete (`firstbell"
                      " report` reports what it holds as partial)", self.run_dir.path)
            return
        verdict = self.judge(summary)
        if not self._save(lambda: self.run_dir.write("verdict.json", verdict)):
            return
        self.exit_code = int(verdict["exit_code"])
        for line in report_lines(summary, self.run_dir.path):
            log.info("%s", line)
        passed = sum(1 for o in verdict["objectives"] if o["passed"])
        log.info("  objectives: %d passed, %d failed (each in verdict.json)", passed,
                 len(verdict["objectives"]) - passed)
        log.info("  verdict: %s%s", verdict["verdict"],
                 "".join(f"\n    - {r}" for r in verdict["reasons"]))
        if self.plan.not_rehearsed:
            log.info("  not rehearsed (target %s plays no %s)", self.plan.target,
                     ", ".join(self.plan.not_rehearsed))
        outcome = RunOutcome(str(verdict["verdict"]), tuple(verdict["reasons"]),
                             self.exit_code, time.time())
        self._tell("finished", lambda observer, run: observer.run_finished(run, outcome))
        self._observers_done()

    def judge(self, summary: dict[str, Any]) -> dict[str, Any]:
        """The verdict on what the hub merged, its evaluator's states and the summary."""
        whole = self.evaluator.whole_run(self.hub.timings, self.hub.counters, summary["duration"])
        verdict = self.evaluator.verdict(len(self.hub.exposures), whole, self.aborted,
                                         duration=summary["duration"])
        verdict["partial"] = summary["partial"]
        # A GO covers only what ran: the personas left out and the system driven say so.
        verdict["target"] = self.plan.target
        verdict["not_rehearsed"] = list(self.plan.not_rehearsed)
        # The plan's load was not all sent: no GO can rest on it, whatever the objectives say.
        verdict["lost_workers"] = summary.get("lost_workers", [])
        for lost in verdict["lost_workers"]:
            verdict["reasons"].append(
                f"load process {lost['worker'] + 1} of {self.workers} lost at"
                f" {lost['last_report_at']:.0f} s: {lost['share_after']:.0%} of the arrivals"
                f" from then on ({lost['share_of_run']:.0%} of the run's planned sessions)"
                " were not sent")
        if verdict["lost_workers"] and verdict["verdict"] == "GO":
            verdict["verdict"], verdict["exit_code"] = "NO-GO", EXIT_NO_GO
        return verdict

    def summary(self) -> dict[str, Any]:
        hub, curve = self.hub, self.plan.curve
        sessions, scheduled = hub.family("sessions"), hub.family("scheduled")
        ran = min(max(self.hooks.elapsed(), 0.0), curve.duration)
        arrivals = {}
        for p in self.plan.personas:
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
                # people coming back after a failed login: sessions too, but no arrivals
                "returns": hub.family("returns").get((p, "started"), 0),
                "target_rate": round(expected / ran, 4) if ran else 0.0,
                "achieved_rate": round(started / ran, 4) if ran else 0.0,
                "achieved_ratio": round(started / expected, 4) if expected else None}
        workers = sorted(hub.gauges)
        return {
            "run_id": self.run_id, "scenario": self.plan.scenario,
            "target": self.hooks.host(), "duration": round(ran, 3),
            # a lost load process is said apart (lost_workers), not as an interrupted run
            "partial": len(hub.finals | set(self.lost)) < self.workers
                       or ran < curve.duration - 1.0,
            "workers": workers, "finals": sorted(hub.finals),
            "lost_workers": [self.lost[w] for w in sorted(self.lost)],
            "requests": int(hub.timings.count()), "arrivals": arrivals,
            "exposures": len(hub.exposures),
            "probes": {"|".join(k): v for k, v in hub.family("probes").items()},
            "logins": {"|".join(k): v for k, v in hub.family("logins").items()},
            "amplification": {
                **measured(hub.family("returns"), hub.family("logins"),
                           hub.family("login_attempts"), self.plan.personas,
                           hub.family("people"), sessions),
                "plan": planned(self.plan)},
            "oneroster": {"|".join(k): v for k, v in hub.family("oneroster").items()},
            "counters": dict(hub.counters),
            "latency": _histograms(hub.timings),
            "overall": {kind: summary(hub.timings.total(kind))
                        for kind in ("service", "corrected")},
            "max_cpu": max((g.get("cpu", 0.0) for g in hub.gauges.values()), default=0.0)}


def recorded_plan(plan: LoadPlan) -> dict[str, Any]:
    """The plan as run.json records it: the OneRoster clients without their secrets."""
    data = plan.model_dump(mode="json")
    data["oneroster_clients"] = redacted(plan.oneroster_clients)
    if data.get("target_file") is not None:
        data["target_file"] = _masked_headers(data["target_file"])
    return data


SECRET_HEADER = re.compile(r"auth|cookie|token|secret|key|password", re.I)


def _masked_headers(value: Any) -> Any:
    """A target file as run.json records it: header values that look like credentials (a
    static API key a district wrote into its file) shown as ***."""
    if isinstance(value, dict):
        return {k: ({h: "***" if SECRET_HEADER.search(h) else v for h, v in v.items()}
                    if k == "headers" and isinstance(v, dict) else _masked_headers(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_headers(v) for v in value]
    return value


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
    sync = s.get("oneroster") or {}
    if sync:
        pages = sum(v for k, v in sync.items() if k.startswith("pages|"))
        rows = sum(v for k, v in sync.items() if k.startswith("rows|"))
        lines.append(f"  oneroster sync: {pages:,.0f} pages, {rows:,.0f} rows,"
                     f" {sync.get('passes', 0):,.0f} full passes,"
                     f" {sync.get('refused', 0):,.0f} refused,"
                     f" {sync.get('slot_waits', 0):,.0f} waited for a slot")
    lines.extend(amplification_lines(s.get("amplification") or {}))
    for lost in s.get("lost_workers") or []:
        lines.append(f"  LOST load process {lost['worker'] + 1} at {lost['last_report_at']:.0f} s"
                     f" (noticed at {lost['noticed_at']:.0f} s): {lost['sessions_lost']:,.0f}"
                     f" planned sessions ({lost['share_of_run']:.0%} of the run) not sent")
    lines.append(f"  data exposures: {s['exposures']}")
    lines.append(f"  run directory: {folder}")
    return lines


def amplification_lines(a: dict[str, Any]) -> list[str]:
    """People, their sessions and login attempts, measured beside the plan's figures."""
    if not a.get("people"):
        return []
    plan = a.get("plan") or {}
    typo, bound = plan.get("typo", {}), plan.get("bound", {})
    return [
        f"  people: {a['people']:,} · {a['sessions_per_person']:.2f} sessions and"
        f" {a['attempts_per_person']:.2f} login attempts per person"
        f" (plan: {typo.get('sessions_per_person', 1):.2f} and"
        f" {typo.get('attempts_per_person', 1):.2f} with typos alone, at most"
        f" {bound.get('sessions_per_person', 1):.0f} and"
        f" {bound.get('attempts_per_person', 1):.2f} if every login fails)",
        f"  returns: {a['returns']:,} came back, {a['returns_dropped']:,} dropped"
        f" (due after the plan's end, or waited too long) · {a['typos']:,} typos,"
        f" {a['locked']:,} locked",
    ]
