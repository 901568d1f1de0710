"""Recording a visit of the `support.webapp` portal with a real browser: Playwright drives
Debian's Chromium (Playwright's own download is not reachable here) and writes a HAR with
content embedded, as a user's dev tools would."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import sync_playwright

RecordFn = Callable[..., Path]


def record_visit(base_url: str, username: str, password: str, har_path: Path) -> Path:
    """Log in, open the home page, a student, report an absence, log out; the HAR's path."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--no-sandbox"])
        try:
            context = browser.new_context(record_har_path=str(har_path),
                                          record_har_content="embed")
            page = context.new_page()
            page.goto(f"{base_url}/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url("**/home")
            page.wait_for_timeout(300)
            page.click("ul.students a >> nth=0")
            page.wait_for_selector("#grades:not(:empty)")
            page.select_option("select[name=status]", "late")
            page.fill("input[name=note]", "bus was late")
            page.click("form#attendance button[type=submit]")
            page.wait_for_url("**saved=1")
            page.wait_for_selector("#grades:not(:empty)")
            page.goto(f"{base_url}/logout")
            context.close()
        finally:
            browser.close()
    return har_path
