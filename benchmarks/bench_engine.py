"""Load engine benchmarks (issue 5): the firstbell engine against plain Locust and k6.

    .venv/bin/python benchmarks/bench_engine.py [--seconds 20] [--skip-throughput] [--skip-co]

One invocation runs, one after another (interleaved, as the field notes ask: ratios are only
compared within one run):

1. Throughput on a trivial endpoint: nginx answering a fixed 200 ``ok`` (1 worker, access log
   off, pinned to core 0; installed with apt-get when missing; benchmarks/stall_server.py
   without stalls when nginx cannot be had). Every generator is one process pinned to core 1.
   a. Saturation: plain Locust (`FastHttpUser`, 32 users, ``constant(0)``), then the engine
      (ping target, exporter on a free port and scraped every 5 s, run directory, HDR
      histograms) asked for 1.5x plain Locust's rate so it saturates, then the engine again
      with ``--max-users 64`` (a diagnostic: the same engine with fewer execution slots).
   b. A fixed arrival rate below saturation (60% of the engine's saturated rate): the engine
      (and again with ``--max-users 64``), k6 ``constant-arrival-rate`` and plain Locust with
      ``constant_throughput`` users.
   Requests and CPU are measured over a steady window (`--seconds`, starting 2 s after the
   first request): requests counted by nginx (``stub_status``), CPU (user + sys) of the
   generator's process tree from psutil, so start-up and shutdown are left out. Whole-run
   figures (each tool's own request count, the process's rusage) are printed too.
2. Coordinated omission: stall_server with ``--stall 1 --period 10`` (restarted for every
   generator, so each run starts near the server's phase 0, and the exact offset is measured),
   100 requests/s for 60 s. The truth comes from the intended schedule, a 100/s grid from each
   generator's own start: latency = the server's base answer time (measured by a plain client)
   + the time left in the stall window. Then the engine's corrected and service-time figures,
   k6 ``constant-arrival-rate`` and plain Locust's closed model (100 users at
   ``constant_throughput(1)``), each with its ratios to the truth.

Prints the tables and exits 0 (targets missed are reported, not raised). ~7 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent  # .venv/bin: locust and k6 live next to the interpreter
LOCUST, K6 = str(BIN / "locust"), str(BIN / "k6")
PLAIN = str(BENCH / "plain_locustfile.py")
K6_SCRIPT = str(BENCH / "k6_arrival.js")
ENGINE = str(ROOT / "loadtests" / "locustfile.py")
SERVER_CORE, GENERATOR_CORE = 0, 1

WARMUP = 2.0          # seconds after the first request before the measured window opens
MARGIN = 4.0          # seconds every generator runs past the end of the window
SCRAPE_EVERY = 5.0    # the engine's exporter is scraped this often, as Prometheus would
PLAIN_USERS = 32
OVERDRIVE = 1.5       # the engine is asked for this multiple of plain Locust's rate
FIXED_SHARE = 0.6     # the fixed rate, as a share of the engine's saturated rate
PACE = 10.0           # requests/s of each paced plain-Locust user at the fixed rate
TARGET_RATIO = 0.8
CO_RATE, CO_SECONDS, CO_STALL, CO_PERIOD = 100, 60, 1.0, 10.0

NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 65536;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 16384; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location = /nginx_status {{ stub_status; }}
    location / {{ default_type text/plain; return 200 "ok"; }}
  }}
}}
"""

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "K6_NO_USAGE_REPORT": "true"}


