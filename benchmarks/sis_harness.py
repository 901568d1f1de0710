"""Shared setup for the benchmarks that drive the staging SIS with wrk.

bench_staging.py and bench_oneroster.py both seed the cps district into a fresh embedded
PostgreSQL cluster in a temporary folder, start the SIS (`python -m staging.server`) on a free
loopback port, run wrk (Debian's package) with a Lua script that ends in the RESULT line below,
and print a req/s and latency table. This module holds those pieces:

- `add_common_args`: the --seconds, --connections, --workers, --pool-max and --scale options.
- `running_sis`: a context manager that seeds, starts the server, waits for /readyz, and stops
  the server and the cluster (and removes the folder) on the way out.
- `run_wrk`: writes a wrk Lua script (the given request code plus `DONE_LUA`), runs wrk and
  parses its RESULT line.
- `print_table`: the req/s, p50, p95, p99, errors table.

The benchmark scripts are run as `.venv/bin/python benchmarks/<script>.py`, so Python puts this
folder first on sys.path and they import this module as `sis_harness`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx

from staging.embedded import EmbeddedPostgres, free_port
from staging.seed import SeedRequest, seed_database

DONE_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %.0f %.0f %.0f\\n", summary.requests,
    summary.duration, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.errors.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


class Sis(NamedTuple):
    """A running SIS on a freshly seeded cluster."""

    base: str  # http://127.0.0.1:<port>
    conninfo: str
    seed_seconds: float  # seed_database alone: the cluster's start and the server's are not in it
    folder: Path  # the temporary folder (cluster data, wrk scripts), removed on exit


def add_common_args(parser: argparse.ArgumentParser, seconds: int) -> None:
    """The options both benchmarks take; `seconds` is the default wrk duration."""
    parser.add_argument("--seconds", type=int, default=seconds)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-max", type=int, default=10)
    parser.add_argument("--scale", type=float, default=1.0)


def lua_list(values: list[str]) -> str:
    """A Lua table literal of strings."""
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


@contextmanager
def running_sis(scale: float, workers: int, pool_max: int,
                kdf_iterations: int | None = None) -> Iterator[Sis]:
    """Seed cps (seed 42, no history) at `scale` into a new embedded cluster, start the SIS with
    `workers` and `pool_max` (and `kdf_iterations` when given; otherwise the server's own
    setting), wait for /readyz, and stop everything on exit."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    root = Path(tempfile.mkdtemp(prefix="firstbell-bench-"))
    root.chmod(0o755)
    cluster = EmbeddedPostgres(root / "pg", socket_dir=root / "pg")
    server: subprocess.Popen[bytes] | None = None
    try:
        conninfo = cluster.start({"max_connections": "200", "shared_buffers": "1GB"})
        start = time.perf_counter()
        seed_database(conninfo, SeedRequest("cps", scale, 42))
        seed_seconds = time.perf_counter() - start

        port = free_port()
        env = {**os.environ, "FIRSTBELL_DATABASE_URL": conninfo, "FIRSTBELL_PORT": str(port),
               "FIRSTBELL_WORKERS": str(workers), "FIRSTBELL_POOL_MAX": str(pool_max)}
        if kdf_iterations is not None:
            env["FIRSTBELL_KDF_ITERATIONS"] = str(kdf_iterations)
        server = subprocess.Popen([sys.executable, "-m", "staging.server"], env=env,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield Sis(base, conninfo, seed_seconds, root)
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def run_wrk(base: str, lua_text: str, seconds: int, connections: int, folder: Path,
            name: str = "bench") -> dict[str, float]:
    """Run wrk (2 threads, `connections`, `seconds`) against `base` with `lua_text` + DONE_LUA,
    saved as `folder`/`name`.lua. Returns req/s, p50/p95/p99 in ms, errors (all kinds),
    non2xx and requests."""
    path = folder / f"{name.replace(' ', '_')}.lua"
    path.write_text(lua_text + DONE_LUA)
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
                          "--timeout", "30s", "-s", str(path), base],
                         capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    n, duration_us, errors, non2xx, p50, p95, p99 = (float(x) for x in line.split()[1:])
    return {"rps": n / (duration_us / 1e6), "p50": p50 / 1000, "p95": p95 / 1000,
            "p99": p99 / 1000, "errors": errors, "non2xx": non2xx, "requests": n}


def print_table(label: str, width: int, results: dict[str, dict[str, float]]) -> None:
    """One row per wrk run: req/s, p50, p95, p99 (ms) and errors; `label` heads the first
    column, `width` characters wide."""
    header = f"{label:<{width}}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>9}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(f"{name:<{width}}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}"
              f"{r['p99']:>9.1f}{r['errors']:>9.0f}")
