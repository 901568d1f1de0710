"""gradebook: a teacher's sections, rosters with current grades, line items, batch score entry
(one score per request when a client saves each cell as it is typed), the grading periods and
posting term grades.

Teachers see and change only their own sections (anyone else's answers 404); a district
administrator may read any section but never writes grades; every other role gets 403.
"Enrolled" means a row in ``sis.enrollments`` for a student whose enrollment is still active,
the same rule for the roster, the blank scores of a new line item and every write check.

Writes are one statement each: validation (is every student in the section?) and the upsert run
in the same ``INSERT … SELECT FROM unnest(…) ON CONFLICT`` statement, so a batch is one round
trip and either all of it is written or none (score entry was the 30-second endpoint at a
report-card deadline).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field, model_validator

from staging.api_docs import answers
from staging.authz import ADMIN, Principal, current_principal, ensure_section_taught, require_role
from staging.dates import Day
from staging.db import Database
from staging.errors import ApiError, not_found

router = APIRouter(prefix="/api/gradebook", tags=["gradebook"],
                   responses=answers(401, 403, 404, 422))

INT32 = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=INT32)]
StudentId = Annotated[int, Field(ge=1, le=INT32)]
MAX_BATCH = 200
ScoreStatus = Literal["fully graded", "not submitted", "exempt", "partially graded", "submitted"]
Me = Annotated[Principal, Depends(current_principal)]

# Active students enrolled in section %(section)s; callers alias the student id column `i`.
ENROLLED = """EXISTS (SELECT 1 FROM sis.enrollments e
    JOIN sis.students st ON st.student_id = e.student_id AND st.enrollment_status = 'active'
    WHERE e.section_id = %(section)s AND e.student_id = i.student_id)"""


class LineItemIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    category: Literal["homework", "classwork", "quiz", "test"]
    assigned_date: Day
    due_date: Day
    points_possible: float = Field(ge=1, le=1000)

    @model_validator(mode="after")
    def _due_after_assigned(self) -> LineItemIn:
        if self.due_date < self.assigned_date:
            raise ValueError("due_date is before assigned_date")
        return self


class ScoreIn(BaseModel):
    student_id: StudentId
    score: float | None = Field(default=None, ge=0, le=1000)
    status: ScoreStatus

    @model_validator(mode="after")
    def _graded_has_score(self) -> ScoreIn:
        if self.status == "fully graded" and self.score is None:
            raise ValueError("a fully graded score needs a score")
        return self


def _unique_students(rows: list[Any]) -> None:
    ids = [r.student_id for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError("a student appears more than once")


class ScoresIn(BaseModel):
    scores: list[ScoreIn] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _unique(self) -> ScoresIn:
        _unique_students(self.scores)
        return self


class TermGradeIn(BaseModel):
    student_id: StudentId
    grade: Literal["A", "B", "C", "D", "F", "I"]


class TermGradesIn(BaseModel):
    session_id: int = Field(ge=1, le=INT32)
    grades: list[TermGradeIn] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _unique(self) -> TermGradesIn:
        _unique_students(self.grades)
        return self


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def not_enrolled(section_id: int, ids: list[int]) -> ApiError:
    listed = ", ".join(str(i) for i in ids)
    return ApiError(422, "not_enrolled",
                    f"not enrolled in section {section_id}: student {listed}; nothing was written")


@router.get("/sections")
async def my_sections(request: Request, p: Me,
                      teacher_id: Annotated[int | None, Query(ge=1, le=INT32)] = None,
                      ) -> dict[str, Any]:
    """The caller's sections; a district administrator names the teacher with ``teacher_id``."""
    require_role(p, "teacher", ADMIN)
    if p.is_admin and teacher_id is None:
        raise ApiError(422, "teacher_required", "a district administrator must pass teacher_id")
    if not p.is_admin and teacher_id not in (None, p.person_id):
        raise not_found("teacher")
    teacher = teacher_id or p.person_id
    rows = await _db(request).fetch(
        "gradebook.sections",
        "SELECT s.section_id, c.title AS course_title, s.period, s.room, s.grade,"
        " s.class_type, s.school_id,"
        " (SELECT count(*) FROM sis.enrollments e JOIN sis.students st"
        "   ON st.student_id = e.student_id AND st.enrollment_status = 'active'"
        "   WHERE e.section_id = s.section_id) AS enrolled"
        " FROM sis.sections s JOIN sis.courses c ON c.course_id = s.course_id"
        " WHERE s.teacher_id = %s ORDER BY s.period, s.section_id", [teacher])
    return {"teacher_id": teacher, "sections": rows}