# -- processes ---------------------------------------------------------------------------------
def pinned(core: int, cmd: Sequence[str]) -> list[str]:
    return ["taskset", "-c", str(core), *cmd] if (os.cpu_count() or 1) > 1 else list(cmd)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A child process reaped with wait4, so its whole-run CPU (rusage: the process and its
    waited-for descendants) is exact; never reaped by Popen."""

    def __init__(self, cmd: Sequence[str], log: Path, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT,
                                          cwd=cwd, env=env or ENV, start_new_session=True)
        self.pid = self.popen.pid
        self.returncode: int | None = None
        self.cpu_total = 0.0  # user + sys of the whole run, once reaped

    def alive(self) -> bool:
        if self.returncode is not None:
            return False
        pid, status, usage = os.wait4(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.returncode = self.popen.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_total = usage.ru_utime + usage.ru_stime
        return False

    def cpu(self) -> float:
        """CPU seconds (user + sys) so far of the process and its live descendants."""
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return self.cpu_total
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{self.log.name}: still running after {timeout:.0f} s;"
                                 f" its log:\n{self.tail()}")
            time.sleep(0.1)
        assert self.returncode is not None
        return self.returncode

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.alive():
                os.killpg(self.pid, signal.SIGKILL)
                while self.alive():
                    time.sleep(0.05)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# -- the servers -------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    url: str  # http://127.0.0.1:port/
    proc: Proc
    started_wall: float = 0.0   # stall_server: wall time its stall clock started
    counted: bool = False       # nginx: requests countable via stub_status

    def counts(self) -> tuple[int, int] | None:
        """(connections accepted, requests handled) so far, from nginx's stub_status; None
        for a server that cannot count."""
        if not self.counted:
            return None
        with urllib.request.urlopen(self.url + "nginx_status", timeout=5) as r:
            text = r.read().decode()
        accepts, _, handled = text.splitlines()[2].split()  # "accepts handled requests"
        return int(accepts), int(handled)

    def requests(self) -> int:
        counts = self.counts()
        return counts[1] if counts else 0

    def stop(self) -> None:
        self.proc.stop()


def have_nginx() -> str | None:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found:
        return found
    print("nginx is missing: apt-get install -y -qq nginx ...", flush=True)
    for cmd in (["apt-get", "install", "-y", "-qq", "nginx"],
                ["sh", "-c", "apt-get update -qq && apt-get install -y -qq nginx"]):
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=300,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        except (OSError, subprocess.SubprocessError):
            continue
        found = shutil.which("nginx") or ("/usr/sbin/nginx"
                                          if Path("/usr/sbin/nginx").exists() else None)
        if found:
            return found
    return None


def start_nginx(binary: str, folder: Path) -> Server:
    conf_dir = folder / "nginx"
    conf_dir.mkdir()
    port = free_port()
    (conf_dir / "nginx.conf").write_text(NGINX_CONF.format(dir=conf_dir, port=port))
    proc = Proc(pinned(SERVER_CORE, [binary, "-c", str(conf_dir / "nginx.conf"),
                                     "-p", str(conf_dir), "-e", str(conf_dir / "error.log")]),
                folder / "nginx.log")
    server = Server("nginx", f"http://127.0.0.1:{port}/", proc, counted=True)
    for _ in range(100):
        try:
            server.counts()
            return server
        except OSError:
            if not proc.alive():
                break
            time.sleep(0.05)
    proc.stop()
    raise RuntimeError(f"nginx did not start: {proc.tail()}")


def start_stall_server(folder: Path, stall: float, period: float, tag: str) -> Server:
    log = folder / f"stall-{tag}.log"
    proc = Proc(pinned(SERVER_CORE, [sys.executable, str(BENCH / "stall_server.py"),
                                     "--port", "0", "--stall", str(stall),
                                     "--period", str(period)]), log)
    for _ in range(200):
        match = re.search(r"listening on (http://\S+)", log.read_text())
        if match:
            # The server starts its stall clock just before it prints this line.
            return Server("stall_server", match.group(1) + "/", proc, started_wall=time.time())
        if not proc.alive():
            break
        time.sleep(0.005)
    proc.stop()
    raise RuntimeError(f"stall_server did not start: {proc.tail()}")


# -- measuring a generator ---------------------------------------------------------------------
@dataclass
class Window:
    seconds: float
    requests: int
    cpu: float
    connections: int  # TCP connections the server accepted in the window

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def per_cpu(self) -> float:
        return self.requests / self.cpu if self.cpu else math.nan


@dataclass
class Result:
    name: str
    window: Window | None
    requests: int                # the tool's own count, whole run
    rate: float                  # the tool's own achieved rate
    cpu_total: float             # whole run, rusage
    wall: float
    p50: float = math.nan        # seconds, the tool's own latency figures
    p99: float = math.nan
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best_rate(self) -> float:
        return self.window.rate if self.window else self.rate

    @property
    def per_cpu(self) -> float:
        if self.window:
            return self.window.per_cpu
        return self.requests / self.cpu_total if self.cpu_total else math.nan

    @property
    def whole_per_cpu(self) -> float:
        return self.requests / self.cpu_total if self.cpu_total else math.nan


def watch(proc: Proc, server: Server, seconds: float,
          scrape: Callable[[], None] | None = None) -> Window | None:
    """The steady window: from WARMUP after the first requests reach the server, `seconds`
    long. None when the server cannot count requests or the generator never got going."""
    if server.counts() is None:
        return None
    first = server.requests()
    deadline = time.monotonic() + 60
    while server.requests() < first + 50:
        if not proc.alive() or time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    time.sleep(WARMUP)
    t0, (a0, n0), c0 = time.monotonic(), server.counts() or (0, 0), proc.cpu()
    next_scrape = t0
    while (now := time.monotonic()) < t0 + seconds:
        if scrape is not None and now >= next_scrape:
            scrape()
            next_scrape = now + SCRAPE_EVERY
        time.sleep(min(0.2, max(0.0, t0 + seconds - now)))
    c1, (a1, n1), t1 = proc.cpu(), server.counts() or (0, 0), time.monotonic()
    if not proc.alive():
        print(f"  warning: {proc.log.name} ended inside the window", flush=True)
    # -1: the closing stub_status request, and its connection
    return Window(t1 - t0, n1 - n0 - 1, c1 - c0, a1 - a0 - 1)


def locust_percentile(times: dict[str, int], total: int, share: float) -> float:
    """Locust's own percentile rule over its response-time buckets (ms)."""
    need = int(total * share)
    processed = 0
    for rt in sorted(times, key=float, reverse=True):
        processed += times[rt]
        if total - processed <= need:
            return float(rt)
    return 0.0


