"""The open-model engine on Locust's runners (local, ``--processes``, master + workers).

Roles. Every load process (the local runner, or each worker) draws its share of the Poisson
arrivals, queues them as tickets and lets its Locust users take them: a user is an execution
slot, the persona comes with the ticket. The master (or the local runner) holds the `Hub`, runs
the load shape that provisions enough users for the arrival rate (Little's law on measured
session lengths, never removing users mid-session), serves the exporter and writes the run
directory.

Messages. The master sends each worker ``firstbell:assign`` (index, count, plan, start time)
before the first spawn message; workers ship deltas with Locust's own stats reports
(``report_to_master``) and a last one as ``firstbell:final`` once their sessions have drained
after the plan's end. The shape stops the run only when every worker's final is in, so the
merged totals are exactly the sum of the workers'.
"""

from __future__ import annotations

import logging
import sys
import time
import weakref
from argparse import Namespace
from pathlib import Path
from typing import Any

import gevent
import psutil
import pyarrow as pa
from gevent.queue import Empty, Queue
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from fake_data.userpool import load_persona
from kernel.errors import UserError
from kernel.version import __version__
from loadtests import feeding
from loadtests.exporter import CPU_SATURATED, Live
from loadtests.feeding import CLOSED_BACKOFF, Feed, Ticket
from loadtests.hub_loop import HubLoop, LoadHooks, RunSetup
from loadtests.identities import IdentityPool, check_folder
from loadtests.observers import RunObserver
from loadtests.oneroster.spec import ClientSpec, check_clients
from loadtests.options import plan_from, thresholds_from
from loadtests.plan import LoadPlan, PlanError, build_plan
from loadtests.provisioning import (
    MIN_SPAWN_RATE,
    USERS_PER_PROCESS,
    next_target,
    session_estimate,
    users_needed,
)
from loadtests.returns import send_back
from loadtests.rundir import default_run_dir, write_json
from loadtests.session import EngineBrowser
from loadtests.stats import Delta, Recorder, key
from loadtests.target_source import check_hosts, csv_pools, target_of, userpool_files
from loadtests.targets import Target
from loadtests.targets_allowed import TargetRefused, check_target

log = logging.getLogger("firstbell")
ASSIGN, FINAL = "firstbell:assign", "firstbell:final"
START_DELAY = 1.0     # seconds between the start and the first arrival: users spawn meanwhile
LAG_PROBE = 0.1       # seconds between event-loop lag samples
LAG_WARNING = 0.5
WATCH_WORKERS = 0.5   # seconds between the master's looks at its workers' states

_ENGINES: weakref.WeakKeyDictionary[Environment, Engine] = weakref.WeakKeyDictionary()


def engine_of(environment: Environment) -> Engine:
    return _ENGINES[environment]


