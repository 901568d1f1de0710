"""The authorization matrix: every role x every endpoint x own vs someone else's resource.

A role that may use an endpoint gets 2xx on its own resource and 404 on someone else's (no
data, not even a hint it exists); a role that may not use the endpoint family gets 403. The
server runs on a database of its own, since the write cases change data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, new_database

from fake_data.district import District
from staging.app import create_app
from staging.config import Settings
from staging.seed import SeedRequest, seed_database

ROLES = ("guardian", "student", "teacher", "clerk", "admin")
TODAY = "2019-04-22"  # the seeded history ends before spring break; the cutover day follows


@dataclass(frozen=True)
class Rule:
    """Who may call an endpoint: `own` roles get 2xx on their own resource, 404 on another's."""

    own: frozenset[str]
    other: bool = True  # the endpoint has "someone else's" resource to try


def rule(*roles: str, other: bool = True) -> Rule:
    return Rule(frozenset(roles), other)


RULES: dict[str, Rule] = {
    "GET /api/auth/session": rule(*ROLES, other=False),
    "GET /api/portal/home": rule("guardian", "student", other=False),
    "GET /api/portal/students/{student}/schedule": rule("guardian", "student"),
    "GET /api/portal/students/{student}/grades": rule("guardian", "student"),
    "GET /api/portal/students/{student}/sections/{student_section}/assignments":
        rule("guardian", "student"),
    "GET /api/portal/students/{student}/attendance": rule("guardian", "student"),
    "GET /api/portal/students/{student}/report-card": rule("guardian", "student"),
    "POST /api/portal/students/{student}/absence-notices": rule("guardian"),
    "PUT /api/portal/contact": rule("guardian", other=False),
    "GET /api/gradebook/sections": rule("teacher", "admin", other=False),
    "GET /api/gradebook/grading-periods": rule("teacher", "admin", other=False),
    "GET /api/gradebook/sections/{section}/roster": rule("teacher", "admin"),
    "POST /api/gradebook/sections/{section}/line-items": rule("teacher"),
    "PUT /api/gradebook/line-items/{line_item}/scores": rule("teacher"),
    "POST /api/gradebook/sections/{section}/term-grades": rule("teacher"),
    "GET /api/attendance/sections/{section}/daily": rule("teacher", "admin"),
    "POST /api/attendance/sections/{section}/daily": rule("teacher"),
    "GET /api/attendance/sections/{hs_section}/periods": rule("teacher", "admin"),
    "POST /api/attendance/sections/{hs_section}/periods": rule("teacher"),
    "GET /api/attendance/schools/{school}/summary": rule("clerk", "admin"),
    "GET /api/sim/students?q={last_name}": rule("clerk", "admin", other=False),
    "GET /api/sim/students/{student}": rule("clerk", "admin"),
    "POST /api/sim/students/{student}/withdraw": rule("clerk", "admin"),
    "POST /api/sim/students/{student}/transfer": rule("clerk", "admin", other=False),
    "POST /api/admin/users/{deactivate_user}/deactivate": rule("admin", other=False),
}
CASES = [(key, role, scope) for key, r in RULES.items() for role in ROLES
         for scope in (("own", "other") if r.other and role in r.own else ("own",))]


@dataclass
class World:
    base: str
    tokens: dict[str, str]
    own: dict[str, dict[str, Any]]  # role -> placeholder -> value
    other: dict[str, dict[str, Any]]


def _first(rows: list[dict[str, Any]], **where: Any) -> dict[str, Any]:
    return next(r for r in rows if all(r[k] == v for k, v in where.items()))


