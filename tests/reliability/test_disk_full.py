"""The disk fills while a run writes its directory (a 4 MiB tmpfs mounted for the test, filled
to the last byte once the run has started): the run stops with a clear error naming the file and
the cause, exit 2; no summary or verdict is written, no temporary file or torn line is left, so
nothing half-written passes for a finished run. `firstbell report` on the full disk is the same
clear error with no report files; once space is freed it reports the run as partial."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.locust_run import ROOT, environment
from support.sis_server import serve
from support.sisdb import staging_settings

from staging.app import create_app


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 4 MiB tmpfs (the tests run as root in CI and here)."""
    mount = Path("/tmp") / f"firstbell-full-{uuid.uuid4().hex[:10]}"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def fill(folder: Path) -> None:
    with (folder / "filler").open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    with (folder / "filler2").open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass


def report(run: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "firstbell.cli", "report", str(run)], cwd=ROOT,
                          env=environment(), capture_output=True, text=True, timeout=60)


def test_the_disk_fills_during_a_run(seeded_url: str, userpool_dir: Path,
                                     small_disk: Path) -> None:
    run = small_disk / "run"
    with serve(create_app(staging_settings(), seeded_url)) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "firstbell.cli", "run", "smoke", "--profile", "small",
             "--target", url, "--userpool", str(userpool_dir), "--out", str(run),
             "--exporter-port", "-1", "--speed", "120"], cwd=ROOT, env=environment(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not (run / "run.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        fill(small_disk)
        started = time.monotonic()
        output, _ = proc.communicate(timeout=120)
    stopped_after = time.monotonic() - started
    assert proc.returncode == 2, output[-3000:]
    assert "Traceback" not in output
    assert f"{run}/intervals.jsonl: cannot write it (No space left on device)" in output
    assert "Stopping the run" in output
    assert not (run / "summary.json").exists() and not (run / "verdict.json").exists()
    assert not list(run.glob("*.tmp"))
    text = (run / "intervals.jsonl").read_text() if (run / "intervals.jsonl").exists() else ""
    assert text == "" or text.endswith("\n")  # no torn line
    [json.loads(x) for x in text.splitlines()]

    full = report(run)
    assert full.returncode == 2 and "Traceback" not in full.stderr
    assert "report.html: cannot write it (No space left on device); nothing was written" \
        in full.stderr
    assert not list(run.glob("report*"))

    (small_disk / "filler").unlink()
    freed = report(run)
    assert freed.returncode == 0, freed.stderr
    assert "partial run:" in freed.stdout
    print(f"MEASURED disk full at run start: the run stopped {stopped_after:.1f} s later,"
          " exit 2, no summary/verdict, report partial once space was freed")
