"""incidents: staff record behavior incidents, administrators review them, families see only
their own child's reviewed incidents without the reporter — against a real server, with every
answer checked against the database.

Identities come from the end of each persona's list at offsets 80..99 (the short clerk and admin
lists wrap around, skipping clerk 0, which test_auth deactivates). Principals, assistant
principals, counselors and aides are not in the user pool: their accounts come from the district
and are only logged into. Only ``sis.incidents`` is written, a table no other test reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from support.sisdb import Login

from fake_data.district import District
from staging.incidents import FAMILY_FIELDS, STAFF_FIELDS

Identities = dict[str, list[dict[str, Any]]]
OFFSETS = range(80, 100)
ORDER = " ORDER BY occurred_at DESC, incident_id DESC"


def from_end(pool: list[dict[str, Any]], offset: int) -> dict[str, Any]:
    return pool[len(pool) - 1 - offset % len(pool)]


def rows(url: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(sql.encode(), params).fetchall()


def ids(url: str, where: str, params: Any = None) -> list[int]:
    return [r["incident_id"] for r in rows(
        url, f"SELECT incident_id FROM sis.incidents WHERE {where}{ORDER}", params)]


def count(url: str, where: str, params: Any = None) -> int:
    return int(rows(url, f"SELECT count(*) AS n FROM sis.incidents WHERE {where}",
                    params)[0]["n"])


def ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).isoformat()


def record(client: httpx.Client, student_id: int, **over: Any) -> httpx.Response:
    body = {"student_id": student_id, "occurred_at": ago(hours=2), "location": "Hallway B",
            "category": "disruption", "severity": 2,
            "description": "Shouting in the hallway between periods.", **over}
    return client.post("/api/incidents", json=body)


def recorded(client: httpx.Client, student_id: int, **over: Any) -> int:
    r = record(client, student_id, **over)
    assert r.status_code == 201, r.text
    return int(r.json()["incident_id"])


def review(client: httpx.Client, incident_id: int, status: str,
           resolution: str | None = None) -> httpx.Response:
    body = {"status": status} if resolution is None else {"status": status,
                                                          "resolution": resolution}
    return client.post(f"/api/incidents/{incident_id}/review", json=body)


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body  # an error carries no data
    assert code is None or body["error"]["code"] == code, body


def assert_matches_db(url: str, item: dict[str, Any]) -> None:
    """Every field of an incident as the API gave it equals the database row."""
    [row] = rows(url, "SELECT i.*, st.first_name AS student_first_name,"
                      " st.last_name AS student_last_name FROM sis.incidents i"
                      " JOIN sis.students st USING (student_id) WHERE incident_id = %s",
                 [item["incident_id"]])
    for key, value in item.items():
        if key.endswith("_at") and value is not None:
            assert dt.datetime.fromisoformat(value) == row[key], key
        else:
            assert value == row[key], key


def school_of(url: str, table: str, key: str, value: int) -> int:
    return int(rows(url, f"SELECT school_id FROM sis.{table} WHERE {key} = %s",
                    [value])[0]["school_id"])


@pytest.fixture(scope="module")
def staff_login(district: District) -> Callable[[str, int], dict[str, Any]]:
    """Login of the first active staff member of a role at a school (not in the user pool)."""
    staff = district["staff"].to_pylist()
    accounts = {a["person_id"]: a for a in district["accounts"].to_pylist()
                if a["person_type"] == "staff"}

    def pick(role: str, school_id: int) -> dict[str, Any]:
        s = next(s for s in staff if s["role"] == role and s["school_id"] == school_id
                 and s["status"] == "active")
        a = accounts[s["staff_id"]]
        return {"username": a["username"], "password": a["password"], "staff_id": s["staff_id"]}
    return pick


@pytest.fixture(scope="module")
def teacher(identities: Identities) -> dict[str, Any]:
    return from_end(identities["teacher"], 80)


@pytest.fixture(scope="module")
def colleague(identities: Identities, teacher: dict[str, Any]) -> dict[str, Any]:
    """Another teacher of the same school."""
    return next(t for t in (from_end(identities["teacher"], o) for o in OFFSETS[1:])
                if t["school_id"] == teacher["school_id"])


@pytest.fixture(scope="module")
def clerk(identities: Identities) -> dict[str, Any]:
    pool = identities["clerk"]
    return next(c for c in (from_end(pool, o) for o in OFFSETS) if c is not pool[0])


@pytest.fixture(scope="module")
def admin(identities: Identities) -> dict[str, Any]:
    return from_end(identities["district_admin"], 80)


def other_school_student(url: str, school_id: int) -> int:
    return int(rows(url, "SELECT student_id FROM sis.students WHERE school_id <> %s"
                         " ORDER BY student_id DESC LIMIT 1", [school_id])[0]["student_id"])


def test_teacher_records_for_any_student_of_their_school(
        login: Login, teacher: dict[str, Any], seeded_url: str) -> None:
    school = school_of(seeded_url, "staff", "staff_id", teacher["staff_id"])
    # A hallway incident: a student of the school whom this teacher does not teach.
    hallway = rows(seeded_url, "SELECT student_id FROM sis.students WHERE school_id = %s"
                               " AND student_id <> ALL(%s) ORDER BY student_id DESC LIMIT 1",
                   [school, teacher["students"]])[0]["student_id"]
    client = login(teacher)
    when = ago(minutes=45)
    r = record(client, hallway, occurred_at=when, category="fighting", severity=3,
               location="  Cafeteria ", description="Pushing match in the lunch line.\nBroke up.")
    assert r.status_code == 201, r.text
    item = r.json()
    assert set(item) == {*STAFF_FIELDS, "student_first_name", "student_last_name"}
    assert (item["student_id"], item["school_id"], item["reported_by"], item["status"],
            item["category"], item["severity"], item["location"], item["description"]) == (
        hallway, school, teacher["staff_id"], "reported", "fighting", 3, "Cafeteria",
        "Pushing match in the lunch line.\nBroke up.")
    assert dt.datetime.fromisoformat(item["occurred_at"]) == dt.datetime.fromisoformat(when)
    assert item["reviewed_by"] is item["reviewed_at"] is item["resolution"] is None
    assert_matches_db(seeded_url, item)
    # And one of their own students, with no location; a few seconds "ahead" is clock skew.
    own = recorded(client, teacher["students"][0], location=None,
                   occurred_at=(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)).isoformat())
    assert rows(seeded_url, "SELECT student_id, reported_by, location, status"
                            " FROM sis.incidents WHERE incident_id = %s", [own]) == [
        {"student_id": teacher["students"][0], "reported_by": teacher["staff_id"],
         "location": None, "status": "reported"}]


def test_clerk_records_for_their_school(login: Login, clerk: dict[str, Any],
                                        seeded_url: str) -> None:
    student = rows(seeded_url, "SELECT student_id FROM sis.students WHERE school_id = %s"
                               " ORDER BY student_id DESC LIMIT 1 OFFSET 3",
                   [clerk["school_id"]])[0]["student_id"]
    r = record(login(clerk), student, category="tardiness", severity=1,
               description="Phoned in by the bus driver: late off the bus again.")
    assert r.status_code == 201, r.text
    assert r.json()["reported_by"] == clerk["staff_id"]
    assert r.json()["school_id"] == clerk["school_id"]
    assert_matches_db(seeded_url, r.json())


def test_another_schools_student_answers_404(
        login: Login, teacher: dict[str, Any], clerk: dict[str, Any],
        staff_login: Callable[[str, int], dict[str, Any]], seeded_url: str) -> None:
    school = school_of(seeded_url, "staff", "staff_id", teacher["staff_id"])
    elsewhere = other_school_student(seeded_url, school)
    principal = login(staff_login("principal", school))
    cases = [(login(teacher), elsewhere), (principal, elsewhere),
             (login(clerk), clerk["forbidden_students"][0]), (principal, 2_000_000_000)]
    for client, student in cases:
        before = count(seeded_url, "student_id = %s", [student])
        assert_error(record(client, student), 404, "not_found")
        assert count(seeded_url, "student_id = %s", [student]) == before


def test_families_and_other_staff_cannot_record(
        login: Login, identities: Identities, staff_login: Callable[[str, int], dict[str, Any]],
        seeded_url: str) -> None:
    guardian = from_end(identities["guardian"], 80)
    student = from_end(identities["student"], 80)
    child = guardian["children"][0]
    aide = staff_login("aide", school_of(seeded_url, "students", "student_id", child))
    targets = [child, student["student_id"]]
    before = count(seeded_url, "student_id = ANY(%s)", [targets])
    for who, target in ((guardian, child), (student, student["student_id"]), (aide, child)):
        assert_error(record(login(who), target), 403, "forbidden")
    assert count(seeded_url, "student_id = ANY(%s)", [targets]) == before


def test_bad_bodies_answer_422(login: Login, teacher: dict[str, Any], seeded_url: str) -> None:
    client = login(teacher)
    good = {"student_id": teacher["students"][1], "occurred_at": ago(hours=1),
            "location": "Gym", "category": "defiance", "severity": 2,
            "description": "Refused to leave the gym."}
    bad: list[dict[str, Any]] = [
        {"category": "arson"}, {"category": None}, {"severity": 0}, {"severity": 5},
        {"severity": 2.5}, {"severity": "high"}, {"occurred_at": ago(minutes=-10)},
        {"occurred_at": "2019-04-22T10:00:00"},  # no time zone
        {"occurred_at": "yesterday"}, {"occurred_at": "2001-09-10T10:00:00Z"},  # years ago
        {"description": ""}, {"description": "   "}, {"description": "x" * 2001},
        {"description": "a\x00b"}, {"location": ""}, {"location": "x" * 121},
        {"student_id": 0}, {"student_id": 2_147_483_648}, {"student_id": "abc"},
        {"reported_by": 1}, {"status": "resolved"},
    ]
    missing = [{k: v for k, v in good.items() if k != key}
               for key in ("student_id", "occurred_at", "category", "severity", "description")]
    before = count(seeded_url, "reported_by = %s", [teacher["staff_id"]])
    for body in [{**good, **b} for b in bad] + missing + [[], "text", None]:
        r = client.post("/api/incidents", json=body)
        assert_error(r, 422)
    r = client.post("/api/incidents", content=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert_error(r, 422)
    assert count(seeded_url, "reported_by = %s", [teacher["staff_id"]]) == before
    assert record(client, **good).status_code == 201  # the good body was good


@pytest.fixture(scope="module")
def school_log(seeded_url: str, teacher: dict[str, Any], colleague: dict[str, Any],
               clerk: dict[str, Any], staff_login: Callable[[str, int], dict[str, Any]],
               base_url: str) -> dict[str, Any]:
    """Incidents in the teacher's school by the teacher, a colleague and the principal, and
    one in the clerk's school."""
    school = school_of(seeded_url, "staff", "staff_id", teacher["staff_id"])
    assert clerk["school_id"] != school
    students = rows(seeded_url, "SELECT student_id FROM sis.students WHERE school_id = %s"
                                " ORDER BY student_id LIMIT 4", [school])
    made: dict[str, list[int]] = {}

    def client(who: dict[str, Any]) -> httpx.Client:
        c = httpx.Client(base_url=base_url, timeout=30)
        token = c.post("/api/auth/login", json={"username": who["username"],
                                                "password": who["password"]}).json()["token"]
        c.headers["Authorization"] = f"Bearer {token}"
        return c

    principal = staff_login("principal", school)
    for name, who, hours in (("teacher", teacher, (5, 3)), ("colleague", colleague, (4,)),
                             ("principal", principal, (1,))):
        c = client(who)
        made[name] = [recorded(c, students[i]["student_id"], occurred_at=ago(hours=h),
                               category="bullying", severity=i + 1)
                      for i, h in enumerate(hours)]
        c.close()
    other_student = rows(seeded_url, "SELECT student_id FROM sis.students WHERE school_id = %s"
                                     " ORDER BY student_id LIMIT 1",
                         [clerk["school_id"]])[0]["student_id"]
    c = client(clerk)
    made["elsewhere"] = [recorded(c, other_student)]
    c.close()
    return {"school": school, "made": made, "principal": principal}


