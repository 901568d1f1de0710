"""sim: registrar search, student record, enroll, transfer, withdraw, schedule change — against a
real server, with every answer and every write checked in the database.

Identities come from the end of each persona's list at offsets 60..79 (the short clerk and admin
lists wrap around, skipping clerk 0, which test_auth deactivates). Students this file changes are
picked in schools no other test's teachers teach in, ordered by student_id DESC with OFFSET 100
or more, and never one that another test's teacher, guardian, student or clerk refers to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from support.sisdb import Login

from fake_data.district import District

Identities = dict[str, list[dict[str, Any]]]
OFFSETS = range(60, 80)
SEARCH_FIELDS = ("student_id", "student_number", "first_name", "last_name", "grade", "school_id",
                 "enrollment_status")


def from_end(pool: list[dict[str, Any]], offset: int) -> dict[str, Any]:
    return pool[len(pool) - 1 - offset % len(pool)]


def query(url: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def execute(url: str, sql: str, params: Any = None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)


def error_code(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"error"}, body  # an error carries no data
    return str(body["error"]["code"])


@pytest.fixture(scope="module")
def others(identities: Identities) -> dict[str, set[int]]:
    """What other test files use: their teachers, and every student their identities touch."""
    students: set[int] = set()
    teachers: set[int] = set()
    for persona in ("teacher", "guardian", "student"):
        pool = identities[persona]
        for row in pool[:10] + pool[-60:-10]:
            for key in ("students", "children", "no_access_children", "forbidden_students"):
                students.update(row.get(key) or ())
            if persona == "student":
                students.add(row["student_id"])
            if persona == "teacher":
                teachers.add(row["staff_id"])
    for row in identities["clerk"]:
        students.update(row["forbidden_students"])
    return {"students": students, "teachers": teachers}


@pytest.fixture(scope="module")
def safe_schools(seeded_url: str, others: dict[str, set[int]]) -> set[int]:
    """Schools where no other test's teacher teaches: sections there may gain or lose students."""
    rows = query(seeded_url, "SELECT school_id, bool_or(teacher_id = ANY(%s)) AS used"
                 " FROM sis.sections GROUP BY school_id", [list(others["teachers"])])
    return {r["school_id"] for r in rows if not r["used"]}


@pytest.fixture(scope="module")
def clerks(identities: Identities, safe_schools: set[int]) -> list[dict[str, Any]]:
    """Two clerks of different safe schools (never clerk 0: test_auth deactivates it)."""
    pool, picked = identities["clerk"], []
    for offset in OFFSETS:
        c = from_end(pool, offset)
        if c is not pool[0] and c["school_id"] in safe_schools and c not in picked:
            picked.append(c)
    assert len(picked) >= 2
    return picked


@pytest.fixture(scope="module")
def admin(identities: Identities) -> dict[str, Any]:
    return from_end(identities["district_admin"], 60)


_TAKEN: set[int] = set()


@pytest.fixture
def spare(seeded_url: str, others: dict[str, set[int]]) -> Callable[..., int]:
    """A student nobody else uses, never handed out twice: (school, grade) -> student_id."""
    def pick(school: int, grade: int | None = None) -> int:
        rows = query(seeded_url,
                     "WITH pool AS (SELECT * FROM sis.students ORDER BY student_id DESC"
                     "   OFFSET 100)"
                     " SELECT student_id FROM pool WHERE school_id = %(s)s"
                     " AND (%(g)s::int IS NULL OR grade = %(g)s) AND enrollment_status = 'active'"
                     " ORDER BY student_id DESC",
                     {"s": school, "g": grade})
        for r in rows:
            if r["student_id"] not in others["students"] and r["student_id"] not in _TAKEN:
                _TAKEN.add(r["student_id"])
                return int(r["student_id"])
        raise AssertionError(f"no spare student in school {school} grade {grade}")
    return pick


def staff_login(district: District, role: str, school_id: int) -> dict[str, Any]:
    """Login of the first active `role` staff member of a school (not in the user pool)."""
    staff = [s for s in district["staff"].to_pylist()
             if s["role"] == role and s["school_id"] == school_id and s["status"] == "active"]
    accounts = {(a["person_type"], a["person_id"]): a for a in district["accounts"].to_pylist()}
    account = accounts[("staff", staff[0]["staff_id"])]
    return {"username": account["username"], "password": account["password"]}


def db_sections(url: str, student_id: int) -> dict[int, dict[str, Any]]:
    rows = query(url, "SELECT s.* FROM sis.enrollments e JOIN sis.sections s USING (section_id)"
                 " WHERE e.student_id = %s", [student_id])
    return {r["section_id"]: r for r in rows}


