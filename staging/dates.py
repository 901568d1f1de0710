"""The dates and date-times the staging SIS accepts from a client: ISO 8601 text, bounded.

Every date parameter (query or body) is a `Day`: ``YYYY-MM-DD`` between `EARLIEST` and
`LATEST`. Bounded, because the routes do date arithmetic (a default range of 30 days back, the
school days before a date) and Python's dates end at year 1 and 9999: ``to=0001-01-01`` once
raised OverflowError (a 500). Text only, because pydantic's lax mode reads a number as a Unix
time (``date=0`` was 1970-01-01). Out of range or malformed is a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
BOUNDS = f"between {EARLIEST} and {LATEST}"


def _text_day(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError(f"write the date as YYYY-MM-DD, {BOUNDS}")
    return value


def _bounded_day(value: dt.date) -> dt.date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"the date must be {BOUNDS}")
    return value


def bounded_moment(value: dt.datetime) -> dt.datetime:
    # Compared in UTC only when both ends are safe: a date-time near year 1 or 9999 with an
    # offset has no UTC value at all.
    if not EARLIEST <= value.date() <= LATEST:
        raise ValueError(f"the date-time must be {BOUNDS}")
    return value


Day = Annotated[dt.date, BeforeValidator(_text_day), AfterValidator(_bounded_day),
                Field(description=f"YYYY-MM-DD, {BOUNDS}")]


def day_of(value: Any) -> Any:
    """A date-time's date, or the value as it is (for a `Day` field that also takes
    date-times, as OneRoster 1.2's assignDate does): malformed text is left to the `Day`."""
    if isinstance(value, str) and len(value) > 10 and _ISO_DAY.match(value):
        try:
            return dt.datetime.fromisoformat(value).date().isoformat()
        except ValueError:
            return value
    return value
