"""What saturated while a measurement ran: the CPU of this machine's processes by kind (the
SIS's server, PostgreSQL, PHP workers, the web server, the load generator), the target's own
gauges when it exposes firstbell's SIS metrics (database pool, injected rate limit), and the
one resource to name when a step fails.

The processes are read with psutil every `interval` seconds while the step runs: load goes only
to loopback, so the target's processes are on this machine, and per-process CPU is the one
reading every SIS gives — a vendor's PHP or Java stack exposes none of firstbell's metrics. The
attribution is a short list of rules, tried in order, each naming the first limit a person would
check (see `saturated`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

# Process kinds, by what the command line says; the first match wins.
KINDS = (("load generator", ("locust", "firstbell worker")),
         ("PostgreSQL", ("postgres",)),
         ("PHP workers", ("php-fpm", "php ")),
         ("web server", ("nginx",)),
         ("SIS server", ("staging", "uvicorn", "gunicorn")))
BUSY_MACHINE = 0.85      # machine CPU share above which the busiest kind is the limit
ONE_CORE = 0.85          # one process this busy (cores) is a single-threaded limit
GENERATOR_CPU = 90.0     # percent of one core: loadtests' own saturation mark
DROPPED = 0.02           # arrivals dropped above this share: the generator's or the pool's limit


Kinds = tuple[tuple[str, tuple[str, ...]], ...]


def kind_of(cmdline: str, kinds: Kinds = KINDS) -> str | None:
    low = cmdline.lower()
    for kind, marks in kinds:
        if any(m in low for m in marks):
            return kind
    return None


@dataclass(frozen=True)
class TargetGauges:
    """firstbell's SIS metrics read once from the target's /metrics (None: not exposed)."""

    rate_limited: bool = False
    pool_in_use: float | None = None
    pool_max: float | None = None
    pool_waiting: float | None = None


@dataclass
class Usage:
    """CPU over one measurement: the machine's busy share (0..1) and cores used per process
    kind (mean over the step, and the highest one-interval reading)."""

    seconds: float = 0.0
    machine: float = 0.0
    cores: dict[str, float] = field(default_factory=dict)
    peak_cores: dict[str, float] = field(default_factory=dict)
    one_process: dict[str, float] = field(default_factory=dict)
    gauges: TargetGauges = field(default_factory=lambda: TargetGauges())

    def busiest(self) -> str | None:
        served = {k: v for k, v in self.cores.items() if k != "load generator"}
        return max(served, key=served.__getitem__) if served else None

    def as_json(self) -> dict[str, object]:
        return {"seconds": round(self.seconds, 2), "machine_cpu": round(self.machine, 3),
                "cores": {k: round(v, 3) for k, v in sorted(self.cores.items())},
                "peak_cores": {k: round(v, 3) for k, v in sorted(self.peak_cores.items())},
                "one_process": {k: round(v, 3) for k, v in sorted(self.one_process.items())},
                "target": dataclasses.asdict(self.gauges)}


def _cpu_by_pid(kinds: Kinds) -> dict[int, tuple[str, float]]:
    out: dict[int, tuple[str, float]] = {}
    for proc in psutil.process_iter(["cmdline", "cpu_times"]):
        kind = kind_of(" ".join(proc.info.get("cmdline") or []), kinds)
        times = proc.info.get("cpu_times")
        if kind is not None and times is not None:
            out[proc.pid] = (kind, times.user + times.system)
    return out


def _deltas(before: dict[int, tuple[str, float]],
            after: dict[int, tuple[str, float]]) -> dict[int, tuple[str, float]]:
    """CPU seconds each process spent between two readings (a process born meanwhile: all of
    its time)."""
    return {pid: (kind, max(cpu - before.get(pid, (kind, 0.0))[1], 0.0))
            for pid, (kind, cpu) in after.items()}


def _by_kind(per_pid: dict[int, tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for kind, cpu in per_pid.values():
        out[kind] = out.get(kind, 0.0) + cpu
    return out


@contextmanager
def sampled(target: str | None = None, interval: float = 2.0,
            kinds: Kinds = KINDS) -> Iterator[Usage]:
    """CPU by process kind while the block runs, and the highest readings of the `target`'s
    gauges when it exposes them (they are levels: read while the load runs, not after);
    the `Usage` is filled when the block ends. CPU is summed between consecutive readings, so
    a process that ends meanwhile loses at most its last interval."""
    usage = Usage()
    stop = threading.Event()
    spent: dict[int, tuple[str, float]] = {}
    last = _cpu_by_pid(kinds)
    t0 = t_last = time.monotonic()
    psutil.cpu_percent(None)

    def read() -> None:
        nonlocal last, t_last
        now, t = _cpu_by_pid(kinds), time.monotonic()
        per_pid = _deltas(last, now)
        for pid, (kind, cpu) in per_pid.items():
            spent[pid] = (kind, spent.get(pid, (kind, 0.0))[1] + cpu)
        for kind, cpu in _by_kind(per_pid).items():
            usage.peak_cores[kind] = max(usage.peak_cores.get(kind, 0.0),
                                         cpu / max(t - t_last, 1e-6))
        last, t_last = now, t

    def poll() -> None:
        while not stop.wait(interval):
            read()
            if target is not None:
                usage.gauges = highest(usage.gauges, target_gauges(target, timeout=1.0))

    thread = threading.Thread(target=poll, name="resource-sampler", daemon=True)
    thread.start()
    try:
        yield usage
    finally:
        stop.set()
        thread.join()
        read()
        usage.machine = psutil.cpu_percent(None) / 100.0
        usage.seconds = time.monotonic() - t0
        seconds = max(usage.seconds, 1e-6)
        usage.cores = {k: v / seconds for k, v in _by_kind(spent).items()}
        for kind, cpu in spent.values():
            usage.one_process[kind] = max(usage.one_process.get(kind, 0.0), cpu / seconds)


def _top(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def highest(a: TargetGauges, b: TargetGauges) -> TargetGauges:
    return TargetGauges(rate_limited=a.rate_limited or b.rate_limited,
                        pool_in_use=_top(a.pool_in_use, b.pool_in_use),
                        pool_max=_top(a.pool_max, b.pool_max),
                        pool_waiting=_top(a.pool_waiting, b.pool_waiting))


def target_gauges(base_url: str, timeout: float = 3.0) -> TargetGauges:
    """The target's gauges, or an empty reading when it exposes none (any vendor's SIS)."""
    try:
        text = httpx.get(f"{base_url.rstrip('/')}/metrics", timeout=timeout).text
        families = {f.name: f for f in text_string_to_metric_families(text)}
    except (httpx.HTTPError, ValueError):
        return TargetGauges()

    def total(name: str) -> float | None:
        fam = families.get(name)
        return sum(s.value for s in fam.samples) if fam and fam.samples else None

    faults = families.get("sis_faults_active")
    limited = bool(faults) and any(s.labels.get("kind") == "rate_limit" and s.value > 0
                                   for s in faults.samples)  # type: ignore[union-attr]
    return TargetGauges(rate_limited=limited, pool_in_use=total("sis_db_pool_in_use"),
                        pool_max=total("sis_db_pool_max"),
                        pool_waiting=total("sis_db_pool_waiting"))


def saturated(reasons: list[str], dropped: float, generator_cpu: float, error_ratio: float,
              usage: Usage, short_of: tuple[str, ...] = ()) -> str:
    """The resource to name for a failed step, by the first rule that holds: the load
    generator when it ran out of CPU or only the arrival gate failed; an injected rate limit
    shedding requests; the database pool (requests waiting for a connection with every
    connection lent); the machine's CPU and which process kind used most of it (the login KDF
    when logins failed on a busy SIS server); one process at a full core (a single-threaded
    server saturates there while the machine has room); and last the generator again when it
    dropped arrivals (`short_of`: the personas it dropped) — last, because a slow target makes
    sessions longer, so a generator with a fixed number of users drops arrivals *because* the
    target slowed down, and the target's limit is the one to name."""
    if generator_cpu > GENERATOR_CPU:
        return "load generator (its CPU)"
    if reasons and all(r.startswith("arrival") for r in reasons):
        return "load generator" + (_dropping(short_of) if dropped > DROPPED else "")
    gauges = usage.gauges
    if gauges.rate_limited and error_ratio > 0:
        return "rate limit (an injected fault)"
    if gauges.pool_waiting and gauges.pool_max and (gauges.pool_in_use or 0) >= gauges.pool_max:
        return "database pool"
    logins = any("auth" in r or "login" in r for r in reasons)
    busiest = usage.busiest()
    if usage.machine >= BUSY_MACHINE and busiest is not None:
        if busiest == "SIS server" and logins:
            return "login KDF (CPU of the SIS server)"
        return f"CPU ({busiest})"
    full = [k for k, v in sorted(usage.one_process.items(), key=lambda kv: -kv[1])
            if v >= ONE_CORE and k != "load generator"]
    if full:
        if full[0] == "SIS server" and logins:
            return "login KDF (one SIS server process at a full core)"
        return f"CPU ({full[0]}: one process at a full core)"
    if dropped > DROPPED:
        return "load generator" + _dropping(short_of)
    return "none identified"


def _dropping(short_of: tuple[str, ...]) -> str:
    who = f" {', '.join(short_of)}" if short_of else ""
    return (f" (it dropped{who} arrivals: no free user or identity in time; add load"
            " processes with --workers, or a larger user pool)")
