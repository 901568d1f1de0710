"""What a run counts, where it is counted and how the counts are merged.

Each load process records into a `Recorder` and hands over `Delta`s (everything since the last
hand-over: counters, encoded interval histograms, exposures, the process's gauges). The `Hub`
(on the master, or in the single process) adds deltas up: counters by sum and histograms by HDR
addition, so the merged totals are exactly the sum of the workers'. Gauges are not summed over
time: the hub keeps each worker's latest and adds them across workers.

Counter keys are flat strings, ``family|label|label…`` (JSON-friendly and cheap to merge):
``requests|persona|endpoint|method|status_class``, ``checks_failed|persona|endpoint``,
``sessions|persona|started|late|dropped|completed``, ``session_seconds|persona``,
``scheduled|persona``, ``logins|persona|outcome``, ``probes|probe|outcome``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loadtests.hdr import Timings

SEP = "|"


def key(*parts: str) -> str:
    return SEP.join(parts)


def status_class(status: int) -> str:
    """``2xx`` … ``5xx``; 0 (no answer: refused, reset, timed out) is ``error``."""
    return f"{status // 100}xx" if 100 <= status < 600 else "error"


@dataclass
class Delta:
    """Everything one process recorded since its last hand-over."""

    worker: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    timings: Timings = field(default_factory=Timings)
    exposures: list[dict[str, Any]] = field(default_factory=list)
    gauges: dict[str, float] = field(default_factory=dict)
    final: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"worker": self.worker, "counters": dict(self.counters),
                "timings": self.timings.encoded(), "exposures": self.exposures,
                "gauges": self.gauges, "final": self.final}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Delta:
        return cls(int(data["worker"]), Counter(data["counters"]),
                   Timings.from_encoded(data["timings"]), list(data["exposures"]),
                   dict(data["gauges"]), bool(data.get("final", False)))


class Recorder:
    """The recording side of one load process (single-threaded: greenlets on one loop)."""

    def __init__(self, worker: int = 0) -> None:
        self.worker = worker
        self.delta = Delta(worker)
        self.closed = False
        self._names: dict[tuple[str, str, str, int], tuple[str, str]] = {}
        self.totals = Delta(worker)  # this process's own cumulative view, for its own record

    def count(self, name: str, amount: float = 1) -> None:
        if not self.closed:
            self.delta.counters[name] += amount  # type: ignore[assignment]

    def time(self, persona: str, endpoint: str, method: str, status: int,
             service_s: float, corrected_s: float) -> None:
        if self.closed:
            return
        names = self._names.get((persona, endpoint, method, status))
        if names is None:  # the key strings, built once per label combination
            names = self._names[(persona, endpoint, method, status)] = (
                key("requests", persona, endpoint, method, status_class(status)),
                key(persona, endpoint))
        self.delta.counters[names[0]] += 1
        self.delta.timings.record(names[1], service_s, corrected_s)

    def exposure(self, record: dict[str, Any]) -> None:
        if not self.closed:
            self.delta.exposures.append(record)

    def take(self, gauges: dict[str, float], *, final: bool = False) -> Delta:
        """Hand over what was recorded since the last call; `final` closes the recorder (later
        recordings would arrive after the master's final merge, so they are not taken)."""
        out, self.delta = self.delta, Delta(self.worker)
        out.gauges, out.final = dict(gauges), final
        self.totals.counters.update(out.counters)
        self.totals.timings.add(out.timings)
        self.totals.exposures.extend(out.exposures)
        self.closed = self.closed or final
        return out


class Hub:
    """The merged view of a run (on the master, or in the single process)."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.timings = Timings()
        self.interval = Timings()          # since the last interval snapshot
        self.interval_counters: Counter[str] = Counter()
        self.exposures: list[dict[str, Any]] = []
        self.new_exposures: list[dict[str, Any]] = []
        self.gauges: dict[int, dict[str, float]] = {}
        self.seen: dict[int, float] = {}
        self.finals: set[int] = set()

    def absorb(self, delta: Delta) -> None:
        self.counters.update(delta.counters)
        self.interval_counters.update(delta.counters)
        self.timings.add(delta.timings)
        self.interval.add(delta.timings)
        self.exposures.extend(delta.exposures)
        self.new_exposures.extend(delta.exposures)
        self.gauges[delta.worker] = delta.gauges
        self.seen[delta.worker] = time.monotonic()
        if delta.final:
            self.finals.add(delta.worker)

    def gauge(self, name: str) -> float:
        """A gauge summed over the workers' latest reports."""
        return sum(g.get(name, 0.0) for g in self.gauges.values())

    def take_interval(self) -> tuple[Timings, Counter[str], list[dict[str, Any]]]:
        out = self.interval, self.interval_counters, self.new_exposures
        self.interval, self.interval_counters, self.new_exposures = Timings(), Counter(), []
        return out

    def family(self, name: str,
               counters: Counter[str] | None = None) -> dict[tuple[str, ...], float]:
        """The counters of one family, keyed by their labels."""
        prefix = name + SEP
        return {tuple(k[len(prefix):].split(SEP)): v
                for k, v in (counters if counters is not None else self.counters).items()
                if k.startswith(prefix)}