def counts(url: str, section_ids: Any) -> dict[int, int]:
    rows = query(url, "SELECT section_id, enrolled FROM sis.sections WHERE section_id = ANY(%s)",
                 [list(section_ids)])
    return {r["section_id"]: r["enrolled"] for r in rows}


def assert_counts_consistent(url: str, section_ids: Any) -> None:
    drift = query(url, "SELECT s.section_id, s.enrolled, (SELECT count(*) FROM sis.enrollments e"
                  " WHERE e.section_id = s.section_id) AS actual FROM sis.sections s"
                  " WHERE s.section_id = ANY(%s)", [list(section_ids)])
    assert all(r["enrolled"] == r["actual"] for r in drift), drift


def audit(url: str, student_id: int, action: str) -> list[dict[str, Any]]:
    return query(url, "SELECT actor, detail FROM sis.sim_audit WHERE student_id = %s"
                 " AND action = %s ORDER BY id", [student_id, action])


@pytest.fixture
def enrolled(seeded_url: str) -> Iterator[list[int]]:
    """Ids of students a test enrolls; removed afterwards (test_seed counts the seeded ones)."""
    ids: list[int] = []
    yield ids
    with psycopg.connect(seeded_url) as conn:  # one transaction
        conn.execute("WITH gone AS (DELETE FROM sis.enrollments WHERE student_id = ANY(%s)"
                     "   RETURNING section_id)"
                     " UPDATE sis.sections s SET enrolled = s.enrolled - g.n FROM (SELECT"
                     "   section_id, count(*) AS n FROM gone GROUP BY section_id) g"
                     " WHERE s.section_id = g.section_id", [ids])
        conn.execute("DELETE FROM sis.households h USING sis.students st"
                     " WHERE st.student_id = ANY(%(ids)s) AND h.household_id = st.household_id"
                     " AND NOT EXISTS (SELECT 1 FROM sis.students o WHERE o.household_id ="
                     "   h.household_id AND o.student_id <> ALL(%(ids)s))", {"ids": ids})
        for table in ("guardian_links", "sim_audit", "students"):
            conn.execute(f"DELETE FROM sis.{table} WHERE student_id = ANY(%s)", [ids])


@pytest.fixture
def clerk(login: Login, clerks: list[dict[str, Any]]) -> Iterator[httpx.Client]:
    yield login(clerks[0])


# ---------------------------------------------------------------------------------- reads


def test_search_by_last_name_prefix(login: Login, clerks: list[dict[str, Any]],
                                    admin: dict[str, Any], seeded_url: str) -> None:
    school = clerks[0]["school_id"]
    name = query(seeded_url, "SELECT last_name FROM sis.students WHERE school_id = %s"
                 " ORDER BY student_id DESC OFFSET 150 LIMIT 1", [school])[0]["last_name"]
    prefix = name[:2].upper()  # case-insensitive
    expected_sql = ("SELECT " + ", ".join(SEARCH_FIELDS) + " FROM sis.students"
                    " WHERE lower(last_name) LIKE %s {} ORDER BY lower(last_name), first_name,"
                    " student_id LIMIT %s")
    like = name[:2].lower() + "%"
    mine = query(seeded_url, expected_sql.format("AND school_id = %s"), [like, school, 25])
    r = login(clerks[0]).get("/api/sim/students", params={"q": prefix})
    assert r.status_code == 200, r.text
    assert r.json()["students"] == mine and mine
    assert all(s["school_id"] == school for s in r.json()["students"])
    everyone = query(seeded_url, expected_sql.format(""), [like, 100])
    r = login(admin).get("/api/sim/students", params={"q": prefix, "limit": 100})
    assert r.status_code == 200 and r.json()["students"] == everyone
    assert len({s["school_id"] for s in everyone}) > 1  # an administrator sees every school
    r = login(admin).get("/api/sim/students", params={"q": prefix, "limit": 3})
    assert r.json()["students"] == everyone[:3]
    # The input is a prefix, not a pattern: LIKE's wildcards match only themselves.
    for q in ("%%", "_" + name[1], name[0] + "%", "\\\\"):
        r = login(admin).get("/api/sim/students", params={"q": q})
        assert r.status_code == 200 and r.json()["students"] == [], q


