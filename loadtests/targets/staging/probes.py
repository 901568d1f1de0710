"""Probe steps the staging personas share: someone else's student through the portal, and the
three ways a signed download link must be refused (no session, a tampered signature, expired).

Every probe asks only after `should_probe`, and a probe that cannot be run honestly (no id to
ask for, a link too long-lived to wait out) is skipped rather than run half-way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from loadtests.browser import Browser, Response
from loadtests.targets.staging.checks import header, page

NAMES = ("foreign_section", "foreign_student", "no_access_child", "foreign_school_student",
         "download_without_session", "download_tampered", "download_expired",
         "deactivated_login", "session_after_deactivation", "no_access_link")
DOWNLOAD = "reports.download"
MAX_EXPIRY_WAIT = 15.0  # longer-lived links are not waited out: the session would idle too long
# The wait (real time, unscaled) comes in short steps checked against the clock: a link fetched
# before it expired would be a false alarm.
WAIT_STEP = 1.0
MAX_WAIT_STEPS = 40
# The server's Date header is whole seconds, so reading "now" from it errs late (safe); without
# it the two clocks are assumed to agree only roughly.
MARGIN_WITH_DATE, MARGIN_WITHOUT_DATE = 0.25, 2.0


@dataclass(frozen=True)
class Link:
    url: str
    expires_in: float  # seconds after `received` until the server holds the link expired
    received: float    # time.monotonic() when the link arrived


def link_of(r: Response) -> Link | None:
    """The signed link of a report or report-card answer (``{url, expires_at}``), or None."""
    body = page(r)
    try:
        url, expires = str(body["url"]), dt.datetime.fromisoformat(body["expires_at"])
    except (TypeError, KeyError, ValueError):
        return None
    received = time.monotonic()
    server_now, margin = time.time(), MARGIN_WITHOUT_DATE
    date = header(r, "Date")
    if date:
        with contextlib.suppress(TypeError, ValueError):
            server_now, margin = parsedate_to_datetime(date).timestamp(), MARGIN_WITH_DATE
    return Link(url, expires.timestamp() - server_now + margin, received)


def tampered(url: str) -> str:
    """The link with one character of its signature (after the dot) changed."""
    head, _, token = url.rpartition("/")
    payload, _, mac = token.partition(".")
    if not mac:
        return url + "A"
    i = len(mac) // 2
    swap = "A" if mac[i] != "A" else "B"
    return f"{head}/{payload}.{mac[:i]}{swap}{mac[i + 1:]}"


def pick(browser: Browser, ids: Sequence[int], avoid: Collection[int] = ()) -> int | None:
    """One of `ids`, preferring those not in `avoid`; None when there is none."""
    preferred = [i for i in ids if i not in avoid] or list(ids)
    return int(browser.rng.choice(preferred)) if preferred else None


def foreign_grades(browser: Browser, probe: str, student_id: int | None) -> None:
    """Another student's grades page, which must answer as if the student did not exist."""
    if student_id is None or not browser.should_probe(probe):
        return
    browser.probe(probe, "GET", "portal.grades", f"/api/portal/students/{student_id}/grades",
                  asked=f"student {student_id}")


def download_probes(browser: Browser, link: Link, asked: str) -> None:
    """The link without a session, tampered with, and (last, as it waits) expired."""
    if browser.should_probe("download_without_session"):
        browser.probe("download_without_session", "GET", DOWNLOAD, link.url, asked=asked,
                      token=None)
    if browser.should_probe("download_tampered"):
        browser.probe("download_tampered", "GET", DOWNLOAD, tampered(link.url), asked=asked)
    if browser.should_probe("download_expired") and link.expires_in <= MAX_EXPIRY_WAIT \
            and _wait_until(browser, link.received + link.expires_in):
        browser.probe("download_expired", "GET", DOWNLOAD, link.url, asked=asked)


def _wait_until(browser: Browser, deadline: float) -> bool:
    """Think until the monotonic `deadline`; False when the thinks ran out first."""
    for _ in range(MAX_WAIT_STEPS):
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        browser.wait(min(WAIT_STEP, left))
    return time.monotonic() >= deadline
