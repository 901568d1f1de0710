"""Load a generated district into a throwaway PostgreSQL cluster and time where the load goes.

    .venv/bin/python benchmarks/bench_pgload.py [--profile cps] [--scale 1] [--seed 42] [--runs 1]

Each run loads the district with `fake_data.pgload.load_district` into a fresh throwaway cluster
(tests/support/postgres.py: Unix socket, fsync off; add server settings with --setting). A cursor
subclass times every statement, so the split between COPY, keys and indexes, and ANALYZE comes
from the real load, not a re-enactment of it. Rows/s counts every row of every table over the
whole load.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from fake_data.district import generate
from fake_data.pgload import load_district
from fake_data.profile import load_profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.postgres import temporary_cluster

TABLE = re.compile(r'(?:TABLE|ON|COPY|ANALYZE) "[^"]+"\."([^"]+)"')


class Timings:
    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)  # (phase, table)

    def phase(self, statement: str) -> tuple[str, str]:
        match = TABLE.search(statement)
        table = match.group(1) if match else "-"
        if statement.startswith("COPY"):
            return "COPY", table
        if statement.startswith(("ALTER TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX")):
            return "keys + indexes", table
        if statement.startswith("ANALYZE"):
            return "ANALYZE", table
        return "create + comment", table

    def total(self, phase: str) -> float:
        return sum(s for (p, _), s in self.seconds.items() if p == phase)


def timing_cursor(timings: Timings) -> type[psycopg.Cursor[Any]]:
    class TimingCursor(psycopg.Cursor[Any]):
        def _text(self, query: Any) -> str:
            return query.as_string(self) if isinstance(query, sql.Composable) else str(query)

        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return super().execute(query, *args, **kwargs)
            finally:
                timings.seconds[timings.phase(self._text(query))] += time.perf_counter() - start

        @contextmanager
        def copy(self, statement: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            start = time.perf_counter()
            with super().copy(statement, *args, **kwargs) as copy:
                yield copy
            timings.seconds[timings.phase(self._text(statement))] += time.perf_counter() - start

    return TimingCursor


def run(conninfo: str, district: Any) -> tuple[float, dict[str, int], Timings]:
    timings = Timings()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.cursor_factory = timing_cursor(timings)
        start = time.perf_counter()
        rows = load_district(conn, district)  # the transaction commits inside
        return time.perf_counter() - start, rows, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cps")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="extra server setting, e.g. --setting wal_level=minimal")
    args = parser.parse_args()

    start = time.perf_counter()
    district = generate(load_profile(args.profile), args.scale, args.seed)
    print(f"generated {args.profile} scale {args.scale:g} seed {args.seed} in "
          f"{time.perf_counter() - start:.1f} s")

    settings = dict(setting.split("=", 1) for setting in args.setting)
    results: list[tuple[float, dict[str, int], Timings]] = []
    for _ in range(args.runs):
        with temporary_cluster(settings) as cluster:
            if not results:
                with psycopg.connect(cluster) as conn:
                    version = conn.execute("SHOW server_version").fetchone()
                extra = "".join(f", {k}={v}" for k, v in settings.items())
                print(f"PostgreSQL {version[0] if version else '?'}, a fresh throwaway cluster per "
                      f"run (fsync off{extra})")
            results.append(run(cluster, district))

    elapsed, rows, timings = results[0]
    total_rows = sum(rows.values())
    print(f"\n{'table':<18}{'rows':>11}{'COPY s':>9}{'rows/s':>11}{'index s':>9}")
    for name, n in rows.items():
        copy_s = timings.seconds[("COPY", name)]
        index_s = timings.seconds[("keys + indexes", name)]
        rate = f"{n / copy_s:,.0f}" if copy_s > 0.01 else "-"
        print(f"{name:<18}{n:>11,}{copy_s:>9.2f}{rate:>11}{index_s:>9.2f}")

    print(f"\n{'phase':<18}{'seconds':>9}{'share':>8}")
    phases = ["create + comment", "COPY", "keys + indexes", "ANALYZE"]
    accounted = 0.0
    for phase in phases:
        seconds = timings.total(phase)
        accounted += seconds
        print(f"{phase:<18}{seconds:>9.2f}{seconds / elapsed:>8.0%}")
    other = elapsed - accounted
    print(f"{'commit + other':<18}{other:>9.2f}{other / elapsed:>8.0%}")
    print(f"{'total':<18}{elapsed:>9.2f}")
    print(f"\n{total_rows:,} rows in {elapsed:.2f} s: {total_rows / elapsed:,.0f} rows/s overall, "
          f"{total_rows / timings.total('COPY'):,.0f} rows/s during COPY")
    if len(results) > 1:
        print(f"\n{'run':<5}{'total s':>9}{'COPY s':>8}{'index s':>9}{'ANALYZE s':>11}"
              f"{'rows/s':>11}")
        for i, (seconds, _, t) in enumerate(results, 1):
            print(f"{i:<5}{seconds:>9.2f}{t.total('COPY'):>8.2f}{t.total('keys + indexes'):>9.2f}"
                  f"{t.total('ANALYZE'):>11.2f}{total_rows / seconds:>11,.0f}")
        median = statistics.median(r[0] for r in results)
        print(f"median total {median:.2f} s: {total_rows / median:,.0f} rows/s")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak client RSS {peak_mib:,.0f} MiB (district in memory included)")


if __name__ == "__main__":
    main()