def test_review_queue_per_role(login: Login, school_log: dict[str, Any], teacher: dict[str, Any],
                               colleague: dict[str, Any], clerk: dict[str, Any],
                               admin: dict[str, Any], identities: Identities,
                               staff_login: Callable[[str, int], dict[str, Any]],
                               seeded_url: str) -> None:
    school, made = school_log["school"], school_log["made"]
    in_school = ids(seeded_url, "school_id = %s", [school])
    assert set(made["teacher"] + made["colleague"] + made["principal"]) <= set(in_school)
    assert made["elsewhere"][0] not in in_school
    for role in ("principal", "assistant_principal", "counselor"):
        client = login(staff_login(role, school))
        r = client.get("/api/incidents", params={"limit": 200})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [i["incident_id"] for i in body["incidents"]] == in_school[:200]
        assert body["total"] == len(in_school) and body["offset"] == 0
        for item in body["incidents"]:
            assert_matches_db(seeded_url, item)
        same = client.get("/api/incidents", params={"school_id": school, "limit": 200}).json()
        assert same == body
        assert_error(client.get("/api/incidents", params={"school_id": clerk["school_id"]}),
                     404, "not_found")
    # Teachers and clerks: only what they reported themselves.
    for who in (teacher, colleague, clerk):
        body = login(who).get("/api/incidents").json()
        mine = ids(seeded_url, "reported_by = %s", [who["staff_id"]])
        assert [i["incident_id"] for i in body["incidents"]] == mine[:50]
        assert body["total"] == len(mine)
    assert set(made["teacher"]) <= set(ids(seeded_url, "reported_by = %s", [teacher["staff_id"]]))
    # District administrators: everything, or one school.
    boss = login(admin)
    everything = boss.get("/api/incidents", params={"limit": 200}).json()
    assert everything["total"] == count(seeded_url, "true")
    assert [i["incident_id"] for i in everything["incidents"]] == ids(seeded_url, "true")[:200]
    one = boss.get("/api/incidents", params={"school_id": school, "limit": 200}).json()
    assert [i["incident_id"] for i in one["incidents"]] == in_school[:200]
    # Families and other staff cannot use the queue.
    guardian, student = from_end(identities["guardian"], 81), from_end(identities["student"], 81)
    for who in (guardian, student, staff_login("aide", school)):
        assert_error(login(who).get("/api/incidents"), 403, "forbidden")


