"""Record each persona's pages of a running RosarioSIS with a real browser: Playwright drives
Debian's Chromium and writes one HAR per persona (content embedded, as a user's dev tools
would), ready for `firstbell target record`. A district re-runs it after an upgrade:

    python -m sis.rosariosis.record --url http://127.0.0.1:8780 \\
        --userpool .firstbell/rosariosis/userpool --out /tmp/ros-hars

The accounts are rows of the RosarioSIS user pool (`firstbell sis rosariosis up` writes it).
A HAR holds the account's password and session cookies: `--out` is made owner-only (0700) and
every HAR 0600. Never commit them; convert them, then delete them.

What each persona does (the seed moves the school year so that today is a school day inside a
quarter, the only days RosarioSIS lets a teacher edit; dated pages are left at RosarioSIS's
default, today):

- teacher: the portal; Take Attendance for their period today, the first student marked absent
  and the rest left present, saved; the gradebook's Grades, the quarter's first assignment
  chosen, a grade typed for the first student, saved;
- parent: the portal, the selected child's grades (Student Grades), the child's attendance
  (Daily Summary, RosarioSIS's default range);
- student: the portal, their schedule;
- admin: the portal, Student Info's search by last name, the result list, one student's record.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernel.errors import UserError

PERSONAS = ("teacher", "parent", "student", "admin")
GRADE = "8"                                 # the points typed into the first student's cell
WAIT_MS = 250                               # a person's pause, so the HAR's gaps are not zero


def _login(page: Any, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/index.php")
    page.fill("input[name=USERNAME]", username)
    page.fill("input[name=PASSWORD]", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/Modules.php?modname=misc/Portal.php**")
    page.wait_for_load_state("load")


def _open(page: Any, url: str, modname_and_query: str) -> None:
    page.wait_for_timeout(WAIT_MS)
    page.goto(f"{url}/Modules.php?modname={modname_and_query}")
    page.wait_for_load_state("load")


def _logout(page: Any, url: str) -> None:
    page.wait_for_timeout(WAIT_MS)
    page.click("a[href*='modfunc=logout']")
    page.wait_for_url("**/index.php**")
    page.wait_for_load_state("load")


def _save(page: Any, module: str) -> None:
    """Click the form's Save and wait for RosarioSIS's answer to the POST (an XHR)."""
    page.wait_for_timeout(WAIT_MS)
    with page.expect_response(lambda r: r.request.method == "POST" and module in r.url):
        page.click("input[type=submit][value=Save] >> nth=0")
    page.wait_for_load_state("load")


def teacher(page: Any, url: str, row: dict[str, Any]) -> None:
    _open(page, url, "Attendance/TakeAttendance.php")
    page.wait_for_selector("text=You can edit this attendance")
    page.wait_for_timeout(WAIT_MS)
    page.check("input[type=radio][name^='attendance['] >> nth=0")  # the first code: Absent
    _save(page, "TakeAttendance.php")
    page.wait_for_selector("text=You already have taken attendance today for this period")
    _open(page, url, "Grades/Grades.php")
    page.wait_for_selector("text=students were found")
    page.wait_for_timeout(WAIT_MS)
    first = page.locator("select[name=assignment_id] optgroup option").first
    page.select_option("select[name=assignment_id]", first.get_attribute("value"))
    cell = page.locator("input[name^='values['][name$='[POINTS]']").first
    cell.wait_for()
    page.wait_for_timeout(WAIT_MS)
    cell.fill(GRADE)
    _save(page, "Grades.php")
    page.wait_for_selector("text=Assignment is Due")


def parent(page: Any, url: str, row: dict[str, Any]) -> None:
    _open(page, url, "Grades/StudentGrades.php")
    _open(page, url, "Attendance/DailySummary.php")


def student(page: Any, url: str, row: dict[str, Any]) -> None:
    _open(page, url, "Scheduling/Schedule.php")


def admin(page: Any, url: str, row: dict[str, Any], last_name: str = "Smith") -> None:
    _open(page, url, "Students/Student.php")
    page.wait_for_timeout(WAIT_MS)
    page.fill("input[name=last]", last_name)
    page.press("input[name=last]", "Enter")
    page.wait_for_selector("text=students were found")
    page.wait_for_timeout(WAIT_MS)
    page.click("td a[href*='student_id='] >> nth=0")
    page.wait_for_selector("text=RosarioSIS ID")


FLOWS: dict[str, Callable[..., None]] = {"teacher": teacher, "parent": parent,
                                          "student": student, "admin": admin}


def record_persona(url: str, persona: str, row: dict[str, Any], har_path: Path,
                   chromium: str | None = None) -> Path:
    """Log in as `row`, walk the persona's pages, log out; the HAR's path (mode 0600)."""
    try:  # the `record` extra: a district that only runs rehearsals needs no browser driver
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UserError("recording needs Playwright: pip install 'firstbell[record]' (it"
                        " drives the system Chromium; no browser download)") from None

    url = url.rstrip("/")
    old = os.umask(0o077)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium or shutil.which("chromium"), args=["--no-sandbox"])
            try:
                context = browser.new_context(record_har_path=str(har_path),
                                              record_har_content="embed")
                page = context.new_page()
                page.set_default_timeout(60_000)
                _login(page, url, str(row["username"]), str(row["password"]))
                FLOWS[persona](page, url, row)
                _logout(page, url)
                context.close()
            finally:
                browser.close()
    finally:
        os.umask(old)
    har_path.chmod(0o600)
    return har_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sis.rosariosis.record",
                                 description="Record RosarioSIS personas' pages as HAR files.")
    ap.add_argument("--url", required=True, help="RosarioSIS's base URL")
    ap.add_argument("--userpool", required=True, type=Path,
                    help="the RosarioSIS user pool (.firstbell/rosariosis/userpool)")
    ap.add_argument("--out", required=True, type=Path, help="folder for the HARs (made 0700)")
    ap.add_argument("--persona", action="append", choices=PERSONAS,
                    help="record only this persona (repeat; default: all four)")
    ap.add_argument("--row", type=int, default=0, help="which pool row logs in (default 0)")
    ap.add_argument("--chromium", default=None, help="Chromium's path (default: `chromium`)")
    args = ap.parse_args(argv)

    from fake_data.userpool import load_persona

    args.out.mkdir(parents=True, exist_ok=True, mode=0o700)
    args.out.chmod(0o700)
    for persona in args.persona or PERSONAS:
        table = load_persona(args.userpool, persona)
        if table.num_rows == 0:
            print(f"{persona}: the user pool has no account", file=sys.stderr)
            return 1
        row = table.slice(args.row % table.num_rows, 1).to_pylist()[0]
        har = record_persona(args.url, persona, row, args.out / f"{persona}.har", args.chromium)
        print(f"{persona}: {har} (as {row['username']})")
    return 0


def _main() -> int:
    try:
        return main()
    except UserError as exc:  # a missing Playwright, a bad pool: the message, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(_main())
