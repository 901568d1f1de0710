"""One session's cookie jar: what a target sets is sent back; a cookie deleted (empty, Max-Age
0, an expiry in the past — also a recent past, as PHP's `time() - 3600` writes) is gone."""

from __future__ import annotations

import time
from email.utils import formatdate

from loadtests.cookies import CookieJar, parse_set_cookie


def test_set_then_sent_back_then_deleted_by_a_recent_past_expiry() -> None:
    jar = CookieJar()
    jar.take({"Set-Cookie": "PHPSESSID=abc123; path=/; HttpOnly"})
    assert jar.cookies == {"PHPSESSID": "abc123"}
    an_hour_ago = formatdate(time.time() - 3600, usegmt=True)
    assert parse_set_cookie(f"PHPSESSID=deleted; expires={an_hour_ago}")[2] is True
    jar.take({"Set-Cookie": f"PHPSESSID=deleted; expires={an_hour_ago}; path=/"})
    assert jar.cookies == {}


def test_max_age_zero_and_a_future_expiry() -> None:
    assert parse_set_cookie("a=1; Max-Age=0")[2] is True
    tomorrow = formatdate(time.time() + 86400, usegmt=True)
    assert parse_set_cookie(f"a=1; Expires={tomorrow}") == ("a", "1", False)
