"""A seeded staging SIS and its user pool for the load-engine tests: the small district (seed 42,
5 days of history) in a real PostgreSQL, served on 127.0.0.1 with a cheap KDF."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, new_database

from fake_data.district import District, generate
from fake_data.profile import load_profile
from fake_data.userpool import build_userpool, write_userpool
from staging.app import create_app
from staging.config import Settings
from staging.seed import SeedRequest, seed_database

# Links that expire within seconds, so the expired-link probe runs inside a short test.
LINK_SECONDS = 2


@pytest.fixture(scope="session")
def district() -> District:
    return generate(load_profile("small"), 1.0, 42)


@pytest.fixture(scope="session")
def seeded_url(postgres_url: str) -> str:
    url = new_database(postgres_url)
    seed_database(url, SeedRequest("small", 1.0, 42, history_days=5))
    return url


@pytest.fixture(scope="session")
def identities(district: District) -> dict[str, list[dict[str, Any]]]:
    """The user pool per persona, as rows."""
    return {persona: table.to_pylist() for persona, table in build_userpool(district).items()}


@pytest.fixture(scope="session")
def userpool_dir(district: District) -> Path:
    """The user pool as the engine reads it (Arrow IPC per persona), in a folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix="firstbell-pool-"))
    write_userpool(district, folder)
    return folder


def staging_settings(**overrides: Any) -> Settings:
    return Settings(**{**TEST_SETTINGS, "signed_link_seconds": LINK_SECONDS, **overrides})


@pytest.fixture(scope="session")
def staging_url(seeded_url: str) -> Iterator[str]:
    """The normal staging SIS: every probe must be refused."""
    with serve(create_app(staging_settings(), seeded_url)) as url:
        yield url
