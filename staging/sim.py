"""sim: student information management for registrars — search, the student record, enroll,
transfer, withdraw and schedule change.

A clerk works on the students of their own school, a district administrator on any; principals
and assistant principals of a school may search and read its records. Every write is one
transaction that keeps ``sections.enrolled`` equal to the enrollments it changes, never puts a
student in two sections of one period, and leaves a row in ``sim_audit``. Section rows are locked
in section-id order at the start of each write, so concurrent registrars queue, never deadlock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fake_data.sessions import SCHOOL_YEAR_ID
from fake_data.students import FIRST_STUDENT_NUMBER
from staging.api_docs import answers
from staging.authz import ADMIN, Principal, current_principal, require_role
from staging.dates import Day
from staging.db import Database, Row
from staging.errors import ApiError, forbidden, not_found

router = APIRouter(prefix="/api/sim", tags=["sim"],
                   responses=answers(401, 403, 404, 409, 422))
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
Caller = Annotated[Principal, Depends(current_principal)]
READERS = (ADMIN, "clerk", "principal", "assistant_principal")
WRITERS = (ADMIN, "clerk")
MAX_INT = 2_147_483_647
ENROLL_LOCK = 0x5153_494D  # serializes new student and household ids (no sequences on them)
Race = Literal["hispanic", "black", "white", "asian", "multiracial", "native_american",
               "pacific_islander"]  # fake_data.students.RACES


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    street: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=40)
    postcode: str | None = Field(None, max_length=20)
    phone: str | None = Field(None, max_length=40)


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    birth_date: Day
    grade: int = Field(ge=-1, le=12)
    sex: Literal["female", "male"]
    school_id: int = Field(ge=1, le=MAX_INT)
    household_id: int | None = Field(None, ge=1, le=MAX_INT)
    address: Address | None = None  # for the new household when no household_id is given
    race: Race | None = None
    economically_disadvantaged: bool = False
    english_learner: bool = False
    iep: bool = False

    @model_validator(mode="after")
    def _one_household(self) -> EnrollRequest:
        if self.household_id is not None and self.address is not None:
            raise ValueError("give household_id or address for a new household, not both")
        return self


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_school_id: int = Field(ge=1, le=MAX_INT)


class WithdrawRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: Annotated[Day, Field(ge=dt.date(1990, 1, 1), le=dt.date(2099, 12, 31))]
    reason: str = Field(min_length=1, max_length=200)


class ScheduleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drop_section_id: int = Field(ge=1, le=MAX_INT)
    add_section_id: int = Field(ge=1, le=MAX_INT)

    @model_validator(mode="after")
    def _different(self) -> ScheduleChange:
        if self.drop_section_id == self.add_section_id:
            raise ValueError("drop and add must be different sections")
        return self


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _scope(p: Principal) -> dict[str, Any]:
    """Query parameters limiting rows to the caller's school (all schools for an admin)."""
    return {"admin": p.is_admin, "school": p.school_id if p.school_id is not None else -1}


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


SEARCH = """
SELECT student_id, student_number, first_name, last_name, grade, school_id, enrollment_status
FROM sis.students WHERE {match} {scope}
ORDER BY lower(last_name), first_name, student_id LIMIT %(limit)s
"""
# Digits are a student id or a student number; anything else a last-name prefix, matched through
# students_last_name_idx (lower(last_name) text_pattern_ops, school_id).
BY_NUMBER = "(student_id = %(id)s OR student_number = %(q)s)"
BY_NAME = "lower(last_name) LIKE lower(%(q)s) || '%%'"


@router.get("/students")
async def search(request: Request, p: Caller,
                 q: Annotated[str, Query(min_length=2, max_length=64)],
                 limit: Annotated[int, Query(ge=1, le=100)] = 25) -> dict[str, Any]:
    require_role(p, *READERS)
    term = q.strip()
    if len(term) < 2:
        raise _invalid("q needs at least 2 characters")
    if term.isascii() and term.isdigit():
        params: dict[str, Any] = {"q": term, "id": int(term) if int(term) <= MAX_INT else None}
        match = BY_NUMBER
    else:  # the input is a prefix, not a pattern: escape LIKE's metacharacters
        params, match = {"q": re.sub(r"([\\%_])", r"\\\1", term)}, BY_NAME
    scope = "" if p.is_admin else "AND school_id = %(school)s"
    rows = await _db(request).fetch(
        "sim.search.number" if match is BY_NUMBER else "sim.search.name",
        SEARCH.format(match=match, scope=scope), {**params, **_scope(p), "limit": limit})
    return {"q": term, "students": rows}


