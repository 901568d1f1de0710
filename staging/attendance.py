"""attendance: teachers take daily homeroom attendance and class-period attendance; the school
office reads the day's attendance summary for its school.

Teachers read and post only their own sections (anyone else's answers 404); a district
administrator may read any section's form but only teachers post. The summary is for the
school office (clerk, principal, assistant principal, counselor) of that school and district
administrators. A post is one statement: the enrollment check and the upsert run together, so
either every record is written or none (422 naming the students who are not in the section).

"Today" is the data's today, not the wall clock: the school day after the newest seeded
attendance history (the go-live date), or the profile's cutover date when there is no history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field, model_validator

from fake_data.profile import Calendar, ProfileError, load_profile
from staging.api_docs import answers
from staging.authz import (
    ADMIN,
    Principal,
    current_principal,
    ensure_school_office,
    ensure_section_taught,
    require_role,
)
from staging.dates import Day
from staging.db import Database
from staging.errors import ApiError, not_found
from staging.gradebook import ENROLLED, INT32, MAX_BATCH, StudentId, not_enrolled

router = APIRouter(prefix="/api/attendance", tags=["attendance"],
                   responses=answers(401, 403, 404, 422))

Id = Annotated[int, Path(ge=1, le=INT32)]
Me = Annotated[Principal, Depends(current_principal)]
OnDate = Annotated[Day | None, Query(description="default: the data's today")]
STATUSES = ("present", "tardy", "absent_excused", "absent_unexcused")
Status = Literal["present", "tardy", "absent_excused", "absent_unexcused"]


class RecordIn(BaseModel):
    student_id: StudentId
    status: Status


class AttendanceIn(BaseModel):
    date: Day
    records: list[RecordIn] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _unique(self) -> AttendanceIn:
        if len({r.student_id for r in self.records}) != len(self.records):
            raise ValueError("a student appears more than once")
        return self


@dataclass(frozen=True)
class Clock:
    today: dt.date
    calendar: Calendar | None  # None: the seeded profile could not be loaded again

    def is_school_day(self, day: dt.date) -> bool:
        if day.weekday() >= 5:
            return False
        cal = self.calendar
        return cal is None or (cal.school_year.start <= day <= cal.school_year.end and not any(
            h.start <= day <= h.end for h in cal.holidays))


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def clock(request: Request) -> Clock:
    """The data's today, worked out once per app (the seeded history does not change).

    History rows are the ones nobody recorded (``recorded_at IS NULL``): posts for today must
    not move today. Per school, the (school_id, date) index finds the newest one at once."""
    cached: Clock | None = getattr(request.app.state, "attendance_clock", None)
    if cached is not None:
        return cached
    [row] = await _db(request).fetch(
        "attendance.clock",
        "SELECT (SELECT value FROM sis.firstbell_meta WHERE key = 'profile') AS profile,"
        " (SELECT max(d.date) FROM sis.schools sc, LATERAL (SELECT a.date"
        "   FROM sis.attendance_daily a WHERE a.school_id = sc.school_id"
        "   AND a.recorded_at IS NULL ORDER BY a.date DESC LIMIT 1) d) AS newest")
    calendar: Calendar | None = None
    # A profile file that has moved since seeding: fall back to weekdays without holidays.
    with contextlib.suppress(ProfileError):
        if row["profile"]:
            calendar = (await anyio.to_thread.run_sync(load_profile, row["profile"])).calendar
    newest: dt.date | None = row["newest"]
    if newest is None:
        today = calendar.cutover_date if calendar else dt.date.today()
    else:
        probe = Clock(newest, calendar)
        today = newest + dt.timedelta(days=1)
        while not probe.is_school_day(today) and today - newest < dt.timedelta(days=60):
            today += dt.timedelta(days=1)
    result = Clock(today, calendar)
    request.app.state.attendance_clock = result
    return result


async def _section(request: Request, p: Principal, section_id: int, *, write: bool,
                   homeroom: bool) -> dict[str, Any]:
    """The caller's section, of the kind the endpoint takes attendance for."""
    if write:
        require_role(p, "teacher")
    else:
        require_role(p, "teacher", ADMIN)
    section: dict[str, Any] = await ensure_section_taught(_db(request), p, section_id)
    if homeroom and section["class_type"] != "homeroom":
        raise ApiError(422, "not_homeroom", f"section {section_id} is not a homeroom")
    if not homeroom and not section["period"] > 0:
        raise ApiError(422, "not_class_period",
                       f"section {section_id} is not a scheduled class period")
    return section


async def _checked_date(request: Request, day: dt.date) -> None:
    c = await clock(request)
    if day > c.today:
        raise ApiError(422, "invalid_date", f"{day} is in the future (today is {c.today})")
    if not c.is_school_day(day):
        raise ApiError(422, "invalid_date", f"{day} is not a school day")


FORM = """
SELECT st.student_id, st.first_name, st.last_name, st.student_number, a.status, a.recorded_at
FROM sis.enrollments e
JOIN sis.students st ON st.student_id = e.student_id AND st.enrollment_status = 'active'
LEFT JOIN {table} a ON {match}
WHERE e.section_id = %(section)s
ORDER BY st.last_name, st.first_name, st.student_id
"""
DAILY_FORM = FORM.format(table="sis.attendance_daily",
                         match="a.student_id = e.student_id AND a.date = %(date)s")
PERIOD_FORM = FORM.format(
    table="sis.attendance_period",
    match="a.section_id = e.section_id AND a.date = %(date)s AND a.student_id = e.student_id")

