"""portal: what guardians and students see: home with alerts, schedule, grades, assignments,
attendance, contact update, absence notices and the report-card document (a signed link here;
the PDF itself is served by the reports module's download route).

Only the guardian and student roles use this family (others: 403). A student sees only
themselves; a guardian only the children linked to them with portal access (a no-access
custody link, another family's child or a missing id all answer the same 404). The
ownership check is `authz.ensure_student_visible`, shared with the other modules.

"Today" is the data's today shared with the attendance module (`attendance.clock`): the
school day after the newest seeded daily attendance (the go-live), or the profile's cutover
date without history. It is worked out from the data once per app, so it stays put while
teachers record new days, and the portal and the teachers agree on what today is. Alert
windows count school days of the profile's calendar, so a break does not empty them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from staging import signing
from staging.api_docs import answers
from staging.attendance import Clock, clock
from staging.authz import Principal, current_principal, ensure_student_visible, require_role
from staging.dates import Day
from staging.db import Database
from staging.errors import ApiError

router = APIRouter(prefix="/api/portal", tags=["portal"], responses=answers(401, 403, 404, 422))
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
Caller = Annotated[Principal, Depends(current_principal)]
PORTAL_ROLES = ("guardian", "student")
ABSENCE_SCHOOL_DAYS, MISSING_WORK_SCHOOL_DAYS = 14, 7
DEFAULT_ATTENDANCE_DAYS, MAX_ATTENDANCE_DAYS = 30, 366
NOTICE_WINDOW_DAYS = 30
REPORT_CARD = "report-card"  # the signed resource kind; served by the reports download route


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _portal_student(request: Request, p: Principal, student_id: int) -> int:
    """403 for roles outside the portal, 404 unless the caller may see the student."""
    require_role(p, *PORTAL_ROLES)
    return await ensure_student_visible(_db(request), p, student_id)


def school_days_back(c: Clock, today: dt.date, count: int) -> dt.date:
    """The `count`-th school day before `today` (weekdays when the calendar is unknown)."""
    day, found = today, 0
    for _ in range(count * 7 + 120):  # bounded: never loops past the year's start
        day -= dt.timedelta(days=1)
        found += c.is_school_day(day)
        if found == count:
            break
    return day


HOME_SQL = """
WITH kids AS (
  SELECT st.student_id FROM sis.students st
  WHERE %(role)s = 'student' AND st.student_id = %(person)s
  UNION
  SELECT l.student_id FROM sis.guardian_links l
  WHERE %(role)s = 'guardian' AND l.guardian_id = %(person)s AND l.portal_access)
SELECT st.student_id, st.first_name, st.last_name, st.grade, st.school_id,
       sc.name AS school_name, st.enrollment_status,
       coalesce(ab.items, '[]') AS absences, coalesce(ms.items, '[]') AS missing
FROM kids
JOIN sis.students st ON st.student_id = kids.student_id
JOIN sis.schools sc ON sc.school_id = st.school_id
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_object('date', a.date, 'status', a.status) ORDER BY a.date) AS items
  FROM sis.attendance_daily a
  WHERE a.student_id = st.student_id AND a.date BETWEEN %(absent_since)s AND %(today)s
    AND a.status IN ('absent_excused', 'absent_unexcused')) ab ON true
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_object(
           'line_item_id', li.line_item_id, 'section_id', li.section_id,
           'course_title', c.title, 'category', li.category, 'title', li.title,
           'due_date', li.due_date, 'points_possible', li.points_possible)
         ORDER BY li.due_date, li.line_item_id) AS items
  FROM sis.scores s
  JOIN sis.line_items li ON li.line_item_id = s.line_item_id
  JOIN sis.sections se ON se.section_id = li.section_id
  JOIN sis.courses c ON c.course_id = se.course_id
  WHERE s.student_id = st.student_id AND s.score_status = 'not submitted'
    AND li.due_date BETWEEN %(due_since)s AND %(today)s) ms ON true
