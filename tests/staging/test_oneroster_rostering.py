"""OneRoster 1.2 rostering over REST: every endpoint, object shapes and references, agreement
with the CSV export, paging (X-Total-Count, Link), the filter grammar and its edge cases, and
the status payloads of errors."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
from support.sisdb import query

from fake_data.district import District
from fake_data.export_oneroster import write_oneroster
from staging.oauth import ROSTER_CORE, ROSTER_DEMOGRAPHICS, create_client
from staging.oneroster_filter import parse_filter
from staging.oneroster_rostering import (
    CLASSES,
    COURSES,
    DEMOGRAPHICS,
    ENROLLMENTS,
    GRADING_PERIODS,
    ORGS,
    SCHOOLS,
    SESSIONS,
    STUDENTS,
    TEACHERS,
    TERMS,
    USERS,
)
from staging.oneroster_sql import Collection

ROUTES = [("/academicSessions", SESSIONS), ("/terms", TERMS), ("/gradingPeriods", GRADING_PERIODS),
          ("/classes", CLASSES), ("/courses", COURSES), ("/demographics", DEMOGRAPHICS),
          ("/enrollments", ENROLLMENTS), ("/orgs", ORGS), ("/schools", SCHOOLS),
          ("/students", STUDENTS), ("/teachers", TEACHERS), ("/users", USERS)]

BASE = "/ims/oneroster/rostering/v1p2"
SEEDED = "2019-04-22T00:00:00.000Z"  # the small profile's cutover date
REF_KEYS = {"href", "sourcedId", "type"}


@pytest.fixture(scope="module")
def api(base_url: str, seeded_url: str) -> Iterator[httpx.Client]:
    creds = create_client(seeded_url, "rostering tests", [ROSTER_CORE, ROSTER_DEMOGRAPHICS])
    with httpx.Client(base_url=base_url, timeout=60) as c:
        token = c.post("/oauth/token", auth=creds,
                       data={"grant_type": "client_credentials"}).json()["access_token"]
    with httpx.Client(base_url=base_url + BASE, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture(scope="module")
def export(district: District,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    """The CSV exporter's 1.2 files for the same district, as rows."""
    path = write_oneroster(district, tmp_path_factory.mktemp("or") / "or12.zip", "1.2")
    with zipfile.ZipFile(path) as zf:
        return {name[:-4]: list(csv.DictReader(io.TextIOWrapper(zf.open(name), "utf-8")))
                for name in zf.namelist()}


