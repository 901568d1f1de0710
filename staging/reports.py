"""reports: district reports (attendance rate by school, grade distribution by course), roster
exports, and the download route that serves every document (these and the portal's report card).

A download is two requests (see `staging.signing`): ``POST /api/reports/<kind>`` checks that the
caller may have the report and answers a short-lived link signed for that user;
``GET /api/reports/downloads/{token}`` needs a session of the same user, a valid signature and
an unexpired link, checks the authorization again (a role or school may have changed since) and
only then runs the query. A bad, expired or someone else's link answers 403; no session, 401.

Who may export what (PowerSchool 2024: a support account bulk-exported whole tables): district
administrators every report for any school or the whole district; principals and assistant
principals their own school's attendance and grade reports; clerks their own school's roster.
A whole-district export is for district administrators only; another school answers 404.
Every download is logged in ``sis.export_log`` and counted in ``sis_exports_total`` and
``sis_export_rows_total`` (by kind and role), so an alert can fire on an unusually large export.

Reports are CSV made by PostgreSQL (``COPY … TO STDOUT``): one round trip, parameters bound as
literals (so the planner prunes the "whole district or one school" branch), free text passed
through ``sis.csv_text`` against spreadsheet formula injection. The file is held in memory
until the log row is committed, so no data leaves without its log entry.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field, model_validator

from staging import portal, signing
from staging.api_docs import answers
from staging.authz import ADMIN, Principal, current_principal, require_role
from staging.dates import Day
from staging.db import Database
from staging.errors import ApiError, forbidden, not_found

router = APIRouter(prefix="/api/reports", tags=["reports"], responses=answers(401, 403, 404, 422))

INT32 = 2_147_483_647
Caller = Annotated[Principal, Depends(current_principal)]
Token = Annotated[str, Path(max_length=signing.MAX_TOKEN_CHARS)]
MAX_RANGE_DAYS = 366
ATTENDANCE, GRADES, ROSTER = "attendance", "grade-distribution", "roster"
# Who may ask for each kind; whole-district scope is for ADMIN only, whatever the kind.
ROLES = {ATTENDANCE: (ADMIN, "principal", "assistant_principal"),
         GRADES: (ADMIN, "principal", "assistant_principal"),
         ROSTER: (ADMIN, "clerk")}
LINK_ERRORS = {"malformed": ("invalid_link", "the download link is not valid"),
               "bad_signature": ("invalid_link", "the download link is not valid"),
               "expired": ("link_expired", "the download link has expired; ask for a new one"),
               "wrong_user": ("link_other_user", "the download link was made for another user")}


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    school_id: int | None = Field(
        None, ge=1, le=INT32, description="one school; omitted: the whole district")


class AttendanceReportIn(Scope):
    from_: Day = Field(alias="from")
    to: Day

    @model_validator(mode="after")
    def _range(self) -> AttendanceReportIn:
        if self.from_ > self.to:
            raise ValueError("`from` is after `to`")
        if (self.to - self.from_).days + 1 > MAX_RANGE_DAYS:
            raise ValueError(f"ask for at most {MAX_RANGE_DAYS} days at a time")
        return self


class GradeDistributionIn(Scope):
    session_id: int | None = Field(
        None, ge=1, le=INT32,
        description="term grades of one grading period or semester; omitted: all posted")


class RosterIn(Scope):
    pass


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def authorize(p: Principal, kind: str, school_id: int | None) -> None:
    """403 for a role that cannot have this kind, or a whole-district export by anyone but a
    district administrator; 404 for another school."""
    require_role(p, *ROLES[kind])
    if p.is_admin:
        return
    if school_id is None:
        raise forbidden("a whole-district export is for district administrators only")
    if school_id != p.school_id:
        raise not_found("school")


async def _check_exists(request: Request, school_id: int | None,
                        session_id: int | None = None) -> None:
    """404 for a school (422 for a session) that does not exist, before a link is made."""
    if school_id is None and session_id is None:
        return
    row = await _db(request).fetchrow(
        "reports.check",
        "SELECT (%(school)s::int IS NULL OR EXISTS (SELECT 1 FROM sis.schools"
        "  WHERE school_id = %(school)s)) AS school_ok,"
        " (%(session)s::int IS NULL OR EXISTS (SELECT 1 FROM sis.academic_sessions"
        "  WHERE session_id = %(session)s AND type IN ('gradingPeriod', 'semester')))"
        " AS session_ok", {"school": school_id, "session": session_id})
    assert row is not None  # a SELECT without FROM yields one row
    if not row["school_ok"]:
        raise not_found("school")
    if not row["session_ok"]:
        raise ApiError(422, "invalid_session",
                       f"session {session_id} is not a grading period or semester")


@router.post("/attendance")
async def attendance_report(body: AttendanceReportIn, request: Request,
                            p: Caller) -> signing.DownloadLink:
    """A link to the attendance rate by school over `from`..`to` (at most 366 days): per school,
    days recorded present or tardy over days recorded, with the counts per status (CSV)."""
    authorize(p, ATTENDANCE, body.school_id)
    if p.is_admin:
        await _check_exists(request, body.school_id)
    return signing.issue(request, p.user_id, signing.resource(
        ATTENDANCE, school=body.school_id, start=body.from_, end=body.to))


@router.post("/grade-distribution")
async def grade_distribution_report(body: GradeDistributionIn, request: Request,
                                    p: Caller) -> signing.DownloadLink:
    """A link to the grade distribution by course (CSV): posted term grades A, B, C, D, F, I
    and the students' current percent (fully graded work, rounded as the portal shows it) in
    the 90/80/70/60 bands."""
    authorize(p, GRADES, body.school_id)
    await _check_exists(request, body.school_id if p.is_admin else None, body.session_id)
    return signing.issue(request, p.user_id, signing.resource(
        GRADES, school=body.school_id, session=body.session_id))


@router.post("/roster")
async def roster_export(body: RosterIn, request: Request,
                        p: Caller) -> signing.DownloadLink:
    """A link to the roster export (CSV) of active students: ids, names, grade, school,
    homeroom, and the emails of guardians with portal access."""
    authorize(p, ROSTER, body.school_id)
    if p.is_admin:
        await _check_exists(request, body.school_id)
    return signing.issue(request, p.user_id, signing.resource(ROSTER, school=body.school_id))


ATTENDANCE_SQL = """
SELECT sc.school_id, sis.csv_text(sc.name) AS school_name, count(a.status) AS recorded,
       count(*) FILTER (WHERE a.status = 'present') AS present,
       count(*) FILTER (WHERE a.status = 'tardy') AS tardy,
       count(*) FILTER (WHERE a.status = 'absent_excused') AS absent_excused,
       count(*) FILTER (WHERE a.status = 'absent_unexcused') AS absent_unexcused,
       round(count(*) FILTER (WHERE a.status IN ('present', 'tardy'))::numeric
             / nullif(count(a.status), 0), 4) AS attendance_rate
