"""attendance: homeroom daily attendance, class-period attendance and the office summary —
against a real server, with every write checked in the database.

Identities come from the end of each persona's list at offsets 30..59: high-school teachers are
``identities["teacher"][-30 - i]``; the elementary homeroom teachers all sit earlier in the
teacher list, so they are taken at the same offsets from the end of the homeroom teachers only.
There are only a few clerks and administrators (one clerk per school, and test_auth deactivates
the first), so they are only used to read here, and the homeroom teachers' school office is its
principal or counselor rather than its clerk.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pyarrow as pa
import pytest
from support.sisdb import Login, assert_error, enrolled, outsider, query

from fake_data.district import District

Identities = dict[str, list[dict[str, Any]]]
STATUSES = ("present", "tardy", "absent_excused", "absent_unexcused")
TODAY = "2019-04-22"  # the small district's go-live day; the server works it out itself
PAST = "2019-04-05"  # a school day before the seeded history: nothing recorded yet
# Daily attendance is posted on seeded history days (corrections), never on a new date: a new
# newest date would move the portal's "today" (the day after the newest daily attendance) and
# the seeded day count test_seed checks, for every test that runs after these.
HISTORY_DAY, FIRST_HISTORY_DAY = "2019-04-12", "2019-04-08"


def high_teacher(identities: Identities, i: int) -> dict[str, Any]:
    t = identities["teacher"][-30 - i]
    assert t["level"] == "high"
    return t


def homeroom_teacher(identities: Identities, district: District, i: int) -> dict[str, Any]:
    kind = district["sections"]["class_type"].cast(pa.string()).to_pylist()
    homerooms = [t for t in identities["teacher"] if t["level"] == "elementary"
                 and t["sections"] and all(kind[s - 1] == "homeroom" for s in t["sections"])]
    return homerooms[-30 - i]


def clerk_of(identities: Identities, school_id: int) -> dict[str, Any]:
    return next(c for c in identities["clerk"][::-1] if c["school_id"] == school_id)


def staff_account(district: District, role: str, school_id: int) -> dict[str, Any]:
    """Login of an active staff member with this role at this school (school office roles are
    not in the user pool; test_auth deactivates the first clerk, so these avoid clerks)."""
    school = district["staff"]["school_id"].to_pylist()
    return next(a for a in district["accounts"].to_pylist()[::-1]
                if a["person_type"] == "staff" and a["role"] == role
                and a["status"] == "active" and school[a["person_id"] - 1] == school_id)


def daily_rows(url: str, students: list[int], date: str) -> dict[int, tuple[Any, ...]]:
    rows = query(url, "SELECT student_id, status, school_id, section_id, recorded_by,"
                      " recorded_at IS NOT NULL FROM sis.attendance_daily"
                      " WHERE student_id = ANY(%s) AND date = %s", [students, date])
    return {r[0]: r[1:] for r in rows}


def period_rows(url: str, section_id: int, date: str) -> dict[int, tuple[Any, ...]]:
    rows = query(url, "SELECT student_id, status, period, recorded_by, recorded_at IS NOT NULL"
                      " FROM sis.attendance_period WHERE section_id = %s AND date = %s",
                 [section_id, date])
    return {r[0]: r[1:] for r in rows}


def records(students: list[int], status: str | None = None) -> list[dict[str, Any]]:
    return [{"student_id": s, "status": status or STATUSES[k % 4]}
            for k, s in enumerate(students)]


def test_the_default_date_is_the_school_day_after_the_history(
        login: Login, identities: Identities, district: District, seeded_url: str) -> None:
    newest = query(seeded_url, "SELECT max(date) FROM sis.attendance_daily"
                               " WHERE recorded_at IS NULL")[0][0]
    calendar = district.profile.calendar
    day = newest + dt.timedelta(days=1)
    while day.weekday() >= 5 or any(h.start <= day <= h.end for h in calendar.holidays):
        day += dt.timedelta(days=1)
    assert day.isoformat() == TODAY == calendar.cutover_date.isoformat()
    assert newest.isoformat() == HISTORY_DAY
    me = homeroom_teacher(identities, district, 0)
    r = login(me).get(f"/api/attendance/sections/{me['sections'][0]}/daily")
    assert r.status_code == 200 and r.json()["date"] == TODAY


def test_daily_form_shows_the_recorded_statuses(login: Login, identities: Identities,
                                                district: District, seeded_url: str) -> None:
    me = homeroom_teacher(identities, district, 0)
    section = me["sections"][0]
    students = enrolled(seeded_url, section)
    history = query(seeded_url, "SELECT max(date)::text FROM sis.attendance_daily"
                                " WHERE recorded_at IS NULL")[0][0]
    r = login(me).get(f"/api/attendance/sections/{section}/daily", params={"date": history})
    assert r.status_code == 200
    body = r.json()
    assert body["section_id"] == section and body["date"] == history and body["period"] == 0
    assert sorted(s["student_id"] for s in body["students"]) == students
    recorded = daily_rows(seeded_url, students, history)
    assert {s["student_id"]: s["status"] for s in body["students"]} == {
        s: recorded[s][0] for s in students}
    names = {row[0]: row[1:] for row in query(
        seeded_url, "SELECT student_id, first_name, last_name, student_number FROM sis.students"
                    " WHERE student_id = ANY(%s)", [students])}
    for s in body["students"]:
        assert (s["first_name"], s["last_name"], s["student_number"]) == names[s["student_id"]]
    blank = login(me).get(f"/api/attendance/sections/{section}/daily", params={"date": PAST})
    assert {s["status"] for s in blank.json()["students"]} == {None}
    assert_error(login(me).get(f"/api/attendance/sections/{section}/daily",
                               params={"date": "2019-02-30"}), 422, "invalid_request")


def test_post_daily_attendance(login: Login, identities: Identities, district: District,
                               seeded_url: str) -> None:
    me = homeroom_teacher(identities, district, 0)
    t = login(me)
    section = me["sections"][0]
    students = enrolled(seeded_url, section)
    school = query(seeded_url, "SELECT school_id FROM sis.sections WHERE section_id = %s",
                   [section])[0][0]
    url = f"/api/attendance/sections/{section}/daily"
    seeded = daily_rows(seeded_url, students, HISTORY_DAY)
    assert {v[3:] for v in seeded.values()} == {(None, False)}  # history: nobody recorded it
    r = t.post(url, json={"date": HISTORY_DAY, "records": records(students)})
    assert r.status_code == 200, r.text
    assert r.json() == {"section_id": section, "date": HISTORY_DAY, "recorded": len(students)}
    expected = {s: (STATUSES[k % 4], school, section, me["staff_id"], True)
                for k, s in enumerate(students)}
    assert daily_rows(seeded_url, students, HISTORY_DAY) == expected
    # A correction updates the student's row for the day in place.
    r = t.post(url, json={"date": HISTORY_DAY, "records": [
        {"student_id": students[1], "status": "present"}]})
    assert r.status_code == 200 and r.json()["recorded"] == 1
    expected[students[1]] = ("present", school, section, me["staff_id"], True)
    assert daily_rows(seeded_url, students, HISTORY_DAY) == expected
    form = t.get(url, params={"date": HISTORY_DAY}).json()["students"]
    assert {s["student_id"]: s["status"] for s in form} == {s: v[0] for s, v in expected.items()}
    assert all(s["recorded_at"] for s in form)
    # Only the students in the post change: the rest of an earlier day stays as seeded.
    before = daily_rows(seeded_url, students[2:], FIRST_HISTORY_DAY)
    r = t.post(url, json={"date": FIRST_HISTORY_DAY, "records": records(students[:2], "tardy")})
    assert r.status_code == 200
    assert daily_rows(seeded_url, students[:2], FIRST_HISTORY_DAY) == {
        s: ("tardy", school, section, me["staff_id"], True) for s in students[:2]}
    assert daily_rows(seeded_url, students[2:], FIRST_HISTORY_DAY) == before


def test_bad_daily_posts_write_nothing(login: Login, identities: Identities,
                                       district: District, seeded_url: str) -> None:
    me = homeroom_teacher(identities, district, 1)
    t = login(me)
    section = me["sections"][0]
    students = enrolled(seeded_url, section)
    stranger = outsider(seeded_url, section, me["school_id"], last=True)
    url = f"/api/attendance/sections/{section}/daily"
    error = assert_error(t.post(url, json={"date": TODAY, "records": records(
        [*students, stranger])}), 422, "not_enrolled")
    assert str(stranger) in error["message"]
    for bad in (
        {"date": TODAY, "records": [{"student_id": students[0], "status": "sick"}]},
        {"date": TODAY, "records": [{"student_id": students[0]}]},
        {"date": TODAY, "records": records([students[0], students[0]])},
        {"date": TODAY, "records": []},
        {"date": "04/22/2019", "records": records(students)},
        {"records": records(students)},
    ):
        assert_error(t.post(url, json=bad), 422, "invalid_request")
    for day in ("2019-04-23", "2019-04-20", "2019-04-17", "2018-08-01"):  # future, weekend,
        assert_error(t.post(url, json={"date": day, "records": records(students)}),  # break,
                     422, "invalid_date")  # before the school year
    assert daily_rows(seeded_url, [*students, stranger], TODAY) == {}
    assert query(seeded_url, "SELECT count(*) FROM sis.attendance_daily WHERE student_id = ANY(%s)"
                             " AND recorded_by IS NOT NULL", [[*students, stranger]]) == [(0,)]


def test_class_period_attendance(login: Login, identities: Identities, seeded_url: str) -> None:
    me = high_teacher(identities, 10)
    t = login(me)
    section = me["sections"][0]
    period = query(seeded_url, "SELECT period FROM sis.sections WHERE section_id = %s",
                   [section])[0][0]
    students = enrolled(seeded_url, section)
    url = f"/api/attendance/sections/{section}/periods"
    form = t.get(url)
    assert form.status_code == 200
    assert form.json()["date"] == TODAY and form.json()["period"] == period > 0
    assert sorted(s["student_id"] for s in form.json()["students"]) == students
    assert {s["status"] for s in form.json()["students"]} == {None}
    r = t.post(url, json={"date": TODAY, "records": records(students)})
    assert r.status_code == 200 and r.json()["recorded"] == len(students)
    expected = {s: (STATUSES[k % 4], period, me["staff_id"], True)
                for k, s in enumerate(students)}
    assert period_rows(seeded_url, section, TODAY) == expected
    r = t.post(url, json={"date": TODAY, "records": [
        {"student_id": students[0], "status": "absent_excused"}]})
    assert r.status_code == 200
    expected[students[0]] = ("absent_excused", period, me["staff_id"], True)
    assert period_rows(seeded_url, section, TODAY) == expected
    got = t.get(url, params={"date": TODAY}).json()["students"]
    assert {s["student_id"]: s["status"] for s in got} == {s: v[0] for s, v in expected.items()}
    # The seeded history shows through for an earlier day.
    history = query(seeded_url, "SELECT max(date)::text FROM sis.attendance_period"
                                " WHERE section_id = %s AND recorded_at IS NULL", [section])[0][0]
    seeded = period_rows(seeded_url, section, history)
    got = t.get(url, params={"date": history}).json()["students"]
    assert {s["student_id"]: s["status"] for s in got} == {s: v[0] for s, v in seeded.items()}

    stranger = outsider(seeded_url, section, me["school_id"], last=True)
    before = period_rows(seeded_url, section, TODAY)
    error = assert_error(t.post(url, json={"date": TODAY, "records": [
        {"student_id": students[1], "status": "present"},
        {"student_id": stranger, "status": "present"}]}), 422, "not_enrolled")
    assert str(stranger) in error["message"]
    assert_error(t.post(url, json={"date": TODAY, "records": [
        {"student_id": students[1], "status": "here"}]}), 422, "invalid_request")
    assert period_rows(seeded_url, section, TODAY) == before
    # A homeroom is not a class period, and a class period is not a homeroom.
    assert_error(t.get(f"/api/attendance/sections/{section}/daily"), 422, "not_homeroom")
    assert_error(t.post(f"/api/attendance/sections/{section}/daily",
                        json={"date": TODAY, "records": records(students)}),
                 422, "not_homeroom")
    assert daily_rows(seeded_url, students, TODAY) == {}


def test_homeroom_is_not_a_class_period(login: Login, identities: Identities,
                                        district: District, seeded_url: str) -> None:
    me = homeroom_teacher(identities, district, 2)
    t = login(me)
    section = me["sections"][0]
    assert_error(t.get(f"/api/attendance/sections/{section}/periods"), 422, "not_class_period")
    r = t.post(f"/api/attendance/sections/{section}/periods",
               json={"date": TODAY, "records": records(enrolled(seeded_url, section))})
    assert_error(r, 422, "not_class_period")
    assert period_rows(seeded_url, section, TODAY) == {}


def test_other_sections_and_roles(login: Login, client: httpx.Client, identities: Identities,
                                  district: District, seeded_url: str) -> None:
    homeroom = homeroom_teacher(identities, district, 3)
    high = high_teacher(identities, 11)
    hr_section, hs_section = homeroom["sections"][0], high["sections"][0]
    hr_students, hs_students = enrolled(seeded_url, hr_section), enrolled(seeded_url, hs_section)
    daily = f"/api/attendance/sections/{hr_section}/daily"
    periods = f"/api/attendance/sections/{hs_section}/periods"
    post_daily = {"date": TODAY, "records": records(hr_students)}
    post_periods = {"date": TODAY, "records": records(hs_students)}
    calls = [("GET", daily, None), ("POST", daily, post_daily),
             ("GET", periods, None), ("POST", periods, post_periods)]

    # Another teacher's section: 404 with no data, both ways round.
    for who, method, path, body in ((high, *calls[0]), (high, *calls[1]),
                                    (homeroom, *calls[2]), (homeroom, *calls[3])):
        r = login(who).request(method, path, json=body)
        assert_error(r, 404, "not_found")
        assert "students" not in r.json()
    forbidden = high["forbidden_sections"][0]
    assert_error(login(high).get(f"/api/attendance/sections/{forbidden}/periods"), 404)
    assert_error(login(high).get("/api/attendance/sections/2147483647/periods"), 404)
    assert_error(login(high).get("/api/attendance/sections/0/periods"), 422)

    # Guardians, students and the office cannot use the teachers' forms.
    for who in (identities["guardian"][-30], identities["student"][-30],
                identities["clerk"][-1]):
        c = login(who)
        for method, path, body in calls:
            assert_error(c.request(method, path, json=body), 403, "forbidden")
    for method, path, body in calls:
        assert_error(client.request(method, path, json=body), 401)

    # A district administrator may look at any section's form but does not take attendance.
    admin = login(identities["district_admin"][-1])
    assert admin.get(daily).status_code == 200
    assert sorted(s["student_id"] for s in admin.get(periods).json()["students"]) == hs_students
    assert_error(admin.post(daily, json=post_daily), 403, "forbidden")
    assert_error(admin.post(periods, json=post_periods), 403, "forbidden")
    assert daily_rows(seeded_url, hr_students, TODAY) == {}
    assert period_rows(seeded_url, hs_section, TODAY) == {}


def summary_from_sql(url: str, school_id: int, date: str) -> dict[str, Any]:
    """The expected summary, counted straight from the tables."""
    rows = query(url, """
        SELECT s.grade, count(*), count(a.status) FILTER (WHERE a.status = 'present'),
               count(a.status) FILTER (WHERE a.status = 'tardy'),
               count(a.status) FILTER (WHERE a.status = 'absent_excused'),
               count(a.status) FILTER (WHERE a.status = 'absent_unexcused'),
               count(*) - count(a.status)
        FROM sis.students s LEFT JOIN sis.attendance_daily a
          ON a.student_id = s.student_id AND a.date = %s AND a.school_id = s.school_id
        WHERE s.school_id = %s AND s.enrollment_status = 'active'
        GROUP BY s.grade ORDER BY s.grade""", [date, school_id])
    grades = [{"grade": g, "enrolled": n, "counts": dict(zip(STATUSES, c, strict=True)),
               "not_recorded": missing} for g, n, *c, missing in rows]
    return {"enrolled": sum(g["enrolled"] for g in grades),
            "counts": {s: sum(g["counts"][s] for g in grades) for s in STATUSES},
            "not_recorded": sum(g["not_recorded"] for g in grades), "grades": grades}


@pytest.mark.parametrize("when", ["history", "corrected", "today"])
def test_school_summary_matches_the_tables(login: Login, identities: Identities,
                                           district: District, seeded_url: str,
                                           when: str) -> None:
    me = homeroom_teacher(identities, district, 4)
    school = me["school_id"]
    date = TODAY if when == "today" else FIRST_HISTORY_DAY
    students = enrolled(seeded_url, me["sections"][0])
    if when == "corrected":  # a homeroom's day is re-recorded: all excused
        assert login(me).post(f"/api/attendance/sections/{me['sections'][0]}/daily", json={
            "date": date, "records": records(students, "absent_excused")}).status_code == 200
    office = login(staff_account(district, "counselor", school))
    r = office.get(f"/api/attendance/schools/{school}/summary",
                   params={} if when == "today" else {"date": date})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = summary_from_sql(seeded_url, school, date)
    assert {k: body[k] for k in expected} == expected
    assert body["school_id"] == school and body["date"] == date
    assert body["school_name"] == query(seeded_url, "SELECT name FROM sis.schools"
                                                    " WHERE school_id = %s", [school])[0][0]
    assert len(body["grades"]) == len(set(query(
        seeded_url, "SELECT grade FROM sis.students WHERE school_id = %s", [school])))
    if when == "today":
        assert body["not_recorded"] == body["enrolled"] > 0
    else:
        assert body["not_recorded"] == 0 and sum(body["counts"].values()) == body["enrolled"]
    if when == "corrected":
        assert body["counts"]["absent_excused"] >= len(students)
    admin = login(identities["district_admin"][-1])
    assert admin.get(f"/api/attendance/schools/{school}/summary",
                     params={"date": date}).json() == body


def test_school_summary_access(login: Login, client: httpx.Client, identities: Identities,
                               district: District) -> None:
    school = 7
    url = f"/api/attendance/schools/{school}/summary"
    for role in ("principal", "assistant_principal", "counselor"):
        r = login(staff_account(district, role, school)).get(url)
        assert r.status_code == 200 and r.json()["school_id"] == school
    other_clerk = next(c for c in identities["clerk"][::-1] if c["school_id"] != school)
    r = login(other_clerk).get(url)
    assert_error(r, 404, "not_found")
    assert "enrolled" not in r.json()
    assert login(clerk_of(identities, school)).get(url).status_code == 200
    for who in (high_teacher(identities, 12), identities["guardian"][-31],
                identities["student"][-31], staff_account(district, "aide", school),
                staff_account(district, "central_office", 0)):
        assert_error(login(who).get(url), 403, "forbidden")
    assert_error(client.get(url), 401)
    admin = login(identities["district_admin"][-1])
    assert_error(admin.get("/api/attendance/schools/9999/summary"), 404, "not_found")
    assert_error(admin.get(url, params={"date": "yesterday"}), 422, "invalid_request")
    assert_error(admin.get("/api/attendance/schools/0/summary"), 422, "invalid_request")
