"""Recordings made by a real browser (Playwright driving Debian's Chromium) against the
family portal of `support.webapp`: the converted target logs in with pool fields, reads the
CSRF token from the form and the student ids from the home page's links, validates, and holds
none of the recorded secrets (nor does what the command prints)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from rec_helpers import all_text, load_target
from support.recorder import RecordFn
from support.webapp import COOKIE, USERS, Portal

from firstbell.cli import main
from loadtests.targetfile.model import Step
from recordings.har import load

ADA = "ada.parent@example.org"


@pytest.mark.parametrize("rotate", [False, True], ids=["steady-csrf", "rotating-csrf"])
def test_browser_recording_converts(portal: Portal, record_har: RecordFn, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str], rotate: bool) -> None:
    portal.rotate_csrf = rotate
    har = record_har(ADA, USERS[ADA].password)
    recorded = load(har)
    cookies = {v for e in recorded for _, v in e.request_cookies() + e.set_cookies() if v}
    tokens = {v for e in recorded for k, v in e.form if k == "csrf_token"}
    assert cookies and tokens
    out = tmp_path / "portal"
    assert main(["target", "record", str(har), "--persona", "guardian", "--into", str(out),
                 "--password", USERS[ADA].password]) == 0
    printed = capsys.readouterr()
    target = load_target(out)

    assert target.login is not None
    form_step = target.login.steps[-1]
    assert form_step.request.form == {"csrf_token": "{{ csrf_token }}",
                                      "username": "{{ user.username }}",
                                      "password": "{{ user.password }}"}
    assert target.login.steps[0].extract["csrf_token"].form == "form#login"
    assert target.login.steps[0].extract["csrf_token"].field == "csrf_token"

    steps = [s for s in target.personas["guardian"].steps if isinstance(s, Step)]
    home = next(s for s in steps if s.request.url == "/home")
    assert home.extract["student_id"].regex is not None
    student_urls = [s.request.url for s in steps if "/students/" in s.request.url]
    assert student_urls and all("{{ student_id }}" in u for u in student_urls)
    post = next(s for s in steps if s.request.method == "POST")
    assert isinstance(post.request.form, dict)
    assert post.request.form["csrf_token"] == "{{ csrf_token }}"
    assert post.request.form["student_id"] == "{{ student_id }}"
    if rotate:   # each page's own token: extracted again on the page the form is on
        page = steps[steps.index(post) - 2]
        assert "csrf_token" in page.extract
    assert target.logout[0].request.url == "/logout"

    written = all_text(out)
    shown = printed.out + printed.err
    for secret in [ADA, USERS[ADA].password, *cookies, *tokens]:
        assert secret not in written
        assert secret not in shown
    for student in USERS[ADA].students:
        assert f"/{student}" not in written.replace("# page:", "")


def test_portal_idor_switch(portal: Portal) -> None:
    """The portal's own contract, which the runtime's probe tests rely on."""
    with httpx.Client(base_url=portal.url) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        login = client.post("/login", data={"csrf_token": token, "username": ADA,
                                            "password": USERS[ADA].password})
        assert login.status_code == 303 and COOKIE in client.cookies
        assert client.get("/students/4711").status_code == 200
        assert client.get("/students/5820").status_code == 404
        portal.idor_vulnerable = True
        assert client.get("/students/5820").status_code == 200
        assert client.get("/logout").status_code == 302
        assert client.get("/home").status_code == 302
