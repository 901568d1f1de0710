"""The pieces of the load-engine benchmark that start and measure things: child processes
pinned to a core and reaped for exact CPU, nginx and the stall server, and one run of each
generator (plain Locust, the firstbell engine, k6) with its requests, CPU and latency.
bench_engine.py imports this module as `generators` (Python puts benchmarks/ first on
sys.path when a benchmark script runs).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from staging.embedded import free_port

BIN = Path(sys.executable).parent  # .venv/bin: locust and k6 live next to the interpreter
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOCUST, K6 = str(BIN / "locust"), str(BIN / "k6")
PLAIN = str(BENCH / "plain_locustfile.py")
K6_SCRIPT = str(BENCH / "k6_arrival.js")
ENGINE = str(ROOT / "loadtests" / "locustfile.py")
SERVER_CORE, GENERATOR_CORE = 0, 1

WARMUP = 2.0          # seconds after the first request before the measured window opens
MARGIN = 4.0          # seconds every generator runs past the end of the window
SCRAPE_EVERY = 5.0    # the engine's exporter is scraped this often, as Prometheus would
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


