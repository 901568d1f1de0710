"""Run the engine the way users do: Locust's own command line on loadtests/locustfile.py, in a
subprocess (Locust patches the standard library with gevent on import; the test process must
stay unpatched), and read what it wrote to the run directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.rundir import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"


@dataclass
class RunResult:
    returncode: int
    output: str
    run_dir: Path

    def json(self, name: str) -> Any:
        return json.loads((self.run_dir / name).read_text(encoding="utf-8"))

    @property
    def summary(self) -> dict[str, Any]:
        return self.json("summary.json")  # type: ignore[no-any-return]

    def lines(self, name: str) -> list[dict[str, Any]]:
        return read_jsonl(self.run_dir / name)


def command(host: str, run_dir: Path, *args: str) -> list[str]:
    """`locust -f loadtests/locustfile.py --headless --host HOST --run-dir DIR ARGS…` (the
    exporter off unless ARGS turn it on; the web UI instead of --headless with --autostart)."""
    exporter = [] if "--exporter-port" in args else ["--exporter-port", "-1"]
    headless = [] if "--autostart" in args else ["--headless"]
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *headless, "--host", host,
            "--run-dir", str(run_dir), "--loglevel", "INFO", *exporter, *args]


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **(extra or {})}


def run_locust(host: str, run_dir: Path, *args: str, timeout: float = 240.0,
               env: dict[str, str] | None = None) -> RunResult:
    proc = subprocess.run(command(host, run_dir, *args), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=environment(env))
    return RunResult(proc.returncode, proc.stdout + proc.stderr, run_dir)


def start_locust(host: str, run_dir: Path, *args: str,
                 env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The same, in the background (the caller waits with `finish`). The output goes to a file,
    not a pipe: a pipe nobody reads fills up, and Locust's next print then blocks its whole
    event loop (every request would look late)."""
    log = output_file(run_dir).open("w", encoding="utf-8")
    return subprocess.Popen(command(host, run_dir, *args), stdout=log, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT, env=environment(env))


def output_file(run_dir: Path) -> Path:
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    return run_dir.parent / "locust-output.txt"


def finish(proc: subprocess.Popen[str], run_dir: Path, timeout: float = 240.0) -> RunResult:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    output = output_file(run_dir).read_text(encoding="utf-8", errors="replace")
    return RunResult(proc.returncode, output, run_dir)
