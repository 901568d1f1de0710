"""reports: district reports and roster exports through short-lived signed links — numbers
checked against direct SQL on the seeded data, role limits, the export log and metrics, and
links that are tampered with, expired, someone else's or used without a session.

Identities come from the end of each persona's list at offsets 100..119 (wrapped for the short
clerk and administrator lists); principals, assistant principals and counselors, who have no
persona, come from the district's accounts. Nobody is locked or deactivated; the only writes to
the shared database are term grades for one section of this file's own teacher.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, Login, enrolled, new_database, query

from fake_data.district import District, generate
from fake_data.profile import load_profile
from fake_data.userpool import build_userpool
from staging import signing
from staging.app import create_app
from staging.config import Settings
from staging.metrics import Metrics
from staging.portal import letter_grade
from staging.seed import SeedRequest, seed_database

Identities = dict[str, list[dict[str, Any]]]
APRIL = {"from": "2019-04-01", "to": "2019-04-30"}  # covers the seeded history days
ROSTER_HEADER = ["student_id", "student_number", "last_name", "first_name", "grade",
                 "school_id", "school_name", "homeroom", "homeroom_teacher", "guardian_emails"]
BANDS = {"A": "percent_90_100", "B": "percent_80_89", "C": "percent_70_79",
         "D": "percent_60_69", "F": "percent_below_60"}


def pick(identities: Identities, persona: str, i: int = 0) -> dict[str, Any]:
    rows = identities[persona]
    return rows[(-100 - i) % len(rows)]


def staff_by_role(district: District) -> dict[str, list[dict[str, Any]]]:
    """Active staff accounts per role, with their school (for roles without a persona)."""
    staff = {s["staff_id"]: s for s in district["staff"].to_pylist()}
    out: dict[str, list[dict[str, Any]]] = {}
    for a in district["accounts"].to_pylist():
        if a["person_type"] == "staff" and a["status"] == "active":
            out.setdefault(a["role"], []).append(
                {**a, "staff_id": a["person_id"], "school_id": staff[a["person_id"]]["school_id"]})
    return out


@pytest.fixture(scope="module")
def staff(district: District) -> dict[str, list[dict[str, Any]]]:
    return staff_by_role(district)


def rows_of(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="')
    assert r.headers["cache-control"] == "private, no-store"
    return list(csv.DictReader(io.StringIO(r.text)))


def export(client: httpx.Client, kind: str, body: dict[str, Any]) -> httpx.Response:
    """Ask for a report's link, then fetch it on the same session."""
    r = client.post(f"/api/reports/{kind}", json=body)
    assert r.status_code == 200, r.text
    link = r.json()
    assert set(link) == {"url", "expires_at"} and link["url"].startswith("/api/reports/downloads/")
    assert dt.datetime.fromisoformat(link["expires_at"]) > dt.datetime.now(dt.UTC)
    return client.get(link["url"])


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}, r.text
    if code:
        assert r.json()["error"]["code"] == code


def test_attendance_rate_by_school_matches_sql(login: Login, identities: Identities,
                                               staff: dict[str, list[dict[str, Any]]],
                                               seeded_url: str) -> None:
    counts = {r[0]: r[1:] for r in query(
        seeded_url, "SELECT school_id, count(*),"
        " count(*) FILTER (WHERE status IN ('present', 'tardy')),"
        " count(*) FILTER (WHERE status = 'absent_excused'),"
        " count(*) FILTER (WHERE status = 'absent_unexcused')"
        " FROM sis.attendance_daily WHERE date BETWEEN %s AND %s GROUP BY school_id",
        [APRIL["from"], APRIL["to"]])}
    schools = dict(query(seeded_url, "SELECT school_id, name FROM sis.schools"))
    got = rows_of(export(login(pick(identities, "district_admin")), "attendance", APRIL))
    assert [int(r["school_id"]) for r in got] == sorted(schools)
    assert any(counts.values())
    for r in got:
        n, attended, excused, unexcused = counts.get(int(r["school_id"]), (0, 0, 0, 0))
        assert r["school_name"] == schools[int(r["school_id"])]
        assert int(r["recorded"]) == n
        assert int(r["present"]) + int(r["tardy"]) == attended
        assert (int(r["absent_excused"]), int(r["absent_unexcused"])) == (excused, unexcused)
        expected = "" if n == 0 else str((Decimal(attended) / Decimal(n)).quantize(
            Decimal("0.0001"), ROUND_HALF_UP))
        assert r["attendance_rate"] == expected
    # A principal gets the same numbers for their own school, and only that school.
    principal = staff["principal"][-1]
    mine = rows_of(export(login(principal), "attendance",
                          {**APRIL, "school_id": principal["school_id"]}))
    assert mine == [r for r in got if int(r["school_id"]) == principal["school_id"]]