@router.get("/grading-periods")
async def grading_periods(request: Request, p: Me) -> dict[str, Any]:
    """The grading periods and semesters term grades are posted for (the district's calendar:
    the same for every teacher, nobody's own data)."""
    require_role(p, "teacher", ADMIN)
    rows = await _db(request).fetch(
        "gradebook.grading_periods",
        "SELECT session_id, title, type, start_date, end_date FROM sis.academic_sessions"
        " WHERE type IN ('gradingPeriod', 'semester') ORDER BY start_date, session_id")
    return {"grading_periods": rows}


ROSTER = """
WITH marks AS (
    SELECT sc.student_id, sum(sc.score::numeric) AS earned,
           sum(li.points_possible::numeric) AS possible
    FROM sis.line_items li JOIN sis.scores sc ON sc.line_item_id = li.line_item_id
    WHERE li.section_id = %(section)s AND sc.score IS NOT NULL AND sc.score_status <> 'exempt'
    GROUP BY sc.student_id)
SELECT st.student_id, st.first_name, st.last_name, st.student_number,
       round(100 * m.earned / nullif(m.possible, 0), 1)::float8 AS percent
FROM sis.enrollments e
JOIN sis.students st ON st.student_id = e.student_id AND st.enrollment_status = 'active'
LEFT JOIN marks m ON m.student_id = e.student_id
WHERE e.section_id = %(section)s
ORDER BY st.last_name, st.first_name, st.student_id
"""


@router.get("/sections/{section_id}/roster")
async def roster(section_id: Id, request: Request, p: Me) -> dict[str, Any]:
    """Students of the section with their current percent (graded, non-exempt scores only)."""
    require_role(p, "teacher", ADMIN)
    db = _db(request)
    await ensure_section_taught(db, p, section_id)
    rows = await db.fetch("gradebook.roster", ROSTER, {"section": section_id})
    return {"section_id": section_id, "students": rows}


CREATE_LINE_ITEM = """
WITH li AS (
    INSERT INTO sis.line_items (section_id, category, title, assigned_date, due_date,
                                points_possible, created_by)
    VALUES (%(section)s, %(category)s, %(title)s, %(assigned)s, %(due)s, %(points)s, %(staff)s)
    RETURNING *),
blank AS (
    INSERT INTO sis.scores (line_item_id, student_id, score, score_status, updated_at)
    SELECT li.line_item_id, e.student_id, NULL, 'not submitted', now()
    FROM li JOIN sis.enrollments e ON e.section_id = li.section_id
    JOIN sis.students st ON st.student_id = e.student_id AND st.enrollment_status = 'active'
    RETURNING 1)
SELECT li.line_item_id, li.section_id, li.title, li.category, li.assigned_date, li.due_date,
       li.points_possible::float8 AS points_possible, li.created_by,
       (SELECT count(*) FROM blank) AS blank_scores
FROM li
"""


@router.post("/sections/{section_id}/line-items", status_code=201)
async def create_line_item(section_id: Id, body: LineItemIn, request: Request,
                           p: Me) -> dict[str, Any]:
    """A new assignment, with a ``not submitted`` score for every enrolled student."""
    require_role(p, "teacher")
    db = _db(request)
    await ensure_section_taught(db, p, section_id)
    rows = await db.fetch("gradebook.line_item.create", CREATE_LINE_ITEM, {
        "section": section_id, "category": body.category, "title": body.title,
        "assigned": body.assigned_date, "due": body.due_date, "points": body.points_possible,
        "staff": p.person_id})
    return rows[0]


