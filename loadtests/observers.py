"""Who hears of a run's milestones besides the run directory: the `RunObserver` protocol (run
started, phase changed, aborted, finished) with the data each needs, and `Observers`, the
registry the hub loop tells. Observers are added from outside the engine (a Locust plugin, such
as firstbell's Grafana annotations) and are best effort: one that raises is logged as a warning
and the run goes on, as it must when a dashboard is away."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("firstbell")


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    scenario: str
    target: str        # the host under load
    started_at: float  # wall time of the plan's second 0


@dataclass(frozen=True)
class RunOutcome:
    verdict: str               # GO, NO-GO, …
    reasons: tuple[str, ...]   # why, as in verdict.json
    exit_code: int
    ended_at: float            # wall time


class RunObserver(Protocol):
    def run_started(self, run: RunInfo) -> None: ...

    def phase_changed(self, run: RunInfo, phase: str, at: float) -> None: ...

    def run_aborted(self, run: RunInfo, reasons: tuple[str, ...], at: float) -> None: ...

    def run_finished(self, run: RunInfo, outcome: RunOutcome) -> None: ...


class Observers:
    """The observers of one run, told in the order they were added."""

    def __init__(self) -> None:
        self._observers: list[RunObserver] = []

    def add(self, observer: RunObserver) -> None:
        self._observers.append(observer)

    def tell(self, what: str, call: Callable[[RunObserver], None]) -> None:
        for observer in self._observers:
            try:
                call(observer)
            except Exception as exc:  # an observer's failure is never the run's
                log.warning("run observer %s failed (%s): %s: %s", type(observer).__name__,
                            what, type(exc).__name__, exc)
