"""The staging click paths against a real seeded staging SIS, driven by the synchronous test
browser with every probe on: the requests each persona makes, its content checks, its probes
(all refused) and its writes, checked in the database.

Identities come from near the end of each pool list (other tests take theirs from the front);
the one account this file deactivates (a clerk, for `session_after_deactivation`) is active
again when its test ends, and no login here ever fails on a real account.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from support.sisdb import enrolled, query
from support.sync_browser import SyncBrowser

from fake_data.profile import load_profile
from loadtests.browser import Response
from loadtests.targets import TARGETS, Target, load_target
from loadtests.targets.staging import (
    checks,
    clerk,
    integration,
    probes,
    student,
    teacher,
)
from staging.oauth import ROSTER_CORE, create_client

Identities = dict[str, list[dict[str, Any]]]
TODAY = load_profile("small").calendar.cutover_date  # the data's today: go-live day
EXPECTED_PROBES = {
    "teacher": {"foreign_section"},
    "student": {"foreign_student"},
    "guardian": {"foreign_student", "no_access_child", "download_without_session",
                 "download_tampered", "download_expired"},
    "guardian_unregistered": {"no_access_link"},  # run in tests/staging/test_mailbox_paths.py
    "clerk": {"foreign_school_student", "download_without_session", "download_tampered",
              "download_expired"},
    "district_admin": {"deactivated_login", "session_after_deactivation"},
    "integration": set(),
}
DOWNLOAD_PROBES = ["reports.download"] * 3  # without a session, tampered, expired


@pytest.fixture(scope="module")
def target() -> Target:
    return load_target("staging")


def run(url: str, target: Target, persona: str, identity: dict[str, Any],
        pools: Identities | None = None, **kw: Any) -> SyncBrowser:
    kw.setdefault("always", True)  # every "sometimes" step: each test sees every write
    with SyncBrowser(url, target.login, persona, identity, pools=pools, probes=target.probes,
                     **kw) as b:
        target.click_paths[persona](b)
    return b


def assert_clean(b: SyncBrowser, persona: str) -> None:
    """Every normal request answered 2xx and passed its check; every probe was refused."""
    assert b.failures() == []
    assert b.exposures == []
    assert all(o.refused for o in b.outcomes), b.outcomes
    assert {o.probe for o in b.outcomes} <= EXPECTED_PROBES[persona]
    assert b.labels()[-1] == "auth.logout" or persona == "integration"
    if persona != "integration":  # people read for 3-20 s; a link's expiry is waited in steps
        assert all(3 <= t <= 20 for t in b.thinks), b.thinks
        assert all(0 < t <= probes.WAIT_STEP for t in b.waits), b.waits


def levels(url: str) -> dict[int, str]:
    return {r[0]: r[1] for r in query(url, "SELECT school_id, level::text FROM sis.schools")}


def class_types(url: str) -> dict[int, tuple[str, int]]:
    """Section id -> (class type, session id)."""
    rows = query(url, "SELECT section_id, class_type::text, session_id FROM sis.sections")
    return {r[0]: (r[1], r[2]) for r in rows}


# -- the registry ----------------------------------------------------------------------------

def test_the_registry_loads_staging_and_names_the_known_targets(target: Target) -> None:
    assert TARGETS["staging"] == "loadtests.targets.staging"
    assert set(target.click_paths) == set(EXPECTED_PROBES)
    assert set().union(*EXPECTED_PROBES.values()) == set(target.probes)  # each one runs
    assert target.login.path == "/api/auth/login" and target.login.logout_path
    assert {"terminated_staff", "clerk", "student", "guardian_unregistered"} <= set(
        target.pool_personas)
    assert set(target.session_seconds) == set(target.click_paths)
    assert target.enabled_probes(None) == frozenset(target.probes)
    assert target.enabled_probes(["download_tampered"]) == {"download_tampered"}
    with pytest.raises(ValueError, match="download_tampered"):
        target.enabled_probes(["no_such_probe"])
    for name in TARGETS:  # every registered target loads (the engine only knows them so)
        assert load_target(name).click_paths
    with pytest.raises(ValueError, match="staging") as err:
        load_target("nowhere")
    assert "nowhere" in str(err.value)


def test_click_paths_talk_http_only() -> None:
    folder = Path(__file__).parents[2] / "loadtests" / "targets" / "staging"
    for source in folder.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in {"locust", "gevent", "staging"}, source
        assert len(source.read_text().splitlines()) < 150, source


# -- personas ---------------------------------------------------------------------------------

def test_elementary_homeroom_teacher(staging_url: str, seeded_url: str, identities: Identities,
                                     target: Target) -> None:
    kinds = class_types(seeded_url)
    me = [t for t in identities["teacher"] if t["level"] == "elementary"
          and any(kinds[s][0] == "homeroom" for s in t["sections"])][-2]
    b = run(staging_url, target, "teacher", me)
    assert_clean(b, "teacher")
    assert b.labels(probes=True) == [
        "auth.login", "auth.session", "gradebook.sections", "attendance.daily_form",
        "attendance.daily_post", "gradebook.roster", "gradebook.line_item_create",
        "gradebook.scores", "gradebook.roster", "auth.logout"]
    assert [o.probe for o in b.outcomes] == ["foreign_section"]
    [homeroom] = [s for s in me["sections"] if kinds[s][0] == "homeroom"]
    students = enrolled(seeded_url, homeroom)
    rows = query(seeded_url, "SELECT student_id, status FROM sis.attendance_daily WHERE"
                             " section_id = %s AND date = %s AND recorded_by = %s"
                             " AND recorded_at IS NOT NULL", [homeroom, TODAY, me["staff_id"]])
    assert sorted(r[0] for r in rows) == students
    assert sum(r[1] == "present" for r in rows) > len(rows) / 2
    assert_scored(b, seeded_url, me, students_of={homeroom: students})


def test_high_school_subject_teacher(staging_url: str, seeded_url: str, identities: Identities,
                                     target: Target) -> None:
    kinds = class_types(seeded_url)
    me = [t for t in identities["teacher"] if t["level"] == "high"
          and sum(kinds[s] == ("scheduled", 1) for s in t["sections"]) >= 3][-2]
    b = run(staging_url, target, "teacher", me, seed=3)
    assert_clean(b, "teacher")
    labels = b.labels(probes=True)
    periods = labels.count("attendance.period_form")
    assert periods >= 1 and labels == [
        "auth.login", "auth.session", "gradebook.sections",
        *["attendance.period_form", "attendance.period_post"] * periods,
        "gradebook.roster", "gradebook.line_item_create", "gradebook.scores",
        "gradebook.roster", "auth.logout"]
    posted = [int(c.path.split("/")[-2]) for c in b.calls if c.endpoint == "attendance.period_post"]
    assert all(kinds[s] == ("scheduled", 1) for s in posted)  # day classes, no summer school
    for section in posted:
        rows = query(seeded_url, "SELECT student_id FROM sis.attendance_period WHERE"
                                 " section_id = %s AND date = %s AND recorded_by = %s",
                     [section, TODAY, me["staff_id"]])
        assert sorted(r[0] for r in rows) == enrolled(seeded_url, section)
    assert_scored(b, seeded_url, me, students_of={s: enrolled(seeded_url, s) for s in posted})


def assert_scored(b: SyncBrowser, url: str, me: dict[str, Any],
                  students_of: dict[int, list[int]]) -> None:
    """The session's new line item belongs to the teacher and holds a score for every student."""
    [call] = [c for c in b.calls if c.endpoint == "gradebook.scores"]
    item = int(call.path.split("/")[-2])
    [(section, created_by, due)] = query(url, "SELECT section_id, created_by, due_date"
                                              " FROM sis.line_items WHERE line_item_id = %s",
                                         [item])
    assert created_by == me["staff_id"] and due == TODAY and section in students_of
    scores = query(url, "SELECT student_id, score, score_status FROM sis.scores"
                        " WHERE line_item_id = %s", [item])
    assert sorted(s[0] for s in scores) == students_of[section]
    assert all((s[1] is None) == (s[2] == "not submitted") for s in scores)
    assert sum(s[2] == "fully graded" for s in scores) > len(scores) / 2


