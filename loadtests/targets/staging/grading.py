"""The teacher's grade entry on the staging SIS: a new assignment and its scores, saved per
class (one batch) or per cell (one request per score), and a class's term grades for the
grading period. The teacher path (`teacher.py`) decides, from its mix knobs, which happens."""

from __future__ import annotations

from typing import Any

from loadtests.browser import Browser
from loadtests.targets.staging import checks

THINK_MENU, THINK_ROSTER, THINK_GRADING = 4.0, 10.0, 20.0
THINK_CELL = 3.0  # typing one score before the cell saves
TERM_GRADES = (("A", 0.3), ("B", 0.3), ("C", 0.2), ("D", 0.1), ("F", 0.08), ("I", 0.02))


def grade(browser: Browser, section_id: int, students: list[int], taken_on: str, *,
          per_cell: bool) -> None:
    """A new assignment due today, then its scores: the whole class in one batch, or (per
    cell) one request per score, the way a gradebook that saves each cell as it is typed
    sends them."""
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
    path = f"/api/gradebook/line-items/{item['line_item_id']}/scores"
    if per_cell:
        for score in scores:  # each cell saved as it is typed: one write per score
            browser.think(THINK_CELL)
            browser.put("gradebook.score_cell", path, json={"scores": [score]},
                        check=checks.fields(line_item_id=item["line_item_id"], written=1))
        return
    browser.put("gradebook.scores", path, json={"scores": scores},
                check=checks.fields(line_item_id=item["line_item_id"], written=len(scores)))


def term_grades(browser: Browser, section_id: int, students: list[int], today: str) -> None:
    """The class's term grades for the grading period that holds today (else the last one
    ended), posted in one request, as at a report-card deadline."""
    browser.think(THINK_MENU)
    periods = checks.page(browser.get("gradebook.grading_periods",
                                      "/api/gradebook/grading-periods",
                                      check=checks.fields()))
    quarters = [g for g in (periods or {}).get("grading_periods", [])
                if g["type"] == "gradingPeriod" and str(g["start_date"]) <= today]
    if not quarters:
        return
    period = max(quarters, key=lambda g: str(g["start_date"]))
    browser.think(THINK_ROSTER)
    letters, weights = zip(*TERM_GRADES, strict=True)
    grades = [{"student_id": s, "grade": g}
              for s, g in zip(students, browser.rng.choices(letters, weights, k=len(students)),
                              strict=True)]
    browser.post("gradebook.term_grades", f"/api/gradebook/sections/{section_id}/term-grades",
                 json={"session_id": period["session_id"], "grades": grades},
                 check=checks.fields(section_id=section_id, posted=len(grades)))