def test_queue_filters_and_paging(login: Login, school_log: dict[str, Any],
                                  seeded_url: str) -> None:
    school = school_log["school"]
    client = login(school_log["principal"])
    reported = ids(seeded_url, "school_id = %s AND status = 'reported'", [school])
    body = client.get("/api/incidents", params={"status": "reported", "limit": 200}).json()
    assert [i["incident_id"] for i in body["incidents"]] == reported[:200]
    student = rows(seeded_url, "SELECT student_id FROM sis.incidents WHERE incident_id = %s",
                   [school_log["made"]["teacher"][0]])[0]["student_id"]
    body = client.get("/api/incidents", params={"student_id": student}).json()
    assert [i["incident_id"] for i in body["incidents"]] == ids(
        seeded_url, "school_id = %s AND student_id = %s", [school, student])
    everything = ids(seeded_url, "school_id = %s", [school])
    assert len(everything) >= 4
    page = client.get("/api/incidents", params={"limit": 2, "offset": 1}).json()
    assert [i["incident_id"] for i in page["incidents"]] == everything[1:3]
    assert (page["total"], page["limit"], page["offset"]) == (len(everything), 2, 1)
    past = client.get("/api/incidents", params={"offset": 10_000}).json()
    assert past["incidents"] == [] and past["total"] == len(everything)
    for bad in ({"status": "closed"}, {"limit": 0}, {"limit": 201}, {"offset": -1},
                {"school_id": "x"}, {"student_id": 0}):
        assert_error(client.get("/api/incidents", params=bad), 422)