@pytest.mark.parametrize("level", ["high", "elementary"])
def test_student(staging_url: str, seeded_url: str, identities: Identities, target: Target,
                 level: str) -> None:
    kinds, level_of = class_types(seeded_url), levels(seeded_url)
    # A high-school student with evening or summer school classes besides the day's.
    me = [s for s in identities["student"] if level_of[s["school_id"]] == level
          and (level == "elementary" or any(kinds[c][1] != 1 for c in s["sections"]))][-2]
    b = run(staging_url, target, "student", me)
    assert_clean(b, "student")
    assert b.labels(probes=True) == [
        "auth.login", "portal.home", "portal.schedule", "portal.grades", "portal.assignments",
        "portal.attendance", "portal.grades", "auth.logout"]
    [outcome] = b.outcomes
    assert outcome.probe == "foreign_student" and outcome.status == 404
    assert int(outcome.asked.split()[-1]) in me["forbidden_students"]


def test_guardians(staging_url: str, identities: Identities, target: Target,
                   ) -> None:
    pools = {"student": identities["student"]}
    custody = [g for g in identities["guardian"] if g["no_access_children"]][-1]
    family = [g for g in identities["guardian"] if len(g["children"]) >= 2
              and not g["no_access_children"]][-2]
    ran: set[str] = set()
    most = 0
    for me, seed in ((custody, 0), (family, 5)):
        b = run(staging_url, target, "guardian", me, pools, seed=seed)
        assert_clean(b, "guardian")
        kids = b.labels().count("portal.report_card")
        # foreign_student, then no_access_child when the guardian has such a child
        grade_probes = ["portal.grades"] * (2 if me["no_access_children"] else 1)
        assert kids >= 1 and b.labels(probes=True) == [
            "auth.login", "portal.home",
            *["portal.grades", "portal.attendance", "portal.report_card",
              "reports.download"] * kids,
            *DOWNLOAD_PROBES, *grade_probes, "auth.logout"]
        visited = {int(c.path.split("/")[4]) for c in b.calls if c.endpoint == "portal.grades"
                   and c.probe is None}
        assert visited <= set(me["children"]) and len(visited) == kids
        most = max(most, kids)
        for o in b.outcomes:
            if o.probe == "no_access_child":
                assert int(o.asked.split()[-1]) in me["no_access_children"]
            if o.probe == "foreign_student":
                assert int(o.asked.split()[-1]) not in me["no_access_children"]
        assert [o.status for o in b.outcomes if o.probe.startswith("download")] == [401, 403, 403]
        ran |= {o.probe for o in b.outcomes}
    assert ran == EXPECTED_PROBES["guardian"]
    assert most == 2  # one session went through both children of the family


