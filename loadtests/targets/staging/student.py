"""The student's session on the staging portal: home, schedule, grades, one class's assignments,
now and then attendance; and the `foreign_student` probe (another student's grades).

Summer and evening school classes are ordinary rows of the schedule and the grades (their
periods 1-2 overlap the day's), so the pages must list exactly the pool's `sections`: every
class once, whatever its session, and nothing else.
"""

from __future__ import annotations

from typing import Any

from loadtests.browser import Browser, Check
from loadtests.targets.staging import checks, probes

ATTENDANCE_SHARE = 0.4
THINK_HOME, THINK_PAGE, THINK_ASSIGNMENTS = 5.0, 8.0, 12.0


def session(browser: Browser) -> None:
    me = browser.identity
    if browser.login(me["username"], me["password"]) is None:
        return
    home = checks.page(browser.get(
        "portal.home", "/api/portal/home",
        check=checks.listed("students", "student_id", [me["student_id"]], "students",
                            exact=True)))
    if home and home["students"]:
        _pages(browser, me, int(home["students"][0]["student_id"]))
    outsider = probes.pick(browser, me["forbidden_students"])
    probes.foreign_grades(browser, "foreign_student", outsider)
    browser.logout()


def own_classes(student_id: int, sections: Any) -> tuple[Check, Check]:
    """Checks of the schedule and the grades page of one student (also used for a guardian's
    child): the student asked for, with exactly their classes."""
    page_of = checks.fields(student_id=student_id)
    return (checks.all_of(page_of, checks.listed("sections", "section_id", sections, "classes",
                                                 exact=True)),
            checks.all_of(page_of, checks.listed("classes", "section_id", sections, "classes",
                                                 exact=True)))


def attendance_check(student_id: int, sections: Any) -> Check:
    """Class-period attendance (high school) only ever names the student's own classes."""
    return checks.all_of(checks.fields(student_id=student_id),
                         checks.listed("periods", "section_id", sections, "classes",
                                       distinct=False))


def _pages(browser: Browser, me: Any, student_id: int) -> None:
    base = f"/api/portal/students/{student_id}"
    schedule_check, grades_check = own_classes(student_id, me["sections"])
    browser.think(THINK_HOME)
    browser.get("portal.schedule", f"{base}/schedule", check=schedule_check)
    browser.think(THINK_PAGE)
    grades = checks.page(browser.get("portal.grades", f"{base}/grades", check=grades_check))
    if grades and grades["classes"]:
        section = browser.rng.choice(grades["classes"])["section_id"]
        browser.think(THINK_PAGE)
        browser.get("portal.assignments", f"{base}/sections/{section}/assignments",
                    check=checks.fields(student_id=student_id, section_id=section))
        browser.think(THINK_ASSIGNMENTS)
    if browser.sometimes(browser.options.get("attendance_share", ATTENDANCE_SHARE)):
        browser.get("portal.attendance", f"{base}/attendance",
                    check=attendance_check(student_id, me["sections"]))
        browser.think(THINK_PAGE)
