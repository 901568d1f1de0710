"""One capacity measurement read from a finished run directory: a search step (offered rate,
achieved rate, p95, error ratio, verdict) or a closed-loop sweep point (sessions in flight,
throughput, latency). Reads `summary.json` and `verdict.json` as the engine wrote them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firstbell.capacity.steps import Step

# Request outcomes that count as errors: the server failed (5xx) or nothing came back
# (`loadtests.stats.status_class`).
ERROR_CLASSES = ("5xx", "error")


@dataclass(frozen=True)
class SweepPoint:
    """A closed-loop level: `users` sessions kept in flight for `seconds`; sessions and
    requests completed per second; the corrected latency's mean and p95 (seconds)."""

    users: int
    seconds: float
    sessions_per_s: float
    requests_per_s: float
    mean: float
    p95: float
    error_ratio: float


def _read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the run's result ({exc})") from None
    return data


def error_ratio(summary: dict[str, Any]) -> float:
    """Requests that failed (5xx, or no answer) over all requests, from the run's counters."""
    total = failed = 0
    for key, count in summary.get("counters", {}).items():
        parts = key.split("|")
        if parts[0] != "requests":
            continue
        total += count
        failed += count if parts[-1] in ERROR_CLASSES else 0
    return failed / total if total else 0.0


def _sessions(summary: dict[str, Any], field: str) -> int:
    return sum(int(a.get(field, 0)) for a in summary.get("arrivals", {}).values())


def dropped_share(run_dir: Path) -> float:
    """Arrivals the generator dropped (no free identity in the user pool, or too late to
    start) over arrivals due: above a percent or so the step measured the generator's or the
    pool's limit, not the target's."""
    arrivals = _read(run_dir / "summary.json").get("arrivals", {}).values()
    dropped = sum(int(a.get("dropped", 0)) for a in arrivals)
    due = dropped + sum(int(a.get("started", 0)) for a in arrivals)
    return dropped / due if due else 0.0


def step(run_dir: Path, rate: float) -> Step:
    """The search step run in `run_dir` at `rate` offered sessions/s: passed when its verdict
    is GO (every objective and the arrival gate held)."""
    summary, verdict = _read(run_dir / "summary.json"), _read(run_dir / "verdict.json")
    duration = float(summary.get("duration") or 0.0)
    started = _sessions(summary, "started")
    p95 = float(summary.get("overall", {}).get("corrected", {}).get("p95") or 0.0)
    return Step(rate=rate, achieved=started / duration if duration else 0.0, p95=p95,
                error_ratio=error_ratio(summary), passed=verdict.get("verdict") == "GO")


def sweep_point(run_dir: Path, users: int) -> SweepPoint:
    """The closed-loop point run in `run_dir` with `users` sessions in flight."""
    summary = _read(run_dir / "summary.json")
    duration = float(summary.get("duration") or 0.0)
    corrected = summary.get("overall", {}).get("corrected", {})
    per_s = (lambda n: n / duration) if duration else (lambda n: 0.0)
    return SweepPoint(users=users, seconds=duration,
                      sessions_per_s=per_s(_sessions(summary, "completed")),
                      requests_per_s=per_s(int(summary.get("requests") or 0)),
                      mean=float(corrected.get("mean") or 0.0),
                      p95=float(corrected.get("p95") or 0.0),
                      error_ratio=error_ratio(summary))


def partial(run_dir: Path) -> bool:
    """Whether the run was cut short (Ctrl-C or SIGTERM reached Locust)."""
    try:
        return bool(_read(run_dir / "summary.json").get("partial"))
    except ValueError:
        return False


def reasons(run_dir: Path) -> list[str]:
    """The verdict's reasons in words (empty when it has none or there is no verdict)."""
    try:
        return [str(r) for r in _read(run_dir / "verdict.json").get("reasons", [])]
    except ValueError:
        return []