RECORD = """
SELECT st.student_id, st.student_number, st.first_name, st.last_name, st.grade, st.school_id,
  sc.name AS school_name, st.sex, st.birth_date, st.race, st.economically_disadvantaged,
  st.english_learner, st.iep, st.enrollment_status, st.withdrawn_on,
  CASE WHEN h.household_id IS NOT NULL THEN jsonb_build_object(
    'household_id', h.household_id, 'street', h.street, 'city', h.city, 'state', h.state,
    'postcode', h.postcode, 'phone', h.phone) END AS household,
  coalesce((SELECT jsonb_agg(jsonb_build_object(
      'guardian_id', g.guardian_id, 'first_name', g.first_name, 'last_name', g.last_name,
      'relationship', l.relationship, 'is_primary', l.is_primary,
      'portal_access', l.portal_access, 'email', g.email, 'phone', g.phone)
      ORDER BY l.is_primary DESC, g.guardian_id)
    FROM sis.guardian_links l JOIN sis.guardians g ON g.guardian_id = l.guardian_id
    WHERE l.student_id = st.student_id), '[]') AS guardians,
  coalesce((SELECT jsonb_agg(jsonb_build_object(
      'section_id', s.section_id, 'course_id', s.course_id, 'course_title', c.title,
      'subject', s.subject, 'class_type', s.class_type, 'period', s.period, 'team', s.team,
      'room', s.room, 'teacher_id', s.teacher_id,
      'teacher_name', t.first_name || ' ' || t.last_name) ORDER BY s.period, s.section_id)
    FROM sis.enrollments e JOIN sis.sections s ON s.section_id = e.section_id
    LEFT JOIN sis.courses c ON c.course_id = s.course_id
    LEFT JOIN sis.staff t ON t.staff_id = s.teacher_id
    WHERE e.student_id = st.student_id), '[]') AS sections
FROM sis.students st
LEFT JOIN sis.households h ON h.household_id = st.household_id
LEFT JOIN sis.schools sc ON sc.school_id = st.school_id
WHERE st.student_id = %(student)s AND (%(admin)s OR st.school_id = %(school)s)
"""


async def _record(db: Database, conn: AsyncConnection[Any], p: Principal,
                  student_id: int) -> Row:
    rows = await db.run(conn, "sim.record", RECORD, {"student": student_id, **_scope(p)})
    if not rows:
        raise not_found("student")
    return rows[0]


@router.get("/students/{student_id}")
async def student_record(student_id: Id, request: Request, p: Caller) -> Row:
    require_role(p, *READERS)
    db = _db(request)
    async with db.connection() as conn:
        return await _record(db, conn, p, student_id)


async def _lock_student(db: Database, conn: AsyncConnection[Any], p: Principal,
                        student_id: int) -> Row:
    """The student row, locked for this transaction, with its current sections; 404 when the
    caller may not act on it (a clerk of another school)."""
    rows = await db.run(
        conn, "sim.lock_student",
        "SELECT st.school_id, st.grade, st.enrollment_status,"
        " ARRAY(SELECT e.section_id FROM sis.enrollments e WHERE e.student_id = st.student_id)"
        "   AS sections"
        " FROM sis.students st WHERE st.student_id = %(student)s"
        " AND (%(admin)s OR st.school_id = %(school)s) FOR UPDATE OF st",
        {"student": student_id, **_scope(p)})
    if not rows:
        raise not_found("student")
    if rows[0]["enrollment_status"] == "withdrawn":
        raise ApiError(409, "withdrawn", "the student is withdrawn")
    return rows[0]


