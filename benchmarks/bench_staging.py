"""Staging SIS benchmarks: seeding the full cps district, then wrk against four hot endpoints.

    .venv/bin/python benchmarks/bench_staging.py [--seconds 15] [--connections 32]
        [--workers 2] [--pool-max 10] [--kdf-iterations 100000] [--scale 1]

1. Seed the cps district (scale 1, no history) into a fresh embedded PostgreSQL, indexes and
   ANALYZE included (target: <= 45 s).
2. Start the SIS (`python -m staging.server`) with the given workers, pool and KDF cost, then
   drive it with wrk (an independent load generator, Debian's package) on loopback:
   login (first logins of distinct students: a full PBKDF2 hash upgrade each), portal home
   (guardians), gradebook roster (teachers) and homeroom attendance submit (teachers).
   Sessions for the read and write endpoints are inserted straight into the database before
   the run, so the figures measure the endpoint, not the login in front of it.
Prints a table: requests/s, p50, p95, p99 (wrk's own latency histogram), non-2xx responses.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from fake_data.district import generate
from fake_data.profile import load_profile
from fake_data.userpool import build_userpool
from staging.authz import token_hash
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


def lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v) for v in values) + "}"


def script(kind: str, rows: list[dict[str, Any]]) -> str:
    """A wrk Lua script that rotates through per-identity requests."""
    if kind == "login":
        bodies = [json.dumps({"username": r["username"], "password": r["password"]})
                  for r in rows]
        body = f"""
local bodies = {lua_list(bodies)}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/auth/login", {{["Content-Type"]="application/json"}}, bodies[i])
end
"""
    else:
        paths = [r["path"] for r in rows]
        tokens = [r["token"] for r in rows]
        bodies = [r.get("body", "") for r in rows]
        method = "POST" if kind == "attendance" else "GET"
        body = f"""
local paths = {lua_list(paths)}
local tokens = {lua_list(tokens)}
local bodies = {lua_list(bodies)}
local i = 0
request = function()
  i = i % #paths + 1
  local headers = {{["Authorization"]="Bearer " .. tokens[i], ["Content-Type"]="application/json"}}
  if bodies[i] == "" then return wrk.format("{method}", paths[i], headers) end
  return wrk.format("{method}", paths[i], headers, bodies[i])
end
"""
    return body + DONE_LUA


def sessions(conninfo: str, user_ids: list[int]) -> list[str]:
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO sis.sessions (token_hash, user_id) VALUES (%s, %s)",
                        [(token_hash(t), u) for t, u in zip(tokens, user_ids, strict=True)])
    return tokens


def run_wrk(base: str, kind: str, rows: list[dict[str, Any]], seconds: int,
            connections: int, folder: Path) -> dict[str, float]:
    path = folder / f"{kind}.lua"
    path.write_text(script(kind, rows))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
                          "--timeout", "30s", "-s", str(path), base],
                         capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    n, duration_us, errors, non2xx, p50, p95, p99 = (float(x) for x in line.split()[1:])
    return {"rps": n / (duration_us / 1e6), "p50": p50 / 1000, "p95": p95 / 1000,
            "p99": p99 / 1000, "errors": errors, "non2xx": non2xx, "requests": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-max", type=int, default=10)
    parser.add_argument("--kdf-iterations", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    root = Path(tempfile.mkdtemp(prefix="firstbell-bench-"))
    root.chmod(0o755)
    cluster = EmbeddedPostgres(root / "pg", socket_dir=root / "pg")
    server: subprocess.Popen[bytes] | None = None
    try:
        conninfo = cluster.start({"max_connections": "200", "shared_buffers": "1GB"})
        start = time.perf_counter()
        seed_database(conninfo, SeedRequest("cps", args.scale, 42))
        seed_seconds = time.perf_counter() - start

        pool = build_userpool(generate(load_profile("cps"), args.scale, 42))
        port = free_port()
        env = {**os.environ, "FIRSTBELL_DATABASE_URL": conninfo, "FIRSTBELL_PORT": str(port),
               "FIRSTBELL_WORKERS": str(args.workers), "FIRSTBELL_POOL_MAX": str(args.pool_max),
               "FIRSTBELL_KDF_ITERATIONS": str(args.kdf_iterations)}
        server = subprocess.Popen([sys.executable, "-m", "staging.server"], env=env,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)

        students = pool["student"].slice(0, 20_000).to_pylist()
        guardians = pool["guardian"].slice(0, 2_000).to_pylist()
        teachers = [t for t in pool["teacher"].to_pylist()
                    if t["level"] == "elementary"][:2_000]
        g_tokens = sessions(conninfo, [g["user_id"] for g in guardians])
        t_tokens = sessions(conninfo, [t["user_id"] for t in teachers])
        homeroom = [t for t in teachers if len(t["sections"]) == 1]
        h_tokens = sessions(conninfo, [t["user_id"] for t in homeroom])
        today = "2019-04-22"
        plans: dict[str, list[dict[str, Any]]] = {
            "login": students,
            "portal home": [{"path": "/api/portal/home", "token": tok} for tok in g_tokens],
            "roster": [{"path": f"/api/gradebook/sections/{t['sections'][0]}/roster",
                        "token": tok} for t, tok in zip(teachers, t_tokens, strict=True)],
            "attendance": [{"path": f"/api/attendance/sections/{t['sections'][0]}/daily",
                            "token": tok, "body": json.dumps({"date": today, "records": [
                                {"student_id": s, "status": "present"} for s in t["students"]]})}
                           for t, tok in zip(homeroom, h_tokens, strict=True)],
        }
        results = {name: run_wrk(base, name.split()[0] if name != "portal home" else "portal",
                                 rows, args.seconds, args.connections, root)
                   for name, rows in plans.items()}
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(f"staging SIS benchmarks ({os.cpu_count()} cores; server workers {args.workers}, "
          f"pool max {args.pool_max}/worker, PBKDF2 {args.kdf_iterations:,} iterations; "
          f"wrk -t2 -c{args.connections} -d{args.seconds}s on loopback, same machine)")
    print(f"seed cps scale {args.scale:g} (no history, indexes + ANALYZE): {seed_seconds:.1f} s "
          f"vs 45 s target: {45 / seed_seconds:.1f}x under "
          f"({'PASS' if seed_seconds <= 45 else 'FAIL'})")
    header = f"{'endpoint':<14}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>9}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(f"{name:<14}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
              f"{r['errors']:>9.0f}")


if __name__ == "__main__":
    main()
