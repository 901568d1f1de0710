"""The cutover-day parent's session on the staging SIS (persona `guardian_unregistered`):
self-registration end to end over HTTP (a code by email, verify it, choose a password, confirm
the second email, log in with the email as username), then every child linked with the access
code from the school's letter, and the portal home listing exactly those children.

The emails are read from the SIS's test mailbox (`mailbox`; the server must run with
``FIRSTBELL_DEV_MAILBOX=1``). The account gets the pool row's own password, so the identity
logs in as the pool says from then on. An account that is active already (a run before this
one registered it) is sent no code: the session then just logs in and goes on.

Probe: `no_access_link` (the guardian's own child under a no-access order, linked with the
child's real code: the SIS must refuse it, whatever the code).
"""

from __future__ import annotations

import re
from typing import Any

from loadtests.browser import Browser
from loadtests.targets.staging import checks, mailbox

API = "/api/registration"
CODE = re.compile(r"code is (\d{6})\b")
CONFIRM_TOKEN = re.compile(r"token: ([A-Za-z0-9_-]{16,})")
THINK_FORM, THINK_MAIL, THINK_PASSWORD, THINK_LETTER, THINK_HOME = 5.0, 10.0, 15.0, 10.0, 6.0


def session(browser: Browser) -> None:
    me = browser.identity
    username = _register(browser, me)
    if username is None or browser.login(username, me["password"]) is None:
        return
    for kid, code in zip(me["children"], me["children_codes"], strict=True):
        browser.think(THINK_LETTER)
        # 201 linked now, 200 when the school's record already linked the child: both fine.
        browser.post("registration.link_child", f"{API}/children",
                     json={"student_id": kid, "access_code": code},
                     check=checks.fields(student_id=kid))
    browser.think(THINK_HOME)
    browser.get("portal.home", "/api/portal/home", check=checks.all_of(
        checks.none_listed("students", "student_id", me["no_access_children"],
                           "no-access children"),
        checks.listed("students", "student_id", me["children"], "children", exact=True)))
    _no_access_link(browser, me)
    browser.logout()


def _register(browser: Browser, me: Any) -> str | None:
    """Register (or find registered) the account; the username to log in with, or None."""
    email = me["email"]
    since = mailbox.newest(browser, email)
    if since is None:
        return None
    browser.think(THINK_FORM)
    asked = browser.post("registration.request_code", f"{API}/request-code", token=None,
                         json={"email": email})
    if not checks.ok(asked):
        return None
    code = CODE.search(mailbox.receive(browser, email, "registration_code", since) or "")
    if code is None:  # no code: the account is active already; log in as the pool says
        return str(me["username"])
    browser.think(THINK_MAIL)
    verified = checks.page(browser.post("registration.verify", f"{API}/verify", token=None,
                                        json={"email": email, "code": code.group(1)}))
    if not isinstance(verified, dict) or "registration_token" not in verified:
        return None
    browser.think(THINK_PASSWORD)
    # The username the account gets is its email: the pool's username for these guardians.
    made = browser.post("registration.account", f"{API}/account", token=None,
                        json={"registration_token": verified["registration_token"],
                              "password": me["password"]},
                        check=checks.fields(status="pending_confirmation",
                                            username=me["username"]))
    if not checks.ok(made):
        return None
    token = CONFIRM_TOKEN.search(
        mailbox.receive(browser, email, "registration_confirm", since) or "")
    if token is None:
        return None
    browser.think(THINK_MAIL)
    done = checks.page(browser.post("registration.confirm", f"{API}/confirm", token=None,
                                    json={"token": token.group(1)},
                                    check=checks.fields(status="active",
                                                        username=me["username"])))
    return str(done["username"]) if isinstance(done, dict) and "username" in done else None


def _no_access_link(browser: Browser, me: Any) -> None:
    pairs = list(zip(me["no_access_children"], me["no_access_codes"], strict=True))
    if not pairs or not browser.should_probe("no_access_link"):
        return
    kid, code = browser.rng.choice(pairs)
    browser.probe("no_access_link", "POST", "registration.link_child", f"{API}/children",
                  json={"student_id": kid, "access_code": code},
                  asked=f"link to no-access child {kid}")