def test_one_incident_by_role(login: Login, school_log: dict[str, Any], teacher: dict[str, Any],
                              colleague: dict[str, Any], clerk: dict[str, Any],
                              admin: dict[str, Any], identities: Identities,
                              staff_login: Callable[[str, int], dict[str, Any]],
                              seeded_url: str) -> None:
    incident = school_log["made"]["teacher"][0]
    school = school_log["school"]
    path = f"/api/incidents/{incident}"
    for who in (teacher, admin, school_log["principal"], staff_login("counselor", school),
                staff_login("assistant_principal", school)):
        r = login(who).get(path)
        assert r.status_code == 200, r.text
        assert r.json()["incident_id"] == incident
        assert_matches_db(seeded_url, r.json())
    # A colleague who did not report it, another school's clerk and principal: not theirs.
    for who in (colleague, clerk, staff_login("principal", clerk["school_id"])):
        assert_error(login(who).get(path), 404, "not_found")
    assert_error(login(admin).get("/api/incidents/2000000000"), 404, "not_found")
    for who in (from_end(identities["guardian"], 82), from_end(identities["student"], 82)):
        assert_error(login(who).get(path), 403, "forbidden")
    assert_error(login(admin).get("/api/incidents/0"), 422)


def test_review_transitions(login: Login, teacher: dict[str, Any], colleague: dict[str, Any],
                            clerk: dict[str, Any], admin: dict[str, Any],
                            staff_login: Callable[[str, int], dict[str, Any]],
                            seeded_url: str) -> None:
    school = school_of(seeded_url, "staff", "staff_id", teacher["staff_id"])
    principal_id = staff_login("principal", school)
    principal, ap = login(principal_id), login(staff_login("assistant_principal", school))
    reporter = login(teacher)
    first = recorded(reporter, teacher["students"][2])

    def state(incident: int) -> dict[str, Any]:
        return rows(seeded_url, "SELECT status, resolution, reviewed_by, reviewed_at IS NOT NULL"
                                " AS reviewed FROM sis.incidents WHERE incident_id = %s",
                    [incident])[0]

    r = review(principal, first, "under_review")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reviewed_by"]) == ("under_review",
                                                             principal_id["staff_id"])
    assert_matches_db(seeded_url, r.json())
    assert state(first) == {"status": "under_review", "resolution": None,
                            "reviewed_by": principal_id["staff_id"], "reviewed": True}
    assert_error(review(principal, first, "under_review"), 409, "invalid_transition")
    # Bodies: a resolution exactly when resolving, from the list.
    for body in ({"status": "resolved"}, {"status": "under_review", "resolution": "detention"},
                 {"status": "dismissed", "resolution": "no_action"},
                 {"status": "resolved", "resolution": "expulsion"}, {"status": "reported"},
                 {"status": "closed"}, {}, {"status": "resolved", "resolution": "detention",
                                            "reviewed_by": 1}):
        assert_error(principal.post(f"/api/incidents/{first}/review", json=body), 422)
    r = review(ap, first, "resolved", "detention")
    assert r.status_code == 200, r.text
    assert state(first)["status"] == "resolved" and state(first)["resolution"] == "detention"
    assert state(first)["reviewed_by"] == r.json()["reviewed_by"] != principal_id["staff_id"]
    before = state(first)
    for status, resolution in (("under_review", None), ("dismissed", None),
                               ("resolved", "conference")):
        assert_error(review(principal, first, status, resolution), 409, "invalid_transition")
    assert state(first) == before
    # reported -> dismissed, and dismissed is final.
    second = recorded(reporter, teacher["students"][3])
    assert review(ap, second, "dismissed").status_code == 200
    assert state(second)["status"] == "dismissed"
    assert_error(review(principal, second, "resolved", "no_action"), 409)
    # A district administrator may review any school's incident: reported -> resolved at once.
    third = recorded(reporter, teacher["students"][4])
    r = review(login(admin), third, "resolved", "conference")
    assert r.status_code == 200 and r.json()["reviewed_by"] == admin["staff_id"]
    # Reporters, clerks and counselors read but do not review; another school's principal
    # cannot see it.
    fourth = recorded(reporter, teacher["students"][5])
    for who in (teacher, colleague, clerk, staff_login("counselor", school)):
        assert_error(review(login(who), fourth, "under_review"), 403, "forbidden")
    assert_error(review(login(staff_login("principal", clerk["school_id"])), fourth,
                        "under_review"), 404, "not_found")
    assert_error(review(principal, 2_000_000_000, "under_review"), 404, "not_found")
    assert state(fourth)["status"] == "reported" and state(fourth)["reviewed_by"] is None


