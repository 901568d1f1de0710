"""Email for the staging click paths: reading the staging SIS's test mailbox
(``GET /api/dev/mailbox``, on when the server runs with ``FIRSTBELL_DEV_MAILBOX=1``), and the
"forgot password" steps a session can start with.

Only mail that arrived after the session started waiting for it counts: the mailbox keeps every
earlier message (an earlier session's spent code, say), so a path notes the newest message
first and then polls for one newer than that. A step whose email never comes (the server's
silent per-account limits) ends quietly; the session goes on as it would have anyway.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from loadtests.browser import Browser
from loadtests.targets.staging.checks import fields, page

PATH, ENDPOINT = "/api/dev/mailbox", "dev.mailbox"
# The outbox row is written before the request that sends it answers, so the first read
# normally finds it; the retries are for a slower mail path, in real seconds (unscaled).
POLL_TRIES, POLL_SECONDS = 3, 1.0
NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
RESET_TOKEN = re.compile(r"reset your password: ([A-Za-z0-9_-]{16,})")
THINK_FORM, THINK_MAIL = 4.0, 10.0


def _messages(browser: Browser, address: str, kind: str | None) -> list[dict[str, Any]] | None:
    params = {"to": address} if kind is None else {"to": address, "kind": kind}
    body = page(browser.get(ENDPOINT, PATH, params=params, token=None))
    return body if isinstance(body, list) else None


def _at(message: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(message["created_at"]))


def newest(browser: Browser, address: str) -> dt.datetime | None:
    """When the newest message to `address` arrived (`NEVER` for an empty mailbox), or None
    when the mailbox cannot be read (its failed request is counted as such)."""
    found = _messages(browser, address, None)
    if found is None:
        return None
    return _at(found[0]) if found else NEVER


def receive(browser: Browser, address: str, kind: str, after: dt.datetime) -> str | None:
    """The body of the newest `kind` message to `address` that arrived after `after`, polling
    a few times; None when none came."""
    for attempt in range(POLL_TRIES):
        if attempt:
            browser.wait(POLL_SECONDS)
        found = _messages(browser, address, kind)
        if found is None:
            return None
        fresh = [m for m in found if _at(m) > after]
        if fresh:
            return str(fresh[0]["body"])
    return None


def forgot_password(browser: Browser, me: Any) -> None:
    """Ask for a reset, read the email, set the password: the identity's own again, so the pool
    row stays valid. With no email (the server allows a few resets per account an hour) the
    person simply logs in with the password they have."""
    address = me.get("email") or me["username"]  # staff and students: the username is the email
    since = newest(browser, address)
    if since is None:
        return
    browser.think(THINK_FORM)
    browser.post("auth.password_reset", "/api/auth/password-reset", token=None,
                 json={"username": me["username"]})
    mail = receive(browser, address, "password_reset", since)
    found = RESET_TOKEN.search(mail or "")
    if found is None:
        return
    browser.think(THINK_MAIL)
    browser.post("auth.password_reset_confirm", "/api/auth/password-reset/confirm", token=None,
                 json={"token": found.group(1), "password": me["password"]},
                 check=fields(status="password_changed"))
