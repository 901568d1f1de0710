"""oneroster_rostering: the OneRoster 1.2 Rostering Service (REST/JSON), read-only.

Every endpoint of the OneRoster sheet: academicSessions, terms, gradingPeriods, classes,
courses, demographics, enrollments, orgs, schools, students, teachers and users, with their
sub-collections (a class's students, a school's teachers, a term's grading periods...). Objects
use the sourcedId scheme, role and grade mappings of the CSV exporter
(``fake_data.export_oneroster``), so the REST API and the CSV export agree on every id.

Reads need the roster-core.readonly or roster.readonly scope (demographics: roster-
demographics.readonly or roster.readonly). "Terms" are the sessions a class runs in: semesters
and the summer and evening school terms. A day class's terms are the two semesters, a summer or
evening school class's its own term, as in the CSV.
dateLastModified is the seed time (the profile's cutover date) until a row changes (triggers of
migration 0004). A guardian's no-access (custody) link is never shown as an agent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from fake_data.export_oneroster import (
    CEDS_GRADES,
    DISTRICT_SOURCED_ID,
    GUARDIAN_ROLES,
    RACE_COLUMNS,
    STAFF_ROLES,
    Kind,
    org_sourced_id,
    sourced_id,
    student_enrollment_sourced_id,
    teacher_enrollment_sourced_id,
)
from staging.api_docs import oneroster_answers
from staging.db import Row
from staging.oauth import ROSTER, ROSTER_CORE, ROSTER_DEMOGRAPHICS, require_scope
from staging.oneroster_query import compact, iso_datetime, list_response, one_response
from staging.oneroster_sql import (
    Branch,
    Col,
    Collection,
    Ctx,
    Scope,
    const_col,
    id_col,
    modified_sql,
    parse_org,
    parse_sourced_id,
    sid_sql,
)
from staging.oneroster_status import OneRosterRoute, unknown_object

router = APIRouter(prefix="/ims/oneroster/rostering/v1p2", tags=["oneroster-rostering"],
                   route_class=OneRosterRoute, responses=oneroster_answers(400, 401, 403, 404, 429))
CORE = Depends(require_scope(ROSTER_CORE, ROSTER))
Core = Annotated[str, CORE]
SourcedId = Annotated[str, Path(min_length=1, max_length=255)]

ACTIVE = const_col("active")
SCHOOL_YEAR = ("(SELECT min(session_id) FROM sis.academic_sessions"
               " WHERE type = 'schoolYear')")
SEMESTERS = ("(SELECT array_agg(session_id ORDER BY session_id) FROM sis.academic_sessions"
             " WHERE type = 'semester')")
# A class of the regular day (its session the school year, or none) runs in both semesters;
# a summer or evening school class in its own term (as the CSV exporter says).
DAY_CLASS = ("(s.session_id IS NULL OR EXISTS (SELECT 1 FROM sis.academic_sessions y"
             " WHERE y.session_id = s.session_id AND y.type = 'schoolYear'))")
CLASS_TERMS = f"(CASE WHEN {DAY_CLASS} THEN {SEMESTERS} ELSE ARRAY[s.session_id] END)"
TERM_TYPES = "('term', 'semester')"


def _case(expr: str, mapping: dict[str, str]) -> str:
    """SQL mapping our codes to OneRoster's, from the exporter's own tables."""
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in mapping.items())
    return f"(CASE {expr} {whens} END)"


def _ceds(expr: str) -> str:
    return f"(ARRAY[{', '.join(repr(g) for g in CEDS_GRADES)}]::text[])[{expr} + 2]"


def _modified_col(*exprs: str, joins: tuple[str, ...] = ()) -> Col:
    return Col(modified_sql(*exprs), "datetime", joins)


def _fixed_id(value: str) -> Col:
    """A field whose value is one sourcedId for every row."""
    return Col(f"'{value}'::text", match=lambda v, _: ("TRUE", {}) if v == value else None)


# --- orgs ---------------------------------------------------------------------------------------

DISTRICT = Branch(
    rank=0, table="sis.district d", keys=("0",), where="d.district_id = (SELECT min(district_id)"
    " FROM sis.district)",
    cols={"sourcedId": _fixed_id(DISTRICT_SOURCED_ID), "status": ACTIVE,
          "dateLastModified": Col("%(epoch)s::timestamptz", "datetime"),
          "name": Col("d.name"), "type": const_col("district"), "identifier": Col("NULL::text"),
          "parent.sourcedId": Col("NULL::text", match=lambda v, p: None)},
    output="d.name, 'district'::text AS type, NULL::text AS identifier, NULL::int AS parent,"
           " (SELECT array_agg(school_id ORDER BY school_id) FROM sis.schools) AS children,"
           " %(epoch)s::timestamptz AS modified")
SCHOOL = Branch(
    rank=1, table="sis.schools sc", keys=("sc.school_id",),
    cols={"sourcedId": id_col("school", "sc.school_id"), "status": ACTIVE,
          "dateLastModified": _modified_col("sc.modified_at"), "name": Col("sc.name"),
          "type": const_col("school"), "identifier": Col("sc.school_code"),
          "parent.sourcedId": _fixed_id(DISTRICT_SOURCED_ID)},
    output="sc.name, 'school'::text AS type, sc.school_code AS identifier, 0 AS parent,"
           f" NULL::int[] AS children, {modified_sql('sc.modified_at')} AS modified")


def _org(r: Row, ctx: Ctx) -> dict[str, Any]:
    return compact({
        "sourcedId": org_sourced_id(r["k0"]), "status": "active",
        "dateLastModified": iso_datetime(r["modified"]), "name": r["name"], "type": r["type"],
        "identifier": r["identifier"],
        "parent": None if r["parent"] is None else ctx.ref("orgs", org_sourced_id(r["parent"]),
                                                           "org"),
        "children": [ctx.ref("orgs", sourced_id("school", c), "org") for c in r["children"]]
        if r["children"] else None})


ORG_FIELDS = ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parent",
              "children")
ORGS = Collection("orgs", "org", (DISTRICT, SCHOOL), ORG_FIELDS, _org, "org")
SCHOOLS = Collection("orgs", "org", (SCHOOL,), ORG_FIELDS, _org, "school")

# --- academic sessions --------------------------------------------------------------------------

SESSION = Branch(
    rank=0, table="sis.academic_sessions s", keys=("s.session_id",),
    cols={"sourcedId": id_col("session", "s.session_id"), "status": ACTIVE,
          "dateLastModified": _modified_col("s.modified_at"), "title": Col("s.title"),
          "type": Col("s.type"), "startDate": Col("s.start_date", "date"),
          "endDate": Col("s.end_date", "date"), "schoolYear": Col("s.school_year::text"),
          "parent.sourcedId": id_col("session", "s.parent_id")},
    output="s.title, s.type, s.start_date, s.end_date, s.parent_id, s.school_year,"
           " (SELECT array_agg(c.session_id ORDER BY c.session_id) FROM sis.academic_sessions c"
           f" WHERE c.parent_id = s.session_id) AS children, {modified_sql('s.modified_at')}"
           " AS modified")


def _session(r: Row, ctx: Ctx) -> dict[str, Any]:
    return compact({
        "sourcedId": sourced_id("session", r["k0"]), "status": "active",
        "dateLastModified": iso_datetime(r["modified"]), "title": r["title"],
        "startDate": r["start_date"].isoformat(), "endDate": r["end_date"].isoformat(),
        "type": r["type"],
        "parent": None if r["parent_id"] is None else _session_ref(ctx, r["parent_id"]),
        "children": [_session_ref(ctx, c) for c in r["children"] or ()],
        "schoolYear": str(r["school_year"])})


def _session_ref(ctx: Ctx, session_id: int) -> dict[str, str]:
    return ctx.ref("academicSessions", sourced_id("session", session_id), "academicSession")


SESSION_FIELDS = ("sourcedId", "status", "dateLastModified", "title", "startDate", "endDate",
                  "type", "parent", "children", "schoolYear")
SESSIONS = Collection("academicSessions", "academicSession", (SESSION,), SESSION_FIELDS,
                      _session, "academicSession")
TERMS = replace(SESSIONS, branches=(replace(SESSION, where=f"s.type IN {TERM_TYPES}"),),
                what="term")
GRADING_PERIODS = replace(SESSIONS, branches=(replace(SESSION, where="s.type = 'gradingPeriod'"),),
                          what="gradingPeriod")

# --- courses and classes ------------------------------------------------------------------------

COURSE = Branch(
    rank=0, table="sis.courses c", keys=("c.course_id",),
    cols={"sourcedId": id_col("course", "c.course_id"), "status": ACTIVE,
          "dateLastModified": _modified_col("c.modified_at"), "title": Col("c.title"),
          "courseCode": Col("c.course_code"), "grades": Col(_ceds("c.grade")),
          "subjects": Col("c.subject"), "org.sourcedId": _fixed_id(DISTRICT_SOURCED_ID),
          "schoolYear.sourcedId": id_col("session", SCHOOL_YEAR)},
    output=f"c.title, c.course_code, c.grade, c.subject, {SCHOOL_YEAR} AS school_year,"
           f" {modified_sql('c.modified_at')} AS modified")


def _course(r: Row, ctx: Ctx) -> dict[str, Any]:
    return compact({
        "sourcedId": sourced_id("course", r["k0"]), "status": "active",
        "dateLastModified": iso_datetime(r["modified"]), "title": r["title"],
        "schoolYear": None if r["school_year"] is None else _session_ref(ctx, r["school_year"]),
        "courseCode": r["course_code"], "grades": [CEDS_GRADES[r["grade"] + 1]],
        "subjects": [r["subject"]] if r["subject"] else None,
        "org": ctx.ref("orgs", DISTRICT_SOURCED_ID, "org")})


COURSES = Collection("courses", "course", (COURSE,),
                     ("sourcedId", "status", "dateLastModified", "title", "schoolYear",
                      "courseCode", "grades", "subjects", "org"), _course, "course")

_TEAM = "(CASE WHEN s.team < 10 THEN '0' || s.team::text ELSE s.team::text END)"
CLASS = Branch(
    rank=0, table="sis.sections s", keys=("s.section_id",),
    joins={"c": "JOIN sis.courses c ON c.course_id = s.course_id"},
    cols={"sourcedId": id_col("class", "s.section_id"), "status": ACTIVE,
          "dateLastModified": _modified_col("s.modified_at"),
          "title": Col("c.title || ' - Team ' || s.team::text", joins=("c",)),
          "classCode": Col(f"c.course_code || '-' || {_TEAM}", joins=("c",)),
          "classType": Col("s.class_type"), "location": Col("s.room"),
          "grades": Col(_ceds("s.grade")), "subjects": Col("s.subject"),
          "periods": Col("nullif(s.period, 0)::text"),
          "course.sourcedId": id_col("course", "s.course_id"),
          "school.sourcedId": id_col("school", "s.school_id")},
    output="c.title, c.course_code, s.team, s.class_type, s.room, s.grade, s.subject, s.period,"
           f" s.course_id, s.school_id, {CLASS_TERMS} AS terms, {modified_sql('s.modified_at')}"
           " AS modified")


def _class(r: Row, ctx: Ctx) -> dict[str, Any]:
    return compact({
        "sourcedId": sourced_id("class", r["k0"]), "status": "active",
        "dateLastModified": iso_datetime(r["modified"]),
        "title": f"{r['title']} - Team {r['team']}",
        "classCode": f"{r['course_code']}-{r['team']:02d}", "classType": r["class_type"],
        "location": r["room"], "grades": [CEDS_GRADES[r["grade"] + 1]],
        "subjects": [r["subject"]] if r["subject"] else None,
        "course": ctx.ref("courses", sourced_id("course", r["course_id"]), "course"),
        "school": ctx.ref("orgs", sourced_id("school", r["school_id"]), "org"),
        "terms": [_session_ref(ctx, t) for t in r["terms"] or ()],
        "periods": [str(r["period"])] if r["period"] else None})


CLASSES = Collection("classes", "class", (CLASS,),
                     ("sourcedId", "status", "dateLastModified", "title", "classCode", "classType",
                      "location", "grades", "subjects", "course", "school", "terms", "periods"),
                     _class, "class")

# --- users --------------------------------------------------------------------------------------

USER_COLUMNS = ("given", "family", "username", "email", "identifier", "role", "grade", "phone",
                "enabled", "orgs", "agents", "modified")


def _user_branch(rank: int, kind: Kind, table: str, key: str, person: str,
                 cols: dict[str, Col], output: dict[str, str], extra: str = "") -> Branch:
    account = (f"LEFT JOIN sis.accounts a ON a.person_type = '{person}'"
               f" AND a.person_id = {key}")
    alias = table.split()[1]
    common: dict[str, Col] = {
        "sourcedId": id_col(kind, key), "status": ACTIVE,
        "dateLastModified": _modified_col(f"{alias}.modified_at", "a.modified_at", joins=("a",)),
        "username": Col("a.username", joins=("a",)), "givenName": Col(f"{alias}.first_name"),
        "familyName": Col(f"{alias}.last_name"),
        "email": Col(f"{alias}.email" if person != "student" else "a.email",
                     joins=() if person != "student" else ("a",))}
    out = {"given": f"{alias}.first_name", "family": f"{alias}.last_name",
           "username": "a.username", "email": common["email"].expr,
           **output, "modified": f"{modified_sql(f'{alias}.modified_at', 'a.modified_at')}"}
    return Branch(rank, table, (key,), {**common, **cols},
                  ", ".join(f"{out[k]} AS {k}" for k in USER_COLUMNS), {"a": account}, extra)


GUARDIAN = _user_branch(
    0, "guardian", "sis.guardians g", "g.guardian_id", "guardian",
    {"username": Col(f"coalesce(a.username, {sid_sql('guardian', 'g.guardian_id')})",
                     joins=("a",)),
     "identifier": Col("NULL::text"), "role": Col(_case("g.relationship", GUARDIAN_ROLES)),
     "enabledUser": Col("true", "bool"), "grades": Col("NULL::text"), "phone": Col("g.phone")},
    {"username": f"coalesce(a.username, {sid_sql('guardian', 'g.guardian_id')})",
     "identifier": "NULL::text", "role": _case("g.relationship", GUARDIAN_ROLES),
     "grade": "NULL::smallint", "phone": "g.phone", "enabled": "true", "orgs": "gl.orgs",
     "agents": "gl.agents"},
    # Orgs: the schools of the children they may see, the district if none (as the CSV).
    "LEFT JOIN LATERAL (SELECT coalesce(array_agg(DISTINCT st.school_id ORDER BY st.school_id),"
    " ARRAY[0]) AS orgs, array_agg(DISTINCT l.student_id ORDER BY l.student_id) AS agents"
    " FROM sis.guardian_links l JOIN sis.students st ON st.student_id = l.student_id"
    " WHERE l.portal_access AND l.guardian_id = g.guardian_id) gl ON true")
_STAFF_ENABLED = "(sf.status = 'active' AND a.status IS DISTINCT FROM 'disabled')"
STAFF = _user_branch(
    1, "staff", "sis.staff sf", "sf.staff_id", "staff",
    {"identifier": Col("sf.employee_number"), "role": Col(_case("sf.role", STAFF_ROLES["1.2"])),
     "enabledUser": Col(_STAFF_ENABLED, "bool", ("a",)), "grades": Col("NULL::text"),
     "phone": Col("NULL::text")},
    {"identifier": "sf.employee_number", "role": _case("sf.role", STAFF_ROLES["1.2"]),
     "grade": "NULL::smallint", "phone": "NULL::text", "enabled": _STAFF_ENABLED,
     "orgs": "ARRAY[sf.school_id]", "agents": "NULL::int[]"})
STUDENT = _user_branch(
    2, "student", "sis.students st", "st.student_id", "student",
    {"identifier": Col("st.student_number"), "role": const_col("student"),
     "enabledUser": Col("st.enrollment_status = 'active'", "bool"),
     "grades": Col(_ceds("st.grade")), "phone": Col("NULL::text")},
    {"identifier": "st.student_number", "role": "'student'::text", "grade": "st.grade",
     "phone": "NULL::text", "enabled": "st.enrollment_status = 'active'",
     "orgs": "ARRAY[st.school_id]", "agents": "ag.ids"},
    "LEFT JOIN LATERAL (SELECT array_agg(l.guardian_id ORDER BY l.guardian_id) AS ids FROM"
    " sis.guardian_links l WHERE l.student_id = st.student_id AND l.portal_access) ag ON true")
TEACHER_ROLES = tuple(k for k, v in STAFF_ROLES["1.2"].items() if v == "teacher")
TEACHER = replace(STAFF, where="sf.role IN ({})".format(", ".join(f"'{r}'" for r in TEACHER_ROLES)))
_KINDS: tuple[Kind, Kind, Kind] = ("guardian", "staff", "student")


def _user(r: Row, ctx: Ctx) -> dict[str, Any]:
    kind = _KINDS[r["rank"]]
    orgs = [ctx.ref("orgs", org_sourced_id(o), "org") for o in r["orgs"]]
    agent_kind: Kind = "guardian" if kind == "student" else "student"
    return compact({
        "sourcedId": sourced_id(kind, r["k0"]), "status": "active",
        "dateLastModified": iso_datetime(r["modified"]), "enabledUser": r["enabled"],
        "username": r["username"], "givenName": r["given"], "familyName": r["family"],
        "roles": [{"roleType": "primary" if i == 0 else "secondary", "role": r["role"],
                   "org": org} for i, org in enumerate(orgs)],
        "primaryOrg": orgs[0], "identifier": r["identifier"], "email": r["email"],
        "phone": r["phone"],
        "agents": [ctx.ref("users", sourced_id(agent_kind, a), "user") for a in r["agents"] or ()],
        "grades": None if r["grade"] is None else [CEDS_GRADES[r["grade"] + 1]]})


USER_FIELDS = ("sourcedId", "status", "dateLastModified", "enabledUser", "username", "givenName",
               "familyName", "roles", "primaryOrg", "identifier", "email", "phone", "agents",
               "grades")
USERS = Collection("users", "user", (GUARDIAN, STAFF, STUDENT), USER_FIELDS, _user, "user")
STUDENTS = Collection("users", "user", (STUDENT,), USER_FIELDS, _user, "student")
TEACHERS = Collection("users", "user", (TEACHER,), USER_FIELDS, _user, "teacher")

# --- demographics and enrollments ---------------------------------------------------------------

DEMOGRAPHIC = Branch(
    rank=0, table="sis.students st", keys=("st.student_id",),
    cols={"sourcedId": id_col("student", "st.student_id"), "status": ACTIVE,
          "dateLastModified": _modified_col("st.modified_at"),
          "birthDate": Col("st.birth_date", "date"), "sex": Col("st.sex")},
    output=f"st.birth_date, st.sex, st.race, {modified_sql('st.modified_at')} AS modified")


def _demographic(r: Row, ctx: Ctx) -> dict[str, Any]:
    flags = {column: r["race"] == code for code, column in RACE_COLUMNS.items()}
    return compact({"sourcedId": sourced_id("student", r["k0"]), "status": "active",
                    "dateLastModified": iso_datetime(r["modified"]),
                    "birthDate": r["birth_date"].isoformat() if r["birth_date"] else None,
                    "sex": r["sex"], **flags})


DEMOGRAPHICS = Collection("demographics", "demographics", (DEMOGRAPHIC,),
                          ("sourcedId", "status", "dateLastModified", "birthDate", "sex",
                           *RACE_COLUMNS.values()), _demographic, "demographics")


def _pad6(expr: str) -> str:
    return f"CASE WHEN {expr} < 1000000 THEN lpad({expr}::text, 6, '0') ELSE {expr}::text END"


def _student_enrollment_match(value: str, p: str) -> tuple[str, dict[str, Any]] | None:
    parts = value.split("-")
    if len(parts) != 4 or not all(x.isdigit() and len(x) <= 10 for x in parts[2:]):
        return None
    section, student = int(parts[2]), int(parts[3])
    if student_enrollment_sourced_id(section, student) != value or max(section, student) > 2**31:
        return None
    return f"e.section_id = %({p}a)s AND e.student_id = %({p}b)s", {f"{p}a": section,
                                                                   f"{p}b": student}


def _teacher_enrollment_match(value: str, p: str) -> tuple[str, dict[str, Any]] | None:
    digits = value.removeprefix("enr-t-")
    if not digits.isdigit() or len(digits) > 10 or int(digits) > 2**31 \
            or teacher_enrollment_sourced_id(int(digits)) != value:
        return None
    return f"s.section_id = %({p})s", {p: int(digits)}


_YEAR = ("LEFT JOIN LATERAL (SELECT start_date, end_date FROM sis.academic_sessions"
         " WHERE type = 'schoolYear' ORDER BY session_id LIMIT 1) yr ON true")


def _enrollment_branch(rank: int, table: str, keys: tuple[str, str], sid: Col, user: Col,
                       school: str, role: str) -> Branch:
    alias = table.split()[1]
    primary = "true" if role == "teacher" else "false"
    return Branch(
        rank, table, keys,
        {"sourcedId": sid, "status": ACTIVE, "dateLastModified": _modified_col(
            f"{alias}.modified_at"), "class.sourcedId": id_col("class", keys[0]),
         "user.sourcedId": user, "school.sourcedId": id_col("school", school),
         "role": const_col(role), "primary": Col(primary, "bool"),
         "beginDate": Col("(SELECT min(start_date) FROM sis.academic_sessions"
                          " WHERE type = 'schoolYear')", "date"),
         "endDate": Col("(SELECT min(end_date) FROM sis.academic_sessions"
                        " WHERE type = 'schoolYear')", "date")},
        f"{keys[0]} AS class_id, {school} AS school_id, {user.expr} AS user_sid,"
        f" '{role}'::text AS role, {primary} AS is_primary, yr.start_date, yr.end_date,"
        f" {modified_sql(f'{alias}.modified_at')} AS modified", extra=_YEAR)


STUDENT_ENROLLMENT = _enrollment_branch(
    0, "sis.enrollments e", ("e.section_id", "e.student_id"),
    Col(f"('enr-s-' || {_pad6('e.section_id')} || '-' || {_pad6('e.student_id')})",
        match=_student_enrollment_match), id_col("student", "e.student_id"), "e.school_id",
    "student")
TEACHER_ENROLLMENT = _enrollment_branch(
    1, "sis.sections s", ("s.section_id", "0"),
    Col(f"('enr-t-' || {_pad6('s.section_id')})", match=_teacher_enrollment_match),
    id_col("staff", "s.teacher_id"), "s.school_id", "teacher")


def _enrollment(r: Row, ctx: Ctx) -> dict[str, Any]:
    sid = (student_enrollment_sourced_id(r["k0"], r["k1"]) if r["rank"] == 0
           else teacher_enrollment_sourced_id(r["k0"]))
    return compact({
        "sourcedId": sid, "status": "active", "dateLastModified": iso_datetime(r["modified"]),
        "user": ctx.ref("users", r["user_sid"], "user"),
        "class": ctx.ref("classes", sourced_id("class", r["class_id"]), "class"),
        "school": ctx.ref("orgs", sourced_id("school", r["school_id"]), "org"),
        "role": r["role"], "primary": r["is_primary"],
        "beginDate": r["start_date"].isoformat() if r["start_date"] else None,
        "endDate": r["end_date"].isoformat() if r["end_date"] else None})


ENROLLMENTS = Collection("enrollments", "enrollment", (STUDENT_ENROLLMENT, TEACHER_ENROLLMENT),
                         ("sourcedId", "status", "dateLastModified", "user", "class", "school",
                          "role", "primary", "beginDate", "endDate"), _enrollment, "enrollment")

# --- routes -------------------------------------------------------------------------------------


def _collection_routes(path: str, coll: Collection, scope: Any = CORE) -> None:
    name = path[0].upper() + path[1:]

    async def get_all(request: Request) -> JSONResponse:
        return await list_response(request, coll)

    async def get_one(request: Request, sourcedId: SourcedId) -> JSONResponse:
        return await one_response(request, coll, sourcedId)

    router.add_api_route(f"/{path}", get_all, methods=["GET"], name=f"getAll{name}",
                         summary=f"All {path}", dependencies=[scope])
    router.add_api_route(f"/{path}/{{sourcedId}}", get_one, methods=["GET"], name=f"get{name}",
                         summary=f"One of {path} by sourcedId", dependencies=[scope])


for _path, _coll in (("academicSessions", SESSIONS), ("terms", TERMS),
                     ("gradingPeriods", GRADING_PERIODS), ("classes", CLASSES),
                     ("courses", COURSES), ("enrollments", ENROLLMENTS), ("orgs", ORGS),
                     ("schools", SCHOOLS), ("students", STUDENTS), ("teachers", TEACHERS),
                     ("users", USERS)):
    _collection_routes(_path, _coll)
_collection_routes("demographics", DEMOGRAPHICS,
                   Depends(require_scope(ROSTER_DEMOGRAPHICS, ROSTER)))

_EXISTS = {
    "class": "EXISTS (SELECT 1 FROM sis.sections WHERE section_id = %(parent)s)",
    "school": "EXISTS (SELECT 1 FROM sis.schools WHERE school_id = %(parent)s)",
    "course": "EXISTS (SELECT 1 FROM sis.courses WHERE course_id = %(parent)s)",
    "student": "EXISTS (SELECT 1 FROM sis.students WHERE student_id = %(parent)s)",
    "teacher": "EXISTS (SELECT 1 FROM sis.staff WHERE staff_id = %(parent)s AND role IN"
               " ({}))".format(", ".join(f"'{r}'" for r in TEACHER_ROLES)),
    "term": "EXISTS (SELECT 1 FROM sis.academic_sessions WHERE session_id = %(parent)s"
            f" AND type IN {TERM_TYPES})",
}
_PARSE: dict[str, Kind] = {"class": "class", "course": "course", "student": "student",
                           "teacher": "staff", "term": "session"}


def _sub_route(path: str, coll: Collection, parent: str, where: str) -> None:
    async def get_sub(request: Request, sourcedId: SourcedId, _: Core) -> JSONResponse:
        n = parse_org(sourcedId) if parent == "school" else parse_sourced_id(_PARSE[parent],
                                                                             sourcedId)
        if n is None or (parent == "school" and n == 0):
            raise unknown_object(parent, sourcedId)
        return await list_response(request, coll, Scope(where, {"parent": n}, _EXISTS[parent],
                                                        parent, sourcedId))

    router.add_api_route(path, get_sub, methods=["GET"], summary=path,
                         name="get" + "".join(p[:1].upper() + p[1:] for p in path.split("/")
                                              if p and "{" not in p))


_sub_route("/classes/{sourcedId}/students", STUDENTS, "class",
           "st.student_id IN (SELECT e.student_id FROM sis.enrollments e"
           " WHERE e.section_id = %(parent)s)")
_sub_route("/classes/{sourcedId}/teachers", TEACHERS, "class",
           "sf.staff_id IN (SELECT teacher_id FROM sis.sections WHERE section_id = %(parent)s)")
_sub_route("/courses/{sourcedId}/classes", CLASSES, "course", "s.course_id = %(parent)s")
_sub_route("/schools/{sourcedId}/classes", CLASSES, "school", "s.school_id = %(parent)s")
_sub_route("/schools/{sourcedId}/students", STUDENTS, "school", "st.school_id = %(parent)s")
_sub_route("/schools/{sourcedId}/teachers", TEACHERS, "school", "sf.school_id = %(parent)s")
_sub_route("/schools/{sourcedId}/terms", TERMS, "school", "TRUE")
_sub_route("/students/{sourcedId}/classes", CLASSES, "student",
           "s.section_id IN (SELECT e.section_id FROM sis.enrollments e"
           " WHERE e.student_id = %(parent)s)")
_sub_route("/teachers/{sourcedId}/classes", CLASSES, "teacher", "s.teacher_id = %(parent)s")
_sub_route("/terms/{sourcedId}/classes", CLASSES, "term",
           f"(s.session_id = %(parent)s OR ({DAY_CLASS} AND %(parent)s IN (SELECT session_id"
           " FROM sis.academic_sessions WHERE type = 'semester')))")
_sub_route("/terms/{sourcedId}/gradingPeriods", GRADING_PERIODS, "term",
           "s.parent_id = %(parent)s")


@router.get("/users/{sourcedId}/classes", name="getClassesForUser")
async def user_classes(request: Request, sourcedId: SourcedId, _: Core) -> JSONResponse:
    """A student's classes, a teacher's (any staff member's) classes; none for a guardian."""
    parents: tuple[tuple[Kind, str, str], ...] = (
            ("student", "sis.students WHERE student_id",
             "s.section_id IN (SELECT e.section_id FROM sis.enrollments e"
             " WHERE e.student_id = %(parent)s)"),
            ("staff", "sis.staff WHERE staff_id", "s.teacher_id = %(parent)s"),
            ("guardian", "sis.guardians WHERE guardian_id", "FALSE"))
    for kind, table, where in parents:
        n = parse_sourced_id(kind, sourcedId)
        if n is not None:
            return await list_response(request, CLASSES, Scope(
                where, {"parent": n}, f"EXISTS (SELECT 1 FROM {table} = %(parent)s)", "user",
                sourcedId))
    raise unknown_object("user", sourcedId)