def test_concurrent_reviews_one_wins(login: Login, teacher: dict[str, Any],
                                     staff_login: Callable[[str, int], dict[str, Any]],
                                     seeded_url: str) -> None:
    school = school_of(seeded_url, "staff", "staff_id", teacher["staff_id"])
    reviewers = [login(staff_login("principal", school)),
                 login(staff_login("assistant_principal", school))]
    reporter = login(teacher)
    for _ in range(5):
        incident = recorded(reporter, teacher["students"][6])
        with ThreadPoolExecutor(2) as pool:
            answers = [pool.submit(review, reviewers[0], incident, "resolved", "detention"),
                       pool.submit(review, reviewers[1], incident, "dismissed")]
            codes = sorted(a.result().status_code for a in answers)
        assert codes == [200, 409]
        [row] = rows(seeded_url, "SELECT status, resolution FROM sis.incidents"
                                 " WHERE incident_id = %s", [incident])
        assert row in ({"status": "resolved", "resolution": "detention"},
                       {"status": "dismissed", "resolution": None})


def family_log(client: httpx.Client, student_id: int) -> dict[str, int]:
    """Four incidents for a student, one in each status, recorded and reviewed by `client`."""
    made = {status: recorded(client, student_id, occurred_at=ago(hours=10 - i),
                             description=f"Incident to be {status}: talking back in class.")
            for i, status in enumerate(("reported", "under_review", "resolved", "dismissed"))}
    for status, resolution in (("under_review", None), ("resolved", "suspension_in_school"),
                               ("dismissed", None)):
        assert review(client, made[status], status, resolution).status_code == 200
    return made


