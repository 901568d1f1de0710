"""RosarioSIS install + seed: how long `firstbell sis rosariosis up` takes, and what limits it.

    .venv/bin/python benchmarks/bench_rosariosis_seed.py [--profile small|cps] [--scale 1]
        [--source PATH]

For each district (small; cps too with --profile cps): a fresh folder, then `up` from the
RosarioSIS tarball (unpack, embedded PostgreSQL, role and database, php-fpm + nginx, one GET of
/InstallDatabase.php, password hashing in PHP meanwhile, COPY of every table, sequences and
ANALYZE, user pool), then `down`. Prints each step's seconds, the COPY throughput (rows/s over
the COPY steps) and the hashing cost per account (PHP crypt, SHA-512, rounds=1000, measured
alone on 2,000 accounts). Target: the small district in <= 60 s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from fake_data.district import generate
from fake_data.profile import load_profile
from sis.rosariosis import control, passwords, php
from sis.rosariosis.layout import Layout

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = next(iter(sorted((REPO.parent / "shared/targets/rosariosis")
                                  .glob("rosariosis-*.tar.gz"))), None)


def hashing_cost(n: int = 2000) -> float:
    accounts = generate(load_profile("small"), 1.0, 42)["accounts"]["password"]
    start = time.perf_counter()
    passwords.Hashing(php.probe().binary, accounts.combine_chunks().slice(0, n), 42,
                      processes=1).result()
    return (time.perf_counter() - start) / n


def bench(profile: str, scale: float, source: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="firstbell-bench-ros-"))
    work.chmod(0o755)  # the postgres and www-data users enter it
    layout = Layout(work / ".firstbell" / "rosariosis")
    try:
        start = time.perf_counter()
        result = control.up(control.UpOptions(source, profile, scale, 42, port=0),
                            layout=layout)
        total = time.perf_counter() - start
    finally:
        control.down(layout)
        shutil.rmtree(work, ignore_errors=True)
    rows = sum(result.rows.values())
    copy_seconds = sum(v for k, v in result.seconds.items() if k.strip().startswith("copy "))
    print(f"\n{profile} (scale {scale:g}): {rows:,} rows, {sum(result.identities.values()):,} "
          f"identities, served by {result.state.server}")
    for step, seconds in result.seconds.items():
        print(f"  {step:<38} {seconds:7.2f} s")
    print(f"  {'total (up, wall)':<38} {total:7.2f} s")
    print(f"  COPY: {rows:,} rows in {copy_seconds:.2f} s = {rows / copy_seconds:,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="small", choices=("small", "cps"))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    if args.source is None:
        parser.error("no RosarioSIS tarball found next to the repository; pass --source")
    print(f"password hashing (PHP crypt, SHA-512, rounds={passwords.ROUNDS}): "
          f"{hashing_cost() * 1000:.3f} ms per account, one core")
    bench("small", args.scale, args.source)
    if args.profile == "cps":
        bench("cps", args.scale, args.source)


if __name__ == "__main__":
    main()