FROM sis.schools sc
LEFT JOIN sis.attendance_daily a
    ON a.school_id = sc.school_id AND a.date BETWEEN %(start)s AND %(end)s
WHERE %(school)s::int IS NULL OR sc.school_id = %(school)s::int
GROUP BY sc.school_id ORDER BY sc.school_id
"""

# The percent bands compare the unrounded percent with x9.95: the same as banding the percent
# rounded to one decimal, as the portal shows it (a family seeing 90.0% is counted at 90+).
BANDS = {"percent_90_100": "percent >= 89.95",
         "percent_80_89": "percent >= 79.95 AND percent < 89.95",
         "percent_70_79": "percent >= 69.95 AND percent < 79.95",
         "percent_60_69": "percent >= 59.95 AND percent < 69.95",
         "percent_below_60": "percent < 59.95"}
LETTERS = ("A", "B", "C", "D", "F", "I")
GRADES_SQL = f"""
WITH sec AS (
  SELECT section_id, course_id FROM sis.sections
  WHERE %(school)s::int IS NULL OR school_id = %(school)s::int),
tg AS (
  SELECT sec.course_id,
         {", ".join(f"count(*) FILTER (WHERE t.grade = '{g}') AS term_{g.lower()}"
                    for g in LETTERS)}
  FROM sec JOIN sis.term_grades t ON t.section_id = sec.section_id
  WHERE %(session)s::int IS NULL OR t.session_id = %(session)s::int
  GROUP BY sec.course_id),