def locust_stats(path: Path) -> dict[str, Any]:
    entries = json.loads(path.read_text())
    total = sum(e["num_requests"] for e in entries)
    times: dict[str, int] = {}
    for e in entries:
        for k, v in e["response_times"].items():
            times[k] = times.get(k, 0) + v
    start = min(e["start_time"] for e in entries)
    last = max(e["last_request_timestamp"] for e in entries)
    out: dict[str, Any] = {"requests": total, "start": start,
                           "rate": total / (last - start) if last > start else 0.0,
                           "failures": sum(e["num_failures"] for e in entries)}
    if total:
        out["mean"] = sum(e["total_response_time"] for e in entries) / total / 1000
        out["max"] = max(e["max_response_time"] for e in entries) / 1000
        for p in (50, 95, 99, 99.9):
            out[f"p{p:g}"] = locust_percentile(times, total, p / 100) / 1000
    return out


def run_plain(folder: Path, server: Server, tag: str, *, seconds: float, users: int,
              user_class: str, pace: float | None = None, measure: bool = True) -> Result:
    out = folder / f"plain-{tag}"
    run_time = math.ceil(seconds + WARMUP + MARGIN) if measure else math.ceil(seconds)
    env = {**ENV, "PLAIN_PACE": str(pace or 1)}
    cmd = pinned(GENERATOR_CORE, [
        LOCUST, "-f", PLAIN, user_class, "--headless", "--host", server.url.rstrip("/"),
        "-u", str(users), "-r", str(users), "-t", f"{run_time}s", "--json-file", str(out),
        "--only-summary", "--loglevel", "WARNING"])
    begun = time.monotonic()
    proc = Proc(cmd, folder / f"plain-{tag}.log", env=env)
    window = watch(proc, server, seconds) if measure else None
    proc.wait(run_time + 60)
    stats = locust_stats(out.with_suffix(".json"))
    return Result(f"plain Locust ({tag})", window, stats["requests"], stats["rate"],
                  proc.cpu_total, time.monotonic() - begun, stats.get("p50", math.nan),
                  stats.get("p99", math.nan), extra=stats)


