"""The smallest target: a `visitor` session is one anonymous GET of ``/``. For measuring the
engine itself (benchmarks, coordinated-omission checks) against any HTTP server."""

from __future__ import annotations

from loadtests.browser import Browser, LoginSpec

LOGIN = LoginSpec(path="/login", body=lambda user, password: {}, token=lambda response: None)


def visit(browser: Browser) -> None:
    browser.get("ping.get", "/", token=None)


CLICK_PATHS = {"visitor": visit}
SESSION_SECONDS = {"visitor": 0.0}