def _grade_expectations(url: str, school: int, session: int | None) -> dict[int, dict[str, int]]:
    """Per course of the school, straight from the tables (percent banded as the portal shows)."""
    out: dict[int, Counter[str]] = {}
    for course, sections in query(url, "SELECT course_id, count(*) FROM sis.sections"
                                  " WHERE school_id = %s GROUP BY 1", [school]):
        out[course] = Counter({"sections": sections})
    for course, grade, n in query(
            url, "SELECT s.course_id, t.grade, count(*) FROM sis.term_grades t"
            " JOIN sis.sections s USING (section_id) WHERE s.school_id = %s"
            " AND (%s::int IS NULL OR t.session_id = %s) GROUP BY 1, 2",
            [school, session, session]):
        out[course][f"term_{grade.lower()}"] += n
    for course, earned, possible in query(
            url, "SELECT se.course_id, sum(s.score::float8), sum(li.points_possible::float8)"
            " FROM sis.scores s JOIN sis.line_items li USING (line_item_id)"
            " JOIN sis.sections se ON se.section_id = li.section_id"
            " JOIN sis.enrollments e ON e.section_id = se.section_id"
            "  AND e.student_id = s.student_id"
            " JOIN sis.students st ON st.student_id = s.student_id"
            " WHERE se.school_id = %s AND st.enrollment_status = 'active'"
            "  AND s.score_status = 'fully graded' AND s.score IS NOT NULL"
            " GROUP BY se.course_id, se.section_id, s.student_id", [school]):
        if possible > 0:
            out[course]["graded_students"] += 1
            out[course][BANDS[letter_grade(round(100 * earned / possible, 1)) or "F"]] += 1
    return {course: dict(c) for course, c in out.items()}


def test_grade_distribution_by_course_matches_sql(login: Login, identities: Identities,
                                                  staff: dict[str, list[dict[str, Any]]],
                                                  seeded_url: str) -> None:
    # Term grades are not seeded: this file's teacher posts one section's, every letter used.
    teacher = next(t for t in (pick(identities, "teacher", i) for i in range(20))
                   if any(len(enrolled(seeded_url, s)) >= 6 for s in t["sections"]))
    section = next(s for s in teacher["sections"] if len(enrolled(seeded_url, s)) >= 6)
    [(quarter,)] = query(seeded_url, "SELECT session_id FROM sis.academic_sessions"
                         " WHERE title = 'Quarter 3'")
    students = enrolled(seeded_url, section)
    letters = [("A", "B", "C", "D", "F", "I")[i % 6] for i in range(len(students))]
    r = login(teacher).post(f"/api/gradebook/sections/{section}/term-grades", json={
        "session_id": quarter, "grades": [{"student_id": s, "grade": g}
                                          for s, g in zip(students, letters, strict=True)]})
    assert r.status_code == 200, r.text
    school = teacher["school_id"]
    [(course,)] = query(seeded_url, "SELECT course_id FROM sis.sections WHERE section_id = %s",
                        [section])
    admin = login(pick(identities, "district_admin"))
    columns = ["sections", "term_a", "term_b", "term_c", "term_d", "term_f", "term_i",
               "graded_students", *BANDS.values()]
    courses = dict(query(seeded_url, "SELECT course_id, title FROM sis.courses"))
    for session in (quarter, None):
        expected = _grade_expectations(seeded_url, school, session)
        got = rows_of(export(admin, "grade-distribution",
                             {"school_id": school, "session_id": session}))
        assert [int(r["course_id"]) for r in got] == sorted(expected)
        for r in got:
            assert r["course_title"] == courses[int(r["course_id"])]
            assert {c: int(r[c]) for c in columns} == {
                c: expected[int(r["course_id"])].get(c, 0) for c in columns}
        mine = next(r for r in got if int(r["course_id"]) == course)  # the posted grades
        assert all(int(mine[f"term_{g.lower()}"]) >= n for g, n in Counter(letters).items())
        assert sum(int(r["graded_students"]) for r in got) > 100
    # An assistant principal of that school sees the same report.
    deputy = next(a for a in staff["assistant_principal"] if a["school_id"] == school)
    same = rows_of(export(login(deputy), "grade-distribution", {"school_id": school}))
    assert same == got
    district_rows = rows_of(export(admin, "grade-distribution", {}))
    assert sum(int(r["sections"]) for r in district_rows) == query(
        seeded_url, "SELECT count(*) FROM sis.sections")[0][0]