def run_engine(folder: Path, server: Server, tag: str, *, seconds: float, rate: float,
               extra: Sequence[str] = (), measure: bool = True) -> Result:
    run_dir = folder / f"engine-{tag}"
    duration = math.ceil(seconds + WARMUP + MARGIN) if measure else math.ceil(seconds)
    cmd = pinned(GENERATOR_CORE, [
        LOCUST, "-f", ENGINE, "--headless", "--host", server.url.rstrip("/"),
        "--userpool", str(folder), "--run-dir", str(run_dir), "--target-paths", "ping",
        "--rate", f"visitor={rate:.2f}", "--duration", str(duration), "--exporter-port", "0",
        "--only-summary", *extra])
    begun = time.monotonic()
    proc = Proc(cmd, folder / f"engine-{tag}.log")
    scrapes: list[float] = []

    def scrape() -> None:
        try:
            port = json.loads((run_dir / "exporter.json").read_text())["port"]
            t = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                r.read()
            scrapes.append(time.perf_counter() - t)
        except (OSError, ValueError, KeyError):
            pass

    window = watch(proc, server, seconds, scrape) if measure else None
    code = proc.wait(duration + 120)
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        raise SystemExit(f"the engine wrote no summary.json (exit {code}):\n{proc.tail()}")
    summary = json.loads(summary_path.read_text())
    run = json.loads((run_dir / "run.json").read_text())
    intervals = [json.loads(line) for line in
                 (run_dir / "intervals.jsonl").read_text().splitlines() if line]
    arrivals = summary["arrivals"]["visitor"]
    corrected = summary["overall"]["corrected"]
    return Result(f"engine ({tag})", window, int(summary["requests"]),
                  summary["requests"] / summary["duration"], proc.cpu_total,
                  time.monotonic() - begun, corrected.get("p50", math.nan),
                  corrected.get("p99", math.nan),
                  extra={"summary": summary, "run": run, "arrivals": arrivals, "exit": code,
                         "users": max((i.get("users", 0) for i in intervals), default=0),
                         "scrapes": scrapes})


def run_k6(folder: Path, server: Server, tag: str, *, seconds: float, rate: float,
           pre_vus: int, max_vus: int, measure: bool = True) -> Result:
    out = folder / f"k6-{tag}.json"
    duration = math.ceil(seconds + WARMUP + MARGIN) if measure else math.ceil(seconds)
    cmd = pinned(GENERATOR_CORE, [
        K6, "run", "--quiet", "--no-color", "--summary-export", str(out),
        "-e", f"URL={server.url}", "-e", f"RATE={round(rate)}", "-e", f"DURATION={duration}s",
        "-e", f"PRE_VUS={pre_vus}", "-e", f"MAX_VUS={max_vus}", K6_SCRIPT])
    begun = time.monotonic()
    proc = Proc(cmd, folder / f"k6-{tag}.log")
    window = watch(proc, server, seconds) if measure else None
    proc.wait(duration + 60)
    metrics = json.loads(out.read_text())["metrics"]
    trend = metrics["http_req_duration"]
    start = re.search(r"SCENARIO_START (\d+)", proc.log.read_text())
    stats = {"requests": int(metrics["http_reqs"]["count"]),
             "rate": float(metrics["http_reqs"]["rate"]),
             "dropped": int(metrics.get("dropped_iterations", {}).get("count", 0)),
             "start": int(start.group(1)) / 1000 if start else None,
             "mean": trend["avg"] / 1000, "max": trend["max"] / 1000,
             "p50": trend["med"] / 1000, "p95": trend["p(95)"] / 1000,
             "p99": trend["p(99)"] / 1000, "p99.9": trend["p(99.9)"] / 1000}
    return Result(f"k6 ({tag})", window, stats["requests"], stats["rate"], proc.cpu_total,
                  time.monotonic() - begun, stats["p50"], stats["p99"], extra=stats)


# -- printing ----------------------------------------------------------------------------------
def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    print(line)
    print("-" * len(line))
    for row in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    sys.stdout.flush()


def ms(seconds: float) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.1f}"


def conns(r: Result) -> str:
    """TCP connections opened in the window: a generator that keeps its connections alive
    opens none once warm."""
    return f"{r.window.connections:,}" if r.window else "-"


def ratio(a: float, b: float) -> str:
    return "-" if not b or math.isnan(a) or math.isnan(b) else f"{a / b:.2f}"


