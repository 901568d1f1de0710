"""portal: guardians and students see their own data only, with values as the database holds
them; everyone else gets 403 (wrong role) or 404 (someone else's child) — against a real server.

Identities come from the end of each persona's list at offsets 10..29 (other test files use
other offsets); the small clerk and administrator pools are only logged into, never changed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import psycopg
import pytest
from support.sisdb import Login

from fake_data.profile import load_profile
from staging.portal import letter_grade

Identities = dict[str, list[dict[str, Any]]]
CALENDAR = load_profile("small").calendar


def guardian(identities: Identities, i: int) -> dict[str, Any]:
    return identities["guardian"][-10 - i]


def student(identities: Identities, i: int) -> dict[str, Any]:
    return identities["student"][-10 - i]


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode(), params).fetchall()


def data_today(url: str) -> dt.date:
    """The school day after the newest seeded (not recorded-since) attendance."""
    newest = query(url, "SELECT max(date) FROM sis.attendance_daily"
                   " WHERE recorded_at IS NULL")[0][0]
    day = newest + dt.timedelta(days=1)
    while CALENDAR.school_days(before=day + dt.timedelta(days=1), count=1) != [day]:
        day += dt.timedelta(days=1)
    return day


def school_days_back(today: dt.date, count: int) -> dt.date:
    return CALENDAR.school_days(before=today, count=count)[0]


def level_of(url: str, student_id: int) -> str:
    return str(query(url, "SELECT sc.level FROM sis.students st JOIN sis.schools sc"
                     " USING (school_id) WHERE st.student_id = %s", [student_id])[0][0])


def high_school_student(identities: Identities, url: str) -> dict[str, Any]:
    return next(s for s in (student(identities, i) for i in range(10))
                if level_of(url, s["student_id"]) == "high")


def mixed_family(identities: Identities, url: str) -> tuple[dict[str, Any], int, int]:
    """A guardian with a high-school and an elementary child: (guardian, high, elementary)."""
    for g in (guardian(identities, i) for i in range(10)):
        levels = {level_of(url, kid): kid for kid in g["children"]}
        if {"high", "elementary"} <= set(levels):
            return g, levels["high"], levels["elementary"]
    raise AssertionError("no guardian with a high-school and an elementary child")


def expected_absences(url: str, student_id: int, today: dt.date) -> list[tuple[Any, ...]]:
    """Absences in the 14 school days before today, and today."""
    return query(url, "SELECT date, status FROM sis.attendance_daily WHERE student_id = %s"
                 " AND date BETWEEN %s AND %s AND status LIKE 'absent%%' ORDER BY date",
                 [student_id, school_days_back(today, 14), today])


def expected_missing(url: str, student_id: int, today: dt.date) -> list[tuple[Any, ...]]:
    """Work due in the 7 school days before today, or today, not submitted."""
    return query(url, "SELECT li.line_item_id, li.section_id, li.due_date FROM sis.scores s"
                 " JOIN sis.line_items li USING (line_item_id) WHERE s.student_id = %s"
                 " AND s.score_status = 'not submitted' AND li.due_date BETWEEN %s AND %s"
                 " ORDER BY li.due_date, li.line_item_id",
                 [student_id, school_days_back(today, 7), today])


def assert_not_found(r: httpx.Response) -> None:
    assert r.status_code == 404, r.text
    assert r.json() == {"error": {"code": "not_found", "message": r.json()["error"]["message"]}}


def reads(student_id: int | str, section_id: int = 1) -> list[str]:
    base = f"/api/portal/students/{student_id}"
    return [f"{base}/schedule", f"{base}/grades", f"{base}/sections/{section_id}/assignments",
            f"{base}/attendance", f"{base}/report-card"]


def test_home_lists_a_guardians_children_with_alerts(login: Login, identities: Identities,
                                                    seeded_url: str) -> None:
    today = data_today(seeded_url)
    assert today == CALENDAR.cutover_date  # the history ends the school day before go-live
    # A family whose children have both alert kinds between them.
    me = next(g for g in (guardian(identities, i) for i in range(20))
              if any(expected_absences(seeded_url, k, today) for k in g["children"])
              and any(expected_missing(seeded_url, k, today) for k in g["children"]))
    r = login(me).get("/api/portal/home")
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == "guardian" and body["today"] == today.isoformat()
    assert {s["student_id"] for s in body["students"]} == set(me["children"])
    for kid in body["students"]:
        row = query(seeded_url,
                    "SELECT st.first_name, st.last_name, st.grade, st.school_id, sc.name"
                    " FROM sis.students st JOIN sis.schools sc USING (school_id)"
                    " WHERE st.student_id = %s", [kid["student_id"]])[0]
        assert (kid["first_name"], kid["last_name"], kid["grade"], kid["school_id"],
                kid["school_name"]) == row
        assert [(dt.date.fromisoformat(a["date"]), a["status"])
                for a in kid["alerts"]["absences"]] == expected_absences(
            seeded_url, kid["student_id"], today)
        assert [(m["line_item_id"], m["section_id"], dt.date.fromisoformat(m["due_date"]))
                for m in kid["alerts"]["missing_assignments"]] == expected_missing(
            seeded_url, kid["student_id"], today)
    assert any(k["alerts"]["absences"] for k in body["students"])
    assert any(k["alerts"]["missing_assignments"] for k in body["students"])


def test_home_of_a_student_is_only_themselves(login: Login, identities: Identities) -> None:
    me = student(identities, 0)
    body = login(me).get("/api/portal/home").json()
    assert body["role"] == "student"
    assert [s["student_id"] for s in body["students"]] == [me["student_id"]]
    assert body["students"][0]["school_id"] == me["school_id"]


def test_no_access_children_are_invisible(login: Login, identities: Identities,
                                          seeded_url: str) -> None:
    # No guardian at offsets 10..29 has a custody no-access link: take the last ones that do,
    # read-only.
    pool = identities["guardian"][:-30]
    me = next(g for g in reversed(pool) if g["no_access_children"] and g["children"])
    client = login(me)
    denied = me["no_access_children"][0]
    assert query(seeded_url, "SELECT portal_access FROM sis.guardian_links"
                 " WHERE guardian_id = %s AND student_id = %s",
                 [me["guardian_id"], denied]) == [(False,)]
    home = client.get("/api/portal/home").json()
    assert {s["student_id"] for s in home["students"]} == set(me["children"])
    section = query(seeded_url, "SELECT section_id FROM sis.enrollments WHERE student_id = %s"
                    " LIMIT 1", [denied])[0][0]
    for path in reads(denied, section):
        assert_not_found(client.get(path))
    r = client.post(f"/api/portal/students/{denied}/absence-notices",
                    json={"date": data_today(seeded_url).isoformat(), "reason": "sick"})
    assert_not_found(r)
    assert query(seeded_url, "SELECT count(*) FROM sis.absence_notices WHERE student_id = %s",
                 [denied]) == [(0,)]
    # A guardian whose only links are no-access sees an empty home, not an error.
    alone = next(g for g in reversed(pool) if g["no_access_children"] and not g["children"])
    assert login(alone).get("/api/portal/home").json()["students"] == []


def test_schedule_matches_enrollments(login: Login, identities: Identities,
                                      seeded_url: str) -> None:
    me = student(identities, 0)
    r = login(me).get(f"/api/portal/students/{me['student_id']}/schedule")
    assert r.status_code == 200
    expected = query(seeded_url,
                     "SELECT s.section_id, s.period, c.title, s.subject, s.room,"
                     " t.first_name, t.last_name FROM sis.enrollments e"
                     " JOIN sis.sections s USING (section_id) JOIN sis.courses c USING (course_id)"
                     " JOIN sis.staff t ON t.staff_id = s.teacher_id WHERE e.student_id = %s"
                     " ORDER BY s.period, s.section_id", [me["student_id"]])
    got = [(s["section_id"], s["period"], s["course_title"], s["subject"], s["room"],
            s["teacher_first_name"], s["teacher_last_name"]) for s in r.json()["sections"]]
    assert got == expected and sorted(s[0] for s in got) == sorted(me["sections"])


def test_grades_per_class_with_posted_term_grade(login: Login, identities: Identities,
                                                 seeded_url: str) -> None:
    me = student(identities, 2)
    sid = me["student_id"]
    section = me["sections"][0]
    with psycopg.connect(seeded_url) as conn:  # a posted Quarter 3 grade for one class
        conn.execute("INSERT INTO sis.term_grades (section_id, student_id, session_id, grade,"
                     " posted_by) SELECT %s, %s, 6, 'B+', teacher_id FROM sis.sections"
                     " WHERE section_id = %s ON CONFLICT DO NOTHING", [section, sid, section])
    r = login(me).get(f"/api/portal/students/{sid}/grades")
    assert r.status_code == 200
    classes = {c["section_id"]: c for c in r.json()["classes"]}
    assert sorted(classes) == sorted(me["sections"])
    sums = dict(query(seeded_url,
                      "SELECT li.section_id, ARRAY[sum(s.score::float8),"
                      " sum(li.points_possible::float8)] FROM sis.scores s"
                      " JOIN sis.line_items li USING (line_item_id) WHERE s.student_id = %s"
                      " AND s.score_status = 'fully graded' GROUP BY li.section_id", [sid]))
    for section_id, c in classes.items():
        earned, possible = sums.get(section_id, [0.0, 0.0])
        assert c["points_earned"] == pytest.approx(earned)
        assert c["points_possible"] == pytest.approx(possible)
        if possible:
            assert c["percent"] == pytest.approx(100 * earned / possible, abs=0.05)
            cut = [(90, "A"), (80, "B"), (70, "C"), (60, "D"), (-1, "F")]
            assert c["letter"] == next(letter for low, letter in cut if c["percent"] >= low)
        else:
            assert c["percent"] is None and c["letter"] is None
    assert any(c["graded_items"] for c in classes.values())
    posted = dict(query(seeded_url, "SELECT section_id, grade FROM sis.term_grades"
                        " WHERE student_id = %s", [sid]))
    assert classes[section]["term_grade"]["grade"] == posted[section]
    assert classes[section]["term_grade"]["session_title"] == "Quarter 3"
    for section_id, c in classes.items():
        if section_id not in posted:
            assert c["term_grade"] is None


def test_letter_grade_cuts() -> None:
    cases = {100.0: "A", 90.0: "A", 89.9: "B", 80.0: "B", 79.9: "C", 70.0: "C", 69.9: "D",
             60.0: "D", 59.9: "F", 0.0: "F"}
    assert {p: letter_grade(p) for p in cases} == cases
    assert letter_grade(None) is None


def test_assignments_of_an_enrolled_section_only(login: Login, identities: Identities,
                                                 seeded_url: str) -> None:
    me, kid, _ = mixed_family(identities, seeded_url)
    client = login(me)
    section = query(seeded_url,
                    "SELECT e.section_id FROM sis.enrollments e JOIN sis.line_items li"
                    " USING (section_id) WHERE e.student_id = %s"
                    " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1", [kid])[0][0]
    r = client.get(f"/api/portal/students/{kid}/sections/{section}/assignments")
    assert r.status_code == 200
    expected = query(seeded_url,
                     "SELECT li.line_item_id, li.due_date, li.points_possible, s.score,"
                     " s.score_status FROM sis.line_items li LEFT JOIN sis.scores s"
                     " ON s.line_item_id = li.line_item_id AND s.student_id = %s"
                     " WHERE li.section_id = %s ORDER BY li.due_date, li.line_item_id",
                     [kid, section])
    got = [(a["line_item_id"], dt.date.fromisoformat(a["due_date"]), a["points_possible"],
            a["score"], a["score_status"]) for a in r.json()["assignments"]]
    assert got == expected and got
    other = query(seeded_url,
                  "SELECT s.section_id FROM sis.sections s JOIN sis.students st"
                  " ON st.school_id = s.school_id WHERE st.student_id = %s AND NOT EXISTS"
                  " (SELECT 1 FROM sis.enrollments e WHERE e.section_id = s.section_id"
                  " AND e.student_id = st.student_id) LIMIT 1", [kid])[0][0]
    assert_not_found(client.get(f"/api/portal/students/{kid}/sections/{other}/assignments"))
    assert_not_found(client.get(f"/api/portal/students/{kid}/sections/2147483647/assignments"))


def test_attendance_daily_and_high_school_periods(login: Login, identities: Identities,
                                                  seeded_url: str) -> None:
    me = high_school_student(identities, seeded_url)
    sid = me["student_id"]
    client = login(me)
    today = data_today(seeded_url)
    r = client.get(f"/api/portal/students/{sid}/attendance")
    assert r.status_code == 200
    body = r.json()
    lo, hi = today - dt.timedelta(days=30), today
    assert (body["from"], body["to"]) == (lo.isoformat(), hi.isoformat())
    daily = query(seeded_url, "SELECT date, status FROM sis.attendance_daily"
                  " WHERE student_id = %s AND date BETWEEN %s AND %s ORDER BY date",
                  [sid, lo, hi])
    assert [(dt.date.fromisoformat(d["date"]), d["status"]) for d in body["daily"]] == daily
    assert daily
    periods = query(seeded_url, "SELECT date, period, section_id, status"
                    " FROM sis.attendance_period WHERE student_id = %s"
                    " AND date BETWEEN %s AND %s ORDER BY date, period", [sid, lo, hi])
    assert [(dt.date.fromisoformat(p["date"]), p["period"], p["section_id"], p["status"])
            for p in body["periods"]] == periods
    assert periods
    # An explicit range; one day.
    first = daily[0][0].isoformat()
    one = client.get(f"/api/portal/students/{sid}/attendance",
                     params={"from": first, "to": first}).json()
    assert [d["date"] for d in one["daily"]] == [first]
    assert {p["date"] for p in one["periods"]} == {first}
    # An elementary child (seen by a guardian): daily rows, no period rows.
    parent, _, young = mixed_family(identities, seeded_url)
    kid = login(parent).get(f"/api/portal/students/{young}/attendance").json()
    assert kid["daily"] and kid["periods"] == []


def test_attendance_rejects_bad_ranges(login: Login, identities: Identities) -> None:
    me = student(identities, 0)
    client = login(me)
    url = f"/api/portal/students/{me['student_id']}/attendance"
    for params in ({"from": "2019-04-12", "to": "2019-04-01"},  # from after to
                   {"from": "2099-01-01"},  # after the default `to` (today)
                   {"from": "2017-01-01", "to": "2019-04-01"},  # more than a year
                   {"from": "2019-02-30"}, {"to": "yesterday"}):
        r = client.get(url, params=params)
        assert r.status_code == 422, params
        assert r.json()["error"]["code"] == "invalid_request"


def test_contact_update_persists(login: Login, identities: Identities, seeded_url: str) -> None:
    me = guardian(identities, 3)
    client = login(me)
    new = {"phone": "(217) 555-0123", "street": "  42 Synthetic Avenue ", "postcode": "62701"}
    r = client.put("/api/portal/contact", json=new)
    assert r.status_code == 200
    body = r.json()
    assert body["guardian_id"] == me["guardian_id"] and body["phone"] == new["phone"]
    assert body["household"]["street"] == "42 Synthetic Avenue"
    assert body["household"]["postcode"] == "62701"
    stored = query(seeded_url,
                   "SELECT g.phone, h.street, h.postcode FROM sis.guardians g"
                   " JOIN sis.households h USING (household_id) WHERE g.guardian_id = %s",
                   [me["guardian_id"]])
    assert stored == [(new["phone"], "42 Synthetic Avenue", "62701")]
    # A partial update keeps the other fields.
    r = client.put("/api/portal/contact", json={"phone": "(217) 555-0199"})
    assert r.status_code == 200 and r.json()["household"]["street"] == "42 Synthetic Avenue"
    assert query(seeded_url, "SELECT phone FROM sis.guardians WHERE guardian_id = %s",
                 [me["guardian_id"]]) == [("(217) 555-0199",)]
    for bad in ({}, {"phone": "(217) 555-1234"}, {"phone": "217-555-0123"},
                {"phone": "(217) 555-0123x"}, {"postcode": "6270"}, {"street": ""},
                {"street": "x" * 121}, {"street": "a\nb"}, {"email": "me@example.org"},
                {"phone": 2175550123}):
        r = client.put("/api/portal/contact", json=bad)
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "invalid_request"
    assert client.put("/api/portal/contact", content=b"{not json",
                      headers={"content-type": "application/json"}).status_code == 422
    assert query(seeded_url, "SELECT phone FROM sis.guardians WHERE guardian_id = %s",
                 [me["guardian_id"]]) == [("(217) 555-0199",)]
    kid = student(identities, 3)
    r = login(kid).put("/api/portal/contact", json={"phone": "(217) 555-0123"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_absence_notice_is_stored(login: Login, identities: Identities,
                                  seeded_url: str) -> None:
    me = guardian(identities, 4)
    client = login(me)
    kid = me["children"][0]
    today = data_today(seeded_url)
    day = today + dt.timedelta(days=3)
    r = client.post(f"/api/portal/students/{kid}/absence-notices",
                    json={"date": day.isoformat(), "reason": "Dentist appointment"})
    assert r.status_code == 201
    notice = r.json()
    assert notice["student_id"] == kid and notice["date"] == day.isoformat()
    assert query(seeded_url, "SELECT student_id, submitted_by, date, reason"
                 " FROM sis.absence_notices WHERE id = %s", [notice["id"]]) == [
        (kid, me["guardian_id"], day, "Dentist appointment")]
    edge = client.post(f"/api/portal/students/{kid}/absence-notices",
                       json={"date": (today - dt.timedelta(days=30)).isoformat(),
                             "reason": "flu"})
    assert edge.status_code == 201
    url = f"/api/portal/students/{kid}/absence-notices"
    for bad in ({"date": (today + dt.timedelta(days=31)).isoformat(), "reason": "trip"},
                {"date": (today - dt.timedelta(days=31)).isoformat(), "reason": "trip"},
                {"date": today.isoformat(), "reason": ""},
                {"date": today.isoformat(), "reason": "   "},
                {"date": today.isoformat(), "reason": "x" * 501},
                {"date": "2019-13-01", "reason": "trip"}, {"reason": "trip"},
                {"date": today.isoformat()}):
        r = client.post(url, json=bad)
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "invalid_request"
    assert query(seeded_url, "SELECT count(*) FROM sis.absence_notices WHERE student_id = %s",
                 [kid]) == [(2,)]
    # A student cannot send one, not even for themselves.
    self_ = student(identities, 3)
    r = login(self_).post(f"/api/portal/students/{self_['student_id']}/absence-notices",
                          json={"date": today.isoformat(), "reason": "sick"})
    assert r.status_code == 403


PDF_OBJECT = re.compile(rb"(\d+) 0 obj")


def check_pdf(pdf: bytes) -> str:
    """Structure of a one-page PDF: header, xref offsets pointing at their objects, trailer;
    returns the text of the content stream."""
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    start = int(pdf[pdf.rindex(b"startxref") + 9:].split()[0])
    assert pdf[start:start + 4] == b"xref"
    lines = pdf[start:].split(b"\n")
    first, count = map(int, lines[1].split())
    assert first == 0 and lines[2] == b"0000000000 65535 f "
    for number, entry in enumerate(lines[3:2 + count], start=1):
        assert len(entry) == 19 and entry.endswith(b" 00000 n ")  # 20 bytes with the newline
        offset = int(entry[:10])
        found = PDF_OBJECT.match(pdf, offset)
        assert found and int(found.group(1)) == number
    assert b"/Size %d" % count in pdf and b"/Type /Catalog" in pdf and b"/Count 1" in pdf
    declared = re.search(rb"/Length (\d+) >>\nstream\n", pdf)
    assert declared
    length = int(declared.group(1))
    body = pdf[declared.end():]
    assert body[length:length + 10] == b"\nendstream"
    shown = re.findall(r"\(((?:[^\\)]|\\.)*)\) Tj", body[:length].decode("cp1252"))
    return " ".join(re.sub(r"\\(.)", r"\1", line) for line in shown)


def test_report_card_is_a_pdf_for_an_authorized_session_only(
        login: Login, client: httpx.Client, identities: Identities, seeded_url: str) -> None:
    me, kid, _ = mixed_family(identities, seeded_url)
    url = f"/api/portal/students/{kid}/report-card"
    family = login(me)
    r = family.get(url)  # a short-lived link signed for this user, not the document
    assert r.status_code == 200
    link = r.json()
    assert set(link) == {"url", "expires_at"} and link["url"].startswith("/api/reports/downloads/")
    r = family.get(link["url"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="report-card-{kid}.pdf"'
    assert r.headers["cache-control"] == "private, no-store"
    text = check_pdf(r.content)
    first, last, grade, school = query(
        seeded_url, "SELECT st.first_name, st.last_name, st.grade, sc.name FROM sis.students st"
        " JOIN sis.schools sc USING (school_id) WHERE st.student_id = %s", [kid])[0]
    assert "SYNTHETIC DATA" in text and school in text and f"{first} {last}" in text
    assert f"Grade: {grade}" in text
    grades = family.get(f"/api/portal/students/{kid}/grades").json()["classes"]
    for c in grades:
        assert c["course_title"] in text
        if c["percent"] is not None:
            assert f"{c['percent']:.1f}% {c['letter']}" in text
    # The CPS 2018 class: neither the document URL nor the link alone gives anything.
    for anonymous in (client.get(url), client.get(link["url"])):
        assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith(
            "application/json")
    other_family = login(next(g for g in (guardian(identities, i) for i in range(20))
                              if kid not in g["children"]))
    assert_not_found(other_family.get(url))
    assert_not_found(login(student(identities, 3)).get(url))
    stolen = other_family.get(link["url"])  # someone else's link, even on a valid session
    assert stolen.status_code == 403 and set(stolen.json()) == {"error"}


def test_someone_elses_child_is_not_found(login: Login, identities: Identities,
                                          seeded_url: str) -> None:
    parent, kid = guardian(identities, 5), student(identities, 3)
    for who in (parent, kid):
        client = login(who)
        mine = who.get("children") or [who.get("student_id")]
        others = [s for s in who["forbidden_students"] if s not in mine]
        assert others
        for other in others:
            section = query(seeded_url, "SELECT section_id FROM sis.enrollments"
                            " WHERE student_id = %s LIMIT 1", [other])[0][0]
            for path in reads(other, section):
                assert_not_found(client.get(path))
        # A missing student looks the same as someone else's.
        for path in reads(2_000_000_000):
            assert_not_found(client.get(path))
    r = login(parent).post(f"/api/portal/students/{parent['forbidden_students'][-1]}"
                           "/absence-notices", json={"date": "2019-04-10", "reason": "sick"})
    assert_not_found(r)


@pytest.mark.parametrize("persona", ["teacher", "clerk", "district_admin"])
def test_staff_cannot_use_the_portal(persona: str, login: Login, identities: Identities) -> None:
    # The clerk and administrator pools are small (8 and 4): the last one, only logged into.
    staff = identities[persona][-10] if persona == "teacher" else identities[persona][-1]
    client = login(staff)
    some = student(identities, 0)["student_id"]
    calls = [client.get("/api/portal/home"),
             client.put("/api/portal/contact", json={"phone": "(217) 555-0123"}),
             client.post(f"/api/portal/students/{some}/absence-notices",
                         json={"date": "2019-04-10", "reason": "sick"})]
    calls += [client.get(path) for path in reads(some)]
    for r in calls:
        assert r.status_code == 403, (r.request.url, r.text)
        assert r.json()["error"]["code"] == "forbidden"


def test_bad_ids_and_no_session(client: httpx.Client, login: Login,
                                identities: Identities) -> None:
    me = login(student(identities, 0))
    for bad in ("0", "-3", "2147483648", "abc", "1.5"):
        for path in reads(bad):
            r = me.get(path)
            assert r.status_code == 422, path
            assert r.json()["error"]["code"] == "invalid_request"
    sid = student(identities, 0)["student_id"]
    r = me.get(f"/api/portal/students/{sid}/sections/0/assignments")
    assert r.status_code == 422
    for path in ["/api/portal/home", *reads(sid)]:
        r = client.get(path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert client.put("/api/portal/contact", json={"phone": "(217) 555-0123"}
                      ).status_code == 401
