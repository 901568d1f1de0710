"""The school office clerk's (registrar's) session on the staging SIS: a student search by name,
one student's record, the school's attendance summary, and now and then the school's roster
export through its signed link.

Probes: `foreign_school_student` (a student of another school) and the download probes on the
roster link. Clerks may not have the attendance report (principals and administrators only), so
the export they ask for is the roster.
"""

from __future__ import annotations

from typing import Any

from loadtests.browser import Browser
from loadtests.targets.staging import checks, probes

# What a parent at the counter spells out: the first letters of common surnames. A search that
# finds nobody is typed again with another name, a few times at most.
NAME_PREFIXES = ("Sm", "Jo", "Wil", "Bro", "Gar", "Mar", "Mil", "Dav", "Rod", "Har", "Le",
                 "Tho", "Mo", "Ja", "Lo", "Go", "Her", "Lop", "Gon", "Cl")
MAX_SEARCHES = 4
EXPORT_SHARE = 0.2
THINK_SEARCH, THINK_RECORD, THINK_SUMMARY, THINK_LINK = 6.0, 20.0, 10.0, 3.0


def session(browser: Browser) -> None:
    me = browser.identity
    if browser.login(me["username"], me["password"]) is None:
        return
    school = int(me["school_id"])
    found = _search(browser, school)
    if found:
        student = browser.rng.choice(found)["student_id"]
        browser.think(THINK_SEARCH)
        browser.get("sim.record", f"/api/sim/students/{student}",
                    check=checks.fields(student_id=student, school_id=school))
        browser.think(THINK_RECORD)
    browser.get("attendance.summary", f"/api/attendance/schools/{school}/summary",
                check=checks.fields(school_id=school))
    if browser.sometimes(browser.options.get("export_share", EXPORT_SHARE)):
        browser.think(THINK_SUMMARY)
        link = probes.link_of(browser.post("reports.roster", "/api/reports/roster",
                                           json={"school_id": school}))
        if link is not None:
            browser.think(THINK_LINK)
            browser.get(probes.DOWNLOAD, link.url,
                        check=checks.csv_rows("student_id", "school_id", [school]))
            probes.download_probes(browser, link, asked=f"roster export of school {school}")
    outsider = probes.pick(browser, me["forbidden_students"])
    if outsider is not None and browser.should_probe("foreign_school_student"):
        browser.probe("foreign_school_student", "GET", "sim.record",
                      f"/api/sim/students/{outsider}", asked=f"student {outsider}")
    browser.logout()


def _search(browser: Browser, school: int) -> list[dict[str, Any]]:
    """The results of the first search (by surname prefix) that finds someone, or []."""
    tries = min(len(NAME_PREFIXES), int(browser.options.get("max_searches", MAX_SEARCHES)))
    for prefix in browser.rng.sample(NAME_PREFIXES, tries):
        browser.think(THINK_SEARCH)
        body = checks.page(browser.get(
            "sim.search", "/api/sim/students", params={"q": prefix},
            check=checks.listed("students", "school_id", [school], "results", distinct=False)))
        if body is None:
            return []
        if body["students"]:
            return list(body["students"])
    return []
