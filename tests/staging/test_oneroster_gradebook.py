"""OneRoster 1.2 gradebook over REST: the full LMS flow (token, roster lookups, categories,
grading periods, line items and results created, replaced, read and deleted), the SIS's own
line items and scores as OneRoster objects, validation, conflicts and scopes.

The class used is taught by a teacher from the middle of the user pool, which no other test
file takes; everything written is deleted again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from support.sisdb import query

from staging.oauth import (
    GRADEBOOK_DELETE,
    GRADEBOOK_READ,
    GRADEBOOK_WRITE,
    ROSTER_CORE,
    create_client,
)
from staging.oneroster_gradebook import CATEGORIES, LINE_ITEMS, RESULTS
from staging.oneroster_sql import Collection

ROSTERING = "/ims/oneroster/rostering/v1p2"
GRADEBOOK = "/ims/oneroster/gradebook/v1p2"
ALL = [ROSTER_CORE, GRADEBOOK_READ, GRADEBOOK_WRITE, GRADEBOOK_DELETE]


@contextmanager
def _session(base_url: str, creds: tuple[str, str], scope: list[str] | None = None
             ) -> Iterator[httpx.Client]:
    """A client carrying a bearer token got with HTTP Basic (for `scope`, default all)."""
    with httpx.Client(base_url=base_url, timeout=60) as c:
        data = {"grant_type": "client_credentials",
                **({"scope": " ".join(scope)} if scope else {})}
        r = c.post("/oauth/token", auth=creds, data=data)
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c


@pytest.fixture(scope="module")
def lms(base_url: str, seeded_url: str) -> Iterator[httpx.Client]:
    with _session(base_url, create_client(seeded_url, "gradebook tests", ALL)) as c:
        yield c


@pytest.fixture(scope="module")
def klass(identities: dict[str, list[dict[str, Any]]], seeded_url: str) -> dict[str, Any]:
    """A scheduled class of a mid-pool teacher, with its active students."""
    teachers = identities["teacher"]
    for t in teachers[len(teachers) // 2:]:
        rows = query(seeded_url, "SELECT s.section_id, s.school_id, array_agg(e.student_id ORDER"
                     " BY e.student_id) FROM sis.sections s JOIN sis.enrollments e USING"
                     " (section_id) JOIN sis.students st ON st.student_id = e.student_id AND"
                     " st.enrollment_status = 'active' WHERE s.teacher_id = %s AND s.class_type"
                     " = 'scheduled' GROUP BY 1, 2 HAVING count(*) >= 3 ORDER BY 1 LIMIT 1",
                     [t["staff_id"]])
        if rows:
            section, school, students = rows[0]
            return {"section": section, "school": school, "students": students, "teacher": t}
    raise AssertionError("no class found")


def _minor(r: httpx.Response) -> str:
    return str(r.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"])


def _line_item(section: int, **over: Any) -> dict[str, Any]:
    item = {"title": "Unit 5 essay", "description": "Five paragraphs",
            "assignDate": "2019-04-22T08:00:00.000Z", "dueDate": "2019-04-26T23:59:00-05:00",
            "class": {"href": f"https://lms.example.org/classes/cls-{section:06d}",
                      "sourcedId": f"cls-{section:06d}", "type": "class"},
            "category": {"sourcedId": "cat-homework", "type": "category"},
            "gradingPeriod": {"sourcedId": "ses-7", "type": "academicSession"},
            "resultValueMin": 0.0, "resultValueMax": 20.0, "metadata": {"lms": "x"}}
    return {"lineItem": {**item, **over}}


def _result(line_item: str, student_id: int, **over: Any) -> dict[str, Any]:
    return {"result": {"lineItem": {"sourcedId": line_item, "type": "lineItem"},
                       "student": {"sourcedId": f"stu-{student_id:06d}", "type": "user"},
                       "scoreStatus": "fully graded", "score": 17.5,
                       "scoreDate": "2019-04-27", **over}}


def test_full_lms_flow(lms: httpx.Client, seeded_url: str, klass: dict[str, Any]) -> None:
    section, students = klass["section"], klass["students"]
    cls = f"cls-{section:06d}"
    # The teacher by email, their classes, the class's students.
    [(email,)] = query(seeded_url, "SELECT email FROM sis.staff WHERE staff_id = %s",
                       [klass["teacher"]["staff_id"]])
    r = lms.get(f"{ROSTERING}/teachers", params={"filter": f"email='{email}'"})
    [teacher] = r.json()["users"]
    assert teacher["sourcedId"] == f"stf-{klass['teacher']['staff_id']:06d}"
    classes = lms.get(f"{ROSTERING}/teachers/{teacher['sourcedId']}/classes").json()["classes"]
    assert cls in [c["sourcedId"] for c in classes]
    roster = lms.get(f"{ROSTERING}/classes/{cls}/students", params={"limit": 5000}).json()
    assert set(students) <= {int(u["sourcedId"][4:]) for u in roster["users"]}
    # Categories and the grading periods of the class's second term.
    categories = lms.get(f"{GRADEBOOK}/classes/{cls}/categories").json()["categories"]
    assert [(c["sourcedId"], c["title"], c["weight"]) for c in categories] == [
        ("cat-classwork", "Classwork", 0.2), ("cat-homework", "Homework", 0.2),
        ("cat-quiz", "Quiz", 0.25), ("cat-test", "Test", 0.35)]
    [_, spring] = lms.get(f"{ROSTERING}/classes/{cls}").json()["class"]["terms"]
    periods = lms.get(f"{ROSTERING}/terms/{spring['sourcedId']}/gradingPeriods").json()
    assert [p["sourcedId"] for p in periods["academicSessions"]] == ["ses-6", "ses-7"]

    # Create, read, replace a line item.
    li = "canvas-assignment-4411"
    r = lms.put(f"{GRADEBOOK}/lineItems/{li}", json=_line_item(section))
    assert r.status_code == 201, r.text
    created = r.json()["lineItem"]
    assert created["sourcedId"] == li and created["title"] == "Unit 5 essay"
    assert created["assignDate"] == "2019-04-22T00:00:00.000Z"
    assert created["dueDate"] == "2019-04-26T00:00:00.000Z"
    assert created["class"]["sourcedId"] == cls
    assert created["school"]["sourcedId"] == f"sch-{klass['school']:04d}"
    assert created["category"]["sourcedId"] == "cat-homework"
    assert created["gradingPeriod"]["sourcedId"] == "ses-7"
    assert (created["resultValueMin"], created["resultValueMax"]) == (0.0, 20.0)
    assert created["dateLastModified"] > "2020"
    assert lms.get(f"{GRADEBOOK}/lineItems/{li}").json() == {"lineItem": created}
    [row] = query(seeded_url, "SELECT line_item_id, section_id, category, title, assigned_date,"
                  " due_date, points_possible, grading_period_id, description FROM"
                  " sis.line_items WHERE sourced_id = %s", [li])
    item_id = row[0]
    assert row[1:4] == (section, "homework", "Unit 5 essay")
    assert (str(row[4]), str(row[5]), row[6], row[7], row[8]) == (
        "2019-04-22", "2019-04-26", 20.0, 7, "Five paragraphs")
    r = lms.put(f"{GRADEBOOK}/lineItems/{li}", json=_line_item(
        section, sourcedId=li, title="Unit 5 essay (revised)", resultValueMax=25,
        category={"sourcedId": "cat-test"}, gradingPeriod=None, description=None))
    assert r.status_code == 200, r.text
    replaced = r.json()["lineItem"]
    assert (replaced["title"], replaced["resultValueMax"], replaced["category"]["sourcedId"]) == (
        "Unit 5 essay (revised)", 25.0, "cat-test")
    assert replaced["gradingPeriod"]["sourcedId"] == "ses-7"  # from the due date now
    assert "description" not in replaced
    assert query(seeded_url, "SELECT count(*), min(title) FROM sis.line_items"
                             " WHERE section_id = %s AND sourced_id = %s", [section, li]) == [
        (1, "Unit 5 essay (revised)")]
    in_class = lms.get(f"{GRADEBOOK}/classes/{cls}/lineItems", params={"limit": 1000}).json()
    assert replaced in in_class["lineItems"]

    # Results: graded, exempt, replaced; read per line item and per student.
    a, b, c = students[:3]
    r = lms.put(f"{GRADEBOOK}/results/canvas-sub-1", json=_result(li, a))
    assert r.status_code == 201, r.text
    assert r.json()["result"]["score"] == 17.5 and r.json()["result"]["scoreStatus"] \
        == "fully graded"
    r = lms.put(f"{GRADEBOOK}/results/canvas-sub-2",
                json=_result(li, b, scoreStatus="exempt", score=None, comment="excused"))
    assert r.status_code == 201, r.text
    exempt = r.json()["result"]
    assert exempt["scoreStatus"] == "exempt" and "score" not in exempt
    assert exempt["comment"] == "excused" and exempt["lineItem"]["sourcedId"] == li
    assert exempt["student"]["sourcedId"] == f"stu-{b:06d}" and exempt["class"]["sourcedId"] == cls
    r = lms.put(f"{GRADEBOOK}/results/canvas-sub-1", json=_result(li, a, score=24))
    assert r.status_code == 200 and r.json()["result"]["score"] == 24.0
    r = lms.put(f"{GRADEBOOK}/lineItems/{li}", json=_line_item(section, resultValueMax=20))
    assert r.status_code == 200, r.text  # under a score: that score is now extra credit
    assert lms.put(f"{GRADEBOOK}/results/canvas-sub-3", json=_result(
        li, c, scoreStatus="not submitted", score=None)).status_code == 201
    assert sorted(query(seeded_url, "SELECT student_id, score, score_status, sourced_id FROM"
                                    " sis.scores WHERE line_item_id = %s", [item_id])) == sorted(
        [(a, 24.0, "fully graded", "canvas-sub-1"), (b, None, "exempt", "canvas-sub-2"),
         (c, None, "not submitted", "canvas-sub-3")])
    per_item = lms.get(f"{GRADEBOOK}/classes/{cls}/lineItems/{li}/results").json()["results"]
    assert {r["sourcedId"] for r in per_item} == {"canvas-sub-1", "canvas-sub-2",
                                                  "canvas-sub-3"}
    per_student = lms.get(f"{GRADEBOOK}/classes/{cls}/students/stu-{b:06d}/results",
                          params={"filter": f"lineItem.sourcedId='{li}'"}).json()["results"]
    assert per_student == [exempt]
    exempts = lms.get(f"{GRADEBOOK}/results", params={
        "filter": f"scoreStatus='exempt' AND class.sourcedId='{cls}'", "limit": 5000}).json()
    assert exempt in exempts["results"]

    # Delete one result, then the line item with the rest of its results.
    assert lms.delete(f"{GRADEBOOK}/results/canvas-sub-3").status_code == 204
    assert lms.get(f"{GRADEBOOK}/results/canvas-sub-3").status_code == 404
    r = lms.delete(f"{GRADEBOOK}/lineItems/{li}")
    assert r.status_code == 204 and r.content == b""
    assert query(seeded_url, "SELECT count(*) FROM sis.scores WHERE line_item_id = %s",
                 [item_id]) == [(0,)]
    for path in (f"lineItems/{li}", "results/canvas-sub-1"):
        r = lms.get(f"{GRADEBOOK}/{path}")
        assert r.status_code == 404 and _minor(r) == "unknownobject"
    assert lms.delete(f"{GRADEBOOK}/lineItems/{li}").status_code == 404


def test_the_sis_line_items_and_scores_are_oneroster_objects(lms: httpx.Client,
                                                             seeded_url: str) -> None:
    [(item, section, category, due, points)] = query(
        seeded_url, "SELECT line_item_id, section_id, category, due_date, points_possible FROM"
                    " sis.line_items WHERE sourced_id IS NULL ORDER BY line_item_id LIMIT 1")
    got = lms.get(f"{GRADEBOOK}/lineItems/li-{item}").json()["lineItem"]
    assert got["class"]["sourcedId"] == f"cls-{section:06d}"
    assert got["category"]["sourcedId"] == f"cat-{category}"
    assert got["dueDate"] == f"{due}T00:00:00.000Z" and got["resultValueMax"] == points
    assert got["title"] == f"{category.title()} due {due}"
    assert got["dateLastModified"] == "2019-04-22T00:00:00.000Z"
    assert got["gradingPeriod"]["sourcedId"] == "ses-7"  # Quarter 4 holds the history
    [(student, score, status)] = query(
        seeded_url, "SELECT student_id, score, score_status FROM sis.scores WHERE line_item_id"
                    " = %s ORDER BY student_id LIMIT 1", [item])
    res = lms.get(f"{GRADEBOOK}/results/res-{item}-{student}").json()["result"]
    assert (res["scoreStatus"], res.get("score")) == (status, score)
    assert res["lineItem"]["sourcedId"] == f"li-{item}"
    total = lms.get(f"{GRADEBOOK}/results", params={"limit": 1}).headers["x-total-count"]
    assert int(total) == query(seeded_url, "SELECT count(*) FROM sis.scores")[0][0]
    for sid in ("li-0", f"li-0{item}", "li-x", f"res-{item}", f"res-{item}-0{student}"):
        assert lms.get(f"{GRADEBOOK}/{'lineItems' if sid.startswith('li') else 'results'}"
                       f"/{sid}").status_code == 404, sid


def test_put_takes_over_the_sis_blank_score_and_refuses_a_second_owner(
        lms: httpx.Client, seeded_url: str, klass: dict[str, Any]) -> None:
    section, (a, b, *_) = klass["section"], klass["students"]
    li = "sis-blank-probe"
    assert lms.put(f"{GRADEBOOK}/lineItems/{li}", json=_line_item(section)).status_code == 201
    [(item,)] = query(seeded_url, "SELECT line_item_id FROM sis.line_items WHERE sourced_id = %s",
                      [li])
    try:
        # The SIS's own id for a pair: created under it, then taken over by a client id.
        r = lms.put(f"{GRADEBOOK}/results/res-{item}-{a}", json=_result(li, a, score=5))
        assert r.status_code == 201 and r.json()["result"]["sourcedId"] == f"res-{item}-{a}"
        assert lms.put(f"{GRADEBOOK}/results/res-{item}-{a}",
                       json=_result(li, a, score=6)).status_code == 200
        r = lms.put(f"{GRADEBOOK}/results/lms-1", json=_result(li, a, score=7))
        assert r.status_code == 201
        assert lms.get(f"{GRADEBOOK}/results/res-{item}-{a}").status_code == 404
        assert query(seeded_url, "SELECT sourced_id, score FROM sis.scores WHERE line_item_id"
                                 " = %s AND student_id = %s", [item, a]) == [("lms-1", 7.0)]
        r = lms.put(f"{GRADEBOOK}/results/lms-2", json=_result(li, a))
        assert r.status_code == 409 and "lms-1" in r.json()["imsx_description"]
        # Moving a result to another student replaces it there.
        r = lms.put(f"{GRADEBOOK}/results/lms-1", json=_result(li, b, score=3))
        assert r.status_code == 200 and r.json()["result"]["student"]["sourcedId"] \
            == f"stu-{b:06d}"
        assert query(seeded_url, "SELECT student_id FROM sis.scores WHERE line_item_id = %s",
                     [item]) == [(b,)]
        r = lms.put(f"{GRADEBOOK}/results/res-{item}-{b}", json=_result(li, b))
        assert r.status_code == 409
    finally:
        assert lms.delete(f"{GRADEBOOK}/lineItems/{li}").status_code == 204


def test_invalid_writes_answer_400(lms: httpx.Client, seeded_url: str,
                                   klass: dict[str, Any]) -> None:
    section, students = klass["section"], klass["students"]
    [(outsider,)] = query(seeded_url, "SELECT min(student_id) FROM sis.students WHERE student_id"
                          " <> ALL(%s) AND student_id NOT IN (SELECT student_id FROM"
                          " sis.enrollments WHERE section_id = %s)", [students, section])
    [(seeded_item,)] = query(seeded_url, "SELECT min(line_item_id) FROM sis.line_items")
    bad_items = [
        ("lms-x", _line_item(section, category={"sourcedId": "cat-extra-credit"})),
        ("lms-x", _line_item(section, **{"class": {"sourcedId": "cls-999999"}})),
        ("lms-x", _line_item(section, **{"class": {"sourcedId": "stu-000001"}})),
        ("lms-x", _line_item(section, school={"sourcedId": "sch-9999"})),
        ("lms-x", _line_item(section, gradingPeriod={"sourcedId": "ses-2"})),  # a semester
        ("lms-x", _line_item(section, dueDate="2019-04-01")),
        ("lms-x", _line_item(section, assignDate="tomorrow")),
        ("lms-x", _line_item(section, resultValueMin=5)),
        ("lms-x", _line_item(section, resultValueMax=0)),
        ("lms-x", _line_item(section, resultValueMax=10_000)),
        ("lms-x", _line_item(section, title="")),
        ("lms-x", _line_item(section, title=None)),
        ("lms-x", _line_item(section, status="tobedeleted")),
        ("lms-x", _line_item(section, sourcedId="lms-y")),
        ("li-999999", _line_item(section)),  # the SIS's own form of id
        (f"li-{seeded_item}", _line_item(section + 1)),  # a line item cannot change class
        ("lms-x", {"lineItem": "x"}), ("lms-x", {}), ("lms-x", [])]
    for sid, body in bad_items:
        r = lms.put(f"{GRADEBOOK}/lineItems/{sid}", json=body)
        assert r.status_code == 400 and _minor(r) == "invaliddata", (body, r.text)
    assert lms.put(f"{GRADEBOOK}/lineItems/lms-x", content=b"{", headers={
        "Content-Type": "application/json"}).status_code == 400
    assert query(seeded_url, "SELECT count(*) FROM sis.line_items WHERE sourced_id IN"
                             " ('lms-x', 'lms-y')") == [(0,)]
    li = "validation-probe"
    assert lms.put(f"{GRADEBOOK}/lineItems/{li}", json=_line_item(section)).status_code == 201
    try:
        bad_results = [
            _result(li, students[0], score=-1),
            _result(li, students[0], score=None),  # fully graded needs a score
            _result(li, students[0], scoreStatus="graded"),
            _result(li, outsider),
            _result(li, students[0], **{"class": {"sourcedId": "cls-000001"}}),
            _result("no-such-item", students[0]),
            _result(li, students[0], **{"student": {"sourcedId": "stf-000001"}}),
            _result(li, students[0], sourcedId="other"),
        ]
        for body in bad_results:
            r = lms.put(f"{GRADEBOOK}/results/lms-r", json=body)
            assert r.status_code == 400 and _minor(r) == "invaliddata", (body, r.text)
        r = lms.put(f"{GRADEBOOK}/results/res-1-1", json=_result(li, students[0]))
        assert r.status_code == 400  # the SIS's id of another pair
        assert query(seeded_url, "SELECT count(*) FROM sis.scores s JOIN sis.line_items l USING"
                                 " (line_item_id) WHERE l.sourced_id = %s", [li]) == [(0,)]
    finally:
        assert lms.delete(f"{GRADEBOOK}/lineItems/{li}").status_code == 204


def test_titles_with_quotes_and_logical_words_filter_exactly(
        lms: httpx.Client, klass: dict[str, Any]) -> None:
    section = klass["section"]
    title = "Rock AND Roll: O'Brien's essay"
    li = "quoted-title-probe"
    assert lms.put(f"{GRADEBOOK}/lineItems/{li}",
                   json=_line_item(section, title=title)).status_code == 201
    try:
        for flt in (f"title='{title}'", f"title~'o'brien' AND class.sourcedId='cls-{section:06d}'",
                    f"title='nothing' OR title='{title}'",
                    "title~'roll' AND dueDate='2019-04-26T00:00:00.000Z'",
                    "title~'roll' AND dueDate>'2019-04-26T01:00:00+02:00'",
                    "title~'roll' AND assignDate<='2019-04-22'"):
            r = lms.get(f"{GRADEBOOK}/lineItems", params={"filter": flt})
            assert r.status_code == 200, r.text
            assert [x["sourcedId"] for x in r.json()["lineItems"]] == [li], flt
    finally:
        lms.delete(f"{GRADEBOOK}/lineItems/{li}")


def test_scopes(base_url: str, seeded_url: str, klass: dict[str, Any]) -> None:
    creds = create_client(seeded_url, "read-only LMS", [GRADEBOOK_READ, GRADEBOOK_WRITE])
    with _session(base_url, creds, [GRADEBOOK_READ]) as read_only, \
            _session(base_url, creds, [GRADEBOOK_WRITE]) as writer:
        assert read_only.get(f"{GRADEBOOK}/lineItems?limit=1").status_code == 200
        r = read_only.put(f"{GRADEBOOK}/lineItems/scope-li", json=_line_item(klass["section"]))
        assert r.status_code == 403 and _minor(r) == "forbidden"
        assert writer.get(f"{GRADEBOOK}/lineItems?limit=1").status_code == 403
        assert writer.put(f"{GRADEBOOK}/lineItems/scope-li",
                          json=_line_item(klass["section"])).status_code == 201
        r = writer.delete(f"{GRADEBOOK}/lineItems/scope-li")
        assert r.status_code == 403 and _minor(r) == "forbidden"
        assert writer.get(f"{ROSTERING}/classes").status_code == 403
    with _session(base_url, create_client(seeded_url, "cleanup", [GRADEBOOK_DELETE])) as deleter:
        assert deleter.delete(f"{GRADEBOOK}/lineItems/scope-li").status_code == 204
    with httpx.Client(base_url=base_url) as anonymous:
        r = anonymous.put(f"{GRADEBOOK}/lineItems/scope-li", json=_line_item(klass["section"]))
        assert r.status_code == 401 and _minor(r) == "unauthorisedrequest"


def test_never_500(lms: httpx.Client, base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    operations = [(m.upper(), p) for p, ops in spec.items() if p.startswith(GRADEBOOK)
                  for m in ops]
    assert len(operations) == 14
    bodies: tuple[Any, ...] = (None, {}, [], "text", {"lineItem": {"class": 5}},
                               {"result": {"score": "NaN"}}, {"lineItem": None})
    checked = 0
    for method, template in operations:
        for value in ("0", "%00", "li-99999999999", "res-1-99999999999", "x" * 300, "%27--"):
            path = template.replace("{sourcedId}", value).replace("{classSourcedId}", value)
            path = path.replace("{lineItemSourcedId}", value).replace("{studentSourcedId}", value)
            for body in bodies:
                r = lms.request(method, path, json=body if method == "PUT" else None,
                                params={"filter": "score>'NaN'"} if method == "GET" else None)
                assert r.status_code < 500 and r.status_code != 201, (method, path, r.text)
                checked += 1
    assert checked > 500


@pytest.mark.parametrize(("path", "coll"), [("/categories", CATEGORIES), ("/lineItems", LINE_ITEMS),
                                            ("/results", RESULTS)])
def test_every_field_sorts_and_filters(lms: httpx.Client, path: str, coll: Collection) -> None:
    samples = {"text": "1", "date": "2019-04-10", "datetime": "2019-04-22T00:00:00Z",
               "bool": "true", "number": "10"}
    for name, col in coll.branches[0].cols.items():
        for order in ("asc", "desc"):
            r = lms.get(f"{GRADEBOOK}{path}", params={"sort": name, "orderBy": order, "limit": 2})
            assert r.status_code == 200, (path, name, r.text)
        totals = {}
        for op in ("=", "!=", ">", "<", ">=", "<=", "~"):
            r = lms.get(f"{GRADEBOOK}{path}", params={"filter": f"{name}{op}'{samples[col.type]}'",
                                                      "limit": 1})
            assert r.status_code == 200, (path, name, op, r.text)
            totals[op] = int(r.headers["x-total-count"])
        assert totals["<"] + totals["="] == totals["<="], (path, name, totals)
        assert totals["="] + totals["!="] == int(lms.get(f"{GRADEBOOK}{path}").headers[
            "x-total-count"]), (path, name)


def test_extra_credit_above_result_value_max_is_kept_as_sent(
        lms: httpx.Client, seeded_url: str, klass: dict[str, Any]) -> None:
    """LMS grade passback sends extra credit (a score above resultValueMax) and expects it
    stored and returned as sent; lowering resultValueMax under it is fine too."""
    section, students = klass["section"], klass["students"]
    li = "extra-credit-probe"
    assert lms.put(f"{GRADEBOOK}/lineItems/{li}", json=_line_item(section)).status_code == 201
    try:
        for sid, student, score in (("ec-1", students[0], 23.5), ("ec-2", students[1], 21.3)):
            r = lms.put(f"{GRADEBOOK}/results/{sid}", json=_result(li, student, score=score))
            assert r.status_code == 201, r.text
            assert r.json()["result"]["score"] == score
            assert lms.get(f"{GRADEBOOK}/results/{sid}").json()["result"]["score"] == score
        found = lms.get(f"{GRADEBOOK}/results", params={"filter": "score='21.3'"}).json()
        assert [x["sourcedId"] for x in found["results"]] == ["ec-2"]
        lower = lms.put(f"{GRADEBOOK}/lineItems/{li}", json=_line_item(section,
                                                                        resultValueMax=10))
        assert lower.status_code == 200, lower.text
        assert query(seeded_url, "SELECT sc.score::text FROM sis.scores sc JOIN sis.line_items"
                                 " l USING (line_item_id) WHERE l.sourced_id = %s ORDER BY 1",
                     [li]) == [("21.3",), ("23.5",)]
    finally:
        assert lms.delete(f"{GRADEBOOK}/lineItems/{li}").status_code == 204