ORDER BY st.grade DESC, st.student_id
"""


@router.get("/home")
async def home(request: Request, p: Caller) -> dict[str, Any]:
    """The caller's children (guardian) or self (student), each with alerts: absences in the
    last 14 school days (and today), and work due in the last 7 school days (and up to today)
    marked not submitted."""
    require_role(p, *PORTAL_ROLES)
    c = await clock(request)
    rows = await _db(request).fetch("portal.home", HOME_SQL, {
        "role": p.role, "person": p.person_id, "today": c.today,
        "absent_since": school_days_back(c, c.today, ABSENCE_SCHOOL_DAYS),
        "due_since": school_days_back(c, c.today, MISSING_WORK_SCHOOL_DAYS)})
    students = [{
        "student_id": r["student_id"], "first_name": r["first_name"],
        "last_name": r["last_name"], "grade": r["grade"], "school_id": r["school_id"],
        "school_name": r["school_name"], "enrollment_status": r["enrollment_status"],
        "alerts": {"absences": r["absences"], "missing_assignments": r["missing"]},
    } for r in rows]
    return {"role": p.role, "today": c.today, "students": students}


@router.get("/students/{student_id}/schedule")
async def schedule(student_id: Id, request: Request, p: Caller) -> dict[str, Any]:
    await _portal_student(request, p, student_id)
    rows = await _db(request).fetch(
        "portal.schedule",
        "SELECT s.section_id, s.period, s.class_type, c.title AS course_title, s.subject,"
        " s.room, s.teacher_id, t.first_name AS teacher_first_name,"
        " t.last_name AS teacher_last_name"
        " FROM sis.enrollments e JOIN sis.sections s ON s.section_id = e.section_id"
        " JOIN sis.courses c ON c.course_id = s.course_id"
        " LEFT JOIN sis.staff t ON t.staff_id = s.teacher_id"
        " WHERE e.student_id = %s ORDER BY s.period, s.section_id", [student_id])
    return {"student_id": student_id, "sections": rows}


# One row per enrolled section (or one row of nulls when there is none), with the student and
# school on every row: the grades page and the report card both read it in one round trip.
GRADES_SQL = """
WITH me AS (
  SELECT st.student_id, st.first_name, st.last_name, st.grade, sc.name AS school_name
  FROM sis.students st JOIN sis.schools sc ON sc.school_id = st.school_id
  WHERE st.student_id = %(student)s),
g AS (
  SELECT li.section_id, sum(s.score::float8) AS earned,
         sum(li.points_possible::float8) AS possible, count(*) AS graded
  FROM sis.scores s JOIN sis.line_items li ON li.line_item_id = s.line_item_id
  WHERE s.student_id = %(student)s AND s.score_status = 'fully graded'
    AND s.score IS NOT NULL
  GROUP BY li.section_id)
SELECT me.*, s.section_id, s.period, c.title AS course_title, s.subject,
       coalesce(g.earned, 0) AS earned, coalesce(g.possible, 0) AS possible,
       coalesce(g.graded, 0) AS graded, tg.grade AS term_grade, tg.session_id,
       tg.session_title, tg.posted_at
FROM me
LEFT JOIN sis.enrollments e ON e.student_id = me.student_id
LEFT JOIN sis.sections s ON s.section_id = e.section_id
LEFT JOIN sis.courses c ON c.course_id = s.course_id
LEFT JOIN g ON g.section_id = s.section_id
LEFT JOIN LATERAL (
  SELECT t.grade, t.session_id, a.title AS session_title, t.posted_at
  FROM sis.term_grades t JOIN sis.academic_sessions a ON a.session_id = t.session_id
  WHERE t.student_id = me.student_id AND t.section_id = s.section_id
  ORDER BY t.posted_at DESC, a.end_date DESC LIMIT 1) tg ON true
