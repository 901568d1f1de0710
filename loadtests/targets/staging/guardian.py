"""The guardian's session on the staging portal: home with their children, then for one or more
children the grades and attendance, now and then the report card (a signed link, then the PDF).

Probes: `foreign_student` (another family's child), `no_access_child` (the guardian's own child
under a no-access order), and the download probes on the report-card link.
"""

from __future__ import annotations

from typing import Any

from loadtests.browser import Browser
from loadtests.targets.staging import checks, probes
from loadtests.targets.staging.student import attendance_check, own_classes

REPORT_CARD_SHARE = 0.25
THINK_HOME, THINK_GRADES, THINK_PAGE, THINK_LINK = 6.0, 15.0, 8.0, 3.0


def session(browser: Browser) -> None:
    me = browser.identity
    if browser.login(me["username"], me["password"]) is None:
        return
    # Exactly the children with portal access: a no-access child listed here is an exposure
    # (named as such), a missing one a family locked out.
    home = checks.page(browser.get("portal.home", "/api/portal/home", check=checks.all_of(
        checks.none_listed("students", "student_id", me["no_access_children"],
                           "no-access children"),
        checks.listed("students", "student_id", me["children"], "children", exact=True))))
    if home and home["students"]:
        kids = [int(k["student_id"]) for k in home["students"]]
        count = browser.rng.randint(1, len(kids))
        link = None
        for kid in browser.rng.sample(kids, count):
            link = _child(browser, kid) or link
        if link is not None:
            probes.download_probes(browser, link, asked="report card link")
    no_access = list(me["no_access_children"])
    probes.foreign_grades(browser, "foreign_student",
                          probes.pick(browser, me["forbidden_students"], avoid=no_access))
    probes.foreign_grades(browser, "no_access_child", probes.pick(browser, no_access))
    browser.logout()


def _child(browser: Browser, kid: int) -> probes.Link | None:
    """One child's pages; the report card's link when the guardian fetched one."""
    base = f"/api/portal/students/{kid}"
    row = browser.lookup("student", "student_id", kid)
    sections: Any = row["sections"] if row is not None else None
    browser.think(THINK_HOME)
    if sections is None:  # not in the pool (enrolled since): only check whose page it is
        grades_check = attendance_page = checks.fields(student_id=kid)
    else:
        grades_check = own_classes(kid, sections)[1]
        attendance_page = attendance_check(kid, sections)
    grades = browser.get("portal.grades", f"{base}/grades", check=grades_check)
    browser.think(THINK_GRADES)
    browser.get("portal.attendance", f"{base}/attendance", check=attendance_page)
    if not checks.ok(grades) or not browser.sometimes(
            browser.options.get("report_card_share", REPORT_CARD_SHARE)):
        return None
    browser.think(THINK_PAGE)
    link = probes.link_of(browser.get("portal.report_card", f"{base}/report-card"))
    if link is None:
        return None
    browser.think(THINK_LINK)
    browser.get(probes.DOWNLOAD, link.url, check=checks.pdf)
    return link