@pytest.fixture(scope="module")
def world(postgres_url: str, district: District,
          identities: dict[str, list[dict[str, Any]]]) -> Iterator[World]:
    url = new_database(postgres_url)
    seed_database(url, SeedRequest("small", 1.0, 42, history_days=3))
    sections = district["sections"].to_pylist()
    homeroom_ids = {s["section_id"] for s in sections if s["class_type"] == "homeroom"}
    teacher = next(t for t in identities["teacher"]
                   if len(t["sections"]) == 1 and t["sections"][0] in homeroom_ids)
    hs = next(t for t in identities["teacher"] if t["level"] == "high")
    guardian = next(g for g in identities["guardian"] if g["children"] and g["forbidden_students"])
    student = identities["student"][0]
    clerk = identities["clerk"][1]
    admin = identities["district_admin"][0]
    enr = district["enrollments"].to_pylist()
    students = {s["student_id"]: s for s in district["students"].to_pylist()}

    def section_of(student_id: int) -> int:
        return _first(enr, student_id=student_id)["section_id"]

    def in_section(section_id: int) -> int:
        return _first(enr, section_id=section_id)["student_id"]

    with psycopg.connect(url) as conn:
        other_item = conn.execute(
            "SELECT li.line_item_id FROM sis.line_items li JOIN sis.sections s USING (section_id)"
            " WHERE s.teacher_id <> %s ORDER BY 1 LIMIT 1", [teacher["staff_id"]]).fetchone()[0]
        period_id = conn.execute("SELECT session_id FROM sis.academic_sessions"
                                 " WHERE type = 'gradingPeriod' ORDER BY 1 LIMIT 1").fetchone()[0]
        clerk_students = [r[0] for r in conn.execute(
            "SELECT student_id FROM sis.students WHERE school_id = %s ORDER BY student_id DESC"
            " LIMIT 4", [clerk["school_id"]])]
        gone = conn.execute("SELECT user_id FROM sis.accounts WHERE status = 'disabled'"
                            " LIMIT 1").fetchone()[0]
        other_school = conn.execute("SELECT school_id FROM sis.schools WHERE school_id <> %s"
                                    " AND level = (SELECT level FROM sis.schools WHERE"
                                    " school_id = %s) LIMIT 1",
                                    [clerk["school_id"], clerk["school_id"]]).fetchone()

    with serve(create_app(Settings(**TEST_SETTINGS), url)) as base:
        tokens = {}
        for role, who in (("guardian", guardian), ("student", student), ("teacher", teacher),
                          ("clerk", clerk), ("admin", admin)):
            r = httpx.post(f"{base}/api/auth/login",
                           json={"username": who["username"], "password": who["password"]})
            assert r.status_code == 200, r.text
            tokens[role] = r.json()["token"]
        hs_token = httpx.post(f"{base}/api/auth/login", json={
            "username": hs["username"], "password": hs["password"]}).json()["token"]
        tokens["hs_teacher"] = hs_token
        own_item = httpx.post(
            f"{base}/api/gradebook/sections/{teacher['sections'][0]}/line-items",
            headers={"Authorization": f"Bearer {tokens['teacher']}"},
            json={"title": "Matrix quiz", "category": "quiz", "assigned_date": TODAY,
                  "due_date": TODAY, "points_possible": 10}).json()["line_item_id"]

        common = {"line_item_other": other_item, "teacher_id": teacher["staff_id"],
                  "period": period_id, "deactivate_user": gone,
                  "transfer_to": other_school[0] if other_school else clerk["school_id"]}
        g_child, s_self = guardian["children"][0], student["student_id"]
        own = {
            "guardian": {**common, "student": g_child, "student_section": section_of(g_child),
                         "last_name": students[g_child]["last_name"]},
            "student": {**common, "student": s_self, "student_section": section_of(s_self),
                        "last_name": students[s_self]["last_name"]},
            "teacher": {**common, "section": teacher["sections"][0],
                        "section_student": in_section(teacher["sections"][0]),
                        "hs_section": hs["sections"][0],
                        "hs_student": in_section(hs["sections"][0]), "line_item": own_item,
                        "school": teacher["school_id"], "student": teacher["students"][0],
                        "student_section": teacher["sections"][0], "last_name": "Smith"},
            "clerk": {**common, "school": clerk["school_id"], "student": clerk_students[0],
                      "student_section": section_of(clerk_students[0]),
                      "transfer_student": clerk_students[1],
                      "last_name": students[clerk_students[0]]["last_name"]},
            "admin": {**common, "school": clerk["school_id"], "student": clerk_students[2],
                      "student_section": section_of(clerk_students[2]),
                      "transfer_student": clerk_students[3], "section": teacher["sections"][0],
                      "section_student": in_section(teacher["sections"][0]),
                      "hs_section": hs["sections"][0], "hs_student": in_section(hs["sections"][0]),
                      "line_item": own_item, "last_name": "Smith"},
        }
        other_section = teacher["forbidden_sections"][0]
        other = {
            "guardian": {**own["guardian"], "student": guardian["forbidden_students"][0]},
            "student": {**own["student"], "student": student["forbidden_students"][0]},
            "teacher": {**own["teacher"], "section": other_section,
                        "section_student": in_section(other_section),
                        "hs_section": hs["forbidden_sections"][0],
                        "hs_student": in_section(hs["forbidden_sections"][0]),
                        "line_item": other_item},
            "clerk": {**own["clerk"], "school": other_school[0] if other_school else 0,
                      "student": clerk["forbidden_students"][0]},
            "admin": {**own["admin"], "student": 2_000_000_000, "section": 2_000_000_000,
                      "hs_section": 2_000_000_000, "school": 2_000_000_000},
        }
        for values in other.values():
            values["student_section"] = values.get("student_section", 1)
        yield World(base, tokens, own, other)


