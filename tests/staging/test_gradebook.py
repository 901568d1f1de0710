"""gradebook: a teacher's sections, roster with grades, line items, batch scores, term grades —
against a real server, with every write checked in the database.

Identities come from the end of each persona's list at offsets 30..59 (the other staging test
files use other offsets): ``identities["teacher"][-30 - i]`` are high-school teachers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support.sisdb import Login, assert_error, enrolled, outsider, query

Identities = dict[str, list[dict[str, Any]]]
ITEM = {"title": "Chapter 7 quiz", "category": "quiz", "assigned_date": "2019-04-22",
        "due_date": "2019-04-24", "points_possible": 20}
PERCENT = "round(100 * sum(sc.score::numeric) / sum(li.points_possible::numeric), 1)"


def teacher(identities: Identities, i: int) -> dict[str, Any]:
    return identities["teacher"][-30 - i]


def new_item(t: httpx.Client, section_id: int, **changes: Any) -> dict[str, Any]:
    r = t.post(f"/api/gradebook/sections/{section_id}/line-items", json={**ITEM, **changes})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def scores_of(url: str, line_item_id: int) -> dict[int, tuple[Any, str]]:
    rows = query(url, "SELECT student_id, score, score_status FROM sis.scores"
                      " WHERE line_item_id = %s", [line_item_id])
    return {r[0]: (r[1], r[2]) for r in rows}


def test_my_sections_match_the_schedule(login: Login, identities: Identities,
                                        seeded_url: str) -> None:
    me = teacher(identities, 0)
    r = login(me).get("/api/gradebook/sections")
    assert r.status_code == 200
    got = {s["section_id"]: s for s in r.json()["sections"]}
    assert sorted(got) == sorted(me["sections"])
    expected = query(seeded_url,
                     "SELECT s.section_id, c.title, s.period, s.room, s.grade,"
                     " (SELECT count(*) FROM sis.enrollments e WHERE e.section_id = s.section_id)"
                     " FROM sis.sections s JOIN sis.courses c USING (course_id)"
                     " WHERE s.teacher_id = %s", [me["staff_id"]])
    for section_id, title, period, room, grade, count in expected:
        s = got[section_id]
        assert (s["course_title"], s["period"], s["room"], s["grade"], s["enrolled"]) == (
            title, period, room, grade, count)
        assert count > 0
    # Asking for a colleague's list answers 404, never their sections.
    other = teacher(identities, 1)["staff_id"]
    assert_error(login(me).get(f"/api/gradebook/sections?teacher_id={other}"), 404, "not_found")


def test_roster_has_enrolled_students_with_current_percent(login: Login, identities: Identities,
                                                          seeded_url: str) -> None:
    me = teacher(identities, 0)
    section = me["sections"][0]
    r = login(me).get(f"/api/gradebook/sections/{section}/roster")
    assert r.status_code == 200
    students = r.json()["students"]
    assert sorted(s["student_id"] for s in students) == enrolled(seeded_url, section)
    names = {row[0]: row[1:] for row in query(
        seeded_url, "SELECT student_id, first_name, last_name, student_number FROM sis.students"
                    " WHERE student_id = ANY(%s)", [[s["student_id"] for s in students]])}
    marks = dict(query(
        seeded_url,
        f"SELECT sc.student_id, {PERCENT}"
        " FROM sis.scores sc JOIN sis.line_items li USING (line_item_id)"
        " WHERE li.section_id = %s AND sc.score IS NOT NULL AND sc.score_status <> 'exempt'"
        " GROUP BY sc.student_id", [section]))
    assert marks, "the seeded history should have graded work in this section"
    for s in students:
        assert (s["first_name"], s["last_name"], s["student_number"]) == names[s["student_id"]]
        expected = marks.get(s["student_id"])
        assert s["percent"] == (None if expected is None else float(expected))
    assert [(s["last_name"], s["first_name"]) for s in students] == sorted(
        (s["last_name"], s["first_name"]) for s in students)


def test_create_line_item_makes_blank_scores(login: Login, identities: Identities,
                                             seeded_url: str) -> None:
    me = teacher(identities, 0)
    section = me["sections"][1]
    item = new_item(login(me), section, title="Lab report", category="homework",
                    points_possible=37.5)
    assert item["section_id"] == section and item["points_possible"] == 37.5
    assert item["blank_scores"] == len(enrolled(seeded_url, section))
    row = query(seeded_url, "SELECT section_id, category, title, assigned_date::text,"
                            " due_date::text, points_possible, created_by FROM sis.line_items"
                            " WHERE line_item_id = %s", [item["line_item_id"]])
    assert row == [(section, "homework", "Lab report", "2019-04-22", "2019-04-24", 37.5,
                    me["staff_id"])]
    scores = scores_of(seeded_url, item["line_item_id"])
    assert sorted(scores) == enrolled(seeded_url, section)
    assert set(scores.values()) == {(None, "not submitted")}


@pytest.mark.parametrize("change", [
    {"due_date": "2019-04-21"},  # due before assigned
    {"category": "project"},
    {"points_possible": 0},
    {"points_possible": 1001},
    {"title": ""},
    {"assigned_date": "not a date"},
])
def test_line_item_validation(login: Login, identities: Identities, seeded_url: str,
                              change: dict[str, Any]) -> None:
    me = teacher(identities, 0)
    section = me["sections"][2]
    before = query(seeded_url, "SELECT count(*) FROM sis.line_items WHERE section_id = %s",
                   [section])
    r = login(me).post(f"/api/gradebook/sections/{section}/line-items", json={**ITEM, **change})
    assert_error(r, 422, "invalid_request")
    assert query(seeded_url, "SELECT count(*) FROM sis.line_items WHERE section_id = %s",
                 [section]) == before


def test_batch_scores_upsert(login: Login, identities: Identities, seeded_url: str) -> None:
    me = teacher(identities, 0)
    t = login(me)
    section = me["sections"][0]
    item = new_item(t, section)
    students = enrolled(seeded_url, section)
    batch = [{"student_id": s, "score": float(10 + k % 11), "status": "fully graded"}
             for k, s in enumerate(students)]
    r = t.put(f"/api/gradebook/line-items/{item['line_item_id']}/scores", json={"scores": batch})
    assert r.status_code == 200, r.text
    assert r.json()["written"] == len(students)
    assert scores_of(seeded_url, item["line_item_id"]) == {
        b["student_id"]: (b["score"], "fully graded") for b in batch}
    # A second batch updates some rows in place and leaves the rest alone.
    fix = [{"student_id": students[0], "score": None, "status": "exempt"},
           {"student_id": students[1], "score": 20, "status": "fully graded"},
           {"student_id": students[2], "score": 4.5, "status": "partially graded"}]
    r = t.put(f"/api/gradebook/line-items/{item['line_item_id']}/scores", json={"scores": fix})
    assert r.status_code == 200 and r.json()["written"] == 3
    now = scores_of(seeded_url, item["line_item_id"])
    assert len(now) == len(students)
    assert now[students[0]] == (None, "exempt")
    assert now[students[1]] == (20.0, "fully graded")
    assert now[students[2]] == (4.5, "partially graded")
    assert now[students[3]] == (batch[3]["score"], "fully graded")
    # The roster's percent now counts this item too.
    roster = {s["student_id"]: s["percent"]
              for s in t.get(f"/api/gradebook/sections/{section}/roster").json()["students"]}
    expected = query(
        seeded_url,
        f"SELECT {PERCENT}"
        " FROM sis.scores sc JOIN sis.line_items li USING (line_item_id)"
        " WHERE li.section_id = %s AND sc.student_id = %s AND sc.score IS NOT NULL"
        " AND sc.score_status <> 'exempt'", [section, students[1]])[0][0]
    assert roster[students[1]] == float(expected)


def test_bad_score_batches_write_nothing(login: Login, identities: Identities,
                                         seeded_url: str) -> None:
    me = teacher(identities, 0)
    t = login(me)
    section = me["sections"][3]
    item = new_item(t, section, points_possible=10)
    url = f"/api/gradebook/line-items/{item['line_item_id']}/scores"
    students = enrolled(seeded_url, section)
    stranger = outsider(seeded_url, section, me["school_id"])
    before = scores_of(seeded_url, item["line_item_id"])
    good = {"student_id": students[0], "score": 8, "status": "fully graded"}

    error = assert_error(t.put(url, json={"scores": [
        good, {"student_id": stranger, "score": 5, "status": "fully graded"}]}),
        422, "not_enrolled")
    assert str(stranger) in error["message"]
    error = assert_error(t.put(url, json={"scores": [
        good, {"student_id": students[1], "score": 10.5, "status": "fully graded"}]}),
        422, "score_out_of_range")
    assert str(students[1]) in error["message"]
    for bad in (
        [good, {"student_id": students[1], "score": 5, "status": "graded"}],  # bad status
        [good, {"student_id": students[1], "score": -1, "status": "fully graded"}],
        [good, {"student_id": students[1], "score": None, "status": "fully graded"}],
        [good, good],  # the same student twice
        [{**good, "student_id": 0}],
        [],
    ):
        assert_error(t.put(url, json={"scores": bad}), 422, "invalid_request")
    too_many = [{"student_id": s, "score": 1, "status": "fully graded"} for s in range(1, 202)]
    assert_error(t.put(url, json={"scores": too_many}), 422, "invalid_request")
    assert_error(t.put(url, content=b"{not json", headers={"content-type": "application/json"}),
                 422)
    assert scores_of(seeded_url, item["line_item_id"]) == before


def test_grading_periods_are_the_calendars(login: Login, identities: Identities,
                                           seeded_url: str) -> None:
    """A teacher (and an administrator) reads the grading periods and semesters term grades
    are posted for; nobody else (the authorization matrix tries every role)."""
    expected = query(seeded_url, "SELECT session_id, title, type, start_date::text,"
                                 " end_date::text FROM sis.academic_sessions WHERE type IN"
                                 " ('gradingPeriod', 'semester') ORDER BY start_date, session_id")
    assert {row[2] for row in expected} == {"gradingPeriod", "semester"}
    for who in (teacher(identities, 5), identities["district_admin"][-2]):
        r = login(who).get("/api/gradebook/grading-periods")
        assert r.status_code == 200, r.text
        assert [tuple(g.values()) for g in r.json()["grading_periods"]] == expected
    assert_error(login(identities["student"][-31]).get("/api/gradebook/grading-periods"),
                 403, "forbidden")


def test_term_grades_are_posted_and_corrected(login: Login, identities: Identities,
                                              seeded_url: str) -> None:
    me = teacher(identities, 0)
    t = login(me)
    section = me["sections"][4]
    students = enrolled(seeded_url, section)
    quarter = query(seeded_url, "SELECT session_id FROM sis.academic_sessions WHERE"
                                " type = 'gradingPeriod' ORDER BY end_date DESC LIMIT 1")[0][0]
    grades = [{"student_id": s, "grade": "ABCDFI"[k % 6]} for k, s in enumerate(students)]
    url = f"/api/gradebook/sections/{section}/term-grades"
    r = t.post(url, json={"session_id": quarter, "grades": grades})
    assert r.status_code == 200, r.text
    assert r.json() == {"section_id": section, "session_id": quarter, "posted": len(students)}

    def stored() -> dict[int, tuple[str, int]]:
        return {row[0]: (row[1], row[2]) for row in query(
            seeded_url, "SELECT student_id, grade, posted_by FROM sis.term_grades"
                        " WHERE section_id = %s AND session_id = %s", [section, quarter])}

    assert stored() == {g["student_id"]: (g["grade"], me["staff_id"]) for g in grades}
    r = t.post(url, json={"session_id": quarter,
                          "grades": [{"student_id": students[0], "grade": "A"}]})
    assert r.status_code == 200 and r.json()["posted"] == 1
    assert stored()[students[0]] == ("A", me["staff_id"])
    before = stored()
    semester = query(seeded_url, "SELECT session_id FROM sis.academic_sessions"
                                 " WHERE type = 'semester' ORDER BY end_date LIMIT 1")[0][0]
    r = t.post(url, json={"session_id": semester,
                          "grades": [{"student_id": students[1], "grade": "B"}]})
    assert r.status_code == 200 and r.json()["posted"] == 1

    # Not a grading period or semester (school year, summer term, unknown): nothing written.
    for session in query(seeded_url, "SELECT session_id FROM sis.academic_sessions"
                                     " WHERE type NOT IN ('gradingPeriod', 'semester')"):
        assert_error(t.post(url, json={"session_id": session[0], "grades": grades[:1]}),
                     422, "invalid_session")
    assert_error(t.post(url, json={"session_id": 99_999, "grades": grades[:1]}),
                 422, "invalid_session")
    stranger = outsider(seeded_url, section, me["school_id"])
    error = assert_error(t.post(url, json={"session_id": quarter, "grades": [
        {"student_id": students[2], "grade": "F"}, {"student_id": stranger, "grade": "A"}]}),
        422, "not_enrolled")
    assert str(stranger) in error["message"]
    for bad in ({"session_id": quarter, "grades": [{"student_id": students[2], "grade": "E"}]},
                {"session_id": quarter, "grades": []},
                {"session_id": 0, "grades": grades[:1]},
                {"session_id": quarter, "grades": grades[:1] * 2}):
        assert_error(t.post(url, json=bad), 422, "invalid_request")
    assert stored() == before
    assert query(seeded_url, "SELECT count(*) FROM sis.term_grades WHERE section_id = %s"
                             " AND student_id = %s", [section, stranger]) == [(0,)]


def test_another_teachers_section_is_not_found(login: Login, identities: Identities,
                                               seeded_url: str) -> None:
    me, colleague = teacher(identities, 2), teacher(identities, 3)
    t = login(me)
    theirs = colleague["sections"][0]
    assert theirs not in me["sections"]
    students = enrolled(seeded_url, theirs)
    their_item = new_item(login(colleague), theirs)
    items_before = query(seeded_url, "SELECT count(*) FROM sis.line_items WHERE section_id = %s",
                         [theirs])
    for r in (
        t.get(f"/api/gradebook/sections/{theirs}/roster"),
        t.get(f"/api/gradebook/sections/{me['forbidden_sections'][0]}/roster"),
        t.post(f"/api/gradebook/sections/{theirs}/line-items", json=ITEM),
        t.put(f"/api/gradebook/line-items/{their_item['line_item_id']}/scores", json={"scores": [
            {"student_id": students[0], "score": 1, "status": "fully graded"}]}),
        t.post(f"/api/gradebook/sections/{theirs}/term-grades", json={
            "session_id": 7, "grades": [{"student_id": students[0], "grade": "F"}]}),
        t.get("/api/gradebook/sections/2147483647/roster"),
        t.put("/api/gradebook/line-items/2147483647/scores", json={"scores": [
            {"student_id": students[0], "score": 1, "status": "fully graded"}]}),
    ):
        error = assert_error(r, 404, "not_found")
        assert "students" not in r.json() and str(students[0]) not in error["message"]
    assert query(seeded_url, "SELECT count(*) FROM sis.line_items WHERE section_id = %s",
                 [theirs]) == items_before
    assert set(scores_of(seeded_url, their_item["line_item_id"]).values()) == {
        (None, "not submitted")}
    assert query(seeded_url, "SELECT count(*) FROM sis.term_grades WHERE section_id = %s",
                 [theirs]) == [(0,)]
    for bad in ("0", "2147483648", "x"):
        assert_error(t.get(f"/api/gradebook/sections/{bad}/roster"), 422, "invalid_request")


def test_roles(login: Login, client: httpx.Client, identities: Identities,
               seeded_url: str) -> None:
    me = teacher(identities, 4)
    section = me["sections"][0]
    item = new_item(login(me), section)
    students = enrolled(seeded_url, section)
    score = {"scores": [{"student_id": students[0], "score": 1, "status": "fully graded"}]}
    grades = {"session_id": 7, "grades": [{"student_id": students[0], "grade": "A"}]}
    writes = [
        ("POST", f"/api/gradebook/sections/{section}/line-items", ITEM),
        ("PUT", f"/api/gradebook/line-items/{item['line_item_id']}/scores", score),
        ("POST", f"/api/gradebook/sections/{section}/term-grades", grades),
    ]
    reads = [("GET", "/api/gradebook/sections", None),
             ("GET", f"/api/gradebook/sections/{section}/roster", None)]
    clerk = next(c for c in identities["clerk"][::-1] if c["school_id"] == me["school_id"])
    items_before = query(seeded_url, "SELECT count(*) FROM sis.line_items WHERE section_id = %s",
                         [section])
    for who in (identities["guardian"][-30], identities["student"][-30], clerk):
        c = login(who)
        for method, path, body in reads + writes:
            r = c.request(method, path, json=body)
            assert_error(r, 403, "forbidden")
    for method, path, body in reads + writes:
        assert_error(client.request(method, path, json=body), 401)

    # A district administrator reads any section but never writes grades.
    admin = login(identities["district_admin"][-1])
    r = admin.get(f"/api/gradebook/sections?teacher_id={me['staff_id']}")
    assert r.status_code == 200
    assert sorted(s["section_id"] for s in r.json()["sections"]) == sorted(me["sections"])
    assert_error(admin.get("/api/gradebook/sections"), 422, "teacher_required")
    r = admin.get(f"/api/gradebook/sections/{section}/roster")
    assert r.status_code == 200
    assert sorted(s["student_id"] for s in r.json()["students"]) == students
    for method, path, body in writes:
        assert_error(admin.request(method, path, json=body), 403, "forbidden")
    assert set(scores_of(seeded_url, item["line_item_id"]).values()) == {(None, "not submitted")}
    assert query(seeded_url, "SELECT count(*) FROM sis.term_grades WHERE section_id = %s",
                 [section]) == [(0,)]
    assert query(seeded_url, "SELECT count(*) FROM sis.line_items WHERE section_id = %s",
                 [section]) == items_before
