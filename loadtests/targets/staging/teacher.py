"""The teacher's session on the staging SIS: attendance first thing (a homeroom's daily roll, or
class-period attendance for a subject teacher), a look at a roster, now and then an assignment
graded, and the `foreign_section` probe (a colleague's roster must be refused). With the
`password_reset_share` knob a session starts with "forgot password" (`mailbox.forgot_password`).

Which kind of teacher a session is comes from the sections page, not the pool's `level`: an
elementary school has homeroom teachers (grades PK-5) and subject teachers (grades 6-8).
"""

from __future__ import annotations

from typing import Any

from loadtests.browser import Browser, Check
from loadtests.targets.staging import checks, mailbox, probes

# Most of a class is present on a normal day; the rest are tardy or absent.
STATUSES = ("present", "tardy", "absent_unexcused", "absent_excused")
STATUS_WEIGHTS = (0.9, 0.04, 0.04, 0.02)
# Mix knobs (the plan's `mix.teacher` overrides them: see MIX in the package).
GRADE_SHARE = 0.3            # sessions that also create an assignment and enter its scores
MAX_PERIODS = 3              # class periods a subject teacher takes attendance for per session
PASSWORD_RESET_SHARE = 0.0   # sessions that start with "forgot password" (the SIS's mailbox on)
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
    if roster and roster["students"] and browser.sometimes(
            browser.options.get("grade_share", GRADE_SHARE)):
        browser.think(THINK_ROSTER)
        _grade(browser, section_id, [s["student_id"] for s in roster["students"]], today)


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


def _grade(browser: Browser, section_id: int, students: list[int], taken_on: str) -> None:
    """A new assignment due today, then its scores for the whole class in one batch."""
    category = browser.rng.choice(("homework", "classwork", "quiz", "test"))
    points = {"homework": 10, "classwork": 20, "quiz": 25, "test": 100}[category]
    item = checks.page(browser.post(
        "gradebook.line_item_create", f"/api/gradebook/sections/{section_id}/line-items",
        json={"title": f"{category.title()} {taken_on}", "category": category,
              "assigned_date": taken_on, "due_date": taken_on, "points_possible": points},
        check=checks.fields(section_id=section_id, blank_scores=len(students))))
    if item is None:
        return
    browser.think(THINK_GRADING)
    scores: list[dict[str, Any]] = []
    for student in students:
        if browser.rng.random() < 0.08:  # a few hand nothing in
            scores.append({"student_id": student, "score": None, "status": "not submitted"})
        else:
            earned = round(points * browser.rng.uniform(0.55, 1.0), 1)
            scores.append({"student_id": student, "score": earned, "status": "fully graded"})
    browser.put("gradebook.scores", f"/api/gradebook/line-items/{item['line_item_id']}/scores",
                json={"scores": scores},
                check=checks.fields(line_item_id=item["line_item_id"], written=len(scores)))


def _foreign_section(browser: Browser, me: Any) -> None:
    section = probes.pick(browser, list(me["forbidden_sections"]))
    if section is None or not browser.should_probe("foreign_section"):
        return
    browser.probe("foreign_section", "GET", "gradebook.roster",
                  f"/api/gradebook/sections/{section}/roster", asked=f"section {section}")