def test_search_by_number_and_id(clerk: httpx.Client, clerks: list[dict[str, Any]],
                                 seeded_url: str) -> None:
    row = query(seeded_url, "SELECT " + ", ".join(SEARCH_FIELDS) + " FROM sis.students"
                " WHERE school_id = %s ORDER BY student_id DESC OFFSET 120 LIMIT 1",
                [clerks[0]["school_id"]])[0]
    by_number = clerk.get("/api/sim/students", params={"q": row["student_number"]})
    assert by_number.status_code == 200 and by_number.json()["students"] == [row]
    by_id = clerk.get("/api/sim/students", params={"q": f" {row['student_id']} "})
    assert by_id.status_code == 200 and by_id.json()["students"] == [row]
    for odd in ("9" * 30, "²³", "١٢"):  # too large for an id; digits that are not ASCII
        r = clerk.get("/api/sim/students", params={"q": odd})
        assert r.status_code == 200 and r.json()["students"] == [], odd


@pytest.mark.parametrize("params", [{"q": "a"}, {"q": " b "}, {}, {"q": "ab", "limit": 0},
                                    {"q": "ab", "limit": 101}, {"q": "x" * 65}])
def test_search_rejects_bad_queries(clerk: httpx.Client, params: dict[str, Any]) -> None:
    r = clerk.get("/api/sim/students", params=params)
    assert r.status_code == 422 and error_code(r) == "invalid_request"


def test_clerk_sees_only_their_school(login: Login, clerks: list[dict[str, Any]],
                                     admin: dict[str, Any], seeded_url: str) -> None:
    me = clerks[0]
    clerk = login(me)
    outsider = me["forbidden_students"][0]
    row = query(seeded_url, "SELECT student_number, last_name, school_id FROM sis.students"
                " WHERE student_id = %s", [outsider])[0]
    assert row["school_id"] != me["school_id"]
    r = clerk.get("/api/sim/students", params={"q": row["student_number"]})
    assert r.status_code == 200 and r.json()["students"] == []
    r = clerk.get("/api/sim/students", params={"q": row["last_name"], "limit": 100})
    assert outsider not in {s["student_id"] for s in r.json()["students"]}
    r = clerk.get(f"/api/sim/students/{outsider}")
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert login(admin).get(f"/api/sim/students/{outsider}").status_code == 200
    for bad in (0, 2_147_483_648):
        assert clerk.get(f"/api/sim/students/{bad}").status_code == 422


def test_student_record_matches_the_database(clerk: httpx.Client, clerks: list[dict[str, Any]],
                                             seeded_url: str) -> None:
    # A student with a no-access (custody) link, so portal_access differs between guardians.
    sid = query(seeded_url, "SELECT st.student_id FROM sis.students st JOIN sis.guardian_links l"
                " USING (student_id) WHERE st.school_id = %s AND NOT l.portal_access"
                " ORDER BY st.student_id LIMIT 1", [clerks[0]["school_id"]])[0]["student_id"]
    r = clerk.get(f"/api/sim/students/{sid}")
    assert r.status_code == 200, r.text
    rec = r.json()
    st = query(seeded_url, "SELECT * FROM sis.students WHERE student_id = %s", [sid])[0]
    for key in ("student_number", "first_name", "last_name", "grade", "school_id", "sex", "race",
                "iep", "english_learner", "enrollment_status"):
        assert rec[key] == st[key], key
    assert rec["birth_date"] == st["birth_date"].isoformat()
    hh = query(seeded_url, "SELECT * FROM sis.households WHERE household_id = %s",
               [st["household_id"]])[0]
    assert rec["household"] == hh
    links = query(seeded_url, "SELECT guardian_id, portal_access, is_primary FROM"
                  " sis.guardian_links WHERE student_id = %s", [sid])
    assert {(g["guardian_id"], g["portal_access"], g["is_primary"]) for g in rec["guardians"]} \
        == {(x["guardian_id"], x["portal_access"], x["is_primary"]) for x in links}
    assert any(not g["portal_access"] for g in rec["guardians"])
    sections = db_sections(seeded_url, sid)
    assert {s["section_id"] for s in rec["sections"]} == set(sections) and sections
    assert all(s["period"] == sections[s["section_id"]]["period"] for s in rec["sections"])


