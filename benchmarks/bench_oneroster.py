"""OneRoster 1.2 REST benchmarks on the full cps district: a nightly sync, then rostering calls
under concurrent load.

    .venv/bin/python benchmarks/bench_oneroster.py [--seconds 10] [--connections 32]
        [--workers 2] [--pool-max 10] [--scale 1]

1. Seed the cps district (no history) into a fresh embedded PostgreSQL, as bench_staging.py
   does, register an OAuth client and start the SIS (`python -m staging.server`).
2. Nightly sync: one integration pulls every student with ``limit=5000``, following the
   ``Link: rel="next"`` headers until done, as LMS syncs do (one client, pages in sequence).
   Reports pages, rows, total time and rows/s, and checks the rows against X-Total-Count and
   the database.
3. Rostering calls under load, driven by wrk (the independent load generator bench_staging.py
   uses) with a bearer token: a class's students (``/classes/{id}/students``), a user by email
   (``/users?filter=email='…'``, all three kinds of users), a teacher's classes, and the three
   mixed. Reports wrk's req/s and p50/p95/p99.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
from bench_staging import DONE_LUA, lua_list

from staging.embedded import EmbeddedPostgres, free_port
from staging.oauth import ROSTER_CORE, create_client
from staging.seed import SeedRequest, seed_database

BASE = "/ims/oneroster/rostering/v1p2"


def script(paths: list[str], token: str) -> str:
    """A wrk Lua script that rotates through `paths` with the bearer token."""
    return f"""
local paths = {lua_list(paths)}
local headers = {{["Authorization"]="Bearer {token}", ["Accept"]="application/json"}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
""" + DONE_LUA


def run_wrk(base: str, name: str, paths: list[str], token: str, seconds: int, connections: int,
            folder: Path) -> dict[str, float]:
    path = folder / f"{name.replace(' ', '_')}.lua"
    path.write_text(script(paths, token))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
                          "--timeout", "30s", "-s", str(path), base],
                         capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    n, duration_us, errors, _, p50, p95, p99 = (float(x) for x in line.split()[1:])
    return {"rps": n / (duration_us / 1e6), "p50": p50 / 1000, "p95": p95 / 1000,
            "p99": p99 / 1000, "errors": errors, "requests": n}


def nightly_sync(base: str, token: str) -> dict[str, Any]:
    """Every student, 5,000 a page, following rel="next"."""
    url: str | None = f"{base}{BASE}/students?limit=5000"
    rows, pages, ids = 0, 0, set()
    start = time.perf_counter()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
        while url:
            r = client.get(url)
            r.raise_for_status()
            users = r.json()["users"]
            rows, pages = rows + len(users), pages + 1
            ids.update(u["sourcedId"] for u in users)
            total = int(r.headers["x-total-count"])
            url = r.links.get("next", {}).get("url")
    seconds = time.perf_counter() - start
    return {"rows": rows, "pages": pages, "seconds": seconds, "total": total,
            "distinct": len(ids)}


def plans(conninfo: str, n: int) -> dict[str, list[str]]:
    rng = random.Random(42)
    with psycopg.connect(conninfo) as conn:
        sections = [r[0] for r in conn.execute(
            "SELECT section_id FROM sis.sections ORDER BY random() LIMIT %s", [n])]
        emails = [r[0] for r in conn.execute(
            "(SELECT email FROM sis.accounts WHERE person_type = 'student' AND email IS NOT NULL"
            " ORDER BY random() LIMIT %(n)s) UNION ALL (SELECT email FROM sis.staff WHERE role ="
            " 'teacher' ORDER BY random() LIMIT %(n)s) UNION ALL (SELECT email FROM"
            " sis.guardians WHERE email IS NOT NULL ORDER BY random() LIMIT %(n)s)", {"n": n})]
        teachers = [r[0] for r in conn.execute(
            "SELECT DISTINCT teacher_id FROM sis.sections ORDER BY 1")]
    rng.shuffle(emails)
    roster = [f"{BASE}/classes/cls-{s:06d}/students" for s in sections]
    lookup = [f"{BASE}/users?filter={quote(f'email={chr(39)}{e}{chr(39)}', safe='')}"
              for e in emails[:n]]
    classes = [f"{BASE}/teachers/stf-{t:06d}/classes" for t in rng.sample(teachers,
                                                                         min(n, len(teachers)))]
    mixed = [p for trio in zip(roster, lookup, classes, strict=False) for p in trio]
    return {"class students": roster, "user by email": lookup, "teacher classes": classes,
            "mixed": mixed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-max", type=int, default=10)
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
        with psycopg.connect(conninfo) as conn:
            students = conn.execute("SELECT count(*) FROM sis.students").fetchone()[0]  # type: ignore[index]
        creds = create_client(conninfo, "bench nightly sync", [ROSTER_CORE])

        port = free_port()
        env = {**os.environ, "FIRSTBELL_DATABASE_URL": conninfo, "FIRSTBELL_PORT": str(port),
               "FIRSTBELL_WORKERS": str(args.workers), "FIRSTBELL_POOL_MAX": str(args.pool_max)}
        server = subprocess.Popen([sys.executable, "-m", "staging.server"], env=env,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(f"{base}/oauth/token", auth=creds,
                           data={"grant_type": "client_credentials"}).json()["access_token"]
        httpx.get(f"{base}{BASE}/orgs", headers={"Authorization": f"Bearer {token}"})  # warm
        sync = nightly_sync(base, token)
        if not sync["rows"] == sync["total"] == sync["distinct"] == students:
            raise SystemExit(f"nightly sync incomplete: {sync} vs {students} students")
        results = {name: run_wrk(base, name, paths, token, args.seconds, args.connections, root)
                   for name, paths in plans(conninfo, 2000).items()}
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    print(f"OneRoster 1.2 REST benchmarks ({os.cpu_count()} cores; server workers "
          f"{args.workers}, pool max {args.pool_max}/worker; same machine, loopback)")
    print(f"seed cps scale {args.scale:g} (no history): {seed_seconds:.1f} s")
    print(f"nightly sync: GET {BASE}/students?limit=5000, following Link rel=next: "
          f"{sync['rows']:,} students in {sync['pages']} pages, {sync['seconds']:.1f} s, "
          f"{sync['rows'] / sync['seconds']:,.0f} rows/s "
          f"({sync['seconds'] / sync['pages'] * 1000:.0f} ms per page)")
    print(f"rostering calls under load: wrk -t2 -c{args.connections} -d{args.seconds}s, "
          "rotating 2,000 classes / emails / teachers")
    header = f"{'call':<17}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>9}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(f"{name:<17}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
              f"{r['errors']:>9.0f}")


if __name__ == "__main__":
    main()
