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
import time
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
from sis_harness import add_common_args, lua_list, print_table, run_wrk, running_sis

from staging.oauth import ROSTER_CORE, create_client

BASE = "/ims/oneroster/rostering/v1p2"


def script(paths: list[str], token: str) -> str:
    """The request part of a wrk Lua script that rotates through `paths` with the bearer
    token."""
    return f"""
local paths = {lua_list(paths)}
local headers = {{["Authorization"]="Bearer {token}", ["Accept"]="application/json"}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
"""


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
    add_common_args(parser, seconds=10)
    args = parser.parse_args()

    with running_sis(args.scale, args.workers,
                     args.pool_max) as (base, conninfo, seed_seconds, folder):
        with psycopg.connect(conninfo) as conn:
            students = conn.execute("SELECT count(*) FROM sis.students").fetchone()[0]  # type: ignore[index]
        creds = create_client(conninfo, "bench nightly sync", [ROSTER_CORE])
        token = httpx.post(f"{base}/oauth/token", auth=creds,
                           data={"grant_type": "client_credentials"}).json()["access_token"]
        httpx.get(f"{base}{BASE}/orgs", headers={"Authorization": f"Bearer {token}"})  # warm
        sync = nightly_sync(base, token)
        if not sync["rows"] == sync["total"] == sync["distinct"] == students:
            raise SystemExit(f"nightly sync incomplete: {sync} vs {students} students")
        results = {name: run_wrk(base, script(paths, token), args.seconds, args.connections,
                                 folder, name)
                   for name, paths in plans(conninfo, 2000).items()}

    print(f"OneRoster 1.2 REST benchmarks ({os.cpu_count()} cores; server workers "
          f"{args.workers}, pool max {args.pool_max}/worker; same machine, loopback)")
    print(f"seed cps scale {args.scale:g} (no history): {seed_seconds:.1f} s")
    print(f"nightly sync: GET {BASE}/students?limit=5000, following Link rel=next: "
          f"{sync['rows']:,} students in {sync['pages']} pages, {sync['seconds']:.1f} s, "
          f"{sync['rows'] / sync['seconds']:,.0f} rows/s "
          f"({sync['seconds'] / sync['pages'] * 1000:.0f} ms per page)")
    print(f"rostering calls under load: wrk -t2 -c{args.connections} -d{args.seconds}s, "
          "rotating 2,000 classes / emails / teachers")
    print_table("call", 17, results)


if __name__ == "__main__":
    main()