UPSERT = f"""
WITH i AS (SELECT * FROM unnest(%(students)s::int[], %(statuses)s::text[])
           AS t(student_id, status)),
bad AS (SELECT i.student_id FROM i WHERE NOT {ENROLLED}),
up AS ({{insert}}
    RETURNING 1)
SELECT (SELECT array_agg(student_id ORDER BY student_id) FROM bad) AS not_enrolled,
       (SELECT count(*) FROM up) AS written
"""
DAILY_UPSERT = UPSERT.format(insert="""
    INSERT INTO sis.attendance_daily
        (date, student_id, school_id, status, section_id, recorded_by, recorded_at)
    SELECT %(date)s, i.student_id, st.school_id, i.status, %(section)s, %(staff)s, now()
    FROM i JOIN sis.students st ON st.student_id = i.student_id
    WHERE NOT EXISTS (SELECT 1 FROM bad)
    ON CONFLICT (student_id, date) DO UPDATE
        SET status = excluded.status, school_id = excluded.school_id,
            section_id = excluded.section_id, recorded_by = excluded.recorded_by,
            recorded_at = excluded.recorded_at""")
PERIOD_UPSERT = UPSERT.format(insert="""
    INSERT INTO sis.attendance_period
        (date, section_id, period, student_id, status, recorded_by, recorded_at)
    SELECT %(date)s, %(section)s, %(period)s, i.student_id, i.status, %(staff)s, now() FROM i
    WHERE NOT EXISTS (SELECT 1 FROM bad)
    ON CONFLICT (section_id, date, student_id) DO UPDATE
        SET status = excluded.status, period = excluded.period,
            recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at""")


async def _form(request: Request, name: str, query: str, section: dict[str, Any],
                day: dt.date | None) -> dict[str, Any]:
    day = day or (await clock(request)).today
    rows = await _db(request).fetch(name, query, {"section": section["section_id"], "date": day})
    return {"section_id": section["section_id"], "period": section["period"], "date": day,
            "students": rows}


async def _post(request: Request, p: Principal, name: str, query: str,
                section: dict[str, Any], body: AttendanceIn) -> dict[str, Any]:
    await _checked_date(request, body.date)
    [row] = await _db(request).fetch(name, query, {
        "date": body.date, "section": section["section_id"], "period": section["period"],
        "staff": p.person_id, "students": [r.student_id for r in body.records],
        "statuses": [r.status for r in body.records]})
    if row["not_enrolled"]:
        raise not_enrolled(int(section["section_id"]), row["not_enrolled"])
    return {"section_id": section["section_id"], "date": body.date, "recorded": row["written"]}


@router.get("/sections/{section_id}/daily")
async def daily_form(section_id: Id, request: Request, p: Me,
                     date: OnDate = None) -> dict[str, Any]:
    """The homeroom roster with each student's recorded daily status for the date, if any."""
    section = await _section(request, p, section_id, write=False, homeroom=True)
    return await _form(request, "attendance.daily.form", DAILY_FORM, section, date)


@router.post("/sections/{section_id}/daily")
async def post_daily(section_id: Id, body: AttendanceIn, request: Request,
                     p: Me) -> dict[str, Any]:
    """Record (or correct) the day's attendance for students of the caller's homeroom."""
    section = await _section(request, p, section_id, write=True, homeroom=True)
    return await _post(request, p, "attendance.daily.post", DAILY_UPSERT, section, body)


@router.get("/sections/{section_id}/periods")
async def period_form(section_id: Id, request: Request, p: Me,
                      date: OnDate = None) -> dict[str, Any]:
    """The class-period roster with each student's recorded status for the date, if any."""
    section = await _section(request, p, section_id, write=False, homeroom=False)
    return await _form(request, "attendance.period.form", PERIOD_FORM, section, date)


@router.post("/sections/{section_id}/periods")
async def post_period(section_id: Id, body: AttendanceIn, request: Request,
                      p: Me) -> dict[str, Any]:
    """Record (or correct) attendance for one class period of the caller's section."""
    section = await _section(request, p, section_id, write=True, homeroom=False)
    return await _post(request, p, "attendance.period.post", PERIOD_UPSERT, section, body)


COUNTS = ", ".join(f"count(*) FILTER (WHERE a.status = '{s}') AS {s}" for s in STATUSES)
SUMMARY = f"""
SELECT grouping(st.grade) = 1 AS total, st.grade, count(st.student_id) AS enrolled, {COUNTS},
       count(st.student_id) FILTER (WHERE a.status IS NULL) AS not_recorded,
       (SELECT name FROM sis.schools WHERE school_id = %(school)s) AS school_name
FROM sis.students st
LEFT JOIN sis.attendance_daily a
    ON a.student_id = st.student_id AND a.school_id = st.school_id AND a.date = %(date)s
WHERE st.school_id = %(school)s AND st.enrollment_status = 'active'
GROUP BY GROUPING SETS ((st.grade), ())
ORDER BY total, st.grade
"""


def _tally(row: dict[str, Any]) -> dict[str, Any]:
    return {"enrolled": row["enrolled"], "counts": {s: row[s] for s in STATUSES},
            "not_recorded": row["not_recorded"]}


@router.get("/schools/{school_id}/summary")
async def school_summary(school_id: Id, request: Request, p: Me,
                         date: OnDate = None) -> dict[str, Any]:
    """The office's daily attendance summary: active students, counts per status recorded on
    the date, how many are not recorded yet, and the same per grade."""
    ensure_school_office(p, school_id)
    day = date or (await clock(request)).today
    rows = await _db(request).fetch("attendance.summary", SUMMARY,
                                    {"school": school_id, "date": day})
    total = rows[-1]  # the grand-total grouping set sorts last, and exists even with no rows
    if total["school_name"] is None:
        raise not_found("school")
    return {"school_id": school_id, "school_name": total["school_name"], "date": day,
            **_tally(total),
            "grades": [{"grade": r["grade"], **_tally(r)} for r in rows if not r["total"]]}
