"""District synthesizer benchmarks: prints a table of ours vs the baseline, side by side.

    .venv/bin/python benchmarks/bench_district.py [--quick]

1. The full `cps` district at scale 1, every format, no history, through the real CLI in a child
   process: wall time and the child's peak memory (targets: <= 15 s, < 4 GiB).
2. Person generation (first and last name, birth date, email, street address, phone): ours,
   vectorized over Faker's own word lists, vs seeded per-record Faker, interleaved in one run
   (target: >= 100x).
3. History rows per second for the cps district: generation alone and with Parquet writing
   (target: >= 2 M rows/s).

The machines are noisy: each figure is the median of interleaved repetitions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from faker import Faker

from fake_data import contact, words
from fake_data.district import generate
from fake_data.history import history_batches, write_history
from fake_data.profile import load_profile
from fake_data.rng import stream
from fake_data.students import birth_dates

ROOT = Path(__file__).resolve().parent.parent


def ours_people(n: int, seed: int = 42) -> int:
    """The same five fields, built the way the generator builds students and guardians."""
    rng = stream(seed, "bench.people")
    female = rng.random(n) < 0.5
    first = words.first_names(rng, female)
    last = words.last_names().sample(rng, n)
    ids = np.arange(1, n + 1)
    born = birth_dates(rng, rng.integers(-1, 13, n).astype(np.int8), dt.date(2018, 9, 4))
    email = contact.emails(first, last, ids, "example.com")
    street = contact.street_addresses(rng, n)
    phone = contact.phones(rng, n, [312, 773, 872])
    return len(first) + len(last) + len(born) + len(email) + len(street) + len(phone) - 5 * n


def faker_people(n: int, seed: int = 42) -> int:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rows = [
        (fake.first_name(), fake.last_name(), fake.date_of_birth(minimum_age=4, maximum_age=18),
         fake.email(), fake.street_address(), fake.phone_number())
        for _ in range(n)
    ]
    return len(rows) - n


def rate(fn, n: int) -> float:
    start = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - start)


def full_district(out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of `firstbell district generate` for cps at scale 1."""
    cmd = [sys.executable, "-m", "firstbell.cli", "district", "generate", "--profile", "cps",
           "--scale", "1", "--seed", "42", "--out", str(out), "--force"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak_kib, before) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    reps = 1 if args.quick else 3
    rows: list[tuple[str, str, str, str, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        runs = [full_district(Path(tmp) / "cps") for _ in range(reps)]
    secs = statistics.median(r[0] for r in runs)
    peak = max(r[1] for r in runs)
    rows.append(("cps scale 1, all formats (CLI)", f"{secs:.1f} s", "15 s (target)",
                 f"{15 / secs:.2f}x under", "PASS" if secs <= 15 else "FAIL"))
    rows.append(("  peak memory", f"{peak:.2f} GiB", "4 GiB (target)",
                 f"{4 / peak:.2f}x under", "PASS" if peak < 4 else "FAIL"))

    profile = load_profile("cps")
    start = time.perf_counter()
    district = generate(profile, 1.0, 42)
    gen = time.perf_counter() - start
    rows.append(("  of which in-memory generation", f"{gen:.2f} s", "", "", ""))

    ours_rates, faker_rates = [], []
    for _ in range(reps):  # interleaved, so both see the same machine
        ours_rates.append(rate(ours_people, 1_000_000))
        faker_rates.append(rate(faker_people, 20_000))
    ours_r, faker_r = statistics.median(ours_rates), statistics.median(faker_rates)
    ratio = ours_r / faker_r
    rows.append(("people: ours (5 fields)", f"{ours_r:,.0f} rec/s",
                 f"Faker per-record {faker_r:,.0f} rec/s", f"{ratio:,.0f}x",
                 "PASS" if ratio >= 100 else "FAIL"))

    days = 5 if args.quick else 10
    gen_rates, write_rates = [], []
    for _ in range(reps):
        start = time.perf_counter()
        n = sum(batch.num_rows for _, batch in history_batches(district, days))
        gen_rates.append(n / (time.perf_counter() - start))
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            n = sum(write_history(district, days, Path(tmp)).values())
            write_rates.append(n / (time.perf_counter() - start))
    g, w = statistics.median(gen_rates), statistics.median(write_rates)
    rows.append((f"history cps, {days} days ({n:,} rows)", f"{g / 1e6:.1f} M rows/s",
                 "2 M rows/s (target)", f"{g / 2e6:.1f}x", "PASS" if g >= 2e6 else "FAIL"))
    rows.append(("  with Parquet writing", f"{w / 1e6:.1f} M rows/s", "2 M rows/s (target)",
                 f"{w / 2e6:.1f}x", "PASS" if w >= 2e6 else "FAIL"))

    header = ("benchmark", "ours", "baseline", "ratio", "verdict")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    print(f"firstbell district benchmarks ({os.cpu_count()} cores, median of {reps})")
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