def test_principals_read_their_school_only(login: Login, district: District,
                                           clerks: list[dict[str, Any]], seeded_url: str) -> None:
    school, other = clerks[0]["school_id"], clerks[1]["school_id"]
    principal = login(staff_login(district, "principal", school))
    ap = login(staff_login(district, "assistant_principal", school))
    mine = query(seeded_url, "SELECT student_id, student_number FROM sis.students"
                 " WHERE school_id = %s ORDER BY student_id LIMIT 1", [school])[0]
    theirs = query(seeded_url, "SELECT student_id FROM sis.students WHERE school_id = %s"
                   " ORDER BY student_id LIMIT 1", [other])[0]["student_id"]
    for reader in (principal, ap):
        r = reader.get("/api/sim/students", params={"q": mine["student_number"]})
        assert r.status_code == 200
        assert [s["student_id"] for s in r.json()["students"]] == [mine["student_id"]]
        assert reader.get(f"/api/sim/students/{mine['student_id']}").status_code == 200
        assert reader.get(f"/api/sim/students/{theirs}").status_code == 404
        # Reading is all they may do.
        w = reader.post(f"/api/sim/students/{mine['student_id']}/withdraw",
                        json={"date": "2019-04-23", "reason": "moved"})
        assert w.status_code == 403 and error_code(w) == "forbidden"


def test_teachers_guardians_and_students_are_refused(login: Login, client: httpx.Client,
                                                     identities: Identities) -> None:
    callers = [login(from_end(identities[p], 61)) for p in ("teacher", "guardian", "student")]
    target = from_end(identities["student"], 61)["student_id"]  # visible to that student
    calls = [
        ("GET", "/api/sim/students?q=smith", None),
        ("GET", f"/api/sim/students/{target}", None),
        ("POST", "/api/sim/students", {
            "first_name": "Ann", "last_name": "Lee", "birth_date": "2010-03-01", "grade": 3,
            "sex": "female", "school_id": 1}),
        ("POST", f"/api/sim/students/{target}/transfer", {"to_school_id": 2}),
        ("POST", f"/api/sim/students/{target}/withdraw", {"date": "2019-04-23", "reason": "x"}),
        ("POST", f"/api/sim/students/{target}/schedule-change",
         {"drop_section_id": 1, "add_section_id": 2}),
    ]
    for c in callers:
        for method, url, body in calls:
            r = c.request(method, url, json=body)
            assert r.status_code == 403 and error_code(r) == "forbidden", (method, url, r.text)
    for method, url, body in calls:
        assert client.request(method, url, json=body).status_code == 401


# ---------------------------------------------------------------------------------- enroll


def new_student(school_id: int, grade: int, **extra: Any) -> dict[str, Any]:
    born = dt.date(2018 - 5 - grade, 2, 14)  # grade + 5 years old on 2018-09-01
    return {"first_name": "Zebulon", "last_name": f"Quartermaine-{school_id}{grade}",
            "birth_date": born.isoformat(), "grade": grade, "sex": "male",
            "school_id": school_id, **extra}


def test_enroll_creates_and_schedules_a_student(clerk: httpx.Client, clerks: list[dict[str, Any]],
                                                enrolled: list[int], seeded_url: str) -> None:
    school, grade = clerks[0]["school_id"], 7  # departmentalized: a section per subject
    before = query(seeded_url, "SELECT section_id, team, period, enrolled, capacity"
                   " FROM sis.sections WHERE school_id = %s AND grade = %s", [school, grade])
    teams: dict[int, int] = {}
    for s in before:
        teams[s["team"]] = teams.get(s["team"], 0) + s["enrolled"]
    emptiest = min(teams, key=lambda t: (teams[t], t))
    body = new_student(school, grade, address={"street": "1 Elm St", "city": "Springfield"})
    r = clerk.post("/api/sim/students", json=body)
    assert r.status_code == 201, r.text
    rec = r.json()
    sid = rec["student_id"]
    enrolled.append(sid)
    st = query(seeded_url, "SELECT * FROM sis.students WHERE student_id = %s", [sid])[0]
    assert (st["first_name"], st["last_name"], st["grade"], st["school_id"], st["sex"]) == (
        body["first_name"], body["last_name"], grade, school, "male")
    assert st["birth_date"].isoformat() == body["birth_date"]
    assert st["enrollment_status"] == "active" and rec["student_number"] == st["student_number"]
    assert sid == query(seeded_url, "SELECT max(student_id) AS m FROM sis.students")[0]["m"]
    hh = query(seeded_url, "SELECT * FROM sis.households WHERE household_id = %s",
               [st["household_id"]])[0]
    assert (hh["street"], hh["city"]) == ("1 Elm St", "Springfield")
    assert rec["household"]["household_id"] == hh["household_id"] and rec["guardians"] == []
    got = db_sections(seeded_url, sid)
    assert {s["team"] for s in got.values()} == {emptiest}
    assert set(got) == {s["section_id"] for s in before if s["team"] == emptiest}
    periods = [s["period"] for s in got.values()]
    assert len(periods) == len(set(periods)) and 0 not in periods  # no period conflict
    assert {s["section_id"] for s in rec["sections"]} == set(got)
    after = counts(seeded_url, [s["section_id"] for s in before])
    for s in before:
        assert after[s["section_id"]] == s["enrolled"] + (s["section_id"] in got)
    assert_counts_consistent(seeded_url, after)
    assert audit(seeded_url, sid, "enroll")[0]["detail"]["sections"] == sorted(got)
    found = clerk.get("/api/sim/students", params={"q": body["last_name"]}).json()["students"]
    assert [s["student_id"] for s in found] == [sid]