async def _lock_sections(db: Database, conn: AsyncConnection[Any], ids: list[int],
                         school: int = -1, grade: int = -99) -> list[Row]:
    """Lock the given sections and those of (school, grade), in section-id order."""
    return await db.run(
        conn, "sim.lock_sections",
        "SELECT section_id, school_id, grade, team, period, enrolled, capacity, session_id"
        " FROM sis.sections"
        " WHERE section_id = ANY(%(ids)s) OR (school_id = %(school)s AND grade = %(grade)s"
        "   AND session_id = %(day)s)"
        " ORDER BY section_id FOR UPDATE",
        {"ids": ids, "school": school, "grade": grade, "day": SCHOOL_YEAR_ID})


def _pick_team(sections: list[Row], school: int, grade: int) -> list[int]:
    """The sections of the team with the fewest students among those with room in every
    section. A team's sections meet in distinct periods, so the student has no conflict."""
    teams: dict[int, list[Row]] = defaultdict(list)
    for s in sections:  # the regular day's sections; summer and evening school are apart
        if (s["school_id"], s["grade"], s["session_id"]) == (school, grade, SCHOOL_YEAR_ID):
            teams[s["team"]].append(s)
    if not teams:
        raise ApiError(409, "no_sections", f"school {school} has no sections for grade {grade}")
    fits = []
    for team, rows in teams.items():
        periods = [r["period"] for r in rows]
        clash = len(set(periods)) < len(periods) or (0 in periods and len(periods) > 1)
        if not clash and all(r["enrolled"] < r["capacity"] for r in rows):
            fits.append((sum(r["enrolled"] for r in rows), team))
    if not fits:
        raise ApiError(409, "no_room", f"no grade {grade} section set at school {school} has room")
    return sorted(r["section_id"] for r in teams[min(fits)[1]])


async def _schedule(db: Database, conn: AsyncConnection[Any], student_id: int, school: int,
                    section_ids: list[int]) -> None:
    await db.run(
        conn, "sim.schedule.add",
        "WITH bumped AS (UPDATE sis.sections SET enrolled = enrolled + 1"
        "   WHERE section_id = ANY(%(ids)s) RETURNING section_id)"
        " INSERT INTO sis.enrollments (section_id, student_id, school_id)"
        " SELECT section_id, %(student)s, %(school)s FROM bumped",
        {"ids": section_ids, "student": student_id, "school": school})


async def _unschedule(db: Database, conn: AsyncConnection[Any], student_id: int,
                      section_ids: list[int]) -> None:
    await db.run(
        conn, "sim.schedule.drop",
        "WITH gone AS (DELETE FROM sis.enrollments WHERE student_id = %(student)s"
        "   AND section_id = ANY(%(ids)s) RETURNING section_id)"
        " UPDATE sis.sections s SET enrolled = s.enrolled - 1 FROM gone"
        " WHERE s.section_id = gone.section_id",
        {"student": student_id, "ids": section_ids})


async def _audit(db: Database, conn: AsyncConnection[Any], p: Principal, action: str,
                 student_id: int, detail: dict[str, Any]) -> None:
    await db.run(conn, "sim.audit",
                 "INSERT INTO sis.sim_audit (actor, action, student_id, detail)"
                 " VALUES (%s, %s, %s, %s)", [p.user_id, action, student_id, Jsonb(detail)])


async def _school(db: Database, conn: AsyncConnection[Any], school_id: int, grade: int) -> Row:
    """The school (422 when unknown or its grade span lacks `grade`) and the age cut-off date."""
    rows = await db.run(
        conn, "sim.school",
        "SELECT sc.school_id, sc.grade_low, sc.grade_high, coalesce((SELECT make_date("
        "   extract(year FROM a.start_date)::int, 9, 1) FROM sis.academic_sessions a"
        "   WHERE a.type = 'schoolYear' ORDER BY a.start_date DESC LIMIT 1), '2018-09-01')"
        "   AS age_cutoff"
        " FROM sis.schools sc WHERE sc.school_id = %s", [school_id])
    if not rows:
        raise _invalid(f"unknown school {school_id}")
    if not rows[0]["grade_low"] <= grade <= rows[0]["grade_high"]:
        raise _invalid(f"school {school_id} does not teach grade {grade}")
    return rows[0]