def test_roster_export_matches_sql(login: Login, identities: Identities,
                                   seeded_url: str) -> None:
    clerk = pick(identities, "clerk")
    school = clerk["school_id"]
    r = export(login(clerk), "roster", {"school_id": school})
    assert r.headers["content-disposition"] == f'attachment; filename="roster-school-{school}.csv"'
    assert r.text.splitlines()[0].split(",") == ROSTER_HEADER
    got = rows_of(r)
    students = query(seeded_url, "SELECT st.student_id, st.student_number, st.last_name,"
                     " st.first_name, st.grade, st.school_id, sc.name FROM sis.students st"
                     " JOIN sis.schools sc USING (school_id) WHERE st.school_id = %s"
                     " AND st.enrollment_status = 'active'"
                     " ORDER BY st.last_name, st.first_name, st.student_id", [school])
    homerooms = {sid: (room, teacher) for sid, room, teacher in query(
        seeded_url, "SELECT e.student_id, s.room, t.first_name || ' ' || t.last_name"
        " FROM sis.enrollments e JOIN sis.sections s USING (section_id)"
        " JOIN sis.staff t ON t.staff_id = s.teacher_id"
        " WHERE s.class_type = 'homeroom' AND s.school_id = %s", [school])}
    emails: dict[int, set[str]] = {}
    denied: dict[int, set[str]] = {}
    for sid, email, access in query(
            seeded_url, "SELECT l.student_id, g.email, l.portal_access FROM sis.guardian_links l"
            " JOIN sis.guardians g USING (guardian_id) JOIN sis.students st USING (student_id)"
            " WHERE st.school_id = %s AND g.email IS NOT NULL", [school]):
        (emails if access else denied).setdefault(sid, set()).add(email)
    expected = [{
        "student_id": str(sid), "student_number": number, "last_name": last,
        "first_name": first, "grade": str(grade), "school_id": str(school_id),
        "school_name": school_name, "homeroom": homerooms.get(sid, ("", ""))[0],
        "homeroom_teacher": homerooms.get(sid, ("", ""))[1],
        "guardian_emails": ";".join(sorted(emails.get(sid, ())))}
        for sid, number, last, first, grade, school_id, school_name in students]
    assert got == expected
    assert any(r["homeroom"] for r in got) and any(r["guardian_emails"] for r in got)
    # A custody no-access guardian's email is not handed out with the child.
    hidden = [(sid, e) for sid, es in denied.items() for e in es - emails.get(sid, set())]
    assert hidden
    by_id = {r["student_id"]: r for r in got}
    for sid, email in hidden:
        if str(sid) in by_id:
            assert email not in by_id[str(sid)]["guardian_emails"].split(";")
    # The whole district: every active student once, ordered by school.
    everyone = rows_of(export(login(pick(identities, "district_admin")), "roster", {}))
    ids = [int(r["student_id"]) for r in everyone]
    assert ids == [row[0] for row in query(
        seeded_url, "SELECT student_id FROM sis.students WHERE enrollment_status = 'active'"
        " ORDER BY school_id, last_name, first_name, student_id")]
    assert [r for r in everyone if int(r["school_id"]) == school] == got