# -- 1. throughput -----------------------------------------------------------------------------
def throughput(folder: Path, seconds: float) -> None:
    binary = have_nginx()
    if binary:
        server = start_nginx(binary, folder)
        where = "nginx (1 worker, fixed 200 ok, access log off)"
    else:
        server = start_stall_server(folder, 0.0, 10.0, "throughput")
        where = ("benchmarks/stall_server.py without stalls (nginx could not be installed;"
                 " figures are whole-run, start-up included)")
    print(f"\n== 1. Throughput: {where} on core {SERVER_CORE}, each generator one process on"
          f" core {GENERATOR_CORE}; window {seconds:g} s from {WARMUP:g} s after the first"
          " request", flush=True)
    try:
        plain = run_plain(folder, server, "saturated", seconds=seconds, users=PLAIN_USERS,
                          user_class="FlatOut")
        print(f"  plain Locust saturated: {plain.best_rate:,.0f} req/s", flush=True)
        asked = OVERDRIVE * plain.best_rate
        engine = run_engine(folder, server, "saturated", seconds=seconds, rate=asked,
                            extra=["--drain", "1"])
        print(f"  engine saturated: {engine.best_rate:,.0f} req/s (asked {asked:,.0f}/s)",
              flush=True)
        slots = run_engine(folder, server, "saturated, --max-users 64", seconds=seconds,
                           rate=asked, extra=["--drain", "1", "--max-users", "64"])
        print(f"  engine --max-users 64 saturated: {slots.best_rate:,.0f} req/s", flush=True)

        fixed = FIXED_SHARE * engine.best_rate
        print(f"  fixed rate {fixed:,.0f}/s ...", flush=True)
        e_fixed = run_engine(folder, server, "fixed", seconds=seconds, rate=fixed)
        s_fixed = run_engine(folder, server, "fixed, --max-users 64", seconds=seconds,
                             rate=fixed, extra=["--max-users", "64"])
        k_fixed = run_k6(folder, server, "fixed", seconds=seconds, rate=fixed,
                         pre_vus=200, max_vus=5000)
        users = math.ceil(fixed / PACE)
        p_fixed = run_plain(folder, server, "fixed", seconds=seconds, users=users,
                            user_class="Paced", pace=PACE)
    finally:
        server.stop()

    rows = []
    for r in (plain, engine, slots):
        rows.append([r.name, f"{r.best_rate:,.0f}",
                     f"{r.window.cpu:.1f}" if r.window else "-", f"{r.per_cpu:,.0f}",
                     ratio(r.per_cpu, plain.per_cpu), conns(r), f"{r.requests:,}",
                     f"{r.cpu_total:.1f}", f"{r.whole_per_cpu:,.0f}",
                     ratio(r.whole_per_cpu, plain.whole_per_cpu)])
    table(f"Saturation (engine asked for {asked:,.0f}/s = {OVERDRIVE:g}x plain Locust;"
          f" plain Locust {PLAIN_USERS} users, constant(0))",
          ["generator", "req/s", "CPU s", "req/CPU-s", "vs plain", "new conns",
           "run: requests",
           "run: CPU s", "run: req/CPU-s", "vs plain"], rows)
    # Saturated, each generator's requests per CPU-second is its requests/s per core. The engine
    # with automatic provisioning also does the open model's bookkeeping for the arrivals an
    # overloaded generator cannot serve (queued, then dropped), so its figure is printed too.
    for label, r in (("users sized like plain Locust's (--max-users 64)", slots),
                     ("automatic provisioning, overloaded", engine)):
        verdict = "PASS" if r.per_cpu / plain.per_cpu >= TARGET_RATIO else "MISS"
        print(f"engine / plain Locust, requests/s per core, saturated, {label}:"
              f" {r.per_cpu / plain.per_cpu:.2f} (target >= {TARGET_RATIO}): {verdict}")
    for r in (engine, slots):
        a = r.extra["arrivals"]
        print(f"  {r.name}: {r.extra['users']:,.0f} users provisioned; summary.json: "
              f"{a['scheduled']:,} scheduled, {a['started']:,} started, {a['late']:,} late, "
              f"{a['dropped']:,} dropped, achieved_rate {a['achieved_rate']:,.0f}/s; corrected"
              f" p50 {ms(r.p50)} ms, p99 {ms(r.p99)} ms; exit {r.extra['exit']}")
    scrapes = engine.extra["scrapes"]
    if scrapes:
        print(f"  exporter scraped {len(scrapes)}x, {1000 * max(scrapes):.0f} ms at most")

    rows = []
    for r in (e_fixed, s_fixed, k_fixed, p_fixed):
        cost = 1000 / r.per_cpu if r.per_cpu else math.nan
        base = 1000 / e_fixed.per_cpu if e_fixed.per_cpu else math.nan
        rows.append([r.name, f"{fixed:,.0f}", f"{r.best_rate:,.0f}", f"{r.rate:,.0f}",
                     f"{cost:.3f}", ratio(cost, base), conns(r), ms(r.p50), ms(r.p99)])
    table(f"Fixed arrival rate {fixed:,.0f}/s ({FIXED_SHARE:.0%} of the engine's saturated"
          f" rate; k6 constant-arrival-rate; plain Locust {users} users x"
          f" constant_throughput({PACE:g}))",
          ["generator", "asked/s", "req/s", "own count/s", "CPU s/1k req", "vs engine",
           "new conns", "p50 ms", "p99 ms"], rows)
    print("  (req/s, CPU and new conns: the window, counted by nginx; own count/s: the tool's"
          " own count over its run; p50/p99: each tool's own figure, the engine's corrected)")
    e_cost, p_cost = 1 / e_fixed.per_cpu, 1 / p_fixed.per_cpu
    verdict = "PASS" if p_cost / e_cost >= TARGET_RATIO else "MISS"
    print(f"engine / plain Locust, requests per CPU-second at the same rate: {p_cost / e_cost:.2f}"
          f" (target >= {TARGET_RATIO}): {verdict}")


