"""OneRoster CSV cells: the value sets of the sheet and the parsing of one cell at a time.

Stateless helpers for `staging.oneroster_csv`'s `Reader`: the enumerations, CEDS grade levels,
dates, booleans, years, periods and list cells (``split``, ``first``), and the messages that
explain a bad value. Reporting a problem (file, row, column) is the `Reader`'s.
"""

from __future__ import annotations

import datetime as dt
import re

MAX_USERNAME = 320  # the longest username the login endpoint accepts
MAX_PERIOD = 127  # period numbers are stored in a small integer
STATUSES = ("", "active", "tobedeleted")  # a bulk file leaves status empty
ORG_TYPES = frozenset({"department", "school", "district", "local", "state", "national"})
SESSION_TYPES = frozenset({"gradingPeriod", "semester", "schoolYear", "term"})
CLASS_TYPES = frozenset({"homeroom", "scheduled"})
ENROLLMENT_ROLES = frozenset({"administrator", "proctor", "student", "teacher"})
ROLE_TYPES = frozenset({"primary", "secondary"})
GUARDIAN_ROLES = frozenset({"parent", "guardian", "relative"})
# CEDS grade levels to our codes (PK -1, K 0, 1..12); beyond 12 or ungraded: no grade.
GRADES: dict[str, int | None] = {
    "IT": -1, "PR": -1, "PK": -1, "TK": 0, "KG": 0, **{f"{g:02d}": g for g in range(1, 13)},
    "13": None, "PS": None, "UG": None, "Other": None,
}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?",
                          re.ASCII)

STATUS_WHY = "use active, tobedeleted or leave it empty (bulk files)"
DATETIME_WHY = "not an ISO 8601 date-time (2019-04-22T08:00:00Z); or leave it empty"
DATE_WHY = "not a date; write dates as YYYY-MM-DD (ISO 8601), e.g. 2019-04-22"
BOOL_WHY = "use true or false"
YEAR_WHY = "not a year; use four digits, e.g. 2019 for 2018-19"
GRADE_WHY = "not a CEDS grade level; use PK, KG, 01..12 (or IT, PR, TK, 13, PS, UG, Other)"
PERIOD_WHY = f"period numbers go up to {MAX_PERIOD}"
USERNAME_WHY = f"longer than {MAX_USERNAME} characters, too long to log in with; shorten it"


def parse_date(value: str) -> dt.date | None:
    """A YYYY-MM-DD cell as a date; None when it is not one."""
    if ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return None


def parse_bool(value: str) -> bool | None:
    """A true/false cell (any case); None when it is neither."""
    return value.lower() == "true" if value.lower() in ("true", "false") else None


def bad_grades(items: list[str]) -> list[str]:
    """The items of a grades cell that are not CEDS grade levels."""
    return [item for item in items if item not in GRADES]


def parse_year(value: str) -> int | None:
    """A four-digit schoolYear cell; None when it is not one."""
    # isascii: "²²²²" passes isdigit() but is no number int() can read.
    return int(value) if value.isascii() and value.isdigit() and len(value) == 4 else None


def period_number(value: str) -> int | None:
    """The first number in a period cell ("3", "P3"); None when it has none."""
    digits = re.search(r"[0-9]+", value)
    return int(digits.group()) if digits else None


def user_kind(role: str) -> str:
    """A user's kind by its role: student, staff, guardian ("" when the role is unknown)."""
    return ("" if not role else "student" if role == "student" else
            "guardian" if role in GUARDIAN_ROLES else "staff")


def race(flags: dict[str, bool | None]) -> str | None:
    """Our race code from the demographics race columns (`RACE_COLUMNS` code -> true/false):
    hispanic (an ethnicity) first, then the one race, multiracial for several, None for none."""
    races = [code for code, on in flags.items() if on and code != "hispanic"]
    return ("hispanic" if flags["hispanic"] else races[0] if len(races) == 1 else
            "multiracial" if races else None)


def enum_why(version: str, file: str, column: str, allowed: frozenset[str]) -> str:
    """Why a value is not one of an enumeration's, and the values to use instead."""
    return (f"not a OneRoster {version} {file}.{column} value; use one of "
            f"{', '.join(sorted(allowed))}")


def split(value: str) -> list[str]:
    """A OneRoster list cell: comma-separated values in one field."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def first(value: str) -> str | None:
    items = split(value)
    return items[0] if items else None