ORDER BY s.period, s.section_id
"""


def letter_grade(percent: float | None) -> str | None:
    if percent is None:
        return None
    for cut, letter in ((90, "A"), (80, "B"), (70, "C"), (60, "D")):
        if percent >= cut:
            return letter
    return "F"


async def _grades(request: Request, student_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = await _db(request).fetch("portal.grades", GRADES_SQL, {"student": student_id})
    if not rows:  # visible a moment ago, gone now (a registrar's change in between)
        raise ApiError(404, "not_found", "student not found")
    me = {k: rows[0][k] for k in ("student_id", "first_name", "last_name", "grade",
                                   "school_name")}
    classes = []
    for r in rows:
        if r["section_id"] is None:
            continue
        # The letter follows the percent the family sees, rounded as shown.
        percent = round(100 * r["earned"] / r["possible"], 1) if r["possible"] else None
        term = None if r["term_grade"] is None else {
            "grade": r["term_grade"], "session_id": r["session_id"],
            "session_title": r["session_title"], "posted_at": r["posted_at"]}
        classes.append({
            "section_id": r["section_id"], "period": r["period"],
            "course_title": r["course_title"], "subject": r["subject"],
            "points_earned": r["earned"], "points_possible": r["possible"],
            "graded_items": r["graded"], "percent": percent, "letter": letter_grade(percent),
            "term_grade": term})
    return me, classes


@router.get("/students/{student_id}/grades")
async def grades(student_id: Id, request: Request, p: Caller) -> dict[str, Any]:
    """Per class: points earned over points possible on fully graded work, the percent and
    letter, and the latest posted term grade."""
    await _portal_student(request, p, student_id)
    _, classes = await _grades(request, student_id)
    return {"student_id": student_id, "classes": classes}


@router.get("/students/{student_id}/sections/{section_id}/assignments")
async def assignments(student_id: Id, section_id: Id, request: Request,
                      p: Caller) -> dict[str, Any]:
    """The section's line items with this student's score; 404 unless enrolled there."""
    await _portal_student(request, p, student_id)
    rows = await _db(request).fetch(
        "portal.assignments",
        "SELECT li.line_item_id, li.category, li.title, li.assigned_date, li.due_date,"
        " li.points_possible, s.score, s.score_status"
        " FROM sis.enrollments e"
        " LEFT JOIN sis.line_items li ON li.section_id = e.section_id"
        " LEFT JOIN sis.scores s ON s.line_item_id = li.line_item_id"
        "  AND s.student_id = e.student_id"
        " WHERE e.section_id = %s AND e.student_id = %s"
        " ORDER BY li.due_date, li.line_item_id", [section_id, student_id])
    if not rows:
        raise ApiError(404, "not_found", "section not found")
    items = [r for r in rows if r["line_item_id"] is not None]
    return {"student_id": student_id, "section_id": section_id, "assignments": items}


ATTENDANCE_SQL = """
SELECT 'daily' AS kind, a.date, a.status, NULL::integer AS section_id,
       NULL::smallint AS period, NULL::text AS course_title
FROM sis.attendance_daily a
WHERE a.student_id = %(student)s AND a.date BETWEEN %(lo)s AND %(hi)s
UNION ALL
SELECT 'period', ap.date, ap.status, ap.section_id, ap.period, c.title
FROM sis.attendance_period ap
JOIN sis.sections se ON se.section_id = ap.section_id
JOIN sis.courses c ON c.course_id = se.course_id
WHERE ap.student_id = %(student)s AND ap.date BETWEEN %(lo)s AND %(hi)s
  AND EXISTS (SELECT 1 FROM sis.schools sc WHERE sc.school_id = %(school)s
              AND sc.level = 'high')
ORDER BY date, period NULLS FIRST
"""


@router.get("/students/{student_id}/attendance")
async def attendance(
    student_id: Id, request: Request, p: Caller,
    from_: Annotated[Day | None, Query(alias="from")] = None,
    to: Annotated[Day | None, Query()] = None,
) -> dict[str, Any]:
    """Daily attendance (and class-period attendance at a high school) between `from` and
    `to`, inclusive; by default the 30 days up to the data's today."""
    require_role(p, *PORTAL_ROLES)
    hi = to or (await clock(request)).today
    lo = from_ or hi - dt.timedelta(days=DEFAULT_ATTENDANCE_DAYS)
    if lo > hi:
        raise ApiError(422, "invalid_request", f"`from` ({lo}) is after `to` ({hi})")
    if (hi - lo).days > MAX_ATTENDANCE_DAYS:
        raise ApiError(422, "invalid_request",
                       f"ask for at most {MAX_ATTENDANCE_DAYS} days at a time")
    school_id = await _portal_student(request, p, student_id)
    rows = await _db(request).fetch("portal.attendance", ATTENDANCE_SQL, {
        "lo": lo, "hi": hi, "student": student_id, "school": school_id})
    daily = [{"date": r["date"], "status": r["status"]} for r in rows if r["kind"] == "daily"]
    period = [{k: r[k] for k in ("date", "period", "section_id", "course_title", "status")}
              for r in rows if r["kind"] == "period"]
    return {"student_id": student_id, "from": lo, "to": hi, "daily": daily, "periods": period}


class ContactUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Synthetic data: only the 555-0100..0199 numbers reserved for fiction are accepted.
    phone: str | None = Field(None, pattern=r"^\(\d{3}\) 555-01\d{2}$")
    street: str | None = Field(None, min_length=1, max_length=120, pattern=r"^[^\x00-\x1f]+$")
    postcode: str | None = Field(None, pattern=r"^\d{5}$")

    @model_validator(mode="after")
    def _something(self) -> ContactUpdate:
        if self.phone is None and self.street is None and self.postcode is None:
            raise ValueError("give at least one of phone, street, postcode")
        return self