@router.post("/students", status_code=201)
async def enroll(body: EnrollRequest, request: Request, p: Caller) -> Row:
    """Enroll a new student, in a household (given or new), scheduled into the grade's least
    full section set of the school."""
    require_role(p, *WRITERS)
    if not p.is_admin and body.school_id != p.school_id:
        raise forbidden("a clerk enrolls students into their own school only")
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        school = await _school(db, conn, body.school_id, body.grade)
        age = _age_on(body.birth_date, school["age_cutoff"])
        if abs(age - (body.grade + 5)) > 1:
            raise _invalid(f"a student aged {age} on {school['age_cutoff']} is not in grade "
                           f"{body.grade} (expected age {body.grade + 5} ± 1)")
        ids = await db.run(
            conn, "sim.enroll.ids",
            "SELECT pg_advisory_xact_lock(%(lock)s),"
            " (SELECT coalesce(max(student_id), 0) + 1 FROM sis.students) AS student_id,"
            " (SELECT coalesce(max(household_id), 0) + 1 FROM sis.households) AS new_household,"
            # A registrar may only join a family already known to their school (a sibling
            # there); anything else would hand out another family's contact data.
            " EXISTS (SELECT 1 FROM sis.households h WHERE h.household_id = %(hh)s AND"
            "   (%(admin)s OR EXISTS (SELECT 1 FROM sis.students s WHERE s.household_id ="
            "    h.household_id AND s.school_id = %(school)s))) AS household_ok",
            {"lock": ENROLL_LOCK, "hh": body.household_id, "admin": p.is_admin,
             "school": p.school_id})
        student_id, household = ids[0]["student_id"], body.household_id
        if household is not None and not ids[0]["household_ok"]:
            raise not_found("household")
        if household is None:
            household = ids[0]["new_household"]
            a = body.address or Address()
            await db.run(conn, "sim.enroll.household",
                         "INSERT INTO sis.households (household_id, street, city, state,"
                         " postcode, phone) VALUES (%s, %s, %s, %s, %s, %s)",
                         [household, a.street, a.city, a.state, a.postcode, a.phone])
        await db.run(
            conn, "sim.enroll.student",
            "INSERT INTO sis.students (student_id, student_number, school_id, grade, first_name,"
            " last_name, sex, birth_date, race, economically_disadvantaged, english_learner, iep,"
            " household_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [student_id, str(FIRST_STUDENT_NUMBER - 1 + student_id), body.school_id, body.grade,
             body.first_name, body.last_name, body.sex, body.birth_date, body.race,
             body.economically_disadvantaged, body.english_learner, body.iep, household])
        if body.household_id is not None:
            # Siblings share guardians; a guardian under a no-access order for a sibling stays
            # without portal access until the registrar hears otherwise.
            await db.run(
                conn, "sim.enroll.guardians",
                "INSERT INTO sis.guardian_links (student_id, guardian_id, relationship,"
                " is_primary, portal_access)"
                " SELECT %(student)s, g.guardian_id, g.relationship, g.guardian_id ="
                "   (SELECT min(guardian_id) FROM sis.guardians WHERE household_id = %(hh)s),"
                "   NOT EXISTS (SELECT 1 FROM sis.guardian_links l"
                "     WHERE l.guardian_id = g.guardian_id AND NOT l.portal_access)"
                " FROM sis.guardians g WHERE g.household_id = %(hh)s",
                {"student": student_id, "hh": household})
        sections = await _lock_sections(db, conn, [], body.school_id, body.grade)
        chosen = _pick_team(sections, body.school_id, body.grade)
        await _schedule(db, conn, student_id, body.school_id, chosen)
        await _audit(db, conn, p, "enroll", student_id,
                     {"school_id": body.school_id, "grade": body.grade, "sections": chosen})
        return await _record(db, conn, p, student_id)