def test_clerk(staging_url: str, identities: Identities, target: Target) -> None:
    me = identities["clerk"][-1]
    b = run(staging_url, target, "clerk", me)
    assert_clean(b, "clerk")
    labels = b.labels(probes=True)
    searches = labels.count("sim.search")
    assert 1 <= searches <= clerk.MAX_SEARCHES and labels == [
        "auth.login", *["sim.search"] * searches, "sim.record", "attendance.summary",
        "reports.roster", "reports.download", *DOWNLOAD_PROBES, "sim.record", "auth.logout"]
    assert {o.probe for o in b.outcomes} == EXPECTED_PROBES["clerk"]


def test_district_admin(staging_url: str, seeded_url: str, identities: Identities,
                        target: Target) -> None:
    colleague = identities["clerk"][-2]  # not the clerk test's: it is deactivated for a moment
    pools = {"clerk": [colleague], "terminated_staff": identities["terminated_staff"][::-1]}
    b = run(staging_url, target, "district_admin", identities["district_admin"][-1], pools)
    assert_clean(b, "district_admin")
    assert b.labels(probes=True) == [
        "auth.login", "attendance.summary", "reports.attendance", "reports.download",
        "reports.grade_distribution", "reports.download", "auth.login",
        "auth.login", "auth.session", "auth.activate", "auth.deactivate", "auth.session",
        "auth.activate", "auth.logout"]
    assert [(o.probe, o.status) for o in b.outcomes] == [
        ("deactivated_login", 403), ("session_after_deactivation", 401)]
    assert b.held == set()  # the borrowed identities went back when the session ended
    [(status, failed, locked)] = query(
        seeded_url, "SELECT status::text, failed_logins, locked_until FROM sis.accounts"
                    " WHERE user_id = %s", [colleague["user_id"]])
    assert (status, failed, locked) == ("active", 0, None)
    again = httpx.post(f"{staging_url}/api/auth/login", json={
        "username": colleague["username"], "password": colleague["password"]})
    assert again.status_code == 200