def test_enroll_into_an_existing_household(login: Login, admin: dict[str, Any],
                                           clerks: list[dict[str, Any]], spare: Callable[..., int],
                                           enrolled: list[int], seeded_url: str) -> None:
    school = clerks[1]["school_id"]
    sibling = spare(school)
    household = query(seeded_url, "SELECT household_id FROM sis.students WHERE student_id = %s",
                      [sibling])[0]["household_id"]
    r = login(admin).post("/api/sim/students",
                          json=new_student(school, 2, household_id=household, sex="female"))
    assert r.status_code == 201, r.text
    rec = r.json()
    enrolled.append(rec["student_id"])
    assert rec["household"]["household_id"] == household
    guardians = query(seeded_url, "SELECT guardian_id FROM sis.guardians WHERE household_id = %s",
                      [household])
    assert {g["guardian_id"] for g in rec["guardians"]} == {g["guardian_id"] for g in guardians}
    # A guardian under a no-access order for any child of the household gets none to this one.
    allowed = {x["guardian_id"]: x["ok"] for x in query(
        seeded_url, "SELECT guardian_id, bool_and(portal_access) AS ok FROM sis.guardian_links"
        " WHERE student_id <> %s AND guardian_id = ANY(%s) GROUP BY guardian_id",
        [rec["student_id"], [g["guardian_id"] for g in guardians]])}
    assert {g["guardian_id"]: g["portal_access"] for g in rec["guardians"]} == allowed
    assert len(rec["sections"]) == 1 and rec["sections"][0]["class_type"] == "homeroom"


def test_clerk_enrolls_only_into_their_school(clerk: httpx.Client,
                                              clerks: list[dict[str, Any]],
                                              seeded_url: str) -> None:
    body = new_student(clerks[1]["school_id"], 3, last_name="Nowhere-Elsewhere")
    r = clerk.post("/api/sim/students", json=body)
    assert r.status_code == 403 and error_code(r) == "forbidden"
    assert not query(seeded_url, "SELECT 1 FROM sis.students WHERE last_name = %s",
                     [body["last_name"]])


@pytest.mark.parametrize("change", [
    {"birth_date": "2016-01-01"},  # three years old in grade 3
    {"birth_date": "2005-01-01"},  # thirteen
    {"grade": 13}, {"grade": -2}, {"sex": "x"}, {"birth_date": "2010-02-30"},
    {"school_id": 9999},  # no such school
    {"grade": 10, "birth_date": "2003-02-14"},  # elementary schools stop at grade 8
    {"household_id": 1, "address": {"street": "x"}},
    {"first_name": ""}, {"nickname": "Zeb"}, {"school_id": None},
])
def test_enroll_rejects_bad_bodies(login: Login, admin: dict[str, Any],
                                   clerks: list[dict[str, Any]], seeded_url: str,
                                   change: dict[str, Any]) -> None:
    body = {**new_student(clerks[0]["school_id"], 3), "last_name": "Rejected-Applicant", **change}
    r = login(admin).post("/api/sim/students", json=body)
    assert r.status_code == 422, r.text
    assert error_code(r) == "invalid_request"
    assert not query(seeded_url, "SELECT 1 FROM sis.students WHERE last_name = %s",
                     ["Rejected-Applicant"])


def test_enroll_never_reveals_another_schools_family(login: Login, admin: dict[str, Any],
                                                     clerks: list[dict[str, Any]],
                                                     seeded_url: str) -> None:
    clerk = clerks[0]
    foreign = query(seeded_url, "SELECT household_id FROM sis.households h WHERE NOT EXISTS"
                    " (SELECT 1 FROM sis.students s WHERE s.household_id = h.household_id"
                    "  AND s.school_id = %s) ORDER BY household_id LIMIT 1",
                    [clerk["school_id"]])[0]["household_id"]
    body = {**new_student(clerk["school_id"], 3, household_id=foreign),
            "last_name": "Household-Probe"}
    r = login(clerk).post("/api/sim/students", json=body)
    assert r.status_code == 404 and set(r.json()) == {"error"}
    missing = login(admin).post("/api/sim/students", json={**body, "household_id": 2_000_000_000})
    assert missing.status_code == 404
    assert not query(seeded_url, "SELECT 1 FROM sis.students WHERE last_name = %s",
                     ["Household-Probe"])