class Engine:
    """One per Locust environment; created by `attach` on Locust's init event."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.staging_hosts = (getattr(environment.parsed_options, "firstbell_staging_hosts",
                                      None) or "").split(",")
        runner = environment.runner
        self.role = ("master" if isinstance(runner, MasterRunner)
                     else "worker" if isinstance(runner, WorkerRunner) else "local")
        if self.role != "worker" or environment.host:
            # a worker that joins from another machine learns the target from its master
            # (`firstbell worker`) and checks it against its own allowlist then (`assign`)
            check_target(environment.host, self.staging_hosts)
        self.options: Any = environment.parsed_options or Namespace()
        self.plan: LoadPlan = plan_from(self.options)
        self.thresholds = thresholds_from(self.options)
        self.target: Target = target_of(self.plan)
        self.check_hosts()
        self.probes = self.target.enabled_probes(self.plan.probes)
        self.target.check_mix(self.plan.mix)
        self.clients = self._clients()
        if self.role != "master":  # the master sends no load and reads no identities
            check_folder(getattr(self.options, "firstbell_userpool", None), self._personas())
        self.queue: Queue[Ticket] = Queue()
        self.recorder = Recorder()
        self.pool: IdentityPool | None = None
        self.index, self.count = 0, 1
        self.t0_perf = 0.0
        self.started = False
        self.final_sent = False
        self.busy: dict[str, int] = {}
        self.closed_live: dict[str, int] = {}  # closed-loop sessions queued or running
        self.sessions = 0
        self.people: set[tuple[str, int]] = set()  # identities that started a session here
        self.users_target = 0
        self.max_lag = 0.0
        # CPU since the last report, read at every report (Locust's own reading is 5 s old)
        self.process = psutil.Process()
        self.process.cpu_percent(None)
        self.cap_warned = False
        self._session_keys: dict[str, dict[str, str]] = {}
        # what the sessions of this process share for the run (`Browser.shared`: a sync's
        # cursor, its concurrency slots); one per engine, so a new run starts with none
        self.shared: dict[str, Any] = {}
        self.spawn_rate = MIN_SPAWN_RATE
        self.hub_loop: HubLoop | None = None
        self.client_index: dict[str, int] = {}  # the master's workers, by Locust client id
        if self.role != "worker":
            self.hub_loop = self._hub_loop()

    def _hub_loop(self) -> HubLoop:
        options = self.options
        path = getattr(options, "firstbell_run_dir", None)
        run_dir = Path(path) if path else default_run_dir(self.plan.scenario)
        setup = RunSetup(
            plan=self.plan, thresholds=self.thresholds, run_dir=run_dir,
            run_id=getattr(options, "firstbell_run_id", None) or run_dir.name,
            role=self.role, target_paths=self.target.name, options=vars(options),
            abort_on_fail=bool(getattr(options, "firstbell_abort_on_fail", False)),
            exporter_port=int(getattr(options, "firstbell_exporter_port", -1)),
            exporter_host=getattr(options, "firstbell_exporter_host", "127.0.0.1"))
        return HubLoop(setup, LoadHooks(
            elapsed=self.elapsed, live=self.live, host=lambda: self.environment.host,
            take_own=self._own_delta, final_own=self._own_final))

    def _own_delta(self) -> Delta | None:
        if self.role == "local" and self.started and not self.final_sent:
            return self.take()
        return None

    def _own_final(self) -> None:
        if self.role == "local" and self.started:
            self.send_final()

    def add_observer(self, observer: RunObserver) -> None:
        """Tell `observer` of the run's milestones; a worker has none to tell (its master
        does), so there it is a no-op."""
        if self.hub_loop is not None:
            self.hub_loop.add_observer(observer)

    # -- start ------------------------------------------------------------------------------
    def on_test_start(self) -> None:
        if self.started:
            return
        try:  # the web UI can change the host after start-up: check again before any load
            check_target(self.environment.host, self.staging_hosts)
        except TargetRefused as exc:
            log.error("%s", exc)
            self.environment.process_exit_code = 2
            self.environment.runner.quit()  # type: ignore[union-attr]
            return
        self.started = True
        t0_wall = time.time() + START_DELAY
        self.t0_perf = time.perf_counter() + START_DELAY
        if self.role == "master":
            assert isinstance(self.environment.runner, MasterRunner)
            clients = sorted(c.id for c in self.environment.runner.clients.all)
            self.client_index = {client: i for i, client in enumerate(clients)}
            gevent.spawn(self._watch_workers)
            for i, client in enumerate(clients):
                self.environment.runner.send_message(ASSIGN, {
                    "index": i, "count": len(clients), "t0": t0_wall,
                    "host": self.environment.host,
                    "plan": self.plan.model_dump(mode="json")}, client_id=client)
            self.count = len(clients)
        elif self.role == "local":
            self.assign(0, 1, t0_wall, None)
        if self.hub_loop is not None:
            self.hub_loop.start(t0_wall, self.count)

    def _watch_workers(self) -> None:
        """The master: a worker Locust's heartbeat check marks missing (or has dropped) is
        lost for the run; the hub loop records it and stops waiting for its final."""
        runner = self.environment.runner
        assert isinstance(runner, MasterRunner) and self.hub_loop is not None
        while not self.hub_loop.closed:
            gevent.sleep(WATCH_WORKERS)
            present = {c.id: c.state for c in runner.clients.all}
            for client, index in self.client_index.items():
                if present.get(client, STATE_MISSING) == STATE_MISSING:
                    self.hub_loop.worker_lost(index)

    def on_assign(self, message: Any) -> None:
        data = message.data
        host = data.get("host") or self.environment.host
        try:  # this machine's own allowlist decides what it sends load to
            check_target(host, self.staging_hosts)
            check_clients(data["plan"].get("oneroster_clients"), self.staging_hosts)
        except ValueError as exc:  # TargetRefused, or a client spec this worker cannot use
            log.error("%s (the master's target; allow it with --staging-hosts on this worker)",
                      exc)
            self.environment.process_exit_code = 2
            self.environment.runner.quit()  # type: ignore[union-attr]
            return
        self.environment.host = host
        log.info("assigned by the master: load process %d of %d, plan %s, target %s",
                 int(data["index"]) + 1, int(data["count"]), data["plan"]["scenario"], host)
        self.assign(int(data["index"]), int(data["count"]), float(data["t0"]), data["plan"])

    def assign(self, index: int, count: int, t0_wall: float, plan: dict[str, Any] | None) -> None:
        if plan is not None:  # the master's plan wins: a remote worker may not have the file
            self.plan = build_plan(plan, source="the master's plan")
            self.target = target_of(self.plan)
            self.check_hosts()
            self.probes = self.target.enabled_probes(self.plan.probes)
            self.clients = self._clients()
        self.index, self.count = index, count
        self.recorder = Recorder(index)
        self.people = set()
        self.t0_perf = time.perf_counter() + (t0_wall - time.time())
        self.pool = self._pool()
        self.started = True
        feed = self._feed()
        gevent.spawn(feeding.schedule, feed)
        if any(stage.users for stage in self.plan.stages):
            gevent.spawn(feeding.closed_loop, feed)
        gevent.spawn(self._watch_loop)

    def _feed(self) -> Feed:
        assert self.pool is not None
        return Feed(
            plan=self.plan, index=self.index, count=self.count, t0_perf=self.t0_perf,
            target=self.target.name, runnable=frozenset(self.target.click_paths),
            identities={p: self.pool.size(self.target.pool_of(p))   # in a stable order
                        for p in dict.fromkeys([*self.pool.free, *self.target.click_paths])
                        if self.target.pool_of(p) in self.pool.free}, queue=self.queue,
            record=self.recorder.count, closed_live=self.closed_live, busy=self.busy,
            drained=self.send_final)

    def _watch_loop(self) -> None:
        """How late the event loop wakes a sleeper: any blocking call in the generator shows
        up here (and in every corrected latency), never in the target's numbers."""
        while not self.final_sent:
            before = time.perf_counter()
            gevent.sleep(LAG_PROBE)
            lag = time.perf_counter() - before - LAG_PROBE
            if lag > LAG_WARNING:
                log.warning("the load generator's event loop was blocked %.2f s (at %.0f s):"
                            " requests in that time start late (corrected latency shows it)",
                            lag, self.elapsed())
            self.max_lag = max(self.max_lag, lag)

    def _personas(self) -> list[str]:
        """The user-pool files this process reads (a target file's CSV pools come from the
        vendor's accounts beside it instead)."""
        return userpool_files(self.plan.target_file, self.target, self.plan.personas,
                              self._spec())

    def _spec(self) -> str | None:
        return getattr(self.options, "firstbell_target_spec", None)

    def _csv_pools(self) -> dict[str, list[dict[str, Any]]]:
        return csv_pools(self.plan.target_file, self._spec())

    def check_hosts(self) -> None:
        check_hosts(self.plan.target_file, self.staging_hosts)

    def _clients(self) -> list[ClientSpec]:
        """The integration persona's OAuth clients; a vendor's OneRoster base URL (and token
        URL) must pass the same allowlist as the target (a ValueError otherwise)."""
        return check_clients(self.plan.oneroster_clients, self.staging_hosts)

    def _pool(self) -> IdentityPool:
        clients = [spec.identity() for spec in self.clients]
        folder = getattr(self.options, "firstbell_userpool", None) or "."
        tables = {p: load_persona(Path(folder), p) for p in self._personas()}
        tables.update({p: pa.Table.from_pylist(rows) for p, rows in self._csv_pools().items()})
        return IdentityPool(tables, index=self.index, count=self.count, seed=self.plan.seed,
                            extra={"integration": clients})

    def send_final(self) -> None:
        if self.final_sent:
            return
        self.final_sent = True
        delta = self.take(final=True)
        if self.role == "worker":
            self.environment.runner.send_message(FINAL, delta.to_json())  # type: ignore[union-attr]
        elif self.hub_loop is not None:
            self.hub_loop.absorb(delta)
        if self.hub_loop is not None or self.role == "worker":
            self._write_own_totals()

    def _write_own_totals(self) -> None:
        run_dir = self.hub_loop.run_dir.path if self.hub_loop else _shared_run_dir(self.options)
        if run_dir is None or not run_dir.is_dir():
            return  # a remote worker: the master's run directory is on another machine
        totals = self.recorder.totals
        try:
            write_json(run_dir / f"worker-{self.index}.json", {
                "worker": self.index, "counters": dict(totals.counters),
                "requests": totals.timings.count(), "exposures": len(totals.exposures)})
        except OSError as exc:  # a cross-check only: the hub's own writes say the rest
            log.warning("worker-%d.json not written (%s)", self.index, exc.strerror or exc)

    def gauges(self) -> dict[str, float]:
        runner = self.environment.runner
        out = {f"busy|{p}": float(n) for p, n in self.busy.items()}
        out.update(users=float(runner.user_count if runner else 0),
                   queued=float(self.queue.qsize()),
                   cpu=self.process.cpu_percent(None),
                   loop_lag=self.max_lag)
        self.max_lag = 0.0
        return out

    def take(self, *, final: bool = False) -> Delta:
        return self.recorder.take(self.gauges(), final=final)

    # -- sessions ---------------------------------------------------------------------------
    def serve(self, user: Any) -> None:
        """One Locust task: take the next arrival (waiting up to a second) and run it."""
        try:  # the waiting arrival first: a timed wait costs a timer per call
            ticket = self.queue.get_nowait()
        except Empty:
            try:
                ticket = self.queue.get(timeout=1.0)
            except Empty:
                return
        self.run_session(user, ticket)

    def run_session(self, user: Any, ticket: Ticket) -> None:
        try:
            self._run_session(user, ticket)
        finally:
            if ticket.closed:
                self.closed_live[ticket.persona] -= 1

    def _run_session(self, user: Any, ticket: Ticket) -> None:
        persona, plan, rec = ticket.persona, self.plan, self.recorder
        names = self._session_keys.get(persona) or self._keys_for(persona)
        waited = time.perf_counter() - ticket.intended
        assert self.pool is not None
        # a target file's persona may log in from a pool of another name (guardian: `parent`)
        pool = self.target.pool_of(persona)
        if ticket.returns:  # a person coming back: their identity was held for them
            if waited > plan.drop_after_seconds:
                rec.count(key("returns", persona, "dropped"))
                self.pool.checkin(pool, ticket.row)
                return
            taken: tuple[int, dict[str, Any]] = (ticket.row, self.pool.row(pool, ticket.row))
            rec.count(key("returns", persona, "started"))
        else:
            if waited > plan.drop_after_seconds:
                rec.count(names["dropped"])
                return
            # a persona without a pool (an anonymous visitor) needs no identity
            got = self.pool.checkout(pool) if pool in self.pool.free else (-1, {})
            if got is None:  # every identity of this persona is in a session already
                rec.count(names["dropped"])
                rec.count(key("dropped_no_identity", persona))
                if ticket.closed:  # the loop would queue it again at once: back off instead
                    gevent.sleep(CLOSED_BACKOFF)
                return
            taken = got
            rec.count(names["started"])
            if ticket.closed:  # started by the loop, not an arrival: kept out of arrival ratios
                rec.count(names["closed"])
            if waited > plan.late_after_seconds:
                rec.count(names["late"])
            if taken[0] >= 0 and (persona, taken[0]) not in self.people:
                self.people.add((persona, taken[0]))  # a person: a distinct identity
                rec.count(key("people", persona))
        self.sessions += 1
        browser = EngineBrowser(
            user.client, rec, self.pool, plan, self.target.login, persona, taken[1],
            ticket.intended, hash((plan.seed, self.index, self.sessions)),
            self.probes, closed=ticket.closed, shared=self.shared)
        self.busy[persona] = self.busy.get(persona, 0) + 1
        begun = time.perf_counter()
        try:
            self.target.click_paths[persona](browser)
            rec.count(names["completed"])
            rec.count(names["seconds"], time.perf_counter() - begun)
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # a click path bug must not kill the user; count and go on
            rec.count(names["aborted"])
            log.warning("%s session aborted: %s: %s", persona, type(exc).__name__, exc)
        finally:
            self.busy[persona] -= 1
            browser.give_back()
            if taken[0] >= 0 and not self._send_back(ticket, taken[0], browser):
                self.pool.checkin(pool, taken[0])

    def _send_back(self, ticket: Ticket, row: int, browser: EngineBrowser) -> bool:
        """A person whose login failed comes back later as the same identity, held for them
        meanwhile (`loadtests.returns`): True when a return is scheduled."""
        return send_back(self.plan, ticket, row, browser.login_failed, browser.rng,
                         now=time.perf_counter(), t0_perf=self.t0_perf,
                         record=self.recorder.count,
                         later=lambda delay, back: gevent.spawn_later(delay, self.queue.put,
                                                                      back))

    def _keys_for(self, persona: str) -> dict[str, str]:
        names = {o: key("sessions", persona, o)
                 for o in ("dropped", "started", "late", "completed", "aborted", "closed")}
        names["seconds"] = key("session_seconds", persona)
        self._session_keys[persona] = names
        return names

    # -- load shape (master or local) -------------------------------------------------------
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0_perf if self.t0_perf else 0.0

    def tick(self) -> tuple[int, float] | None:
        if self.hub_loop is None:
            return None
        if not self.started:
            self.on_test_start()
        if self.hub_loop.finished() or self.hub_loop.aborted or self.hub_loop.failed:
            self.hub_loop.close()  # now, not at exit: the web UI keeps the process running
            return None
        demand = self.users_needed()
        self.users_target, self.spawn_rate = next_target(
            self.users_target, demand, self.generator_saturated(), self.count, self.spawn_rate)
        return self.users_target, self.spawn_rate

    def users_needed(self) -> int:
        assert self.hub_loop is not None
        hub, curve = self.hub_loop.hub, self.plan.curve
        seconds = session_estimate(self.hub_loop.mean_session_seconds(),
                                   self.target.session_seconds,
                                   self.plan.session_seconds_estimate,
                                   self.plan.persona_think_scale)
        demand = users_needed(curve, max(self.elapsed(), 0.0), seconds,
                              busy=sum(hub.gauge(f"busy|{p}") for p in self.plan.personas),
                              queued=hub.gauge("queued"), workers=self.count,
                              cap=self.plan.max_users)
        if demand.users > demand.capped and not self.cap_warned:
            self.cap_warned = True
            log.warning("the arrival rate needs ~%d users but at most %d are provisioned"
                        " (--max-users; %d per load process): arrivals will be late or dropped;"
                        " add load processes (--processes)", demand.users, demand.capped,
                        USERS_PER_PROCESS)
        return demand.capped

    def generator_saturated(self) -> bool:
        assert self.hub_loop is not None
        return any(g.get("cpu", 0.0) > CPU_SATURATED for g in self.hub_loop.hub.gauges.values())

    def live(self) -> Live:
        t = max(self.elapsed(), 0.0)
        curve = self.plan.curve
        loop = self.hub_loop
        return Live(
            run_id=loop.run_id if loop else "", scenario=self.plan.scenario,
            target=str(self.environment.host or ""), personas=self.plan.personas,
            probes=tuple(sorted(self.probes)), elapsed=t, planned=self.plan.duration,
            clock_seconds=self.plan.clock_seconds(t),
            target_rate={p: curve.rate(p, t) for p in self.plan.personas},
            achieved_rate=loop.achieved if loop else {},
            workers=len(loop.hub.gauges) if loop else 0, stage=self.plan.stage_label(t))


