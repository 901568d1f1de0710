"""Durations as people write them in files and options (``300ms``, ``1.5s``, ``5m``, ``1h``)
and as Prometheus writes them (``5m``, ``90s``): the one parser and the one formatter."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


def seconds(value: Any, *, bare_numbers: bool = False) -> float:
    """``"300ms"``, ``"1.5s"``, ``"5m"``, ``"1h"`` or a number of seconds. With
    `bare_numbers`, a string holding only a number is seconds too (``"0.2"`` in an option)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative; durations are positive")
        return float(value)
    text = str(value)
    if bare_numbers and _NUMBER.match(text):
        return float(text)
    match = _DURATION.match(text.lower() if bare_numbers else text)
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. 300ms, 1.5s, 5m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2)]


def prometheus_duration(value: float) -> str:
    """Seconds as a Prometheus duration: 300 -> "5m", 90 -> "90s"."""
    s = round(value)
    for unit, size in (("h", 3600), ("m", 60)):
        if s and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def prometheus_seconds(text: str) -> int:
    """A Prometheus duration of one unit back to seconds: "5m" -> 300, "7d" -> 604800."""
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]