def test_roles_and_scopes(login: Login, identities: Identities,
                          staff: dict[str, list[dict[str, Any]]]) -> None:
    clerk = pick(identities, "clerk")
    principal = next(p for p in staff["principal"] if p["school_id"] != clerk["school_id"])
    own, other = principal["school_id"], clerk["school_id"]
    bodies = {"attendance": {**APRIL, "school_id": own},
              "grade-distribution": {"school_id": own}, "roster": {"school_id": own}}
    # Roles with no report at all, whatever the school.
    counselor = next(c for c in staff["counselor"] if c["school_id"] == own)
    for who in (pick(identities, "teacher"), counselor, pick(identities, "guardian"),
                pick(identities, "student")):
        client = login(who)
        for kind, body in bodies.items():
            assert_error(client.post(f"/api/reports/{kind}", json=body), 403, "forbidden")
    boss = login(principal)
    assert export(boss, "grade-distribution", {"school_id": own}).status_code == 200
    assert_error(boss.post("/api/reports/roster", json={"school_id": own}), 403)
    assert_error(boss.post("/api/reports/attendance", json={**APRIL, "school_id": other}), 404)
    assert_error(boss.post("/api/reports/grade-distribution", json={"school_id": other}), 404)
    assert_error(boss.post("/api/reports/attendance", json=APRIL), 403)  # whole district
    office = login(clerk)
    assert_error(office.post("/api/reports/roster", json={"school_id": own}), 404, "not_found")
    assert_error(office.post("/api/reports/roster", json={}), 403, "forbidden")
    assert_error(office.post("/api/reports/attendance",
                             json={**APRIL, "school_id": other}), 403)
    assert_error(office.post("/api/reports/grade-distribution", json={"school_id": other}), 403)
    admin = login(pick(identities, "district_admin"))
    for kind, body in bodies.items():
        assert_error(admin.post(f"/api/reports/{kind}",
                                json={**body, "school_id": 2_000_000_000}), 404, "not_found")


def test_invalid_requests(login: Login, identities: Identities) -> None:
    admin = login(pick(identities, "district_admin"))
    assert export(admin, "attendance", {"from": "2019-01-01", "to": "2020-01-01"}
                  ).status_code == 200  # 366 days, the most
    for body in ({"from": "2019-01-01", "to": "2020-01-02"}, {"from": "2019-05-01",
                 "to": "2019-04-01"}, {"from": "2019-04-01"}, {**APRIL, "school_id": 0},
                 {**APRIL, "extra": 1}, {"from": "2019-02-30", "to": "2019-03-01"},
                 {"from_": "2019-04-01", "to": "2019-04-30"}):
        assert_error(admin.post("/api/reports/attendance", json=body), 422, "invalid_request")
    assert_error(admin.post("/api/reports/grade-distribution", json={"session_id": 1}), 422,
                 "invalid_session")  # the school year: term grades are per period or semester
    assert_error(admin.post("/api/reports/roster", json={"school_id": "x"}), 422)
    assert_error(admin.post("/api/reports/roster", content=b"not json"), 422)


def _retoken(token: str, **claims: Any) -> str:
    """The token with its payload changed and its signature kept, as an attacker would try."""
    payload, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(claims)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


def test_links_are_bound_to_a_valid_signature_a_user_and_a_session(
        login: Login, client: httpx.Client, identities: Identities) -> None:
    clerk, admin = pick(identities, "clerk"), pick(identities, "district_admin")
    office = login(clerk)
    url = office.post("/api/reports/roster", json={"school_id": clerk["school_id"]}).json()["url"]
    token = url.rsplit("/", 1)[1]
    base = "/api/reports/downloads/"
    # Widening the scope or changing the owner in the payload breaks the signature.
    for forged in (_retoken(token, r="roster"), _retoken(token, u=admin["user_id"]),
                   _retoken(token, e=2_000_000_000), token[:-2] + ("AA" if token[-2:] != "AA"
                                                                  else "BB"),
                   token.split(".")[0] + ".", token + "x", "0", "%00"):
        assert_error(office.get(base + forged), 403, "invalid_link")
    # Another user's link, even one allowed the same data, and no session at all.
    other_admin = login(pick(identities, "district_admin", 1))
    assert pick(identities, "district_admin", 1)["user_id"] != admin["user_id"]
    link = login(admin).post("/api/reports/roster", json={}).json()["url"]
    assert_error(other_admin.get(link), 403, "link_other_user")
    assert_error(client.get(url), 401)
    assert_error(client.get(url, headers={"Authorization": "Bearer not-a-session"}), 401)
    assert rows_of(office.get(url))  # the owner, on their session, still may
    office.post("/api/auth/logout")
    assert_error(office.get(url), 401)