# ---------------------------------------------------------------------------------- transfer


def test_transfer_moves_the_student_and_the_counts(login: Login, clerks: list[dict[str, Any]],
                                                   spare: Callable[..., int],
                                                   seeded_url: str) -> None:
    sending, receiving = clerks[0], clerks[1]
    sid = spare(sending["school_id"], 6)
    old = db_sections(seeded_url, sid)
    new_grade = query(seeded_url, "SELECT section_id, enrolled FROM sis.sections"
                      " WHERE school_id = %s AND grade = 6", [receiving["school_id"]])
    before = {**counts(seeded_url, old), **{s["section_id"]: s["enrolled"] for s in new_grade}}
    clerk = login(sending)
    r = clerk.post(f"/api/sim/students/{sid}/transfer",
                   json={"to_school_id": receiving["school_id"]})
    assert r.status_code == 200, r.text
    assert r.json()["to_school_id"] == receiving["school_id"]
    st = query(seeded_url, "SELECT school_id, grade, enrollment_status FROM sis.students"
               " WHERE student_id = %s", [sid])[0]
    assert st == {"school_id": receiving["school_id"], "grade": 6, "enrollment_status": "active"}
    now = db_sections(seeded_url, sid)
    assert not set(now) & set(old) and now and set(now) == set(r.json()["sections"])
    assert {s["school_id"] for s in now.values()} == {receiving["school_id"]}
    assert {s["grade"] for s in now.values()} == {6} and len({s["team"] for s in now.values()}) == 1
    assert len({s["period"] for s in now.values()}) == len(now)
    assert {e["school_id"] for e in query(seeded_url, "SELECT school_id FROM sis.enrollments"
                                          " WHERE student_id = %s", [sid])} == {st["school_id"]}
    after = counts(seeded_url, before)
    for section, n in before.items():
        assert after[section] == n - (section in old) + (section in now), section
    assert_counts_consistent(seeded_url, before)
    detail = audit(seeded_url, sid, "transfer")[0]["detail"]
    assert detail["from_school_id"] == sending["school_id"]
    assert detail["dropped"] == sorted(old)
    # The sending school no longer sees the student; the receiving one does.
    assert clerk.get(f"/api/sim/students/{sid}").status_code == 404
    rec = login(receiving).get(f"/api/sim/students/{sid}")
    assert rec.status_code == 200 and {s["section_id"] for s in rec.json()["sections"]} == set(now)


def test_transfer_refusals(login: Login, clerks: list[dict[str, Any]], admin: dict[str, Any],
                           spare: Callable[..., int], seeded_url: str) -> None:
    sid = spare(clerks[0]["school_id"], 4)
    high = query(seeded_url, "SELECT school_id FROM sis.schools WHERE grade_low >= 9"
                 " LIMIT 1")[0]["school_id"]
    other = login(clerks[1])  # the receiving school's clerk cannot pull a student
    r = other.post(f"/api/sim/students/{sid}/transfer",
                   json={"to_school_id": clerks[1]["school_id"]})
    assert r.status_code == 404 and error_code(r) == "not_found"
    a = login(admin)
    for body, status in (({"to_school_id": 9999}, 422), ({"to_school_id": high}, 422),
                         ({"to_school_id": 0}, 422), ({}, 422), ({"school": 2}, 422),
                         ({"to_school_id": clerks[0]["school_id"]}, 409)):
        r = a.post(f"/api/sim/students/{sid}/transfer", json=body)
        assert r.status_code == status, (body, r.text)
        assert "error" in r.json()
    assert query(seeded_url, "SELECT school_id FROM sis.students WHERE student_id = %s",
                 [sid])[0]["school_id"] == clerks[0]["school_id"]
    assert not audit(seeded_url, sid, "transfer")
    r = a.post("/api/sim/students/2000000000/transfer", json={"to_school_id": 1})
    assert r.status_code == 404


# ---------------------------------------------------------------------------------- withdraw


