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


def run_locust(host: str, run_dir: Path, *args: str, timeout: float = 240.0,
               env: dict[str, str] | None = None) -> RunResult:
    """`locust -f loadtests/locustfile.py --headless --host HOST --run-dir DIR ARGS…`."""
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
               "--host", host, "--run-dir", str(run_dir), "--exporter-port", "-1",
               "--loglevel", "INFO", *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    return RunResult(proc.returncode, proc.stdout + proc.stderr, run_dir)