def test_exports_are_logged_and_counted(identities: Identities, seeded_url: str,
                                        base_url: str) -> None:
    """A server of its own (on the shared database) so the metrics are this test's alone."""
    metrics = Metrics()
    get = metrics.registry.get_sample_value
    admin, clerk = pick(identities, "district_admin", 2), pick(identities, "clerk", 1)
    family = next(g for g in (pick(identities, "guardian", i) for i in range(20)) if g["children"])

    def last_log(user_id: int) -> tuple[Any, ...]:
        rows = query(seeded_url, "SELECT role, kind, scope, rows, created_at FROM sis.export_log"
                     " WHERE user_id = %s ORDER BY id DESC LIMIT 1", [user_id])
        return rows[0] if rows else ()

    with serve(create_app(Settings(**TEST_SETTINGS), seeded_url, metrics)) as base, \
            ExitStack() as stack:
        boss, office, parent = (stack.enter_context(_client(base, who))
                                for who in (admin, clerk, family))
        before = last_log(admin["user_id"])
        link = boss.post("/api/reports/roster", json={}).json()["url"]
        assert get("sis_exports_total", {"kind": "roster", "role": "district_administrator"}
                   ) is None and last_log(admin["user_id"]) == before  # a link is not an export
        everyone = rows_of(boss.get(link))
        role, kind, scope, rows, at = last_log(admin["user_id"])
        assert (role, kind, scope, rows) == ("district_administrator", "roster", "district",
                                             len(everyone))
        assert abs((dt.datetime.now(dt.UTC) - at).total_seconds()) < 60
        labels = {"kind": "roster", "role": "district_administrator"}
        assert get("sis_exports_total", labels) == 1
        assert get("sis_export_rows_total", labels) == len(everyone) > 1000
        mine = rows_of(export(office, "roster", {"school_id": clerk["school_id"]}))
        assert last_log(clerk["user_id"])[:4] == (
            "clerk", "roster", f"school:{clerk['school_id']}", len(mine))
        assert get("sis_export_rows_total", {"kind": "roster", "role": "clerk"}) == len(mine)
        report = export(boss, "attendance", APRIL)
        assert last_log(admin["user_id"])[:4] == (
            "district_administrator", "attendance", "district", len(rows_of(report)))
        kid = family["children"][0]
        card = parent.get(parent.get(f"/api/portal/students/{kid}/report-card").json()["url"])
        assert card.status_code == 200 and card.content.startswith(b"%PDF-")
        assert last_log(family["user_id"])[:4] == (
            "guardian", "report-card", f"student:{kid}", 1)
        assert get("sis_exports_total", {"kind": "report-card", "role": "guardian"}) == 1
        # A refused download is neither logged nor counted; another server's link is refused
        # (each server signs with its own key unless one is configured).
        foreign = httpx.post(f"{base_url}/api/reports/roster", json={}, headers={
            "Authorization": boss.headers["Authorization"]}).json()["url"]
        logged = last_log(admin["user_id"])
        assert_error(boss.get(foreign), 403, "invalid_link")
        assert last_log(admin["user_id"]) == logged
        assert get("sis_exports_total", labels) == 1
        assert "sis_exports_total" in boss.get("/metrics").text


KEY = "a signing key for the tests, long enough to be a real one"
SHORT_SEED = 7


@pytest.fixture(scope="module")
def short_links(postgres_url: str) -> Iterator[tuple[str, str, Identities]]:
    """A database and server of their own: links live one second, signed with a known key."""
    url = new_database(postgres_url)
    seed_database(url, SeedRequest("small", 0.2, SHORT_SEED))
    pool = {persona: t.to_pylist() for persona, t in build_userpool(
        generate(load_profile("small"), 0.2, SHORT_SEED)).items()}
    settings = Settings(**{**TEST_SETTINGS, "signed_link_seconds": 1, "signing_key": KEY})
    with serve(create_app(settings, url)) as base:
        yield base, url, pool


@contextmanager
def _client(base: str, who: dict[str, Any]) -> Iterator[httpx.Client]:
    """A client logged in as `who` on the server at `base`."""
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/auth/login", json={"username": who["username"],
                                            "password": who["password"]})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['token']}"
        c.cookies.clear()
        yield c


def _wait_past(expires_at: str) -> None:
    time.sleep(max(0.0, dt.datetime.fromisoformat(expires_at).timestamp() - time.time()) + 0.2)