def test_guardian_sees_their_childs_reviewed_incidents_without_the_reporter(
        login: Login, identities: Identities, admin: dict[str, Any],
        staff_login: Callable[[str, int], dict[str, Any]], seeded_url: str) -> None:
    guardian = from_end(identities["guardian"], 83)
    child = guardian["children"][0]
    school = school_of(seeded_url, "students", "student_id", child)
    principal_id = staff_login("principal", school)
    principal = login(principal_id)
    made = family_log(principal, child)
    parent = login(guardian)
    r = parent.get(f"/api/incidents/students/{child}")
    assert r.status_code == 200, r.text
    body = r.json()
    expected = ids(seeded_url, "student_id = %s AND status IN ('under_review', 'resolved')",
                   [child])
    assert [i["incident_id"] for i in body["incidents"]] == expected
    assert expected == [made["resolved"], made["under_review"]]  # newest first
    assert body["student_id"] == child
    for item in body["incidents"]:
        assert set(item) == set(FAMILY_FIELDS)  # no reported_by, reviewed_by or names
        assert_matches_db(seeded_url, item)
    resolved = next(i for i in body["incidents"] if i["incident_id"] == made["resolved"])
    assert resolved["resolution"] == "suspension_in_school"
    assert resolved["description"] == "Incident to be resolved: talking back in class."
    assert "reported_by" not in r.text and "reviewed_by" not in r.text
    # Staff see every status with the reporter: the school's principal, an administrator.
    for who, where in ((principal_id, f"school_id = {school}"), (admin, "true")):
        staff_view = login(who).get(f"/api/incidents/students/{child}").json()
        assert [i["incident_id"] for i in staff_view["incidents"]] == ids(
            seeded_url, f"student_id = %s AND {where}", [child])
        assert {i["incident_id"]: i["reported_by"] for i in staff_view["incidents"]
                if i["incident_id"] in made.values()} == dict.fromkeys(
            made.values(), principal_id["staff_id"])
    # Families never use the staff side, even for their own child's incident.
    assert_error(parent.get(f"/api/incidents/{made['resolved']}"), 403, "forbidden")
    assert_error(parent.get("/api/incidents", params={"student_id": child}), 403, "forbidden")