UPSERT_SCORES = f"""
WITH i AS (
    SELECT * FROM unnest(%(students)s::int[], %(scores)s::real[], %(statuses)s::text[])
        AS t(student_id, score, status)),
bad AS (SELECT i.student_id FROM i WHERE NOT {ENROLLED}),
up AS (
    INSERT INTO sis.scores (line_item_id, student_id, score, score_status, updated_at)
    SELECT %(item)s, i.student_id, i.score, i.status, now() FROM i
    WHERE NOT EXISTS (SELECT 1 FROM bad)
    ON CONFLICT (line_item_id, student_id) DO UPDATE
        SET score = excluded.score, score_status = excluded.score_status,
            updated_at = excluded.updated_at
    RETURNING 1)
SELECT (SELECT array_agg(student_id ORDER BY student_id) FROM bad) AS not_enrolled,
       (SELECT count(*) FROM up) AS written
"""


@router.put("/line-items/{line_item_id}/scores")
async def enter_scores(line_item_id: Id, body: ScoresIn, request: Request,
                       p: Me) -> dict[str, Any]:
    """Batch score entry for one line item: all rows are written, or none (422)."""
    require_role(p, "teacher")
    db = _db(request)
    item = await db.fetchrow(
        "gradebook.scores.item",
        "SELECT li.line_item_id, li.section_id, li.points_possible::float8 AS points_possible"
        " FROM sis.line_items li JOIN sis.sections s ON s.section_id = li.section_id"
        " WHERE li.line_item_id = %s AND s.teacher_id = %s", [line_item_id, p.person_id])
    if item is None:
        raise not_found("line item")
    over = [s.student_id for s in body.scores
            if s.score is not None and s.score > item["points_possible"]]
    if over:
        raise ApiError(422, "score_out_of_range",
                       f"score above the {item['points_possible']:g} points possible for "
                       f"student {', '.join(map(str, over))}; nothing was written")
    [row] = await db.fetch("gradebook.scores.upsert", UPSERT_SCORES, {
        "item": line_item_id, "section": item["section_id"],
        "students": [s.student_id for s in body.scores],
        "scores": [s.score for s in body.scores],
        "statuses": [s.status for s in body.scores]})
    if row["not_enrolled"]:
        raise not_enrolled(item["section_id"], row["not_enrolled"])
    return {"line_item_id": line_item_id, "section_id": item["section_id"],
            "written": row["written"]}


POST_TERM_GRADES = f"""
WITH i AS (
    SELECT * FROM unnest(%(students)s::int[], %(grades)s::text[]) AS t(student_id, grade)),
term AS (SELECT session_id FROM sis.academic_sessions
         WHERE session_id = %(session)s AND type IN ('gradingPeriod', 'semester')),
bad AS (SELECT i.student_id FROM i WHERE NOT {ENROLLED}),
up AS (
    INSERT INTO sis.term_grades (section_id, student_id, session_id, grade, posted_by)
    SELECT %(section)s, i.student_id, term.session_id, i.grade, %(staff)s FROM i, term
    WHERE NOT EXISTS (SELECT 1 FROM bad)
    ON CONFLICT (section_id, student_id, session_id) DO UPDATE
        SET grade = excluded.grade, posted_by = excluded.posted_by, posted_at = now()
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM term) AS term_ok,
       (SELECT array_agg(student_id ORDER BY student_id) FROM bad) AS not_enrolled,
       (SELECT count(*) FROM up) AS written
"""


@router.post("/sections/{section_id}/term-grades")
async def post_term_grades(section_id: Id, body: TermGradesIn, request: Request,
                           p: Me) -> dict[str, Any]:
    """Post (or correct) term grades for a grading period or semester: all or nothing."""
    require_role(p, "teacher")
    db = _db(request)
    await ensure_section_taught(db, p, section_id)
    [row] = await db.fetch("gradebook.term_grades.post", POST_TERM_GRADES, {
        "section": section_id, "session": body.session_id, "staff": p.person_id,
        "students": [g.student_id for g in body.grades],
        "grades": [g.grade for g in body.grades]})
    if not row["term_ok"]:
        raise ApiError(422, "invalid_session",
                       f"session {body.session_id} is not a grading period or semester")
    if row["not_enrolled"]:
        raise not_enrolled(section_id, row["not_enrolled"])
    return {"section_id": section_id, "session_id": body.session_id, "posted": row["written"]}
