"""A seeded staging SIS for the staging tests: the small district (seed 42, 5 days of history)
in a real PostgreSQL, served on 127.0.0.1 with a cheap KDF so the tests stay fast."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, Login
from support.small_district import district, identities, seeded_url  # noqa: F401 (fixtures)

from staging.app import create_app
from staging.config import Settings


@pytest.fixture(scope="session")
def base_url(seeded_url: str) -> Iterator[str]:
    with serve(create_app(Settings(**TEST_SETTINGS), seeded_url)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30.0) as c:
        yield c


@pytest.fixture
def login(base_url: str) -> Iterator[Login]:
    """Log an identity in; returns a client carrying its session token."""
    opened: list[httpx.Client] = []

    def _login(identity: dict[str, Any]) -> httpx.Client:
        c = httpx.Client(base_url=base_url, timeout=30.0)
        opened.append(c)
        r = c.post("/api/auth/login", json={"username": identity["username"],
                                            "password": identity["password"]})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['token']}"
        c.cookies.clear()
        return c

    yield _login
    for c in opened:
        c.close()