def test_an_expired_link_is_refused(short_links: tuple[str, str, Identities]) -> None:
    base, url, pool = short_links
    with _client(base, pool["district_admin"][0]) as boss:
        link = boss.post("/api/reports/roster", json={"school_id": 1}).json()
        assert rows_of(boss.get(link["url"]))  # fresh: served
        logged = query(url, "SELECT count(*) FROM sis.export_log")[0][0]
        _wait_past(link["expires_at"])
        assert_error(boss.get(link["url"]), 403, "link_expired")
        assert query(url, "SELECT count(*) FROM sis.export_log")[0][0] == logged
    parent = next(g for g in pool["guardian"] if g["children"])
    with _client(base, parent) as family:
        card = family.get(f"/api/portal/students/{parent['children'][0]}/report-card").json()
        _wait_past(card["expires_at"])
        assert_error(family.get(card["url"]), 403, "link_expired")


def test_the_configured_key_signs_and_a_signature_is_not_authorization(
        short_links: tuple[str, str, Identities]) -> None:
    base, _, pool = short_links
    admin, clerk = pool["district_admin"][0], pool["clerk"][0]
    later = int(time.time()) + 60
    path = "/api/reports/downloads/"
    kid = next(g for g in pool["guardian"] if g["children"])["children"][0]
    with _client(base, admin) as boss, _client(base, clerk) as office:
        made = signing.sign(KEY.encode(), admin["user_id"], "roster?school=1", later)
        assert rows_of(boss.get(path + made))
        wrong_key = signing.sign(b"another key", admin["user_id"], "roster?school=1", later)
        assert_error(boss.get(path + wrong_key), 403, "invalid_link")
        # Validly signed (as if the key had leaked), yet still checked against the role.
        other = 1 if clerk["school_id"] != 1 else 2
        for resource, status in (("roster", 403), (f"roster?school={other}", 404),
                                 (f"attendance?school={clerk['school_id']}&start=2019-04-01"
                                  "&end=2019-04-30", 403),
                                 (f"report-card?student={kid}", 403),
                                 ("payroll", 403), ("roster?school=x", 403)):
            token = signing.sign(KEY.encode(), clerk["user_id"], resource, later)
            assert_error(office.get(path + token), status)
        mine = signing.sign(KEY.encode(), clerk["user_id"], f"roster?school={clerk['school_id']}",
                            later)
        assert rows_of(office.get(path + mine))


def test_exported_text_cannot_run_as_a_spreadsheet_formula(
        short_links: tuple[str, str, Identities]) -> None:
    base, url, pool = short_links
    [(sid, school)] = query(url, "UPDATE sis.students SET last_name = '=HYPERLINK(\"x\")'"
                            " WHERE student_id = (SELECT min(student_id) FROM sis.students"
                            " WHERE enrollment_status = 'active') RETURNING student_id, school_id")
    with _client(base, pool["district_admin"][1 % len(pool["district_admin"])]) as boss:
        link = boss.post("/api/reports/roster", json={"school_id": school}).json()["url"]
        row = next(r for r in rows_of(boss.get(link)) if r["student_id"] == str(sid))
    assert row["last_name"] == "'=HYPERLINK(\"x\")"


def test_sign_and_verify() -> None:
    key, now = b"k" * 32, 1_000_000.0
    token = signing.sign(key, 7, "roster?school=3", 1_000_060)
    assert signing.verify(key, token, 7, now=now) == "roster?school=3"
    cases = {"bad_signature": (b"x" * 32, token, 7, now),
             "expired": (key, token, 7, 1_000_060.0),
             "wrong_user": (key, token, 8, now),
             "malformed": (key, token.replace(".", "!."), 7, now)}
    for reason, (k, t, user, at) in cases.items():
        with pytest.raises(signing.LinkError) as caught:
            signing.verify(k, t, user, now=at)
        assert caught.value.reason == reason
    # Every single-character change is refused (no lenient decoding of altered text).
    for i in range(len(token)):
        for ch in "Ab_-.=":
            altered = token[:i] + ch + token[i + 1:]
            if altered != token:
                with pytest.raises(signing.LinkError):
                    signing.verify(key, altered, 7, now=now)
    assert signing.resource("attendance", school=None, start=dt.date(2019, 4, 1)) == (
        "attendance?start=2019-04-01")
    assert signing.parse_resource("roster?school=3") == ("roster", {"school": "3"})
