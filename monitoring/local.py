"""A local Prometheus for rehearsals without Docker: the generated config and rules written
into a folder with this machine's targets, Debian's `prometheus` binary started on loopback,
waited for until ready, and stopped again. `firstbell prometheus up|down` and the tests use it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from monitoring.config import MonitoringConfig
from monitoring.generate import ALERTS, PROMETHEUS, RECORDING, render, write
from thresholds import Thresholds

READY_SECONDS = 30.0


class PrometheusMissing(RuntimeError):
    """No `prometheus` binary on PATH."""


@dataclass(frozen=True)
class LocalPrometheus:
    url: str
    pid: int
    folder: str

    def query(self, expr: str, at: float | None = None) -> list[dict[str, object]]:
        params: dict[str, str | float] = {"query": expr}
        if at is not None:
            params["time"] = at
        body = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10).json()
        if body.get("status") != "success":
            raise ValueError(f"{expr}: {body.get('error')}")
        result: list[dict[str, object]] = body["data"]["result"]
        return result


SATURATION = {
    "sis_requests_per_second": "job:sis_http_requests:rate1m",
    "sis_in_flight": "sum(sis_http_requests_in_flight)",
    "db_pool_in_use": "sum(sis_db_pool_in_use)",
    "db_pool_waiting": "sum(sis_db_pool_waiting)",
    "sis_cpu": 'sum(rate(process_cpu_seconds_total{job="sis"}[1m]))',
}


def saturation(prom: LocalPrometheus, seconds: float, at: float | None = None
               ) -> dict[str, float | None]:
    """The staging SIS's peaks over the last `seconds` (a run): requests/s, requests in
    flight, database pool in use and waiting, CPU (cores); None where nothing was scraped."""
    window = f"{max(int(seconds), 10)}s"
    out: dict[str, float | None] = {}
    for name, expr in SATURATION.items():
        result = prom.query(f"max_over_time(({expr})[{window}:5s])", at)
        out[name] = float(result[0]["value"][1]) if result else None  # type: ignore[index]
    pool_max = prom.query(f"max_over_time(sum(sis_db_pool_max)[{window}:5s])", at)
    out["db_pool_max"] = float(pool_max[0]["value"][1]) if pool_max else None  # type: ignore[index]
    return out


def binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise PrometheusMissing("no `prometheus` on PATH: install Debian's package"
                                " (apt-get install prometheus), or run without monitoring")
    return found


def start(t: Thresholds, cfg: MonitoringConfig, folder: Path, port: int,
          log: Path | None = None) -> LocalPrometheus:
    """Write the config for `cfg`'s targets under `folder` and start Prometheus on
    127.0.0.1:`port`, returning once it is ready."""
    exe = binary()
    files = render(t, cfg)
    write(folder, {rel: files[rel] for rel in (PROMETHEUS, RECORDING, ALERTS)})
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    out = (log or folder / "prometheus.log").open("ab")
    proc = subprocess.Popen(
        [exe, f"--config.file={folder / PROMETHEUS}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
         "--storage.tsdb.retention.time=7d"],
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {proc.returncode}; see"
                               f" {log or folder / 'prometheus.log'}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return LocalPrometheus(url, proc.pid, str(folder))
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"prometheus was not ready on {url} within {READY_SECONDS:g} s")


def stop(prom: LocalPrometheus, timeout: float = 10.0) -> None:
    try:
        os.kill(prom.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(prom.pid, 0)
        except ProcessLookupError:
            return
        try:  # reap it when it is our child
            if os.waitpid(prom.pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            pass
        time.sleep(0.1)
    os.kill(prom.pid, signal.SIGKILL)
