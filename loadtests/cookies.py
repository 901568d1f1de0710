"""One session's cookies: what the target set (``Set-Cookie``) and the ``Cookie`` header to send
back. Deliberately small: a session talks to one target, so cookies are kept by name only
(domain and path are not matched); a cookie set empty or with ``Max-Age=0`` or an expiry in
the past is dropped. Used by the engine's and the test's browsers when a target's session is
carried by cookies (a target file with ``session: {carrier: cookie}``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any


def set_cookie_headers(headers: Any) -> list[str]:
    """Every ``Set-Cookie`` of an answer, unfolded, whatever the HTTP client's header type."""
    for method in ("get_list", "getlist"):  # httpx, geventhttpclient
        if hasattr(headers, method):
            return [str(v) for v in getattr(headers, method)("set-cookie")]
    items: Iterable[tuple[str, Any]] = headers.items() if headers else ()
    return [str(v) for k, v in items if k.lower() == "set-cookie"]


def parse_set_cookie(line: str) -> tuple[str, str, bool]:
    """(name, value, deleted) of one ``Set-Cookie`` line."""
    first, *attrs = line.split(";")
    name, _, value = first.partition("=")
    deleted = False
    for attr in attrs:
        key, _, arg = attr.strip().partition("=")
        key = key.lower()
        if key == "max-age" and arg.strip().lstrip("-").isdigit() and int(arg) <= 0:
            deleted = True
        elif key == "expires":
            with contextlib.suppress(TypeError, ValueError):
                deleted = deleted or parsedate_to_datetime(arg.strip()).timestamp() < time.time()
    return name.strip(), value.strip().strip('"'), deleted


class CookieJar:
    def __init__(self, cookies: Mapping[str, str] | None = None) -> None:
        self.cookies: dict[str, str] = dict(cookies or {})

    def take(self, headers: Any) -> None:
        """Keep what an answer's ``Set-Cookie`` headers say."""
        for line in set_cookie_headers(headers):
            name, value, deleted = parse_set_cookie(line)
            if not name:
                continue
            if deleted or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def header(self) -> str | None:
        """The ``Cookie`` header to send, or None with no cookies."""
        if not self.cookies:
            return None
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def copy(self) -> CookieJar:
        return CookieJar(self.cookies)

    def clear(self) -> None:
        self.cookies.clear()