def _minor(r: httpx.Response) -> str:
    assert r.headers["content-type"] == "application/json"
    return str(r.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"])


def _count(url: str, sql: str, params: Any = ()) -> int:
    return int(query(url, sql, params)[0][0])


def _ids(objs: list[dict[str, Any]]) -> list[str]:
    return [o["sourcedId"] for o in objs]


def _all(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every object of a collection, following the Link next headers."""
    r = api.get(path, params={"limit": 5000, **params})
    key = None
    out: list[dict[str, Any]] = []
    while True:
        assert r.status_code == 200, r.text
        key = key or next(iter(r.json()))
        out += r.json()[key]
        nxt = r.links.get("next")
        if not nxt:
            assert len(out) == int(r.headers["x-total-count"])
            return out
        r = api.get(nxt["url"])


# --- every endpoint -----------------------------------------------------------------------------

COUNTS = [  # path, response key, SQL count
    ("/academicSessions", "academicSessions", "SELECT count(*) FROM sis.academic_sessions"),
    ("/terms", "academicSessions",
     "SELECT count(*) FROM sis.academic_sessions WHERE type IN ('term', 'semester')"),
    ("/gradingPeriods", "academicSessions",
     "SELECT count(*) FROM sis.academic_sessions WHERE type = 'gradingPeriod'"),
    ("/classes", "classes", "SELECT count(*) FROM sis.sections"),
    ("/courses", "courses", "SELECT count(*) FROM sis.courses"),
    ("/demographics", "demographics", "SELECT count(*) FROM sis.students"),
    ("/enrollments", "enrollments",
     "SELECT (SELECT count(*) FROM sis.enrollments) + (SELECT count(*) FROM sis.sections)"),
    ("/orgs", "orgs", "SELECT 1 + count(*) FROM sis.schools"),
    ("/schools", "orgs", "SELECT count(*) FROM sis.schools"),
    ("/students", "users", "SELECT count(*) FROM sis.students"),
    ("/teachers", "users", "SELECT count(*) FROM sis.staff WHERE role = 'teacher'"),
    ("/users", "users", "SELECT (SELECT count(*) FROM sis.students) + (SELECT count(*) FROM"
                        " sis.staff) + (SELECT count(*) FROM sis.guardians)"),
]


@pytest.mark.parametrize(("path", "key", "sql"), COUNTS, ids=[c[0] for c in COUNTS])
def test_collections_count_and_shape(api: httpx.Client, seeded_url: str, path: str, key: str,
                                     sql: str) -> None:
    r = api.get(path, params={"limit": 3})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert list(r.json()) == [key] and len(r.json()[key]) == 3
    assert int(r.headers["x-total-count"]) == _count(seeded_url, sql)
    for obj in r.json()[key]:
        assert obj["status"] == "active" and obj["sourcedId"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["dateLastModified"])
        assert None not in obj.values() and "password" not in obj
        one = api.get(f"{path}/{obj['sourcedId']}")
        assert one.status_code == 200, one.text
        [(single, got)] = one.json().items()
        assert got == obj and single == {"academicSessions": "academicSession",
                                         "classes": "class", "courses": "course",
                                         "demographics": "demographics",
                                         "enrollments": "enrollment", "orgs": "org",
                                         "users": "user"}[key]
        r404 = api.get(f"{path}/{obj['sourcedId']}x")
        assert r404.status_code == 404 and _minor(r404) == "unknownobject"


def test_references_resolve(api: httpx.Client) -> None:
    """Every reference is {href, sourcedId, type} and its href answers that object."""
    seen = 0
    for path in ("/classes/cls-000001", "/users/stu-000001", "/users/gdn-000001",
                 "/enrollments/enr-s-000001-000001", "/courses/crs-0001",
                 "/academicSessions/ses-2"):
        [obj] = api.get(path).json().values()
        refs = [v for v in obj.values() if isinstance(v, dict)]
        refs += [x for v in obj.values() if isinstance(v, list) for x in v
                 if isinstance(x, dict) and "href" in x]
        refs += [role["org"] for role in obj.get("roles", [])]
        assert refs, path
        for ref in refs:
            assert set(ref) == REF_KEYS and ref["href"].endswith("/" + ref["sourcedId"])
            r = api.get(ref["href"])
            assert r.status_code == 200, ref
            assert next(iter(r.json().values()))["sourcedId"] == ref["sourcedId"]
            seen += 1
    assert seen > 15


def test_sub_collections_match_the_database(api: httpx.Client, seeded_url: str) -> None:
    [(section, teacher, school, course)] = query(
        seeded_url, "SELECT section_id, teacher_id, school_id, course_id FROM sis.sections"
                    " WHERE class_type = 'scheduled' ORDER BY section_id LIMIT 1")
    cls, stf = f"cls-{section:06d}", f"stf-{teacher:06d}"
    students = [f"stu-{s:06d}" for (s,) in query(
        seeded_url, "SELECT student_id FROM sis.enrollments WHERE section_id = %s ORDER BY 1",
        [section])]
    assert _ids(_all(api, f"/classes/{cls}/students")) == students
    assert _ids(_all(api, f"/classes/{cls}/teachers")) == [stf]
    taught = [f"cls-{s:06d}" for (s,) in query(
        seeded_url, "SELECT section_id FROM sis.sections WHERE teacher_id = %s ORDER BY 1",
        [teacher])]
    assert _ids(_all(api, f"/teachers/{stf}/classes")) == taught
    assert _ids(_all(api, f"/users/{stf}/classes")) == taught
    first = students[0]
    mine = [f"cls-{s:06d}" for (s,) in query(
        seeded_url, "SELECT section_id FROM sis.enrollments WHERE student_id = %s ORDER BY 1",
        [int(first[4:])])]
    assert _ids(_all(api, f"/students/{first}/classes")) == mine
    assert _ids(_all(api, f"/users/{first}/classes")) == mine
    assert _all(api, "/users/gdn-000001/classes") == []
    sch = f"sch-{school:04d}"
    for path, sql in (
            (f"/schools/{sch}/classes", "SELECT count(*) FROM sis.sections WHERE school_id = %s"),
            (f"/schools/{sch}/students", "SELECT count(*) FROM sis.students WHERE school_id = %s"),
            (f"/schools/{sch}/teachers",
             "SELECT count(*) FROM sis.staff WHERE school_id = %s AND role = 'teacher'")):
        assert len(_all(api, path)) == _count(seeded_url, sql, [school]), path
    assert len(_all(api, f"/courses/crs-{course:04d}/classes")) == _count(
        seeded_url, "SELECT count(*) FROM sis.sections WHERE course_id = %s", [course])
    assert _ids(_all(api, f"/schools/{sch}/terms")) == ["ses-2", "ses-3", "ses-8", "ses-9"]
    assert _ids(_all(api, "/terms/ses-2/gradingPeriods")) == ["ses-4", "ses-5"]
    assert _ids(_all(api, "/terms/ses-3/gradingPeriods")) == ["ses-6", "ses-7"]
    # Day classes run in both semesters; summer (ses-8) and evening (ses-9) school classes in
    # their own term.
    day = ("session_id IS NULL OR session_id IN (SELECT session_id FROM sis.academic_sessions"
           " WHERE type = 'schoolYear')")
    for term in ("ses-2", "ses-3"):
        assert len(_all(api, f"/terms/{term}/classes")) == _count(
            seeded_url, f"SELECT count(*) FROM sis.sections WHERE {day}")
    for term in (8, 9):
        assert _ids(_all(api, f"/terms/ses-{term}/classes")) == [f"cls-{s:06d}" for (s,) in query(
            seeded_url, "SELECT section_id FROM sis.sections WHERE session_id = %s ORDER BY 1",
            [term])]
        for c in _all(api, f"/terms/ses-{term}/classes", limit=3):
            assert [t["sourcedId"] for t in c["terms"]] == [f"ses-{term}"]
    for path, what in (("/classes/cls-999999/students", "class"),
                       ("/classes/stu-000001/teachers", "class"),
                       ("/schools/org-district/teachers", "school"),
                       ("/terms/ses-4/gradingPeriods", "term"),  # a grading period, not a term
                       ("/teachers/stu-000001/classes", "teacher"),
                       ("/users/nobody/classes", "user"), ("/courses/crs-9999/classes", "course")):
        r = api.get(path)
        assert r.status_code == 404 and _minor(r) == "unknownobject", path
        assert what in r.json()["imsx_description"]


# --- agreement with the CSV export --------------------------------------------------------------

def _by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["sourcedId"]: r for r in rows}


def _list(cell: str) -> list[str]:
    return cell.split(",") if cell else []


def test_users_agree_with_the_csv_export(api: httpx.Client, seeded_url: str,
                                         export: dict[str, list[dict[str, str]]]) -> None:
    users, roles = _by_id(export["users"]), export["roles"]
    sample = [f"stu-{i:06d}" for i in range(1, 200, 7)] + [f"stf-{i:06d}" for i in
                                                           range(1, 525, 25)]
    sample += [f"gdn-{i:06d}" for i in range(1, 400, 9)]
    # The custody (no-access) case: a guardian and a child whose link is not exported.
    [(gid, kid)] = query(seeded_url, "SELECT guardian_id, student_id FROM sis.guardian_links"
                                     " WHERE NOT portal_access ORDER BY 1 LIMIT 1")
    sample += [f"gdn-{gid:06d}", f"stu-{kid:06d}"]
    rest = {u["sourcedId"]: u for u in _all(api, "/users", filter=" OR ".join(
        f"sourcedId='{s}'" for s in sample[:20]))}
    for s in sample[20:]:
        rest[s] = api.get(f"/users/{s}").json()["user"]
    assert set(rest) == set(sample)
    # Users another test changed (an account deactivated...) no longer match the seed.
    changed = {s for s in sample if rest[s]["dateLastModified"] != SEEDED}
    assert len(changed) <= 2, changed
    for sid in sorted(set(sample) - changed):
        got, want = rest[sid], users[sid]
        for field in ("username", "givenName", "familyName", "identifier", "email", "phone"):
            assert got.get(field, "") == want[field], (sid, field)
        assert str(got["enabledUser"]).lower() == want["enabledUser"], sid
        assert [a["sourcedId"] for a in got["agents"]] == _list(want["agentSourcedIds"]), sid
        assert got.get("grades", []) == _list(want["grades"]), sid
        assert got["primaryOrg"]["sourcedId"] == want["primaryOrgSourcedId"], sid
        assert [(r["roleType"], r["role"], r["org"]["sourcedId"]) for r in got["roles"]] == [
            (r["roleType"], r["role"], r["orgSourcedId"]) for r in roles
            if r["userSourcedId"] == sid], sid
    assert f"stu-{kid:06d}" not in [a["sourcedId"] for a in rest[f"gdn-{gid:06d}"]["agents"]]
    assert f"gdn-{gid:06d}" not in [a["sourcedId"] for a in rest[f"stu-{kid:06d}"]["agents"]]


def test_classes_orgs_sessions_courses_enrollments_agree_with_the_csv(
        api: httpx.Client, export: dict[str, list[dict[str, str]]]) -> None:
    classes = _by_id(export["classes"])
    last = max(classes)  # summer and evening school classes come last
    for sid in [f"cls-{i:06d}" for i in (1, 2, 113, 114, 115, 500, 858)] + [last]:
        got, want = api.get(f"/classes/{sid}").json()["class"], classes[sid]
        for field in ("title", "classCode", "classType", "location"):
            assert got.get(field, "") == want[field], (sid, field)
        assert got["course"]["sourcedId"] == want["courseSourcedId"]
        assert got["school"]["sourcedId"] == want["schoolSourcedId"]
        assert [t["sourcedId"] for t in got["terms"]] == _list(want["termSourcedIds"])
        for field in ("grades", "subjects", "periods"):
            assert got.get(field, []) == _list(want[field]), (sid, field)
    orgs = _all(api, "/orgs")
    assert [(o["sourcedId"], o["name"], o["type"], o.get("identifier", ""),
             o.get("parent", {}).get("sourcedId", "")) for o in orgs] == [
        (o["sourcedId"], o["name"], o["type"], o["identifier"], o["parentSourcedId"])
        for o in export["orgs"]]
    sessions = _all(api, "/academicSessions")
    assert [(s["sourcedId"], s["title"], s["type"], s["startDate"], s["endDate"],
             s.get("parent", {}).get("sourcedId", ""), s["schoolYear"]) for s in sessions] == [
        (s["sourcedId"], s["title"], s["type"], s["startDate"], s["endDate"],
         s["parentSourcedId"], s["schoolYear"]) for s in export["academicSessions"]]
    courses = _all(api, "/courses")
    assert [(c["sourcedId"], c["title"], c["courseCode"], c["grades"], c["org"]["sourcedId"],
             c["schoolYear"]["sourcedId"], c["subjects"]) for c in courses] == [
        (c["sourcedId"], c["title"], c["courseCode"], _list(c["grades"]), c["orgSourcedId"],
         c["schoolYearSourcedId"], _list(c["subjects"])) for c in export["courses"]]
    enrollments = _by_id(export["enrollments"])
    for sid in ("enr-s-000001-000001", "enr-t-000001", "enr-t-000500"):
        got, want = api.get(f"/enrollments/{sid}").json()["enrollment"], enrollments[sid]
        assert (got["class"]["sourcedId"], got["school"]["sourcedId"], got["user"]["sourcedId"],
                got["role"], str(got["primary"]).lower(), got["beginDate"], got["endDate"]) == (
            want["classSourcedId"], want["schoolSourcedId"], want["userSourcedId"],
            want["role"], want["primary"], want["beginDate"], want["endDate"])
    demographics = _by_id(export["demographics"])
    for sid in ("stu-000001", "stu-000002", "stu-000100"):
        got = api.get(f"/demographics/{sid}").json()["demographics"]
        want = demographics[sid]
        assert {k: str(v).lower() if isinstance(v, bool) else v for k, v in got.items()
                if k not in ("status", "dateLastModified")} == {
            k: v for k, v in want.items() if v and k not in ("status", "dateLastModified")}


# --- paging -------------------------------------------------------------------------------------

def _links(r: httpx.Response) -> dict[str, dict[str, list[str]]]:
    return {rel: parse_qs(urlsplit(link["url"]).query) for rel, link in r.links.items()}


def test_link_headers_are_exact(api: httpx.Client, base_url: str) -> None:
    first_grade = {"filter": "grades='01'", "sort": "familyName"}
    r = api.get("/schools/sch-0001/students", params={"limit": 500, "offset": 500, **first_grade})
    total = int(r.headers["x-total-count"])
    assert 0 < total < 500
    r = api.get("/schools/sch-0001/students", params={"limit": 10, "offset": 10, **first_grade})
    last = (total - 1) // 10 * 10
    url = f"{base_url}{BASE}/schools/sch-0001/students?filter=grades%3D%2701%27&sort=familyName"
    assert r.headers["link"] == ", ".join([
        f'<{url}&limit=10&offset=20>; rel="next"', f'<{url}&limit=10&offset={last}>; rel="last"',
        f'<{url}&limit=10&offset=0>; rel="prev"', f'<{url}&limit=10&offset=0>; rel="first"'])
    # Past the end: an empty page, the total, and links back (no next).
    r = api.get("/schools/sch-0001/students", params={"limit": 10, "offset": total + 5,
                                                      "filter": "grades='01'"})
    assert r.status_code == 200 and r.json() == {"users": []}
    assert int(r.headers["x-total-count"]) == total
    assert set(_links(r)) == {"last", "prev", "first"}
    assert _links(r)["prev"]["offset"] == [str(total - 5)]
    # The first page has no prev; a page exactly at the end has no next.
    r = api.get("/schools/sch-0001/students", params={"limit": total, "filter": "grades='01'"})
    assert set(_links(r)) == {"last", "first"} and len(r.json()["users"]) == total


def test_walking_pages_gives_every_row_once_in_order(api: httpx.Client, seeded_url: str) -> None:
    seen: list[str] = []
    r = api.get("/enrollments", params={"limit": 997, "filter": "role='student'"})
    while True:
        seen += _ids(r.json()["enrollments"])
        if "next" not in r.links:
            break
        r = api.get(r.links["next"]["url"])
    assert len(seen) == len(set(seen)) == _count(seeded_url, "SELECT count(*) FROM"
                                                 " sis.enrollments")
    assert seen == sorted(seen)  # deterministic: sourcedId order
    desc = api.get("/students", params={"orderBy": "desc", "limit": 3, "fields": "sourcedId"})
    top = query(seeded_url, "SELECT student_id FROM sis.students ORDER BY 1 DESC LIMIT 3")
    assert _ids(desc.json()["users"]) == [f"stu-{s:06d}" for (s,) in top]


def test_limits(api: httpx.Client) -> None:
    r = api.get("/students", params={"limit": 100_000, "fields": "sourcedId"})
    assert r.status_code == 200 and len(r.json()["users"]) == 5000
    assert "limit=5000" in r.links["next"]["url"]
    assert len(api.get("/students").json()["users"]) == 100  # the default
    for params in ({"limit": 0}, {"limit": -1}, {"offset": -1}, {"limit": "ten"},
                   {"offset": "1e3"}, {"offset": 2**40}):
        r = api.get("/students", params=params)
        assert r.status_code == 400 and _minor(r) == "invaliddata", params


def test_sort_and_fields(api: httpx.Client, seeded_url: str) -> None:
    r = api.get("/teachers", params={"sort": "familyName", "orderBy": "desc", "limit": 20,
                                     "fields": "sourcedId,familyName,givenName"})
    rows = r.json()["users"]
    assert all(set(u) == {"sourcedId", "familyName", "givenName"} for u in rows)
    want = query(seeded_url, "SELECT last_name, staff_id FROM sis.staff WHERE role = 'teacher'"
                             " ORDER BY last_name DESC, staff_id LIMIT 20")
    assert [(u["familyName"], u["sourcedId"]) for u in rows] == [
        (n, f"stf-{i:06d}") for n, i in want]
    one = api.get("/users/stu-000001", params={"fields": "email,roles"}).json()["user"]
    assert set(one) == {"email", "roles"}
    for params, minor in (({"sort": "password"}, "invalid_sort_field"),
                          ({"sort": "givenName", "orderBy": "sideways"}, "invalid_sort_field"),
                          ({"fields": "sourcedId,password"}, "invalid_selection_field"),
                          ({"fields": "roles.role"}, "invalid_selection_field")):
        r = api.get("/users", params=params)
        assert r.status_code == 400 and _minor(r) == minor, params
    assert _minor(api.get("/users/stu-000001", params={"fields": "secret"})) \
        == "invalid_selection_field"


# --- filters ------------------------------------------------------------------------------------

def test_teacher_by_email_and_users_by_email(api: httpx.Client, seeded_url: str) -> None:
    [(staff_id, email)] = query(seeded_url, "SELECT staff_id, email FROM sis.staff"
                                            " WHERE role = 'teacher' ORDER BY staff_id LIMIT 1")
    for path in ("/teachers", "/users"):
        r = api.get(path, params={"filter": f"email='{email}'"})
        assert r.headers["x-total-count"] == "1"
        [user] = r.json()["users"]
        assert user["sourcedId"] == f"stf-{staff_id:06d}" and user["email"] == email
        assert user["roles"][0]["role"] == "teacher"
    [(student_email,)] = query(seeded_url, "SELECT email FROM sis.accounts WHERE person_type"
                                           " = 'student' ORDER BY person_id LIMIT 1")
    assert _ids(api.get("/users", params={"filter": f"email='{student_email}'"}).json()["users"]
                ) == ["stu-000001"]
    assert api.get("/students", params={"filter": f"email='{email}'"}).json() == {"users": []}


def test_filter_grammar(api: httpx.Client, seeded_url: str) -> None:
    def total(path: str, flt: str) -> int:
        r = api.get(path, params={"filter": flt, "limit": 1})
        assert r.status_code == 200, (flt, r.text)
        return int(r.headers["x-total-count"])

    count = lambda sql, *p: _count(seeded_url, sql, p)  # noqa: E731
    assert total("/users", "role='teacher' OR role='aide'") == count(
        "SELECT count(*) FROM sis.staff WHERE role IN ('teacher', 'aide')")
    assert total("/students", "grades='09' AND givenName~'AN'") == count(
        "SELECT count(*) FROM sis.students WHERE grade = 9 AND first_name ILIKE '%%an%%'")
    assert total("/demographics", "birthDate>='2010-01-01' AND sex='female'") == count(
        "SELECT count(*) FROM sis.students WHERE birth_date >= '2010-01-01' AND sex = 'female'")
    assert total("/demographics", "birthDate<'2005-06-01'") == count(
        "SELECT count(*) FROM sis.students WHERE birth_date < '2005-06-01'")
    assert total("/classes", "classType!='homeroom'") == count(
        "SELECT count(*) FROM sis.sections WHERE class_type <> 'homeroom'")
    assert total("/classes", "school.sourcedId='sch-0002' AND periods>='3'") == count(
        "SELECT count(*) FROM sis.sections WHERE school_id = 2 AND period >= 3")
    assert total("/enrollments", "user.sourcedId='stu-000001'") == count(
        "SELECT count(*) FROM sis.enrollments WHERE student_id = 1")
    assert total("/users", "enabledUser='false'") == count(
        "SELECT (SELECT count(*) FROM sis.staff sf LEFT JOIN sis.accounts a ON a.person_type ="
        " 'staff' AND a.person_id = sf.staff_id WHERE sf.status <> 'active' OR a.status ="
        " 'disabled') + (SELECT count(*) FROM sis.students WHERE enrollment_status <> 'active')")
    assert total("/users", "sourcedId~'-00000'") == 27  # 9 of each kind
    assert total("/users", "status='active'") == total("/users", "status!='tobedeleted'")
    assert total("/orgs", "type='district' OR identifier='1001'") == 2
    # dateLastModified: everything is as seeded (the cutover date) until it changes.
    users = total("/users", "status='active'")
    assert total("/users", f"dateLastModified<='{SEEDED}'") + total(
        "/users", f"dateLastModified>'{SEEDED}'") == users
    assert total("/academicSessions", "dateLastModified>'2019-04-21T23:59:59Z'") == 9
    assert total("/academicSessions", "dateLastModified>'2019-04-22'") == 0
    # Spaces around operators, and values holding quotes and logical words.
    assert total("/orgs", "type = 'district'") == 1
    assert total("/users", "familyName='O'Brien'") == count(
        "SELECT count(*) FROM sis.students WHERE last_name = 'O''Brien'")
    assert total("/courses", "title='Rock AND Roll' OR title~'AND x='") == 0


def test_filter_parser() -> None:
    clauses, logic = parse_filter("familyName='O'Brien' AND title='Rock AND Roll'")
    assert logic == "AND"
    assert [(c.field, c.op, c.value) for c in clauses] == [
        ("familyName", "=", "O'Brien"), ("title", "=", "Rock AND Roll")]
    clauses, logic = parse_filter("a>='1' OR b~'x' OR c!=''")
    assert logic == "OR" and [c.op for c in clauses] == [">=", "~", "!="]
    [clause], _ = parse_filter("givenName='x' OR '1'='1'")
    assert clause.value == "x' OR '1'='1"  # one value: the injection is just text


def test_invalid_filters_answer_the_status_payload(api: httpx.Client) -> None:
    for flt in ("password='x'", "givenName", "givenName='x", "givenName=x", "='x'",
                "givenName=='x'", "givenName='a' AND familyName='b' OR email='c'",
                "birthDate>'yesterday'", "enabledUser='maybe'", "roles.role='teacher'",
                "givenName='a' and", " AND givenName='a'", "x" * 3000):
        path = "/demographics" if "birthDate" in flt else "/users"
        r = api.get(path, params={"filter": flt})
        assert r.status_code == 400, (flt, r.text)
        assert _minor(r) == "invalid_filter_field", flt
        assert r.json()["imsx_description"]


def test_sql_injection_is_harmless(api: httpx.Client, seeded_url: str) -> None:
    students = _count(seeded_url, "SELECT count(*) FROM sis.students")
    for flt in ("givenName='x' OR '1'='1'", "givenName='x'; DROP TABLE sis.students; --'",
                "givenName='\\' OR 1=1 --'", "email='a@b.c' UNION SELECT password_hash FROM"
                " sis.accounts --'", "givenName~'%'", "givenName~'_'"):
        r = api.get("/users", params={"filter": flt})
        assert r.status_code == 200, (flt, r.text)
        assert "password" not in r.text and "pbkdf2" not in r.text
    assert api.get("/users", params={"filter": "givenName~'%'"}).headers["x-total-count"] == "0"
    for params in ({"sort": "familyName; DROP TABLE sis.students"},
                   {"fields": "sourcedId FROM sis.accounts --"},
                   {"sort": "(SELECT 1)"}):
        assert api.get("/users", params=params).status_code == 400
    for path in ("/users/stu-000001' OR '1'='1", "/users/1;DROP TABLE sis.students",
                 "/classes/cls-000001%00", "/orgs/%27%3B--"):
        assert api.get(path).status_code == 404, path
    assert _count(seeded_url, "SELECT count(*) FROM sis.students") == students


def test_date_last_modified_follows_changes(api: httpx.Client, seeded_url: str) -> None:
    [(staff_id,)] = query(seeded_url, "SELECT max(staff_id) FROM sis.staff WHERE role = 'aide'")
    sid = f"stf-{staff_id:06d}"
    assert api.get(f"/users/{sid}").json()["user"]["dateLastModified"] == SEEDED
    with psycopg.connect(seeded_url) as conn:  # a change that leaves the object as it was
        conn.execute("UPDATE sis.staff SET room = room WHERE staff_id = %s", [staff_id])
    changed = api.get(f"/users/{sid}").json()["user"]["dateLastModified"]
    assert changed > "2020"
    delta = api.get("/users", params={"filter": f"dateLastModified>'{SEEDED}'", "limit": 5000})
    assert sid in _ids(delta.json()["users"])
    assert all(u["dateLastModified"] > SEEDED for u in delta.json()["users"])


def test_never_500(api: httpx.Client, base_url: str) -> None:
    paths = [route for route in httpx.get(f"{base_url}/openapi.json").json()["paths"]
             if route.startswith(BASE)]
    assert len(paths) == 36  # 12 collections, one object each, 12 sub-collections
    checked = 0
    for template in paths:
        for value in ("0", "-1", "%00", "abc", "stu-000001", "cls-000001", "x" * 300, "%27"):
            path = re.sub(r"\{[^}]+\}", value, template)[len(BASE):]
            for params in ({}, {"limit": "99999999999999999999"}, {"filter": "x='\x00'"},
                           {"sort": "sourcedId", "orderBy": "desc", "fields": "sourcedId"},
                           {"filter": "sourcedId>'\u00e9' OR sourcedId~'\u2603'"}):
                r = api.get(path, params=params)
                assert r.status_code < 500, (path, params, r.text)
                assert r.headers["content-type"] == "application/json"
                checked += 1
    assert checked > 1000


SAMPLES = {"text": "1", "date": "2019-04-22", "datetime": "2019-04-22T00:00:00Z",
           "bool": "true", "number": "1"}


@pytest.mark.parametrize(("path", "coll"), ROUTES, ids=[r[0] for r in ROUTES])
def test_every_field_sorts_and_filters(api: httpx.Client, path: str, coll: Collection) -> None:
    """Each filterable field of each collection: sorted both ways, compared with each operator
    (a value of its type), and searched with ~; all answer 200 with consistent totals."""
    for name, col in coll.branches[0].cols.items():
        for order in ("asc", "desc"):
            r = api.get(path, params={"sort": name, "orderBy": order, "limit": 2})
            assert r.status_code == 200, (path, name, r.text)
        totals = {}
        for op in ("=", "!=", ">", "<", ">=", "<=", "~"):
            r = api.get(path, params={"filter": f"{name}{op}'{SAMPLES[col.type]}'", "limit": 1})
            assert r.status_code == 200, (path, name, op, r.text)
            totals[op] = int(r.headers["x-total-count"])
        assert totals["<"] + totals["="] == totals["<="], (path, name, totals)
        assert totals[">"] + totals["="] == totals[">="], (path, name, totals)
        assert totals["="] + totals["!="] == int(api.get(path).headers["x-total-count"])