# -- 2. coordinated omission -------------------------------------------------------------------
def stall_left(t: np.ndarray, stall: float, period: float) -> np.ndarray:
    """As benchmarks/stall_server.py: seconds left in the stall window at server time t."""
    phase = np.mod(t, period)
    return np.where(phase >= period - stall, period - phase, 0.0)


def describe(latencies: np.ndarray) -> dict[str, float]:
    """p50/p95/p99/p99.9 (nearest rank, as HdrHistogram), max and mean, in seconds."""
    s = np.sort(latencies)
    n = len(s)
    out = {f"p{p:g}": float(s[max(int(p * n / 100 + 0.5), 1) - 1]) for p in (50, 95, 99, 99.9)}
    out.update(max=float(s[-1]), mean=float(s.mean()))
    return out


def truth(offset: float, base: float) -> dict[str, float]:
    """The 100/s grid from a generator's start `offset` seconds after the server's."""
    grid = offset + np.arange(CO_RATE * CO_SECONDS) / CO_RATE
    return describe(base + stall_left(grid, CO_STALL, CO_PERIOD))


def engine_schedule_truth(offset: float, base: float) -> dict[str, float]:
    """The same truth over the engine's own Poisson arrivals, re-drawn from its seed (42,
    process 0, persona visitor: what loadtests.engine draws)."""
    from loadtests.arrivals import RateCurve, RateStage, merged_arrivals
    curve = RateCurve([RateStage(CO_SECONDS, {"visitor": float(CO_RATE)})])
    rng = np.random.default_rng([42, 0, *b"visitor"])
    times = np.array([t for t, _ in merged_arrivals(curve, {"visitor": rng})])
    return describe(base + stall_left(offset + times, CO_STALL, CO_PERIOD)) | {
        "count": float(len(times))}


