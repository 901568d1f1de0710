"""Academic sessions from the profile's calendar: the school year, semesters, grading periods,
and the summer and evening school terms (sessions the old separate SIMs used to hold)."""

from __future__ import annotations

import pyarrow as pa

from fake_data.profile import Calendar, Span

SCHOOL_YEAR_ID = 1


def build_sessions(calendar: Calendar) -> pa.Table:
    year = calendar.school_year
    rows: list[tuple[int, str, str, Span, int | None]] = [
        (SCHOOL_YEAR_ID, year.name, "schoolYear", year, None)
    ]
    semester_ids: list[tuple[int, Span]] = []
    for sem in calendar.semesters:
        sid = len(rows) + 1
        semester_ids.append((sid, sem))
        rows.append((sid, sem.name, "semester", sem, SCHOOL_YEAR_ID))
    for gp in calendar.grading_periods:
        parent = next((sid for sid, s in semester_ids if s.start <= gp.start <= s.end), None)
        rows.append((len(rows) + 1, gp.name, "gradingPeriod", gp, parent or SCHOOL_YEAR_ID))
    for term in (calendar.summer_session, calendar.evening_school):
        rows.append((len(rows) + 1, term.name, "term", term, SCHOOL_YEAR_ID))
    return pa.table(
        {
            "session_id": pa.array([r[0] for r in rows], pa.int32()),
            "title": pa.array([r[1] for r in rows]),
            "type": pa.array([r[2] for r in rows]).dictionary_encode(),
            "start_date": pa.array([r[3].start for r in rows], pa.date32()),
            "end_date": pa.array([r[3].end for r in rows], pa.date32()),
            "parent_id": pa.array([r[4] for r in rows], pa.int32()),
            "school_year": pa.array([year.end.year] * len(rows), pa.int16()),
        }
    )