def test_integration(staging_url: str, seeded_url: str, target: Target) -> None:
    """One session of a fresh sync: a token, then `MAX_PAGES` pages from the first
    collection on, each collection read to its end before the next (the cursor across
    sessions: tests/loadtests/test_oneroster_sync.py)."""
    client_id, secret = create_client(seeded_url, "load test nightly sync", [ROSTER_CORE])
    b = run(staging_url, target, "integration",
            {"client_id": client_id, "client_secret": secret})
    assert_clean(b, "integration")
    [[orgs], [sessions], [classes]] = [query(seeded_url, sql) for sql in (
        "SELECT count(*) + 1 FROM sis.schools", "SELECT count(*) FROM sis.academic_sessions",
        "SELECT count(*) FROM sis.sections")]
    pages = {"orgs": orgs[0], "academic_sessions": sessions[0], "classes": classes[0],
             "users": 10**9, "enrollments": 10**9}
    expected = []
    for name, total in pages.items():
        expected += [f"oneroster.{name}"] * -(-total // integration.PAGE_SIZE)
    assert b.labels() == ["oauth.token", *expected[:integration.MAX_PAGES]]
    assert not any(c.path.endswith("/logout") for c in b.calls)


# -- the click-path mix -----------------------------------------------------------------------

def test_mix_lists_exactly_the_knobs_each_path_reads(target: Target) -> None:
    assert set(target.mix) == set(target.click_paths)
    for persona, path in target.click_paths.items():
        module = sys.modules[path.__module__]
        read = {}  # every browser.options.get("knob", DEFAULT) in the persona's module
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "browser.options.get":
                knob, default = node.args
                read[ast.literal_eval(knob)] = getattr(module, ast.unparse(default))
        assert read == target.mix[persona], persona
        assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", k) and v >= 0 for k, v in read.items())
    target.check_mix(target.mix)
    with pytest.raises(ValueError, match="grade_share"):
        target.check_mix({"teacher": {"grading_share": 0.5}})


def test_grade_share_decides_whether_a_teacher_grades(staging_url: str, seeded_url: str,
                                                      identities: Identities,
                                                      target: Target) -> None:
    kinds = class_types(seeded_url)
    me = [t for t in identities["teacher"] if t["level"] == "elementary"
          and any(kinds[s][0] == "homeroom" for s in t["sections"])][-3]
    # `always` off: the share alone decides (with it on, 1.0 would prove nothing).
    for share, seeds, graded in ((1.0, range(3), True), (0.0, range(3), False)):
        for seed in seeds:
            b = run(staging_url, target, "teacher", me, always=False, seed=seed,
                    options={"grade_share": share})
            assert_clean(b, "teacher")
            assert ("gradebook.scores" in b.labels()) is graded, (share, seed)
    off = run(staging_url, target, "teacher", me, options={"grade_share": 0.0})  # always on
    assert "gradebook.line_item_create" not in off.labels()


def test_per_cell_saves_write_one_request_per_score(staging_url: str, seeded_url: str,
                                                   identities: Identities,
                                                   target: Target) -> None:
    """per_cell_share 1: the scores go in one PUT per student (the cell saved as it is typed),
    each writing one row; the class's scores end up the same as with one batch."""
    kinds = class_types(seeded_url)
    me = [t for t in identities["teacher"] if t["level"] == "elementary"
          and any(kinds[s][0] == "homeroom" for s in t["sections"])][-4]
    b = run(staging_url, target, "teacher", me, options={"per_cell_share": 1.0})
    assert_clean(b, "teacher")
    cells = [c for c in b.calls if c.endpoint == "gradebook.score_cell"]
    assert "gradebook.scores" not in b.labels()
    [homeroom] = [s for s in me["sections"] if kinds[s][0] == "homeroom"]
    students = enrolled(seeded_url, homeroom)
    assert len(cells) == len(students) > 1
    assert len({c.path for c in cells}) == 1  # one line item, one write per score
    item = int(cells[0].path.split("/")[-2])
    scores = query(seeded_url, "SELECT student_id, score_status FROM sis.scores"
                               " WHERE line_item_id = %s", [item])
    assert sorted(s[0] for s in scores) == students
    assert sum(s[1] == "fully graded" for s in scores) > len(scores) / 2


def test_term_grades_are_posted_for_the_current_grading_period(
        staging_url: str, seeded_url: str, identities: Identities, target: Target) -> None:
    kinds = class_types(seeded_url)
    me = [t for t in identities["teacher"] if t["level"] == "elementary"
          and any(kinds[s][0] == "homeroom" for s in t["sections"])][-5]
    b = run(staging_url, target, "teacher", me,
            options={"grade_share": 0.0, "term_grade_share": 1.0})
    assert_clean(b, "teacher")
    assert b.labels()[-3:] == ["gradebook.grading_periods", "gradebook.term_grades",
                               "auth.logout"]
    [homeroom] = [s for s in me["sections"] if kinds[s][0] == "homeroom"]
    [(period,)] = query(seeded_url, "SELECT session_id FROM sis.academic_sessions WHERE type ="
                                    " 'gradingPeriod' AND start_date <= %s ORDER BY start_date"
                                    " DESC LIMIT 1", [TODAY])
    rows = query(seeded_url, "SELECT student_id, posted_by FROM sis.term_grades WHERE"
                             " section_id = %s AND session_id = %s", [homeroom, period])
    assert sorted(r[0] for r in rows) == enrolled(seeded_url, homeroom)
    assert {r[1] for r in rows} == {me["staff_id"]}


def test_max_periods_caps_a_subject_teachers_roll_calls(staging_url: str, seeded_url: str,
                                                        identities: Identities,
                                                        target: Target) -> None:
    kinds = class_types(seeded_url)
    me = [t for t in identities["teacher"] if t["level"] == "high"
          and sum(kinds[s] == ("scheduled", 1) for s in t["sections"]) >= 3][-3]
    for seed in range(3):
        b = run(staging_url, target, "teacher", me, seed=seed, options={"max_periods": 1})
        assert_clean(b, "teacher")
        assert b.labels().count("attendance.period_post") == 1


def test_failed_logins_end_the_session_quietly(staging_url: str, target: Target) -> None:
    nobody = {"user_id": 0, "username": "nobody@example.org", "password": "wrong",
              "staff_id": 0, "sections": [], "students": [], "forbidden_sections": []}
    b = run(staging_url, target, "teacher", nobody)
    assert [(c.endpoint, c.status) for c in b.calls] == [("auth.login", 401)]
    sync = run(staging_url, target, "integration", {"client_id": "x", "client_secret": "y"})
    assert [(c.endpoint, c.status) for c in sync.calls] == [("oauth.token", 401)]


# -- content checks ------------------------------------------------------------------------------

def answer(body: Any = None, *, status: int = 200, text: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    r = httpx.Response(status, json=body, headers=headers) if text is None else \
        httpx.Response(status, text=text, headers=headers)
    return cast(Response, r)


def test_content_checks_fail_on_a_wrong_page() -> None:
    roster = teacher._class_page({"sections": [5, 6], "students": [11, 12, 13]}, 5)
    good: dict[str, Any] = {"section_id": 5, "students": [{"student_id": 11}, {"student_id": 13}]}
    assert roster(answer(good)) is None
    wrong = [answer({**good, "students": [*good["students"], {"student_id": 98765}]}),
             answer({**good, "section_id": 7}), answer({"students": []})]
    problems = [roster(r) for r in wrong]
    assert all(problems) and not any("98765" in str(p) for p in problems)
    assert roster(answer({"error": {}}, status=404)) is None  # its status counts already

    schedule, grades = student.own_classes(42, [1, 2, 863])  # 863: an evening school class
    rows = [{"section_id": s} for s in (1, 2, 863)]
    assert grades(answer({"student_id": 42, "classes": rows})) is None
    assert schedule(answer({"student_id": 42, "sections": rows[:2]})) == "1 classes missing"
    assert grades(answer({"student_id": 42, "classes": [*rows, rows[0]]})) == \
        "1 classes listed twice"
    assert grades(answer({"student_id": 43, "classes": rows}))

    home = checks.listed("students", "student_id", [7, 8], "children", exact=True)
    assert home(answer({"students": [{"student_id": 7}, {"student_id": 8}]})) is None
    assert home(answer({"students": [{"student_id": 7}, {"student_id": 8},
                                     {"student_id": 9}]})) == "1 children that should not be there"
    no_access = checks.none_listed("students", "student_id", [9], "no-access children")
    assert no_access(answer({"students": [{"student_id": 9}]})) == "1 no-access children listed"
    assert checks.pdf(answer(text="<html>")) and checks.pdf(answer(text="%PDF-1.4")) is None
    export = checks.csv_rows("student_id", "school_id", [8])
    assert export(answer(text="student_id,school_id\n1,8\n2,8\n")) is None
    assert export(answer(text="student_id,school_id\n1,8\n2,3\n")) == \
        "1 rows of the export have a school_id outside the user's"
    assert export(answer(text="name\nx\n"))
    size = checks.page_size("users", 500, 1000)
    assert size(answer({"users": [{}] * 20}, headers={"X-Total-Count": "1020"})) is None
    assert size(answer({"users": [{}] * 20}, headers={"X-Total-Count": "1500"})) == \
        "page holds 20 objects, expected 500"
    assert size(answer({"users": []}))


def test_a_tampered_link_differs_in_one_signature_character() -> None:
    url = "/api/reports/downloads/eyJlIjoxfQ.PKLh2rW4sqk_fksmfmF9GFA5I9xT7VgQLvDtp2QzGRw"
    bad = probes.tampered(url)
    assert bad.split(".")[0] == url.split(".")[0] and len(bad) == len(url)
    assert sum(a != b for a, b in zip(bad, url, strict=True)) == 1


# -- the test browser itself ---------------------------------------------------------------------

def scripted(*answers: int | Exception) -> httpx.MockTransport:
    """A SIS that answers logins with these statuses (or raises these errors), in turn."""
    replies = iter(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        reply = next(replies)
        if isinstance(reply, Exception):
            raise reply
        return httpx.Response(reply, json={"token": "t"} if reply == 200 else {})
    return httpx.MockTransport(handle)


@pytest.mark.parametrize(("answers", "token", "calls"), [
    ((503, 502, 200), "t", 3),
    ((httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 200), "t", 3),
    ((503, 503, 503, 200), None, 3),
    ((423, 200), None, 1),
    ((401, 200), None, 1),
])
def test_sync_login_retries_like_the_engine(target: Target, answers: tuple[Any, ...],
                                            token: str | None, calls: int) -> None:
    with SyncBrowser("http://sis.test", target.login, "teacher", {},
                     transport=scripted(*answers)) as b:
        assert b.login("u", "p") == token
        assert len(b.calls) == calls and b.backoffs == [0.5, 1.0][:calls - 1]
        assert b.token == token and b.thinks == []


def test_borrowed_identities_are_never_handed_out_twice(target: Target) -> None:
    pool = {"clerk": [{"user_id": 1}, {"user_id": 2}]}
    held: set[tuple[str, Any]] = set()
    one = SyncBrowser("http://sis.test", target.login, "district_admin", {}, pools=pool,
                      held=held)
    with SyncBrowser("http://sis.test", target.login, "district_admin", {}, pools=pool,
                     held=held) as two:
        assert one.borrow("clerk") == {"user_id": 1} and two.borrow("clerk") == {"user_id": 2}
        assert one.borrow("clerk") is None and two.lookup("clerk", "user_id", 1) == {"user_id": 1}
    assert one.borrow("clerk") == {"user_id": 2}  # given back when `two` ended
    one.close()
    assert held == set()  # nothing left checked out