def base_latency(folder: Path) -> float:
    """Median answer time of the stall server (no stall) to a plain keep-alive client on the
    generators' core: the base of every request in the truth."""
    server = start_stall_server(folder, 0.0, CO_PERIOD, "base")
    own = os.sched_getaffinity(0)
    try:
        if (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {GENERATOR_CORE})
        host, port = server.url.split("//")[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        samples = []
        for i in range(600):
            t = time.perf_counter()
            conn.request("GET", "/")
            conn.getresponse().read()
            if i >= 100:
                samples.append(time.perf_counter() - t)
        conn.close()
        return statistics.median(samples)
    finally:
        os.sched_setaffinity(0, own)
        server.stop()


def coordinated_omission(folder: Path) -> None:
    print(f"\n== 2. Coordinated omission: stall_server --stall {CO_STALL:g} --period"
          f" {CO_PERIOD:g} (core {SERVER_CORE}), {CO_RATE}/s for {CO_SECONDS} s, generator on"
          f" core {GENERATOR_CORE}; a fresh server per generator", flush=True)
    base = base_latency(folder)
    print(f"  base answer time (plain keep-alive client, median of 500): {base * 1000:.3f} ms",
          flush=True)
    results: dict[str, tuple[dict[str, float], float, int]] = {}  # name -> stats, offset, sent

    server = start_stall_server(folder, CO_STALL, CO_PERIOD, "engine")
    try:
        engine = run_engine(folder, server, "co", seconds=CO_SECONDS, rate=CO_RATE,
                            measure=False)
    finally:
        server.stop()
    e_offset = float(engine.extra["run"]["started_at"]) - server.started_wall
    summary = engine.extra["summary"]["overall"]
    results["engine, corrected"] = (summary["corrected"], e_offset, engine.requests)
    results["engine, service time"] = (summary["service"], e_offset, engine.requests)
    print(f"  engine done (schedule starts {e_offset:.3f} s after the server)", flush=True)

    server = start_stall_server(folder, CO_STALL, CO_PERIOD, "k6")
    try:
        k6 = run_k6(folder, server, "co", seconds=CO_SECONDS, rate=CO_RATE, pre_vus=100,
                    max_vus=1000, measure=False)
    finally:
        server.stop()
    k_offset = (k6.extra["start"] or server.started_wall) - server.started_wall
    results["k6 constant-arrival-rate"] = (k6.extra, k_offset, k6.requests)
    print(f"  k6 done (scenario starts {k_offset:.3f} s after the server)", flush=True)

    server = start_stall_server(folder, CO_STALL, CO_PERIOD, "locust")
    try:
        plain = run_plain(folder, server, "co", seconds=CO_SECONDS, users=CO_RATE,
                          user_class="Paced", pace=1.0, measure=False)
    finally:
        server.stop()
    p_offset = plain.extra["start"] - server.started_wall
    results["plain Locust, closed (100 x constant_throughput(1))"] = (plain.extra, p_offset,
                                                                      plain.requests)
    print(f"  plain Locust done (test starts {p_offset:.3f} s after the server)", flush=True)

    keys = ["p50", "p95", "p99", "p99.9", "max", "mean"]
    reference = truth(0.0, base)
    poisson = engine_schedule_truth(e_offset, base)
    rows = [["truth, 100/s grid from the server's phase 0", f"{CO_RATE * CO_SECONDS:,}",
             "0.000", *(ms(reference[k]) for k in keys)],
            ["truth, the engine's own Poisson arrivals", f"{poisson['count']:,.0f}",
             f"{e_offset:.3f}", *(ms(poisson[k]) for k in keys)]]
    for name, (stats, offset, sent) in results.items():
        rows.append([name, f"{sent:,}", f"{offset:.3f}", *(ms(stats.get(k, math.nan))
                                                           for k in keys)])
    table("Latency in ms (offset: seconds from the stall server's start to the generator's"
          " schedule)", ["", "requests", "offset s", *keys], rows)

    rows = []
    for name, (stats, offset, sent) in results.items():
        own = truth(offset, base)
        rows.append([name, ratio(sent, CO_RATE * CO_SECONDS),
                     *(ratio(stats.get(k, math.nan), own[k]) for k in keys)])
    rows.append(["engine, corrected, vs its own Poisson schedule",
                 ratio(engine.requests, poisson["count"]),
                 *(ratio(summary["corrected"][k], poisson[k]) for k in keys)])
    table("Ratio to the truth (each against the 100/s grid from its own start; 1.00 = exact)",
          ["", "sent/intended", *keys], rows)
    print("  (p50 is the base answer time: its ratio compares each generator's own client"
          " overhead with a bare keep-alive client, not an omission)")
    e_p99 = summary["corrected"]["p99"] / truth(e_offset, base)["p99"]
    print(f"engine corrected p99 / truth: {e_p99:.3f} (target within 10%):"
          f" {'PASS' if abs(e_p99 - 1) <= 0.10 else 'MISS'}")
    print(f"  engine service-time p99: {ms(summary['service']['p99'])} ms;"
          f" engine users provisioned: {engine.extra['users']:,.0f};"
          f" k6 dropped iterations: {k6.extra['dropped']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="length of each throughput window (default 20)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-co", action="store_true")
    args = parser.parse_args()
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {SERVER_CORE})  # keep this driver off the generators' core
    else:
        print("warning: one core only: servers and generators are not pinned apart")
    began = time.monotonic()
    print(f"firstbell load engine benchmarks ({os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d %H:%M')})", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="firstbell-bench-engine-"))
    folder.chmod(0o755)
    try:
        if not args.skip_throughput:
            throughput(folder, args.seconds)
        if not args.skip_co:
            coordinated_omission(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n(benchmark took {time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    main()
