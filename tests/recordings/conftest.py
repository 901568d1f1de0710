"""Fixtures for the recording tests: ``portal``, the family portal of `support.webapp`
running on 127.0.0.1 with its switches reset (rotate_csrf, idor_vulnerable off), and
``record_har``, which drives it with Playwright and Debian's Chromium and returns the HAR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.recorder import RecordFn, record_visit
from support.webapp import Portal, serve


@pytest.fixture(scope="module")
def _portal_server() -> Iterator[Portal]:
    with serve() as portal:
        yield portal


@pytest.fixture
def portal(_portal_server: Portal) -> Portal:
    """The running portal, switches off, request logs empty."""
    _portal_server.rotate_csrf = False
    _portal_server.idor_vulnerable = False
    _portal_server.log.clear()
    _portal_server.seen.clear()
    return _portal_server


@pytest.fixture
def record_har(portal: Portal, tmp_path: Path) -> RecordFn:
    """Record a visit as one user (login, home, a student, attendance, logout) into a HAR."""
    def run(username: str, password: str, name: str = "visit") -> Path:
        return record_visit(portal.url, username, password, tmp_path / f"{name}.har")
    return run

