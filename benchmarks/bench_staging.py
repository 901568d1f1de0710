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
from typing import Any

import psycopg
from sis_harness import add_common_args, lua_list, print_table, run_wrk, running_sis

from fake_data.district import generate
from fake_data.profile import load_profile
from fake_data.userpool import build_userpool
from staging.authz import token_hash


def script(kind: str, rows: list[dict[str, Any]]) -> str:
    """The request part of a wrk Lua script that rotates through per-identity requests."""
    if kind == "login":
        bodies = [json.dumps({"username": r["username"], "password": r["password"]})
                  for r in rows]
        return f"""
local bodies = {lua_list(bodies)}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/auth/login", {{["Content-Type"]="application/json"}}, bodies[i])
end
"""
    paths = [r["path"] for r in rows]
    tokens = [r["token"] for r in rows]
    bodies = [r.get("body", "") for r in rows]
    method = "POST" if kind == "attendance" else "GET"
    return f"""
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


def sessions(conninfo: str, user_ids: list[int]) -> list[str]:
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO sis.sessions (token_hash, user_id) VALUES (%s, %s)",
                        [(token_hash(t), u) for t, u in zip(tokens, user_ids, strict=True)])
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, seconds=15)
    parser.add_argument("--kdf-iterations", type=int, default=100_000)
    args = parser.parse_args()

    with running_sis(args.scale, args.workers, args.pool_max,
                     args.kdf_iterations) as (base, conninfo, seed_seconds, folder):
        district = generate(load_profile("cps"), args.scale, 42)
        pool = build_userpool(district)
        homerooms = {s["section_id"] for s in district["sections"].select(
            ["section_id", "class_type"]).to_pylist() if s["class_type"] == "homeroom"}
        roster: dict[int, list[int]] = {}
        for e in district["enrollments"].select(["section_id", "student_id"]).to_pylist():
            if e["section_id"] in homerooms:
                roster.setdefault(e["section_id"], []).append(e["student_id"])
        students = pool["student"].slice(0, 20_000).to_pylist()
        guardians = pool["guardian"].slice(0, 2_000).to_pylist()
        teachers = [t for t in pool["teacher"].to_pylist()
                    if t["level"] == "elementary"][:2_000]
        g_tokens = sessions(conninfo, [g["user_id"] for g in guardians])
        t_tokens = sessions(conninfo, [t["user_id"] for t in teachers])
        # Teachers whose first section is a homeroom: daily attendance is taken there.
        homeroom = [t for t in teachers if t["sections"][0] in homerooms]
        h_tokens = sessions(conninfo, [t["user_id"] for t in homeroom])
        today = "2019-04-22"
        plans: dict[str, list[dict[str, Any]]] = {
            "login": students,
            "portal home": [{"path": "/api/portal/home", "token": tok} for tok in g_tokens],
            "roster": [{"path": f"/api/gradebook/sections/{t['sections'][0]}/roster",
                        "token": tok} for t, tok in zip(teachers, t_tokens, strict=True)],
            "attendance": [{"path": f"/api/attendance/sections/{t['sections'][0]}/daily",
                            "token": tok, "body": json.dumps({"date": today, "records": [
                                {"student_id": s, "status": "present"}
                                for s in roster[t["sections"][0]]]})}
                           for t, tok in zip(homeroom, h_tokens, strict=True)],
        }
        results: dict[str, dict[str, float]] = {}
        for name, rows in plans.items():
            kind = name.split()[0]  # login, portal, roster, attendance
            results[name] = run_wrk(base, script(kind, rows), args.seconds, args.connections,
                                    folder, kind)

    print(f"staging SIS benchmarks ({os.cpu_count()} cores; server workers {args.workers}, "
          f"pool max {args.pool_max}/worker, PBKDF2 {args.kdf_iterations:,} iterations; "
          f"wrk -t2 -c{args.connections} -d{args.seconds}s on loopback, same machine)")
    print(f"seed cps scale {args.scale:g} (no history, indexes + ANALYZE): {seed_seconds:.1f} s "
          f"vs 45 s target: {45 / seed_seconds:.1f}x under "
          f"({'PASS' if seed_seconds <= 45 else 'FAIL'})")
    print_table("endpoint", 14, results)

if __name__ == "__main__":
    main()
