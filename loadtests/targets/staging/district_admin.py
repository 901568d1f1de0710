"""The district administrator's session on the staging SIS: the district attendance report over
the last four weeks and the grade distribution, each downloaded through its signed link.

Probes: `deactivated_login` (a terminated employee logs in) and `session_after_deactivation`
(a clerk's open session after the administrator deactivates the account; the account is
reactivated in a finally block, so a run leaves every account as it found it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from loadtests.browser import Browser
from loadtests.targets.staging import checks, probes
from loadtests.targets.staging.login import LOGIN

# The staging SIS has no district dashboard: the one page that tells an administrator the
# data's "today" (the report window ends there) is a school's attendance summary.
DASHBOARD_SCHOOL = 1
REPORT_DAYS = 28
THINK_DASHBOARD, THINK_REPORT, THINK_LINK = 8.0, 20.0, 3.0


def session(browser: Browser) -> None:
    me = browser.identity
    if browser.login(me["username"], me["password"]) is None:
        return
    summary = checks.page(browser.get(
        "attendance.summary", f"/api/attendance/schools/{DASHBOARD_SCHOOL}/summary",
        check=checks.fields(school_id=DASHBOARD_SCHOOL)))
    if summary is not None:
        today = dt.date.fromisoformat(summary["date"])
        days = max(1, int(browser.options.get("report_days", REPORT_DAYS)))
        window = {"from": (today - dt.timedelta(days=days - 1)).isoformat(),
                  "to": today.isoformat()}
        browser.think(THINK_DASHBOARD)
        _report(browser, "attendance", window, "attendance_rate")
        browser.think(THINK_REPORT)
        _report(browser, "grade_distribution", {}, "graded_students")
        browser.think(THINK_REPORT)
    _deactivated_login(browser)
    _session_after_deactivation(browser)
    browser.logout()


def _report(browser: Browser, kind: str, body: dict[str, Any], column: str) -> None:
    """Ask for a whole-district report's link, then fetch the CSV on this session."""
    path = "/api/reports/" + kind.replace("_", "-")
    link = probes.link_of(browser.post(f"reports.{kind}", path, json=body))
    if link is not None:
        browser.think(THINK_LINK)
        browser.get(probes.DOWNLOAD, link.url, check=checks.csv_rows(column))


def _deactivated_login(browser: Browser) -> None:
    if not browser.should_probe("deactivated_login"):
        return
    gone = browser.borrow("terminated_staff")
    if gone is None:
        return
    browser.probe("deactivated_login", "POST", LOGIN.endpoint, LOGIN.path, token=None,
                  json=LOGIN.body(gone["username"], gone["password"]),
                  asked=f"login of terminated user {gone['user_id']}")


def _session_after_deactivation(browser: Browser) -> None:
    if not browser.should_probe("session_after_deactivation"):
        return
    clerk = browser.borrow("clerk")
    if clerk is None:
        return
    token = browser.login(clerk["username"], clerk["password"], keep=False)
    if token is None:
        return
    alive = browser.get("auth.session", "/api/auth/session", token=token,
                        check=checks.fields(user_id=clerk["user_id"]))
    account = f"/api/admin/users/{clerk['user_id']}"
    if not checks.ok(alive):
        return
    browser.think(THINK_DASHBOARD)  # the administrator looks the account up
    # Activating an active account changes nothing. If it fails, the account could not be
    # given back after the probe, so the probe is not worth the risk of leaving it disabled.
    if not checks.ok(browser.post("auth.activate", f"{account}/activate")):
        return
    try:
        if checks.ok(browser.post("auth.deactivate", f"{account}/deactivate")):
            browser.probe("session_after_deactivation", "GET", "auth.session",
                          "/api/auth/session", token=token,
                          asked=f"session of deactivated user {clerk['user_id']}")
    finally:
        browser.post("auth.activate", f"{account}/activate",
                     check=checks.fields(status="active"))