pct AS (
  SELECT sec.course_id, 100 * sum(s.score::float8) / sum(li.points_possible::float8) AS percent
  FROM sec
  JOIN sis.enrollments e ON e.section_id = sec.section_id
  JOIN sis.students st ON st.student_id = e.student_id AND st.enrollment_status = 'active'
  JOIN sis.line_items li ON li.section_id = sec.section_id
  JOIN sis.scores s ON s.line_item_id = li.line_item_id AND s.student_id = e.student_id
  WHERE s.score_status = 'fully graded' AND s.score IS NOT NULL
  GROUP BY sec.course_id, sec.section_id, e.student_id
  HAVING sum(li.points_possible::float8) > 0),
pb AS (
  SELECT course_id, count(*) AS graded_students,
         {", ".join(f"count(*) FILTER (WHERE {cond}) AS {name}" for name, cond in BANDS.items())}
  FROM pct GROUP BY course_id)
SELECT c.course_id, sis.csv_text(c.course_code) AS course_code,
       sis.csv_text(c.title) AS course_title, n.sections,
       {", ".join(f"coalesce(tg.term_{g.lower()}, 0) AS term_{g.lower()}" for g in LETTERS)},
       coalesce(pb.graded_students, 0) AS graded_students,
       {", ".join(f"coalesce(pb.{name}, 0) AS {name}" for name in BANDS)}
FROM (SELECT course_id, count(*) AS sections FROM sec GROUP BY course_id) n
JOIN sis.courses c ON c.course_id = n.course_id
LEFT JOIN tg ON tg.course_id = n.course_id
LEFT JOIN pb ON pb.course_id = n.course_id
ORDER BY c.course_id
"""

# Homerooms as a set (not a per-student subquery), so a school's export walks its sections and
# the district's hashes once; guardian emails per student through the links' primary key.
ROSTER_SQL = """
WITH hr AS (
  SELECT DISTINCT ON (e.student_id) e.student_id, s.room,
         t.first_name || ' ' || t.last_name AS teacher
  FROM sis.sections s
  JOIN sis.enrollments e ON e.section_id = s.section_id
  LEFT JOIN sis.staff t ON t.staff_id = s.teacher_id
  WHERE s.class_type = 'homeroom' AND (%(school)s::int IS NULL OR s.school_id = %(school)s::int)
  ORDER BY e.student_id, s.section_id)
SELECT st.student_id, sis.csv_text(st.student_number) AS student_number,
       sis.csv_text(st.last_name) AS last_name, sis.csv_text(st.first_name) AS first_name,
       st.grade, st.school_id, sis.csv_text(sc.name) AS school_name,
       sis.csv_text(hr.room) AS homeroom, sis.csv_text(hr.teacher) AS homeroom_teacher,
       sis.csv_text(ge.emails) AS guardian_emails
FROM sis.students st
JOIN sis.schools sc ON sc.school_id = st.school_id
LEFT JOIN hr ON hr.student_id = st.student_id
LEFT JOIN LATERAL (
  SELECT string_agg(DISTINCT g.email, ';' ORDER BY g.email) AS emails
  FROM sis.guardian_links l JOIN sis.guardians g ON g.guardian_id = l.guardian_id
  WHERE l.student_id = st.student_id AND l.portal_access AND g.email IS NOT NULL) ge ON true
WHERE st.enrollment_status = 'active'
  AND (%(school)s::int IS NULL OR st.school_id = %(school)s::int)