def _shared_run_dir(options: Any) -> Path | None:
    value = getattr(options, "firstbell_run_dir", None)
    return Path(value) if value else None


def _close(environment: Environment, loop: HubLoop) -> None:
    loop.close()
    # the verdict's code (0 GO, 3 NO-GO, 4 data exposure), not Locust's "any failed request"
    environment.process_exit_code = loop.exit_code


def _final_if_started(engine: Engine) -> None:
    if engine.started:
        engine.send_final()


def _absorb_report(loop: HubLoop, data: dict[str, Any]) -> None:
    if "firstbell" in data:
        loop.absorb(Delta.from_json(data["firstbell"]))


def attach(environment: Environment) -> Engine:
    """Create the engine for this Locust environment and wire it to Locust's events."""
    try:
        engine = Engine(environment)
    except (PlanError, ValueError, UserError) as exc:  # a usage error: exit 2, no traceback
        sys.stderr.write(f"firstbell: {exc}\n")
        raise SystemExit(2) from None
    _ENGINES[environment] = engine
    # At the end, users finish the session they are in (up to the drain time) instead of being
    # killed mid-request.
    environment.stop_timeout = max(environment.stop_timeout or 0.0, engine.plan.drain_seconds)
    events, runner = environment.events, environment.runner
    if engine.role == "worker":
        assert runner is not None
        runner.register_message(ASSIGN, lambda msg, **_: engine.on_assign(msg))
        events.report_to_master.add_listener(
            lambda client_id, data, **_: data.__setitem__("firstbell", engine.take().to_json())
            if engine.started and not engine.final_sent else None)
        events.test_stop.add_listener(lambda **_: _final_if_started(engine))
    else:
        assert engine.hub_loop is not None
        loop = engine.hub_loop
        events.test_start.add_listener(lambda **_: engine.on_test_start())
        events.quitting.add_listener(lambda **_: _close(environment, loop))
        if engine.role == "master":
            assert runner is not None
            runner.register_message(FINAL, lambda msg, **_: loop.absorb(Delta.from_json(msg.data)))
            events.worker_report.add_listener(
                lambda client_id, data, **_: _absorb_report(loop, data))
        else:
            events.test_stop.add_listener(lambda **_: engine.send_final())
        loop.serve_exporter()
    if engine.role == "worker" and not getattr(engine.options, "firstbell_plan", None):
        log.info("firstbell %s engine: worker, waiting for the master's plan and target",
                 __version__)
    else:
        log.info("firstbell %s engine: %s, target paths %s, plan %s (%.0f s)", __version__,
                 engine.role, engine.target.name, engine.plan.scenario, engine.plan.duration)
    return engine