@router.post("/students/{student_id}/transfer")
async def transfer(student_id: Id, body: TransferRequest, request: Request, p: Caller) -> Row:
    """Move a student to another school: drop every section, schedule at the new school."""
    require_role(p, *WRITERS)
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        st = await _lock_student(db, conn, p, student_id)
        if body.to_school_id == st["school_id"]:
            raise ApiError(409, "same_school", "the student already attends that school")
        await _school(db, conn, body.to_school_id, st["grade"])
        sections = await _lock_sections(db, conn, st["sections"], body.to_school_id, st["grade"])
        chosen = _pick_team(sections, body.to_school_id, st["grade"])
        await _unschedule(db, conn, student_id, st["sections"])
        await db.run(conn, "sim.transfer.move",
                     "UPDATE sis.students SET school_id = %s WHERE student_id = %s",
                     [body.to_school_id, student_id])
        await _schedule(db, conn, student_id, body.to_school_id, chosen)
        await _audit(db, conn, p, "transfer", student_id, {
            "from_school_id": st["school_id"], "to_school_id": body.to_school_id,
            "dropped": sorted(st["sections"]), "added": chosen})
        # The sending clerk no longer sees the student: answer with what the transfer did.
        return {"student_id": student_id, "from_school_id": st["school_id"],
                "to_school_id": body.to_school_id, "grade": st["grade"],
                "dropped_sections": sorted(st["sections"]), "sections": chosen}


@router.post("/students/{student_id}/withdraw")
async def withdraw(student_id: Id, body: WithdrawRequest, request: Request, p: Caller) -> Row:
    require_role(p, *WRITERS)
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        st = await _lock_student(db, conn, p, student_id)
        await _lock_sections(db, conn, st["sections"])
        await _unschedule(db, conn, student_id, st["sections"])
        await db.run(conn, "sim.withdraw",
                     "UPDATE sis.students SET enrollment_status = 'withdrawn', withdrawn_on = %s"
                     " WHERE student_id = %s", [body.date, student_id])
        await _audit(db, conn, p, "withdraw", student_id, {
            "date": body.date.isoformat(), "reason": body.reason,
            "school_id": st["school_id"], "dropped": sorted(st["sections"])})
        return await _record(db, conn, p, student_id)


@router.post("/students/{student_id}/schedule-change")
async def schedule_change(student_id: Id, body: ScheduleChange, request: Request,
                          p: Caller) -> Row:
    """Swap one section for another of the same school and grade, in a period the student has
    free (or the dropped section's)."""
    require_role(p, *WRITERS)
    db = _db(request)
    drop, add = body.drop_section_id, body.add_section_id
    async with db.connection() as conn, conn.transaction():
        st = await _lock_student(db, conn, p, student_id)
        if drop not in st["sections"]:
            raise ApiError(409, "not_enrolled", f"the student is not in section {drop}")
        if add in st["sections"]:
            raise ApiError(409, "already_enrolled", f"the student is already in section {add}")
        rows = {r["section_id"]: r for r in
                await _lock_sections(db, conn, st["sections"] + [add])}
        target = rows.get(add)
        if target is None or (target["school_id"], target["grade"], target["session_id"]) != (
                st["school_id"], st["grade"], rows[drop]["session_id"]):
            raise _invalid(f"section {add} is not a grade {st['grade']} section of the "
                           "student's school in the dropped section's session")
        # Periods are time slots within a session: only that session's classes can clash.
        busy = {rows[s]["period"] for s in st["sections"] if s != drop and s in rows
                and rows[s]["session_id"] == target["session_id"]}
        if busy and (target["period"] in busy or target["period"] == 0 or 0 in busy):
            raise ApiError(409, "period_conflict",
                           f"period conflict: the student has a class in period {target['period']}")
        if target["enrolled"] >= target["capacity"]:
            raise ApiError(409, "section_full", f"section {add} is full")
        await _unschedule(db, conn, student_id, [drop])
        await _schedule(db, conn, student_id, st["school_id"], [add])
        await _audit(db, conn, p, "schedule_change", student_id,
                     {"dropped": drop, "added": add, "period": target["period"]})
        return await _record(db, conn, p, student_id)