def _request(key: str, values: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    method, template = key.split(" ", 1)
    path = template.format(**{k: values.get(k, 1) for k in (
        "student", "student_section", "section", "hs_section", "line_item", "school",
        "last_name", "deactivate_user")})
    student = values.get("student", 1)
    bodies: dict[str, dict[str, Any]] = {
        "absence-notices": {"date": TODAY, "reason": "doctor's appointment"},
        "contact": {"phone": "(312) 555-0142"},
        "line-items": {"title": "Homework 9", "category": "homework", "assigned_date": TODAY,
                       "due_date": TODAY, "points_possible": 20},
        "scores": {"scores": [{"student_id": values.get("section_student", student),
                               "score": 8, "status": "fully graded"}]},
        "term-grades": {"session_id": values["period"],
                        "grades": [{"student_id": values.get("section_student", student),
                                    "grade": "B"}]},
        "daily": {"date": TODAY, "records": [
            {"student_id": values.get("section_student", student), "status": "present"}]},
        "periods": {"date": TODAY, "records": [
            {"student_id": values.get("hs_student", student), "status": "tardy"}]},
        "withdraw": {"date": TODAY, "reason": "moved out of the district"},
        "transfer": {"to_school_id": values["transfer_to"]},
    }
    if key.endswith("/transfer"):
        path = path.replace(f"/students/{student}/",
                            f"/students/{values.get('transfer_student', student)}/")
    body = None if method == "GET" else bodies.get(path.rstrip("/").rsplit("/", 1)[-1].split(
        "?")[0], {})
    if key == "GET /api/gradebook/sections":
        path += f"?teacher_id={values['teacher_id']}"  # an administrator names the teacher
    return method, path, body


@pytest.mark.parametrize(("key", "role", "scope"), CASES)
def test_authorization(world: World, key: str, role: str, scope: str) -> None:
    values = (world.own if scope == "own" else world.other)[role]
    method, path, body = _request(key, values)
    token = world.tokens["hs_teacher" if role == "teacher" and "{hs_section}" in key
                         else role]
    r = httpx.request(method, f"{world.base}{path}", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {token}"})
    allowed = role in RULES[key].own
    if not allowed:
        expected = {403}
    elif scope == "own":
        expected = {200, 201, 202, 204}
    else:
        expected = {404}
    assert r.status_code in expected, (method, path, role, scope, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert set(r.json()) == {"error"}, r.text  # an error body only, never data