@router.put("/contact")
async def update_contact(body: ContactUpdate, request: Request, p: Caller) -> dict[str, Any]:
    """A guardian updates their phone and their household's street and postcode (shared with
    the household's other guardians, as the address is)."""
    require_role(p, "guardian")
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        me = await db.run(
            conn, "portal.contact.guardian",
            "UPDATE sis.guardians SET phone = coalesce(%s, phone) WHERE guardian_id = %s"
            " RETURNING guardian_id, household_id, first_name, last_name, email, phone",
            [body.phone, p.person_id])
        if not me:
            raise ApiError(404, "not_found", "guardian not found")
        home = await db.run(
            conn, "portal.contact.household",
            "UPDATE sis.households SET street = coalesce(%s, street),"
            " postcode = coalesce(%s, postcode) WHERE household_id = %s"
            " RETURNING street, city, state, postcode, phone",
            [body.street, body.postcode, me[0]["household_id"]])
    return {**me[0], "household": home[0] if home else None}


class AbsenceNotice(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: Day
    reason: str = Field(min_length=1, max_length=500)


@router.post("/students/{student_id}/absence-notices", status_code=201)
async def absence_notice(student_id: Id, body: AbsenceNotice, request: Request,
                         p: Caller) -> dict[str, Any]:
    """A guardian tells the school their child is or was absent; within 30 days of today."""
    require_role(p, "guardian")
    await ensure_student_visible(_db(request), p, student_id)
    today = (await clock(request)).today
    if abs((body.date - today).days) > NOTICE_WINDOW_DAYS:
        raise ApiError(422, "invalid_request",
                       f"the date must be within {NOTICE_WINDOW_DAYS} days of {today}")
    # submitted_by is the guardian's id, as recorded_by/posted_by hold the staff member's.
    row = await _db(request).fetchrow(
        "portal.absence_notice",
        "INSERT INTO sis.absence_notices (student_id, submitted_by, date, reason)"
        " VALUES (%s, %s, %s, %s) RETURNING id",
        [student_id, p.person_id, body.date, body.reason])
    assert row is not None  # INSERT … RETURNING yields the new row
    return {"id": row["id"], "student_id": student_id, "date": body.date,
            "reason": body.reason}


GRADE_LABELS = {-1: "PK", 0: "K"}


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsi, control characters dropped."""
    clean = "".join(ch for ch in text if ch >= " ")
    raw = clean.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def one_page_pdf(title: str, lines: list[str]) -> bytes:
    """A minimal valid one-page PDF 1.4: Helvetica text lines, a correct xref table."""
    ops = [b"BT", b"/F1 16 Tf", b"72 740 Td", b"18 TL", _pdf_text(title) + b" Tj T*",
           b"/F1 11 Tf", b"15 TL"]
    ops += [_pdf_text(line) + b" Tj T*" for line in lines[:44]]  # what fits on the page
    stream = b"\n".join([*ops, b"ET"])
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title " + _pdf_text(title) + b" /Producer (firstbell staging SIS) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, len(objects), xref))
    return bytes(out)


async def report_card_document(request: Request, p: Principal, student_id: int) -> bytes:
    """The report card as a one-page PDF, for a student the caller may see (checked again here:
    the download comes later than the request for its link, and links can change)."""
    await _portal_student(request, p, student_id)
    me, classes = await _grades(request, student_id)
    grade = GRADE_LABELS.get(me["grade"], str(me["grade"]))
    lines = ["SYNTHETIC DATA - generated by firstbell; these people do not exist.", "",
             f"School: {me['school_name']}",
             f"Student: {me['first_name']} {me['last_name']} (ID {me['student_id']})",
             f"Grade: {grade}", "", "Class: percent, letter; term grade"]
    for c in classes:
        mark = "no graded work" if c["percent"] is None else f"{c['percent']:.1f}% {c['letter']}"
        term = c["term_grade"]["grade"] if c["term_grade"] else "-"
        when = "Homeroom" if c["period"] == 0 else f"Period {c['period']}"
        lines.append(f"{when}: {c['course_title']}: {mark}; term grade {term}")
    return one_page_pdf("Report card", lines)


@router.get("/students/{student_id}/report-card")
async def report_card(student_id: Id, request: Request,
                      p: Caller) -> signing.DownloadLink:
    """A short-lived signed link to the report card (a one-page PDF), for a student the caller
    may see. The link works only on a session of the same user and only until `expires_at`: a
    document URL is no capability (the CPS 2018 exposure)."""
    await _portal_student(request, p, student_id)
    return signing.issue(request, p.user_id, signing.resource(REPORT_CARD, student=student_id))
