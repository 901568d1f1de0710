"""What saturates while RosarioSIS is under load: samples the machine every few seconds.

    .venv/bin/python benchmarks/sample_rosariosis.py --url http://127.0.0.1:8780 \\
        --root .firstbell/rosariosis --out samples.jsonl [--every 2] [--seconds 600]

Each sample (one JSON line): the load average; the CPU of each part, in % of one core over the
interval (php-fpm's workers, PostgreSQL's long-lived processes, nginx, the load generator —
firstbell's Python processes — and everything else on the machine, e.g. other people's test
runs) and the whole machine's; PostgreSQL's own busy time (`pg_stat_database.active_time`:
backends executing SQL, on average) and new connections per second — RosarioSIS opens one per
PHP request, and those short-lived backends die between samples, so their CPU shows only here
and in the machine's total;
php-fpm's status page (`/fpm-status?json`: active and idle workers, the listen queue, how often
all workers were busy — "max children reached"); PostgreSQL's sessions by state
(`pg_stat_activity`). Runs until --seconds or Ctrl-C; `--summary FILE` prints the mean and
maximum of each figure over the samples between two epoch seconds (`--since`, `--until`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

PARTS = ("php-fpm", "postgres", "nginx", "firstbell", "other")


def part_of(p: psutil.Process) -> str:
    name = p.info["name"] or ""
    cmd = " ".join(p.info["cmdline"] or [])
    if name.startswith("php-fpm") or "php-fpm" in cmd:
        return "php-fpm"
    if name.startswith("postgres") or "postgres" in cmd.split(" ")[0]:
        return "postgres"
    if name.startswith("nginx"):
        return "nginx"
    if "firstbell" in cmd and "pytest" not in cmd:
        return "firstbell"
    return "other"


def _cpu_times() -> dict[int, tuple[str, float]]:
    out: dict[int, tuple[str, float]] = {}
    for p in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = p.info["cpu_times"]
        if times is not None:
            out[p.pid] = (part_of(p), times.user + times.system)
    return out


def _fpm(url: str) -> dict[str, Any] | None:
    try:
        r = httpx.get(f"{url.rstrip('/')}/fpm-status?json", timeout=2)
        data = r.json()
    except (httpx.HTTPError, ValueError):
        return None
    return {k: data.get(k) for k in ("active processes", "idle processes", "listen queue",
                                      "max listen queue", "max children reached",
                                      "accepted conn")}


def _pg(root: Path) -> dict[str, float] | None:
    try:
        port = (root / "pg" / "port").read_text().strip()
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             connect_timeout=2) as conn:
            rows = conn.execute("SELECT coalesce(state, 'other'), count(*) FROM pg_stat_activity"
                                " WHERE backend_type = 'client backend' GROUP BY 1").fetchall()
            db = conn.execute("SELECT sum(sessions), sum(active_time) FROM pg_stat_database"
                              ).fetchone()
    except (OSError, psycopg.Error):
        return None
    out = {str(state): float(n) for state, n in rows}
    if db is not None:
        out["_sessions"], out["_active_ms"] = float(db[0] or 0), float(db[1] or 0)
    return out


def samples(url: str, root: Path, every: float) -> Iterator[dict[str, Any]]:
    before, t0, pg_before = _cpu_times(), time.monotonic(), _pg(root)
    psutil.cpu_percent()
    while True:
        time.sleep(every)
        now, t1, pg = _cpu_times(), time.monotonic(), _pg(root)
        cpu = dict.fromkeys(PARTS, 0.0)
        for pid, (part, total) in now.items():
            prev = before.get(pid)   # a process started during the interval: all of its time
            cpu[part] += total - (prev[1] if prev else 0.0)
        span = t1 - t0
        machine = psutil.cpu_percent() * psutil.cpu_count()   # % of one core, all cores
        busy = conns = None
        if pg and pg_before and "_active_ms" in pg and "_active_ms" in pg_before:
            busy = round((pg["_active_ms"] - pg_before["_active_ms"]) / 1000 / span, 2)
            conns = round((pg["_sessions"] - pg_before["_sessions"]) / span, 1)
        yield {"t": time.time(), "load1": os.getloadavg()[0],
               "cpu": {**{k: round(100 * v / span, 1) for k, v in cpu.items()},
                       "machine": round(machine, 1)},
               "fpm": _fpm(url), "pg": pg, "pg_busy": busy, "pg_connections_per_s": conns}
        before, t0, pg_before = now, t1, pg


def summary(path: Path, since: float, until: float) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows = [r for r in rows if since <= r["t"] <= until]
    if not rows:
        return {"samples": 0}

    def stats(values: list[float]) -> dict[str, float]:
        return {"mean": round(sum(values) / len(values), 1), "max": round(max(values), 1)}

    out: dict[str, Any] = {"samples": len(rows), "load1": stats([r["load1"] for r in rows])}
    out["cpu"] = {k: stats([r["cpu"][k] for r in rows if k in r["cpu"]])
                  for k in (*PARTS, "machine") if any(k in r["cpu"] for r in rows)}
    fpm = [r["fpm"] for r in rows if r["fpm"]]
    if fpm:
        out["fpm_active"] = stats([f["active processes"] for f in fpm])
        out["fpm_listen_queue"] = stats([f["listen queue"] for f in fpm])
        out["fpm_max_children_reached"] = fpm[-1]["max children reached"]
    pg = [r["pg"] for r in rows if r["pg"] is not None]
    if pg:
        out["pg_active"] = stats([float(p.get("active", 0)) for p in pg])
    for key in ("pg_busy", "pg_connections_per_s"):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[key] = stats(values)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8780")
    ap.add_argument("--root", type=Path, default=Path(".firstbell/rosariosis"))
    ap.add_argument("--out", type=Path, default=Path("rosariosis-samples.jsonl"))
    ap.add_argument("--every", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=3600.0)
    ap.add_argument("--summary", type=Path, help="summarize this samples file instead")
    ap.add_argument("--since", type=float, default=0.0)
    ap.add_argument("--until", type=float, default=float("inf"))
    args = ap.parse_args()
    if args.summary:
        print(json.dumps(summary(args.summary, args.since, args.until), indent=2))
        return
    end = time.monotonic() + args.seconds
    with args.out.open("a") as out:
        for sample in samples(args.url, args.root, args.every):
            out.write(json.dumps(sample) + "\n")
            out.flush()
            if time.monotonic() >= end:
                break


if __name__ == "__main__":
    main()