def test_withdraw_then_withdraw_again(clerk: httpx.Client, clerks: list[dict[str, Any]],
                                      login: Login, spare: Callable[..., int],
                                      seeded_url: str) -> None:
    sid = spare(clerks[0]["school_id"], 5)
    old = db_sections(seeded_url, sid)
    before = counts(seeded_url, old)
    for bad in ({"date": "2019-04-23"}, {"date": "soon", "reason": "moved"},
                {"date": "2019-04-23", "reason": ""}, {"date": "2019-04-23", "reason": "x" * 201},
                {"date": "0001-01-01", "reason": "moved"}, {"date": "2019-04-23", "reason": 7}):
        r = clerk.post(f"/api/sim/students/{sid}/withdraw", json=bad)
        assert r.status_code == 422 and error_code(r) == "invalid_request", bad
    r = login(clerks[1]).post(f"/api/sim/students/{sid}/withdraw",
                              json={"date": "2019-04-23", "reason": "moved"})
    assert r.status_code == 404 and error_code(r) == "not_found"
    r = clerk.post(f"/api/sim/students/{sid}/withdraw",
                   json={"date": "2019-04-23", "reason": "moved out of district"})
    assert r.status_code == 200, r.text
    assert r.json()["enrollment_status"] == "withdrawn" and r.json()["sections"] == []
    st = query(seeded_url, "SELECT enrollment_status, withdrawn_on FROM sis.students"
               " WHERE student_id = %s", [sid])[0]
    assert st == {"enrollment_status": "withdrawn", "withdrawn_on": dt.date(2019, 4, 23)}
    assert db_sections(seeded_url, sid) == {}
    assert counts(seeded_url, old) == {k: v - 1 for k, v in before.items()}
    assert_counts_consistent(seeded_url, old)
    rows = audit(seeded_url, sid, "withdraw")
    assert len(rows) == 1 and rows[0]["detail"]["reason"] == "moved out of district"
    again = clerk.post(f"/api/sim/students/{sid}/withdraw",
                       json={"date": "2019-04-24", "reason": "again"})
    assert again.status_code == 409 and error_code(again) == "withdrawn"
    assert len(audit(seeded_url, sid, "withdraw")) == 1
    # Still on file and searchable, as withdrawn.
    found = clerk.get("/api/sim/students", params={"q": str(sid)}).json()["students"]
    assert [(s["student_id"], s["enrollment_status"]) for s in found] == [(sid, "withdrawn")]


# ---------------------------------------------------------------------------------- schedule


def test_schedule_change(clerk: httpx.Client, clerks: list[dict[str, Any]],
                         spare: Callable[..., int], seeded_url: str) -> None:
    school = clerks[0]["school_id"]
    sid = spare(school, 8)
    mine = db_sections(seeded_url, sid)
    grade = query(seeded_url, "SELECT * FROM sis.sections WHERE school_id = %s AND grade = 8",
                  [school])
    drop = next(s for s in mine.values() if s["subject"] == "Mathematics")
    busy = {s["period"] for s in mine.values() if s["section_id"] != drop["section_id"]}
    candidates = [s for s in grade if s["section_id"] not in mine]
    fits = [s for s in candidates if s["period"] not in busy]
    clash = [s for s in candidates if s["period"] in busy]
    assert fits and clash
    add, full = fits[0], fits[-1]
    url = f"/api/sim/students/{sid}/schedule-change"

    r = clerk.post(url, json={"drop_section_id": drop["section_id"],
                              "add_section_id": clash[0]["section_id"]})
    assert r.status_code == 409 and error_code(r) == "period_conflict"
    assert "period conflict" in r.json()["error"]["message"]

    execute(seeded_url, "UPDATE sis.sections SET enrolled = capacity WHERE section_id = %s",
            [full["section_id"]])
    try:
        r = clerk.post(url, json={"drop_section_id": drop["section_id"],
                                  "add_section_id": full["section_id"]})
        assert r.status_code == 409 and error_code(r) == "section_full"
    finally:
        execute(seeded_url, "UPDATE sis.sections SET enrolled = %s WHERE section_id = %s",
                [full["enrolled"], full["section_id"]])
    other_school = query(seeded_url, "SELECT section_id FROM sis.sections WHERE school_id <> %s"
                         " AND grade = 8 LIMIT 1", [school])[0]["section_id"]
    other_grade = next(s for s in query(
        seeded_url, "SELECT section_id FROM sis.sections WHERE school_id = %s AND grade = 7",
        [school]))["section_id"]
    not_mine = next(s["section_id"] for s in candidates if s is not add)
    for body, status, code in (
            ({"drop_section_id": drop["section_id"], "add_section_id": other_school}, 422,
             "invalid_request"),
            ({"drop_section_id": drop["section_id"], "add_section_id": other_grade}, 422,
             "invalid_request"),
            ({"drop_section_id": drop["section_id"], "add_section_id": drop["section_id"]}, 422,
             "invalid_request"),
            ({"drop_section_id": not_mine, "add_section_id": add["section_id"]}, 409,
             "not_enrolled"),
            ({"drop_section_id": drop["section_id"], "add_section_id": next(iter(
                s for s in mine if s != drop["section_id"]))}, 409, "already_enrolled"),
            ({"drop_section_id": drop["section_id"]}, 422, "invalid_request")):
        r = clerk.post(url, json=body)
        assert (r.status_code, error_code(r)) == (status, code), body
    assert db_sections(seeded_url, sid) == mine  # nothing changed so far
    assert not audit(seeded_url, sid, "schedule_change")

    touched = [drop["section_id"], add["section_id"]]
    before = counts(seeded_url, touched)
    r = clerk.post(url, json={"drop_section_id": drop["section_id"],
                              "add_section_id": add["section_id"]})
    assert r.status_code == 200, r.text
    now = db_sections(seeded_url, sid)
    assert set(now) == set(mine) - {drop["section_id"]} | {add["section_id"]}
    assert {s["section_id"] for s in r.json()["sections"]} == set(now)
    periods = [s["period"] for s in now.values()]
    assert len(periods) == len(set(periods))
    assert counts(seeded_url, touched) == {drop["section_id"]: before[drop["section_id"]] - 1,
                                           add["section_id"]: before[add["section_id"]] + 1}
    assert_counts_consistent(seeded_url, touched)
    assert audit(seeded_url, sid, "schedule_change")[0]["detail"] == {
        "dropped": drop["section_id"], "added": add["section_id"], "period": add["period"]}