ORDER BY st.school_id, st.last_name, st.first_name, st.student_id
"""

LOG_SQL = ("INSERT INTO sis.export_log (user_id, role, kind, scope, rows)"
           " VALUES (%s, %s, %s, %s, %s)")


async def _copy_csv(db: Database, conn: AsyncConnection[Any], name: str, query: str,
                    params: dict[str, Any]) -> tuple[bytes, int]:
    """The query's result as CSV with a header line, and its row count."""
    start = time.perf_counter()
    data = bytearray()
    try:
        async with conn.cursor() as cur:
            async with cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)".encode(),
                                params) as copy:
                async for chunk in copy:
                    data += chunk
            return bytes(data), max(cur.rowcount, 0)
    finally:
        db.metrics.query_duration.labels(name).observe(time.perf_counter() - start)


def _count(request: Request, p: Principal, kind: str, rows: int) -> None:
    metrics = request.app.state.metrics
    metrics.exports.labels(kind, p.role).inc()
    metrics.export_rows.labels(kind, p.role).inc(rows)


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


async def _csv_export(request: Request, p: Principal, kind: str,
                      params: dict[str, str]) -> Response:
    try:
        school = int(params["school"]) if "school" in params else None
        session = int(params["session"]) if "session" in params else None
        start = dt.date.fromisoformat(params["start"]) if kind == ATTENDANCE else None
        end = dt.date.fromisoformat(params["end"]) if kind == ATTENDANCE else None
    except (KeyError, ValueError) as exc:  # signed by us, so only if the key leaked
        raise ApiError(403, "invalid_link", "the download link is not valid") from exc
    authorize(p, kind, school)
    query = {ATTENDANCE: ATTENDANCE_SQL, GRADES: GRADES_SQL, ROSTER: ROSTER_SQL}[kind]
    scope = "district" if school is None else f"school:{school}"
    name = "district" if school is None else f"school-{school}"
    if kind == ATTENDANCE:
        name += f"-{start}-{end}"
    elif session is not None:
        name += f"-session-{session}"
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        data, rows = await _copy_csv(db, conn, f"reports.{kind}", query, {
            "school": school, "session": session, "start": start, "end": end})
        await db.run(conn, "reports.export_log", LOG_SQL, [p.user_id, p.role, kind, scope, rows])
    _count(request, p, kind, rows)
    return _attachment(data, "text/csv; charset=utf-8", f"{kind}-{name}.csv")


async def _report_card(request: Request, p: Principal, params: dict[str, str]) -> Response:
    student = params.get("student", "")
    if not (student.isascii() and student.isdigit()) or not 1 <= int(student) <= INT32:
        raise ApiError(403, "invalid_link", "the download link is not valid")
    pdf = await portal.report_card_document(request, p, int(student))
    await _db(request).fetch("reports.export_log", LOG_SQL,
                             [p.user_id, p.role, portal.REPORT_CARD, f"student:{student}", 1])
    _count(request, p, portal.REPORT_CARD, 1)
    return _attachment(pdf, "application/pdf", f"report-card-{student}.pdf")


@router.get("/downloads/{token}", response_class=Response, responses={200: {
    "description": "The document: a CSV report or export, or a report-card PDF",
    "content": {"text/csv": {}, "application/pdf": {}}}})
async def download(token: Token, request: Request, p: Caller) -> Response:
    """Serve a signed link made for the caller, while it is valid: 403 for a tampered, expired
    or someone else's link; the authorization is checked again before any data is read."""
    try:
        resource = signing.verify(signing.app_key(request.app), token, p.user_id)
    except signing.LinkError as exc:
        code, message = LINK_ERRORS[exc.reason]
        raise ApiError(403, code, message) from exc
    kind, params = signing.parse_resource(resource)
    if kind == portal.REPORT_CARD:
        return await _report_card(request, p, params)
    if kind in ROLES:
        return await _csv_export(request, p, kind, params)
    raise ApiError(403, "invalid_link", "the download link is not valid")
