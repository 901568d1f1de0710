"""The teacher's session on the staging SIS: attendance first thing (a homeroom's daily roll, or
class-period attendance for a subject teacher), a look at a roster, now and then an assignment
graded, and the `foreign_section` probe (a colleague's roster must be refused). With the
`password_reset_share` knob a session starts with "forgot password" (`mailbox.forgot_password`).

Grades are saved per class (one PUT of the whole class's scores, `per_cell_share` 0) or per
cell (`per_cell_share` 1: one PUT per score, as gradebooks that save each grade as it is typed
do; CPS's deadline complaint was 30-second saves of single grades). With `term_grade_share`
a session also posts the class's term grades for the grading period (grade-deadline).

Which kind of teacher a session is comes from the sections page, not the pool's `level`: an
elementary school has homeroom teachers (grades PK-5) and subject teachers (grades 6-8).
"""

from __future__ import annotations

from typing import Any

from loadtests.browser import Browser, Check
from loadtests.targets.staging import checks, grading, mailbox, probes

# Most of a class is present on a normal day; the rest are tardy or absent.
STATUSES = ("present", "tardy", "absent_unexcused", "absent_excused")
STATUS_WEIGHTS = (0.9, 0.04, 0.04, 0.02)
# Mix knobs (the plan's `mix.teacher` overrides them: see MIX in the package).
GRADE_SHARE = 0.3            # sessions that also create an assignment and enter its scores
MAX_PERIODS = 3              # class periods a subject teacher takes attendance for per session
PASSWORD_RESET_SHARE = 0.0   # sessions that start with "forgot password" (the SIS's mailbox on)
PER_CELL_SHARE = 0.0         # grading sessions that save each score as its own request
TERM_GRADE_SHARE = 0.0       # sessions that post a class's term grades for the grading period
# Summer and evening school classes are not the school day's: their roll is taken in their own
# session, not in a day teacher's morning. The sections page tells them only by course title.
PROGRAM_TITLES = ("Summer School", "Evening School")
THINK_MENU, THINK_ROLL, THINK_ROSTER, THINK_GRADING = 4.0, 20.0, 10.0, 20.0


def session(browser: Browser) -> None:
    me = browser.identity
    if browser.sometimes(browser.options.get("password_reset_share", PASSWORD_RESET_SHARE)):
        mailbox.forgot_password(browser, me)
    if browser.login(me["username"], me["password"]) is None:
        return
    browser.get("auth.session", "/api/auth/session", check=checks.fields(user_id=me["user_id"]))
    browser.think(THINK_MENU)
    mine = checks.page(browser.get(
        "gradebook.sections", "/api/gradebook/sections",
        check=checks.listed("sections", "section_id", me["sections"], "sections", exact=True)))
    if mine is not None:
        _work(browser, me, mine["sections"])
    _foreign_section(browser, me)
    browser.logout()


def _work(browser: Browser, me: Any, sections: list[dict[str, Any]]) -> None:
    homerooms = [s for s in sections if s["class_type"] == "homeroom"]
    classes = [s for s in sections if s["class_type"] != "homeroom" and s["period"] > 0
               and not str(s["course_title"]).startswith(PROGRAM_TITLES)]
    if homerooms:
        chosen, daily = homerooms[:1], True
    else:
        most = int(browser.options.get("max_periods", MAX_PERIODS))
        count = min(len(classes), browser.rng.randint(1, most)) if most >= 1 else 0
        chosen, daily = browser.rng.sample(classes, count), False
    taken = [(s["section_id"], day) for s in chosen
             if (day := _roll(browser, me, s["section_id"], daily=daily))]
    if not taken:
        return
    section_id, today = browser.rng.choice(taken)
    browser.think(THINK_MENU)
    roster = checks.page(browser.get(
        "gradebook.roster", f"/api/gradebook/sections/{section_id}/roster",
        check=_class_page(me, section_id)))
    students = [s["student_id"] for s in roster["students"]] if roster else []
    if students and browser.sometimes(browser.options.get("grade_share", GRADE_SHARE)):
        browser.think(THINK_ROSTER)
        per_cell = browser.sometimes(browser.options.get("per_cell_share", PER_CELL_SHARE))
        grading.grade(browser, section_id, students, today, per_cell=per_cell)
    if students and browser.sometimes(browser.options.get("term_grade_share",
                                                          TERM_GRADE_SHARE)):
        grading.term_grades(browser, section_id, students, today)


def _class_page(me: Any, section_id: int) -> Check:
    """A form or roster of the section asked for, one of the teacher's, with only their
    students (the pool's `students` span all their sections, summer and evening ones too)."""
    return checks.all_of(checks.fields(section_id=section_id),
                         checks.in_set("section_id", me["sections"], "section"),
                         checks.listed("students", "student_id", me["students"], "students"))


def _roll(browser: Browser, me: Any, section_id: int, *, daily: bool) -> str | None:
    """Open the attendance form, mark every student on it, post it; the date recorded (the
    data's today, as the server sees it), or None."""
    kind, label = ("daily", "daily") if daily else ("periods", "period")
    path = f"/api/attendance/sections/{section_id}/{kind}"
    browser.think(THINK_MENU)
    form = checks.page(browser.get(f"attendance.{label}_form", path,
                                   check=_class_page(me, section_id)))
    if not form or not form["students"]:
        return None
    browser.think(THINK_ROLL)
    statuses = browser.rng.choices(STATUSES, STATUS_WEIGHTS, k=len(form["students"]))
    records = [{"student_id": s["student_id"], "status": status}
               for s, status in zip(form["students"], statuses, strict=True)]
    posted = browser.post(f"attendance.{label}_post", path,
                          json={"date": form["date"], "records": records},
                          check=checks.fields(section_id=section_id, recorded=len(records)))
    return str(form["date"]) if checks.ok(posted) else None


def _foreign_section(browser: Browser, me: Any) -> None:
    section = probes.pick(browser, list(me["forbidden_sections"]))
    if section is None or not browser.should_probe("foreign_section"):
        return
    browser.probe("foreign_section", "GET", "gradebook.roster",
                  f"/api/gradebook/sections/{section}/roster", asked=f"section {section}")