def test_other_schools_clerk_cannot_change_a_schedule(login: Login,
                                                      clerks: list[dict[str, Any]],
                                                      spare: Callable[..., int],
                                                      seeded_url: str) -> None:
    sid = spare(clerks[0]["school_id"], 7)
    mine = sorted(db_sections(seeded_url, sid))
    r = login(clerks[1]).post(f"/api/sim/students/{sid}/schedule-change",
                              json={"drop_section_id": mine[0], "add_section_id": mine[1]})
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert sorted(db_sections(seeded_url, sid)) == mine


def test_last_seat_goes_to_one_of_two_concurrent_changes(
        login: Login, clerks: list[dict[str, Any]], admin: dict[str, Any],
        spare: Callable[..., int], seeded_url: str) -> None:
    school = clerks[1]["school_id"]
    by_math: dict[int, list[int]] = {}
    while not any(len(v) == 2 for v in by_math.values()):  # two classmates
        sid = spare(school, 7)
        math = next(s for s in db_sections(seeded_url, sid).values()
                    if s["subject"] == "Mathematics")
        by_math.setdefault(math["section_id"], []).append(sid)
    drop, pair = next((k, v) for k, v in by_math.items() if len(v) == 2)
    mine = db_sections(seeded_url, pair[0])
    busy = {s["period"] for s in mine.values() if s["section_id"] != drop}
    add = next(s for s in query(seeded_url, "SELECT * FROM sis.sections WHERE school_id = %s"
                                " AND grade = 7 ORDER BY section_id", [school])
               if s["section_id"] not in mine and s["period"] not in busy)
    execute(seeded_url, "UPDATE sis.sections SET enrolled = capacity - 1 WHERE section_id = %s",
            [add["section_id"]])
    try:
        callers = [login(clerks[1]), login(admin)]
        body = {"drop_section_id": drop, "add_section_id": add["section_id"]}
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(
                lambda i: callers[i].post(f"/api/sim/students/{pair[i]}/schedule-change",
                                          json=body), range(2)))
        assert sorted(r.status_code for r in answers) == [200, 409]
        loser = next(r for r in answers if r.status_code == 409)
        assert error_code(loser) == "section_full"
        assert counts(seeded_url, [add["section_id"]]) == {add["section_id"]: add["capacity"]}
        moved = [sid for sid in pair if add["section_id"] in db_sections(seeded_url, sid)]
        assert len(moved) == 1
    finally:
        execute(seeded_url, "UPDATE sis.sections SET enrolled = (SELECT count(*) FROM"
                " sis.enrollments e WHERE e.section_id = %(s)s) WHERE section_id = %(s)s",
                {"s": add["section_id"]})
    assert_counts_consistent(seeded_url, [drop])