def test_another_familys_child_answers_404(
        login: Login, identities: Identities,
        staff_login: Callable[[str, int], dict[str, Any]], seeded_url: str) -> None:
    guardian = from_end(identities["guardian"], 84)
    stranger = next(s for s in guardian["forbidden_students"]
                    if s not in guardian["no_access_children"])
    school = school_of(seeded_url, "students", "student_id", stranger)
    family_log(login(staff_login("principal", school)), stranger)
    r = login(guardian).get(f"/api/incidents/students/{stranger}")
    assert_error(r, 404, "not_found")
    assert "talking back" not in r.text
    assert_error(login(guardian).get("/api/incidents/students/2000000000"), 404)


def test_no_access_child_answers_404(login: Login, identities: Identities,
                                     staff_login: Callable[[str, int], dict[str, Any]],
                                     seeded_url: str) -> None:
    # No guardian at offsets 80..99 has a custody no-access link: the nearest one before them,
    # only logged into and read.
    pool = identities["guardian"]
    guardian = next(g for g in reversed(pool[:-80]) if g["no_access_children"] and g["children"])
    denied = guardian["no_access_children"][0]
    assert rows(seeded_url, "SELECT portal_access FROM sis.guardian_links WHERE guardian_id = %s"
                            " AND student_id = %s", [guardian["guardian_id"], denied]) == [
        {"portal_access": False}]
    family_log(login(staff_login("principal", school_of(seeded_url, "students", "student_id",
                                                        denied))), denied)
    parent = login(guardian)
    r = parent.get(f"/api/incidents/students/{denied}")
    assert_error(r, 404, "not_found")
    assert "talking back" not in r.text
    # The child they do have portal access to still answers.
    assert parent.get(f"/api/incidents/students/{guardian['children'][0]}").status_code == 200


def test_student_sees_their_own_reviewed_incidents(
        login: Login, identities: Identities,
        staff_login: Callable[[str, int], dict[str, Any]], seeded_url: str) -> None:
    me = from_end(identities["student"], 85)
    school = school_of(seeded_url, "students", "student_id", me["student_id"])
    made = family_log(login(staff_login("assistant_principal", school)), me["student_id"])
    client = login(me)
    body = client.get(f"/api/incidents/students/{me['student_id']}").json()
    assert [i["incident_id"] for i in body["incidents"]] == [made["resolved"],
                                                            made["under_review"]]
    assert all(set(i) == set(FAMILY_FIELDS) for i in body["incidents"])
    other = me["forbidden_students"][0]
    family_log(login(staff_login("principal", school_of(seeded_url, "students", "student_id",
                                                        other))), other)
    assert_error(client.get(f"/api/incidents/students/{other}"), 404, "not_found")


