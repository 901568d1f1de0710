"""A seeded staging SIS and its user pool for the load-engine tests: the small district (seed 42,
5 days of history) in a real PostgreSQL, served on 127.0.0.1 with a cheap KDF."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.sis_server import serve
from support.sisdb import staging_settings
from support.small_district import district, identities, seeded_url  # noqa: F401 (fixtures)

from fake_data.district import District
from fake_data.userpool import write_userpool
from staging.app import create_app


@pytest.fixture(scope="session")
def userpool_dir(district: District) -> Path:
    """The user pool as the engine reads it (Arrow IPC per persona), in a folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix="firstbell-pool-"))
    write_userpool(district, folder)
    return folder


@pytest.fixture(scope="session")
def staging_url(seeded_url: str) -> Iterator[str]:
    """The normal staging SIS: every probe must be refused."""
    with serve(create_app(staging_settings(), seeded_url)) as url:
        yield url
