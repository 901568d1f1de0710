"""Times of the simulated day: seconds after midnight written as HH:MM."""

from __future__ import annotations


def hhmm(clock: float) -> str:
    """Clock seconds as HH:MM (whole minutes passed; a day may end at 24:00)."""
    minutes = int(round(clock) // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