def test_staff_view_of_a_students_incidents(
        login: Login, teacher: dict[str, Any], colleague: dict[str, Any], clerk: dict[str, Any],
        staff_login: Callable[[str, int], dict[str, Any]], seeded_url: str) -> None:
    school = school_of(seeded_url, "staff", "staff_id", teacher["staff_id"])
    student = teacher["students"][7]
    mine = recorded(login(teacher), student)
    theirs = recorded(login(colleague), student)
    # The reporter sees only their own; the counselor the school's; another school's clerk and
    # an aide of the school nothing.
    got = login(teacher).get(f"/api/incidents/students/{student}").json()
    assert mine in [i["incident_id"] for i in got["incidents"]]
    assert theirs not in [i["incident_id"] for i in got["incidents"]]
    assert [i["incident_id"] for i in got["incidents"]] == ids(
        seeded_url, "student_id = %s AND reported_by = %s", [student, teacher["staff_id"]])
    counselor = login(staff_login("counselor", school)).get(
        f"/api/incidents/students/{student}").json()
    assert [i["incident_id"] for i in counselor["incidents"]] == ids(
        seeded_url, "student_id = %s AND school_id = %s", [student, school])
    assert_error(login(clerk).get(f"/api/incidents/students/{student}"), 404, "not_found")
    assert_error(login(staff_login("aide", school)).get(f"/api/incidents/students/{student}"),
                 403, "forbidden")
    # A student of the school with no incidents is an empty list, not a 404.
    quiet = rows(seeded_url, "SELECT st.student_id FROM sis.students st WHERE school_id = %s"
                             " AND NOT EXISTS (SELECT 1 FROM sis.incidents i"
                             " WHERE i.student_id = st.student_id) ORDER BY 1 DESC LIMIT 1",
                 [school])[0]["student_id"]
    r = login(colleague).get(f"/api/incidents/students/{quiet}")
    assert r.status_code == 200 and r.json()["incidents"] == []


def test_incidents_stay_with_the_school_after_a_transfer(
        login: Login, teacher: dict[str, Any], clerk: dict[str, Any],
        staff_login: Callable[[str, int], dict[str, Any]], seeded_url: str) -> None:
    """An incident recorded at school A for a student now at school B (written straight into
    the table, so no shared student is moved): A's principal still reads it, B's does not."""
    school = school_of(seeded_url, "staff", "staff_id", teacher["staff_id"])
    gone = other_school_student(seeded_url, school)
    now_at = school_of(seeded_url, "students", "student_id", gone)
    [row] = rows(seeded_url, "INSERT INTO sis.incidents (student_id, school_id, reported_by,"
                             " occurred_at, category, severity, description) VALUES"
                             " (%s, %s, %s, now() - interval '30 days', 'property', 2,"
                             " 'Damaged a locker before transferring out.') RETURNING incident_id",
                 [gone, school, teacher["staff_id"]])
    old_school = login(staff_login("principal", school))
    body = old_school.get(f"/api/incidents/students/{gone}").json()
    assert row["incident_id"] in [i["incident_id"] for i in body["incidents"]]
    assert [i["incident_id"] for i in body["incidents"]] == ids(
        seeded_url, "student_id = %s AND school_id = %s", [gone, school])
    assert old_school.get(f"/api/incidents/{row['incident_id']}").status_code == 200
    new_school = login(staff_login("principal", now_at)).get(f"/api/incidents/students/{gone}")
    assert new_school.status_code == 200
    assert row["incident_id"] not in [i["incident_id"] for i in new_school.json()["incidents"]]
    # A school with neither the student nor their incidents: not found.
    third = next(s for s in range(1, 9) if s not in (school, now_at))
    assert_error(login(staff_login("principal", third)).get(f"/api/incidents/students/{gone}"),
                 404, "not_found")
