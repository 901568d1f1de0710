"""Times: seconds after midnight of the simulated day written as HH:MM, and the wall time of
a command's phases for its closing line."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def hhmm(clock: float) -> str:
    """Clock seconds as HH:MM (whole minutes passed; a day may end at 24:00)."""
    minutes = int(round(clock) // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class Phases:
    """Wall time per phase of a long command (`rehearse`, `sis rosariosis up`)."""

    times: dict[str, float] = field(default_factory=dict)
    mark: float = field(default_factory=time.monotonic)

    def since(self) -> float:
        """Seconds since the last phase ended."""
        return time.monotonic() - self.mark

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.times[name] = now - self.mark
        self.mark = now

    def line(self) -> str:
        return ("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.times.items())
                + f"; total {sum(self.times.values()):.0f} s")
