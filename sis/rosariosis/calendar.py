"""The district's calendar as RosarioSIS holds it: the school year, semesters and grading
periods as per-school marking periods (FY / SEM / QTR — RosarioSIS has no other kinds, so
summer and evening terms fall back to the year), and the school days of its attendance
calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from fake_data.district import District


@dataclass(frozen=True)
class Calendar:
    """The district's sessions as per-school RosarioSIS marking periods."""

    mps: list[tuple[str, str, str, dt.date, dt.date, int | None, int]]  # mp, title, short,...
    session_mp: dict[int, int]  # district session id -> index into mps
    session_start: dict[int, dt.date]

    @classmethod
    def of(cls, district: District) -> Calendar:
        cal = district.profile.calendar
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
        return cls(mps, session_mp, {s["session_id"]: s["start_date"] for s in sessions})


def school_days(district: District) -> list[dt.date]:
    cal = district.profile.calendar
    days = np.arange(np.datetime64(cal.school_year.start), np.datetime64(cal.school_year.end)
                     + 1)
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    keep = weekday < 5
    for h in cal.holidays:
        keep &= ~((days >= np.datetime64(h.start)) & (days <= np.datetime64(h.end)))
    return [d.item() for d in days[keep]]
