"""The district's calendar as RosarioSIS holds it: the school year, semesters and grading
periods as per-school marking periods (FY / SEM / QTR — RosarioSIS has no other kinds, so
summer and evening terms fall back to the year), and the school days of its attendance
calendar, all moved so that the day the seed runs is a school day inside a quarter.

Why moved: RosarioSIS lets a teacher take attendance and enter gradebook grades only in the
*current* quarter (``GetCurrentMP('QTR', DBDate())``, today by the server's clock), so a
calendar of the profile's own dates (2018-2019) leaves every teacher page read-only. The
profile's calendar is shifted by a whole number of weeks (not years): weekdays stay weekdays,
so the holidays, the Monday-to-Friday course periods and the bell days keep the profile's
shape. Of the shifts that put today on a school day of a grading period, the one taken puts
today at the point of the profile's year nearest to today's own date (2026-12-07, a Monday,
lands on the profile's Monday 2018-12-10: 417 weeks, school year 2026-2027, quarter 2). The
shift depends only on the profile and the date, so the seed is deterministic for a given date.

When today is a Saturday or Sunday no weekly shift makes it a weekday: today is then added to
the attendance calendar (and its letter to the course periods' days), so a rehearsal run on a
weekend can still take attendance. Every other day is the profile's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from fake_data.district import District
from fake_data.profile import Calendar as ProfileCalendar

DAY_LETTER = "MTWHFSU"          # RosarioSIS's weekday letters, Monday first
YEAR_DAYS = 365.2425


@dataclass(frozen=True)
class Shift:
    """Days added to every date of the profile's calendar (a whole number of weeks), and the
    weekend day made a school day (today, when the seed runs on a Saturday or Sunday)."""

    days: int
    extra_day: dt.date | None = None
    today: dt.date | None = None   # the day it was made for (not part of the key)

    def __call__(self, day: dt.date) -> dt.date:
        return day + dt.timedelta(days=self.days)

    def retitle(self, title: str) -> str:
        """A term's title with its years moved too ("Summer School 2019" -> "... 2027")."""
        years = round(self.days / YEAR_DAYS)
        return re.sub(r"\b(?:19|20)\d\d\b", lambda m: str(int(m[0]) + years), title)

    @property
    def key(self) -> str:
        """What a reused database must match (another shift re-seeds)."""
        return f"calendar+{self.days}d" + (f"+{self.extra_day}" if self.extra_day else "")

    @property
    def days_letters(self) -> str:
        """The days the course periods meet (RosarioSIS's ``MTWHF`` letters)."""
        extra = DAY_LETTER[self.extra_day.weekday()] if self.extra_day else ""
        return "MTWHF" + extra


def _holiday(cal: ProfileCalendar, day: dt.date) -> bool:
    return any(h.start <= day <= h.end for h in cal.holidays)


def shift_for(cal: ProfileCalendar, today: dt.date) -> Shift:
    """The shift that makes `today` a school day inside one of `cal`'s grading periods."""
    weekend = today.weekday() >= 5
    best: tuple[float, dt.date] | None = None
    for gp in cal.grading_periods:
        day = gp.start
        while day <= gp.end:
            if day.weekday() == today.weekday() and not _holiday(cal, day):
                years = (today - day).days / YEAR_DAYS
                cost = (abs(years - round(years)), day)
                best = cost if best is None or cost < best else best
            day += dt.timedelta(days=1)
    if best is None:  # no grading period holds this weekday: a profile error, named
        raise ValueError(f"the calendar's grading periods hold no {today:%A}")
    days = (today - best[1]).days
    return Shift(days, today if weekend else None, today)


def calendar_shift(district: District, today: dt.date | None = None) -> Shift:
    """How far the district's calendar moves for `today` (default: the machine's date)."""
    return shift_for(district.profile.calendar, today or dt.date.today())


def shifted(cal: ProfileCalendar, shift: Shift) -> ProfileCalendar:
    """The profile's calendar with every date moved by `shift`."""
    def span(s: object) -> object:
        return s.model_copy(update={"start": shift(s.start), "end": shift(s.end)})  # type: ignore[attr-defined]
    return cal.model_copy(update={
        "school_year": span(cal.school_year),
        "semesters": [span(s) for s in cal.semesters],
        "grading_periods": [span(g) for g in cal.grading_periods],
        "summer_session": span(cal.summer_session),
        "evening_school": span(cal.evening_school),
        "holidays": [span(h) for h in cal.holidays],
        "cutover_date": shift(cal.cutover_date)})


@dataclass(frozen=True)
class Calendar:
    """The district's sessions as per-school RosarioSIS marking periods, shifted."""

    mps: list[tuple[str, str, str, dt.date, dt.date, int | None, int]]  # mp, title, short,...
    session_mp: dict[int, int]  # district session id -> index into mps
    session_start: dict[int, dt.date]
    shift: Shift
    profile: ProfileCalendar  # the shifted profile calendar

    @classmethod
    def of(cls, district: District, shift: Shift) -> Calendar:
        cal = shifted(district.profile.calendar, shift)
        mps: list[tuple[str, str, str, dt.date, dt.date, int | None, int]] = [
            ("FY", "Full Year", "FY", cal.school_year.start, cal.school_year.end, None, 1)]
        for i, sem in enumerate(cal.semesters, 1):
            mps.append(("SEM", sem.name, f"S{i}", sem.start, sem.end, 0, i))
        for i, gp in enumerate(cal.grading_periods, 1):
            parent = next((k for k, m in enumerate(mps)
                           if m[0] == "SEM" and m[3] <= gp.start <= m[4]), 0)
            mps.append(("QTR", gp.name, f"Q{i}", gp.start, gp.end, parent, i))
        sessions = district["academic_sessions"].to_pylist()
        session_mp: dict[int, int] = {}
        sem_i = gp_i = 0
        for s in sessions:
            kind = s["type"]
            if kind == "semester":
                sem_i += 1
                session_mp[s["session_id"]] = sem_i
            elif kind == "gradingPeriod":
                gp_i += 1
                session_mp[s["session_id"]] = len(cal.semesters) + gp_i
            else:  # the year, and terms RosarioSIS cannot hold outside FY/SEM/QTR
                session_mp[s["session_id"]] = 0
        return cls(mps, session_mp, {s["session_id"]: shift(s["start_date"]) for s in sessions},
                   shift, cal)

    @property
    def syear(self) -> int:
        """RosarioSIS's school year: the year the (shifted) school year starts."""
        return self.profile.school_year.start.year

    def school_days(self) -> list[dt.date]:
        """Weekdays of the year that are not holidays, plus the shift's weekend day."""
        cal = self.profile
        days = np.arange(np.datetime64(cal.school_year.start),
                         np.datetime64(cal.school_year.end) + 1)
        weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
        keep = weekday < 5
        if self.shift.extra_day is not None:
            keep |= days == np.datetime64(self.shift.extra_day)
        for h in cal.holidays:
            keep &= ~((days >= np.datetime64(h.start)) & (days <= np.datetime64(h.end)))
        return [d.item() for d in days[keep]]

    def quarters(self) -> list[int]:
        """Indexes into `mps` of the QTR marking periods."""
        return [k for k, m in enumerate(self.mps) if m[0] == "QTR"]
