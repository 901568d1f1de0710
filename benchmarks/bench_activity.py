"""Synthetic sandbox activity and the readiness scorecard on the full cps district.

    .venv/bin/python benchmarks/bench_activity.py [--quick]

1. The cps district's training-sandbox log (fake_data/activity.py, ~37,500 staff, ~400,000
   events): built as whole numpy arrays and written as CSV with Arrow, against a naive
   baseline named here: the same adoption model drawn person by person with Python's
   `random.Random` and written with `csv.writer` (what a first script would do). Target: the
   log in seconds (<= 5 s); the ratio against the baseline is reported beside it.
2. The scorecard on it (`firstbell readiness`'s work without printing): reading the log and
   matching it to the roster, then computing the cells, trend and projection with its
   bootstrap. Reported, no target beyond "seconds".

The machines are noisy: each figure is the median of interleaved repetitions.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from fake_data import activity as act
from fake_data.activity import Window, build_activity, write_activity
from fake_data.district import District, generate
from fake_data.profile import load_profile
from readiness import evaluate, from_district, load_activity, load_metrics


def naive_log(district: District, window: Window, seed: int, path: Path) -> int:
    """The baseline: the model of fake_data/activity.py, one person and one event at a time."""
    rnd = random.Random(seed)
    staff = district["staff"].to_pylist()
    adoption = act.school_adoption(district, seed)
    mid = dict(zip(adoption.school_id.tolist(), adoption.midpoint.tolist(), strict=True))
    cap = dict(zip(adoption.school_id.tolist(), adoption.ceiling.tolist(), strict=True))
    events: list[tuple[float, str, str, str]] = []
    for person in staff:
        if person["status"] != "active":
            continue
        role, school = person["role"], person["school_id"]
        if rnd.random() >= cap.get(school, 0.95) * act.ROLE_CEILING.get(role, 1.0):
            continue
        u = min(max(rnd.random(), 1e-9), 1 - 1e-9)
        first = mid.get(school, -60.0) + act.ROLE_LAG.get(role, 0.0) + 6.0 * math.log(u / (1 - u))
        if rnd.random() < act.LATE_SHARE:
            first += rnd.gauss(28, 7)
        first = max(first, window.start)
        pid = f"stf-{person['staff_id']:06d}"
        todo = [(first, act.LOGIN)]
        span = max(window.end - first, 0)
        visit = rnd.expovariate(0.15)  # return visits: a Poisson process over the span
        while visit < span:
            todo.append((first + visit, act.LOGIN))
            visit += rnd.expovariate(0.15)
        t = first
        for _ in range(act.TRAINING_MODULES):
            t += rnd.expovariate(1 / 3.0)
            if rnd.random() >= 0.99:
                break
            todo.append((t, act.TRAINING))
        if role == "teacher" and rnd.random() < 0.97:
            todo.append((first + rnd.expovariate(1 / 7.0), act.GRADEBOOK))
        if role in ("teacher", "clerk") and rnd.random() < 0.97:
            todo.append((first + rnd.expovariate(1 / 6.0), act.ATTENDANCE))
        for when, what in todo:
            day = window.go_live + dt.timedelta(days=math.floor(when))
            day += dt.timedelta(days={5: 2, 6: 1}.get(day.weekday(), 0))
            if (day - window.go_live).days < window.end:
                stamp = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                    seconds=rnd.randrange(7 * 3600, 18 * 3600))
                events.append((stamp.timestamp(), pid, stamp.isoformat(), what))
    events.sort()
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["person", "time", "action"])
        out.writerows((pid, iso, what) for _, pid, iso, what in events)
    return len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    args = parser.parse_args()
    reps = 1 if args.quick else 3
    district = generate(load_profile("cps"), 1.0, 42)
    window = Window(district.profile.calendar.cutover_date)
    ours, naive, load, score = [], [], [], []
    rows = 0
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "activity.csv"
        for _ in range(reps):  # interleaved, so both see the same machine
            start = time.perf_counter()
            rows = write_activity(build_activity(district, window, 42), log)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            naive_rows = naive_log(district, window, 42, Path(tmp) / "naive.csv")
            naive.append(time.perf_counter() - start)
            roster, metrics = from_district(district), load_metrics()
            start = time.perf_counter()
            matched = load_activity(log, roster, metrics)
            load.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = evaluate(roster, matched, metrics, window.go_live)
            score.append(time.perf_counter() - start)
    o, n = statistics.median(ours), statistics.median(naive)
    table = [
        ("cps log: build + CSV (target 5 s)", f"{o:.2f} s ({rows:,} events)",
         f"naive per-person loop {n:.2f} s ({naive_rows:,})", f"{n / o:.1f}x",
         "PASS" if o <= 5 else "FAIL"),
        ("scorecard: read + match the log", f"{statistics.median(load):.2f} s", "", "", ""),
        (f"scorecard: evaluate ({len(result.schools)} schools, bootstrap)",
         f"{statistics.median(score):.2f} s", "", "", ""),
    ]
    header = ("benchmark", "ours", "baseline", "ratio", "verdict")
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(5)]
    print(f"firstbell readiness benchmarks ({os.cpu_count()} cores, median of {reps})")
    for r in [header, tuple("-" * w for w in widths), *table]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
